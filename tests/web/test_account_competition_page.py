"""The account page's competition card (竞争分析, SPEC §6): posture and barriers, the
competition map (chart JSON + table), the SWOT quadrants, and the forms that change
them through kam.competition.accounts — re-rendering the page with the error (422)
when a service refuses, changing nothing."""

from __future__ import annotations

import json
import re

import pytest
from django.urls import reverse

from kam.competition import accounts as svc
from kam.competition.competitors import competitor_create
from kam.competition.models import Competitor, MapEntry, Position, SwotItem
from kam.core.models import Event
from kam.opportunities.services import opportunity_create

CROWN_SWOT = {
    "strength": ["价格有竞争力", "交货快(常规款7天)"],
    "weakness": ["采购份额低(约8%)", "合作历史短"],
    "opportunity": ["客户面临成本压力", "客户对常州恒泰的付款条件多有抱怨"],
    "threat": ["常州恒泰与客户设计部的联合开发团队"],
}


@pytest.fixture
def account(books):
    return books["rep_a"].account


@pytest.fixture
def crown(people, account):
    """The 皇冠 case on rep_a's account: a challenger at 8 % beside a 70 % incumbent."""
    rep = people.rep_a
    hengtai = competitor_create(actor=rep, name="常州恒泰服装辅料")
    svc.competition_map_set(
        actor=rep,
        account=account,
        entries=[
            {
                "competitor_id": hengtai.pk,
                "share": 70,
                "relationship": 4,
                "satisfaction": 3,
                "incumbent": True,
                "since": 2009,
                "history": "供货十五年以上,与设计部联合开发",
            },
            {"us": True, "share": 8, "relationship": 2, "satisfaction": 4, "since": 2025},
            {"competitor_name": "宁波华美", "share": "12.5"},
        ],
    )
    svc.swot_set(actor=rep, account=account, items=CROWN_SWOT)
    return hengtai


def _html(client, account) -> str:
    response = client.get(reverse("account-detail", args=[account.pk]))
    assert response.status_code == 200
    return response.content.decode()


def _card(html: str) -> str:
    start = html.index('data-testid="account-competition"')
    return html[start : html.index("</section>", start)]


def _chart(html: str) -> dict:
    found = re.search(
        r'<script id="competition-chart-data" type="application/json">(.*?)</script>', html, re.S
    )
    assert found is not None
    return json.loads(found.group(1))


def _quadrants(card: str) -> dict[str, list[str]]:
    out = {}
    for q in ("strength", "weakness", "opportunity", "threat"):
        start = card.index(f'data-quadrant="{q}"')
        end = card.find('data-testid="swot-quadrant"', start)
        part = card[start : end if end != -1 else len(card)]
        out[q] = re.findall(r'<span class="swot-text">(.*?)</span>', part)
    return out


def _state(account) -> tuple:
    return (
        list(MapEntry.objects.filter(account=account).order_by("id").values()),
        list(SwotItem.objects.filter(account=account).order_by("id").values()),
        list(Position.objects.filter(account=account).values()),
        Competitor.objects.count(),
        Event.objects.count(),
    )


def _map_post(rows: list[dict]) -> dict:
    data = {
        "map-TOTAL_FORMS": str(len(rows)),
        "map-INITIAL_FORMS": "0",
        "map-MIN_NUM_FORMS": "0",
        "map-MAX_NUM_FORMS": "1000",
    }
    for i, row in enumerate(rows):
        for key, value in row.items():
            data[f"map-{i}-{key}"] = value
    return data


# --- the card ----------------------------------------------------------------------------


def test_the_crown_case_reads_as_a_chart_a_table_and_four_quadrants(
    client_for, people, account, crown
):
    # when
    html = _html(client_for(people.rep_a), account)
    card = _card(html)
    # then: the chart's data, largest share first, then the unmapped part
    assert _chart(html) == {
        "parties": [
            {"name": "常州恒泰服装辅料", "share": 70.0, "us": False, "incumbent": True,
             "colour": "#c2410c"},
            {"name": "宁波华美", "share": 12.5, "us": False, "incumbent": False,
             "colour": "#b7791f"},
            {"name": "Us", "share": 8.0, "us": True, "incumbent": False, "colour": "#17663f"},
        ],
        "not_mapped": 9.5,
        "colours": {"not_mapped": "#d0d5dd", "incumbent_border": "#101828"},
        "text": {"not_mapped": "Not mapped", "incumbent": "incumbent", "us": "us",
                 "share": "Share"},
    }  # fmt: skip
    assert 'id="competition-chart"' in card
    # the table says the same
    rows = re.findall(r'data-testid="map-row" data-party="([^"]+)"', card)
    assert rows == [
        str(crown.pk),
        str(MapEntry.objects.get(competitor__name="宁波华美").competitor_id),
        "us",
    ]
    assert card.count('data-testid="incumbent"') == 1
    assert "12.5%" in card and "9.5%" in card
    assert "4 – Close" in card and "3 – neutral" in card and "4 – satisfied" in card
    assert "供货十五年以上,与设计部联合开发" in card
    # and the SWOT, quadrant by quadrant
    assert _quadrants(card) == CROWN_SWOT
    assert 'data-testid="map-empty"' not in card
    assert 'data-testid="swot-empty"' not in card


def test_the_card_in_chinese(client_for, people, account, crown):
    card = _card(_html(client_for(people.rep_a, "zh-hans"), account))
    assert _quadrants(card) == CROWN_SWOT
    assert 'data-quadrant="threat"' in card


def test_an_empty_card_says_what_to_fill_and_why(client_for, people, account):
    html = _html(client_for(people.rep_a), account)
    card = _card(html)
    assert "No suppliers mapped yet." in card
    assert "it tells whether we attack or defend here" in card
    assert "No SWOT yet." in card
    assert "What do we do better than the others here?" in card
    assert 'data-testid="posture-badge">Posture not decided' in card
    assert "competition-chart-data" not in html
    assert 'data-testid="posture-hint"' not in card
    # an empty map opens its form with three blank rows
    assert card.count('data-testid="map-edit-row"') == 3 + 1  # + the <template> row


def test_barriers_and_posture(people, client_for, account, crown):
    # given
    svc.position_set(actor=people.rep_a, account=account, posture="attack",
                     barrier_commercial=True, notes="以成本和交期切入")  # fmt: skip
    # when
    card = _card(_html(client_for(people.rep_a), account))
    # then
    assert 'data-posture="attack"' in card
    assert "Attack (challenger)" in card
    held = re.findall(r'data-barrier="(\w+)" data-held="(\w+)"', card)
    assert held == [("technical", "false"), ("commercial", "true"), ("process", "false")]
    assert "Our specifications or patents are written into their designs." in card
    assert "以成本和交期切入" in card
    # the map agrees with the posture: no hint
    assert 'data-testid="posture-hint"' not in card


def test_the_suggested_posture_shows_when_it_differs(people, client_for, account, crown):
    svc.position_set(actor=people.rep_a, account=account, posture="defend")
    card = _card(_html(client_for(people.rep_a), account))
    assert re.search(
        r'data-testid="posture-hint" data-suggested="attack">'
        r"The map suggests attacking: 常州恒泰服装辅料 is the incumbent.</p>",
        card,
    )


def test_no_posture_yet_shows_the_hint(people, client_for, account):
    entries = [{"us": True, "share": 60}, {"competitor_name": "A", "share": 20}]
    svc.competition_map_set(actor=people.rep_a, account=account, entries=entries)
    card = _card(_html(client_for(people.rep_a), account))
    assert "The map suggests defending: we hold the largest share." in card


def test_editors_get_the_forms(people, client_for, account, crown):
    for user in (people.rep_a, people.manager_east, people.admin):
        card = _card(_html(client_for(user), account))
        assert 'data-testid="map-form"' in card
        assert card.count('data-testid="swot-form"') == 4
        assert card.count('data-testid="swot-delete"') == 7
        assert 'data-testid="position-form"' in card
        assert '<option value="常州恒泰服装辅料">' in card  # the datalist


def test_a_rep_selling_on_the_account_sees_it_read_only(people, client_for, account, crown):
    # given: rep_b sells on rep_a's account
    opportunity_create(actor=people.rep_b, account=account, name="B sells here", amount="5",
                       expected_close="2027-01-01")  # fmt: skip
    # when
    card = _card(_html(client_for(people.rep_b), account))
    # then
    assert _quadrants(card) == CROWN_SWOT
    assert 'data-testid="map-row"' in card
    for form in ("map-form", "swot-form", "swot-delete", "position-form"):
        assert f'data-testid="{form}"' not in card


def test_page_cost_does_not_grow_with_the_map(
    people, client_for, account, django_assert_max_num_queries
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = client_for(people.rep_a)
    two = [{"us": True, "share": 5}, {"competitor_name": "R0", "share": 5}]
    svc.competition_map_set(actor=people.rep_a, account=account, entries=two)
    client.get(reverse("account-detail", args=[account.pk]))
    with CaptureQueriesContext(connection) as few:
        _html(client, account)
    svc.competition_map_set(
        actor=people.rep_a,
        account=account,
        entries=[{"us": True, "share": 5}]
        + [{"competitor_name": f"R{i}", "share": 5} for i in range(9)],
    )
    with django_assert_max_num_queries(len(few.captured_queries)):
        card = _card(_html(client, account))
    assert card.count('data-testid="map-row"') == 10


# --- the forms ---------------------------------------------------------------------------


def test_saving_the_map(people, client_for, account, crown):
    # given
    client = client_for(people.rep_a)
    data = _map_post(
        [
            {"supplier": "常州恒泰服装辅料", "share": "65", "relationship": "4",
             "satisfaction": "2", "incumbent": "on", "since": "2009", "history": "付款条件苛刻"},
            {"supplier": "Us", "share": "15.5", "relationship": "3", "since": "2025"},
            {"supplier": "温州新秀", "share": "5"},
            {"supplier": "", "share": ""},  # a blank row: no supplier
        ]
    )  # fmt: skip
    # when
    response = client.post(reverse("account-competition-map", args=[account.pk]), data)
    # then
    assert response.status_code == 302
    assert response["Location"] == reverse("account-detail", args=[account.pk]) + "#competition-map"
    entries = svc.account_competition(account).entries
    assert [(svc.entry_name(e), str(e.share), e.incumbent, e.satisfaction) for e in entries] == [
        ("常州恒泰服装辅料", "65.00", True, 2),
        ("Us", "15.50", False, None),
        ("温州新秀", "5.00", False, None),
    ]
    assert Competitor.objects.filter(name="温州新秀", created_by=people.rep_a).exists()
    assert not MapEntry.objects.filter(competitor__name="宁波华美").exists()
    follow = client.get(response["Location"])
    assert "Competition map saved." in follow.content.decode()


@pytest.mark.parametrize("word", ["us", "我方", "Us"])
def test_us_may_be_typed(people, client_for, account, word):
    client = client_for(people.rep_a)
    client.post(reverse("account-competition-map", args=[account.pk]),
                _map_post([{"supplier": word, "share": "10"}]))  # fmt: skip
    assert [(e.competitor_id, str(e.share)) for e in MapEntry.objects.filter(account=account)] == [
        (None, "10.00")
    ]


def test_shares_over_100_show_the_sum_and_change_nothing(people, client_for, account, crown):
    # given
    client = client_for(people.rep_a)
    before = _state(account)
    data = _map_post(
        [
            {"supplier": "常州恒泰服装辅料", "share": "70"},
            {"supplier": "Us", "share": "35"},
            {"supplier": "新对手", "share": "1"},
        ]
    )
    # when
    response = client.post(reverse("account-competition-map", args=[account.pk]), data)
    # then
    assert response.status_code == 422
    card = _card(response.content.decode())
    assert (
        "The shares add up to 106.00%; together they cannot be more than 100%. "
        "Lower one of them." in card
    )
    assert 'value="新对手"' in card  # what was typed stays in the form
    assert _state(account) == before


def test_a_bad_row_shows_its_error_on_that_row(people, client_for, account, crown):
    client = client_for(people.rep_a)
    before = _state(account)
    data = _map_post(
        [
            {"supplier": "", "share": ""},
            {"supplier": "常州恒泰服装辅料", "share": "70"},
            {"supplier": "", "share": "10"},  # a share without a supplier
        ]
    )
    response = client.post(reverse("account-competition-map", args=[account.pk]), data)
    assert response.status_code == 422
    card = _card(response.content.decode())
    rows = card.split('data-testid="map-edit-row"')[1:]
    assert "field-errors" not in rows[0] and "field-errors" not in rows[1]
    assert "Name the supplier once" in rows[2]
    assert _state(account) == before


def test_a_duplicate_supplier_is_refused_on_its_row(people, client_for, account, crown):
    client = client_for(people.rep_a)
    before = _state(account)
    data = _map_post([{"supplier": "Us", "share": "5"}, {"supplier": "我方", "share": "5"}])
    response = client.post(reverse("account-competition-map", args=[account.pk]), data)
    assert response.status_code == 422
    rows = _card(response.content.decode()).split('data-testid="map-edit-row"')[1:]
    assert "We are on the map twice (rows 1 and 2); keep one row for us." in rows[1]
    assert _state(account) == before


def test_adding_and_deleting_swot_lines(people, client_for, account, crown):
    client = client_for(people.rep_a)
    url = reverse("account-swot-add", args=[account.pk])
    # when
    response = client.post(url, {"quadrant": "threat", "text": "客户要求联合开发才能入围"})
    # then
    assert response.status_code == 302
    assert response["Location"] == reverse("account-detail", args=[account.pk]) + "#swot"
    assert [i.text for i in svc.account_competition(account).swot["threat"]] == [
        "常州恒泰与客户设计部的联合开发团队",
        "客户要求联合开发才能入围",
    ]
    # and deleting one
    item = SwotItem.objects.get(text="合作历史短")
    response = client.post(reverse("account-swot-delete", args=[account.pk, item.pk]))
    assert response.status_code == 302
    assert [i.text for i in svc.account_competition(account).swot["weakness"]] == [
        "采购份额低(约8%)"
    ]


def test_an_empty_swot_line_is_refused_in_its_quadrant(people, client_for, account, crown):
    client = client_for(people.rep_a)
    before = _state(account)
    response = client.post(
        reverse("account-swot-add", args=[account.pk]), {"quadrant": "opportunity", "text": " "}
    )
    assert response.status_code == 422
    card = _card(response.content.decode())
    opportunity = card[
        card.index('data-quadrant="opportunity"') : card.index('data-quadrant="threat"')
    ]
    assert "This field is required." in opportunity
    assert card.count("This field is required.") == 1
    assert _state(account) == before


def test_a_bad_quadrant_is_an_error_not_a_crash(people, client_for, account, crown):
    before = _state(account)
    response = client_for(people.rep_a).post(
        reverse("account-swot-add", args=[account.pk]), {"quadrant": "strengths", "text": "x"}
    )
    assert response.status_code == 422
    assert _state(account) == before


def test_setting_the_posture(people, client_for, account):
    client = client_for(people.rep_a)
    response = client.post(
        reverse("account-position", args=[account.pk]),
        {"posture": "defend", "barrier_technical": "on", "barrier_process": "on", "notes": "守住"},
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("account-detail", args=[account.pk]) + "#competition"
    position = Position.objects.get(account=account)
    assert (
        position.posture,
        position.barrier_technical,
        position.barrier_commercial,
        position.barrier_process,
        position.notes,
    ) == ("defend", True, False, True, "守住")


def test_a_bad_posture_is_422_and_changes_nothing(people, client_for, account):
    before = _state(account)
    response = client_for(people.rep_a).post(
        reverse("account-position", args=[account.pk]), {"posture": "retreat"}
    )
    assert response.status_code == 422
    assert 'data-testid="position-form"' in _card(response.content.decode())
    assert _state(account) == before


# --- who may -----------------------------------------------------------------------------


def _posts(account, item) -> list[tuple[str, dict]]:
    return [
        (reverse("account-competition-map", args=[account.pk]), _map_post([{"supplier": "Us"}])),
        (reverse("account-swot-add", args=[account.pk]), {"quadrant": "threat", "text": "x"}),
        (reverse("account-swot-delete", args=[account.pk, item.pk]), {}),
        (reverse("account-position", args=[account.pk]), {"posture": "defend"}),
    ]


@pytest.mark.parametrize(
    ("user", "status"),
    [("rep_b", 404), ("manager_west", 404), ("rep_c", 404), ("seller", 403)],
)
def test_who_may_not_change_it(people, client_for, account, crown, user, status):
    # given
    if user == "seller":
        opportunity_create(actor=people.rep_b, account=account, name="B sells here",
                           amount="5", expected_close="2027-01-01")  # fmt: skip
        user = "rep_b"
    client = client_for(getattr(people, user))
    item = SwotItem.objects.filter(account=account).first()
    before = _state(account)
    # when
    codes = [client.post(url, data).status_code for url, data in _posts(account, item)]
    # then
    assert codes == [status] * 4
    assert _state(account) == before


@pytest.mark.parametrize("user", ["rep_a", "manager_east", "admin"])
def test_who_may_change_it(people, client_for, account, crown, user):
    client = client_for(getattr(people, user))
    item = SwotItem.objects.filter(account=account).first()
    codes = [client.post(url, data).status_code for url, data in _posts(account, item)]
    assert codes == [302] * 4
