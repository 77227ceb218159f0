"""The account page's profile cards — account type, needs radar, satisfaction — and
the account type questionnaire page (SPEC §6). Every write goes through a service of
kam.accounts.needs; a refused one changes nothing."""

from __future__ import annotations

import datetime as dt
import json
import re

import pytest
from django.urls import reverse

from kam.accounts.models import Account, AccountNeed, SatisfactionRecord
from kam.accounts.needs import needs_set, satisfaction_record_add
from kam.accounts.services import account_update
from kam.core import clock
from kam.core.models import Event
from kam.opportunities.services import opportunity_create

RADAR = [
    {"dimension": "交期", "importance": 5, "our_fit": 5, "note": "现货"},
    {"dimension": "价格", "importance": 4, "our_fit": 4},
    {"dimension": "技术支持", "importance": 5, "our_fit": 2, "note": "缺应用工程师"},
    {"dimension": "付款条件", "importance": 4, "our_fit": 2},
]
# The owner's team may change the account; other people's accounts are not found.
WRITERS = {
    "rep_a": 302,
    "rep_b": 404,
    "rep_c": 404,
    "manager_east": 302,
    "manager_west": 404,
    "admin": 302,
}


@pytest.fixture
def account(books):
    return books["rep_a"].account


def _page(client, account, status: int = 200) -> str:
    response = client.get(reverse("account-detail", args=[account.pk]))
    assert response.status_code == status
    return response.content.decode()


def _card(html: str, testid: str) -> str:
    start = html.index(f'data-testid="{testid}"')
    return html[start : html.index("</section>", start)]


def _json(html: str, block: str):
    match = re.search(rf'<script id="{block}" type="application/json">(.*?)</script>', html, re.S)
    return json.loads(match.group(1)) if match else None


def _state(account) -> tuple:
    return (
        Account.objects.filter(pk=account.pk).values().get(),
        list(AccountNeed.objects.filter(account=account).order_by("id").values()),
        list(SatisfactionRecord.objects.filter(account=account).order_by("id").values()),
        Event.objects.filter(account_id=account.pk).count(),
    )


def _needs_post(rows: list[dict], *, initial: int = 0) -> dict:
    data = {
        "needs-TOTAL_FORMS": str(len(rows)),
        "needs-INITIAL_FORMS": str(initial),
        "needs-MIN_NUM_FORMS": "0",
        "needs-MAX_NUM_FORMS": "20",
    }
    for i, row in enumerate(rows):
        for key, value in row.items():
            data[f"needs-{i}-{key}"] = value
    return data


def _seller(people, account):
    """rep_b sells on rep_a's account: sees it, may not change it."""
    opportunity_create(
        actor=people.rep_b,
        account=account,
        name="B on A",
        amount="5",
        expected_close=dt.date(2027, 1, 1),
    )
    return people.rep_b


# --- the account type card ---------------------------------------------------------------


def test_without_a_type_the_card_prompts_for_the_questionnaire(client_for, people, account):
    card = _card(_page(client_for(people.rep_a), account), "account-type-card")
    assert 'data-testid="type-unset"' in card
    assert f'href="{reverse("account-type", args=[account.pk])}"' in card
    assert "Answer 6 questions to get a suggestion" in card
    assert 'data-testid="type-emphasis"' not in card


@pytest.mark.parametrize(
    ("language", "name", "first_point"),
    [
        ("en", "Value", "Sell the solution, not the price"),
        ("zh-hans", "价值型", "卖方案而不是卖价格"),
    ],
)
def test_a_typed_account_shows_the_types_description_and_emphasis(
    client_for, people, account, language, name, first_point
):
    # given
    account_update(actor=people.rep_a, account=account, account_type="value")
    # when
    card = _card(_page(client_for(people.rep_a, language), account), "account-type-card")
    # then
    assert f'<span class="badge type-value" data-testid="type-name">{name}</span>' in card
    assert first_point in card
    assert card.count("<li>") == 3
    assert 'data-testid="type-unset"' not in card


# --- needs radar -------------------------------------------------------------------------


def test_the_radar_data_shortfalls_and_table(client_for, people, account):
    # given
    needs_set(actor=people.rep_a, account=account, needs=RADAR)
    # when
    html = _page(client_for(people.rep_a), account)
    # then
    assert _json(html, "needs-radar-data") == {
        "indicators": [
            {"name": "交期", "max": 5},
            {"name": "价格", "max": 5},
            {"name": "技术支持", "max": 5},
            {"name": "付款条件", "max": 5},
        ],
        "importance": [5, 4, 5, 4],
        "fit": [5, 4, 2, 2],
        "shortfall": [False, False, True, True],
        "text": {"importance": "Importance to the customer", "fit": "Our fit"},
    }
    card = _card(html, "needs-card")
    assert 'data-testid="needs-radar"' in card
    short = card[card.index('data-testid="shortfalls"') : card.index('data-testid="needs-table"')]
    assert short.count('data-testid="shortfall"') == 2
    assert short.index("技术支持") < short.index("付款条件")  # the widest gap first
    assert "缺应用工程师" in short
    assert card.count('data-testid="need-row"') == 4
    assert '<td class="num">−3</td>' in card


def test_fewer_than_three_dimensions_explain_the_radar(client_for, people, account):
    # given
    needs_set(actor=people.rep_a, account=account, needs=RADAR[:2])
    # when
    html = _page(client_for(people.rep_a), account)
    # then
    assert _json(html, "needs-radar-data") is None
    assert "A radar needs at least 3 dimensions." in _card(html, "needs-card")


def test_no_needs_yet_shows_the_empty_state_and_blank_rows(client_for, people, account):
    card = _card(_page(client_for(people.rep_a), account), "needs-card")
    assert "No needs recorded yet." in card
    assert 'data-testid="needs-form"' in card
    # three blank rows, plus the row the script copies
    assert card.count('data-testid="need-edit-row"') == 4
    assert 'name="needs-TOTAL_FORMS" value="3"' in card


def test_saving_the_needs_form_replaces_the_radar(client_for, people, account):
    # given
    needs_set(actor=people.rep_a, account=account, needs=RADAR[:2])
    rows = [
        {"dimension": "交期", "importance": "5", "our_fit": "4", "note": ""},
        {"dimension": "价格", "importance": "4", "our_fit": "4", "note": "", "DELETE": "on"},
        {"dimension": "", "importance": "", "our_fit": "", "note": ""},
        {"dimension": "技术支持", "importance": "5", "our_fit": "2", "note": "缺人"},
    ]
    # when
    response = client_for(people.rep_a).post(
        reverse("account-needs", args=[account.pk]), _needs_post(rows, initial=2)
    )
    # then
    assert response.status_code == 302
    assert response["Location"] == reverse("account-detail", args=[account.pk]) + "#needs"
    assert list(
        AccountNeed.objects.filter(account=account).values_list(
            "dimension", "importance", "our_fit", "note"
        )
    ) == [("交期", 5, 4, ""), ("技术支持", 5, 2, "缺人")]
    assert Event.objects.filter(account_id=account.pk, action="needs_set").count() == 2


@pytest.mark.parametrize(
    ("rows", "row", "field", "message"),
    [
        (
            [
                {"dimension": "Delivery", "importance": "5", "our_fit": "4"},
                {"dimension": "", "importance": "", "our_fit": ""},
                {"dimension": "delivery", "importance": "3", "our_fit": "3"},
            ],
            2,
            "dimension",
            "“delivery” is already in the list (row 1); give each dimension once.",
        ),
        (
            [{"dimension": "Price", "importance": "", "our_fit": "4"}],
            0,
            "importance",
            "This field is required.",
        ),
        (
            [{"dimension": "", "importance": "4", "our_fit": "4"}],
            0,
            "dimension",
            "This field is required.",
        ),
        (
            [{"dimension": "Price", "importance": "9", "our_fit": "4"}],
            0,
            "importance",
            "Select a valid choice. 9 is not one of the available choices.",
        ),
    ],
)
def test_a_bad_needs_form_comes_back_with_the_error_on_its_row(
    client_for, people, account, rows, row, field, message
):
    # given
    needs_set(actor=people.rep_a, account=account, needs=RADAR)
    before = _state(account)
    # when
    response = client_for(people.rep_a).post(
        reverse("account-needs", args=[account.pk]), _needs_post(rows)
    )
    # then
    assert response.status_code == 422
    card = _card(response.content.decode(), "needs-card")
    assert '<details class="inline-form" open>' in card
    edit_rows = card.split('data-testid="need-edit-row"')[1:]
    cell = edit_rows[row].split(f'data-field="{field}"')[1].split("</td>")[0]
    assert message in cell
    assert _state(account) == before


@pytest.mark.parametrize(("viewer", "expected"), WRITERS.items())
def test_saving_the_needs_follows_edit_rights(client_for, people, account, viewer, expected):
    # given
    before = _state(account)
    # when
    response = client_for(getattr(people, viewer)).post(
        reverse("account-needs", args=[account.pk]),
        _needs_post([{"dimension": "价格", "importance": "4", "our_fit": "3"}]),
    )
    # then
    assert response.status_code == expected
    if expected == 302:
        assert list(AccountNeed.objects.values_list("dimension", flat=True)) == ["价格"]
    else:
        assert _state(account) == before


# --- satisfaction ------------------------------------------------------------------------


def test_satisfaction_records_chart_and_table(client_for, people, account, books):
    # given
    today = clock.today()
    satisfaction_record_add(
        actor=people.rep_a,
        account=account,
        score=2,
        date=today - dt.timedelta(days=40),
        contact=books["rep_a"].boss,
        note="抱怨付款条件",
    )
    satisfaction_record_add(actor=people.rep_a, account=account, score=4, date=today)
    # when
    html = _page(client_for(people.rep_a), account)
    # then
    assert _json(html, "satisfaction-data") == {
        "points": [
            {
                "date": (today - dt.timedelta(days=40)).isoformat(),
                "score": 2,
                "who": "Alpha Boss",
                "note": "抱怨付款条件",
            },
            {"date": today.isoformat(), "score": 4, "who": "", "note": ""},
        ],
        "levels": {
            "1": "very dissatisfied",
            "2": "dissatisfied",
            "3": "neither",
            "4": "satisfied",
            "5": "very satisfied",
        },
        "text": {"score": "Satisfaction"},
    }
    card = _card(html, "satisfaction-card")
    rows = card.split('data-testid="satisfaction-row"')[1:]
    assert len(rows) == 2
    assert "4 – satisfied" in rows[0]  # newest first
    assert "2 – dissatisfied" in rows[1] and "Alpha Boss" in rows[1] and "Alice Rep" in rows[1]
    assert card.count('data-testid="satisfaction-delete"') == 2
    assert "Latest: 4 – satisfied" in card


def test_no_satisfaction_yet_has_no_chart(client_for, people, account):
    html = _page(client_for(people.rep_a), account)
    assert _json(html, "satisfaction-data") is None
    assert "No satisfaction recorded yet." in _card(html, "satisfaction-card")


def test_recording_satisfaction(client_for, people, account, books):
    # given
    day = clock.today() - dt.timedelta(days=2)
    # when
    response = client_for(people.rep_a).post(
        reverse("account-satisfaction-add", args=[account.pk]),
        {
            "sat-score": "3",
            "sat-date": day.isoformat(),
            "sat-contact": books["rep_a"].report.pk,
            "sat-note": "交期延误",
        },
    )
    # then
    assert response.status_code == 302
    assert response["Location"] == reverse("account-detail", args=[account.pk]) + "#satisfaction"
    record = SatisfactionRecord.objects.get(account=account)
    assert (record.score, record.date, record.contact_id, record.note, record.recorded_by_id) == (
        3,
        day,
        books["rep_a"].report.pk,
        "交期延误",
        people.rep_a.pk,
    )


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"sat-score": ""}, "score", "This field is required."),
        (
            {"sat-score": "4", "sat-date": "2199-01-01"},
            "date",
            "This date is in the future; enter the day it happened (today at the latest).",
        ),
        (
            {"sat-score": "4", "sat-contact": "999999"},
            "contact",
            "Select a valid choice. 999999 is not one of the available choices.",
        ),
    ],
)
def test_a_bad_satisfaction_form_comes_back_with_the_error(
    client_for, people, account, data, field, message
):
    # given
    before = _state(account)
    # when
    response = client_for(people.rep_a).post(
        reverse("account-satisfaction-add", args=[account.pk]), data
    )
    # then
    assert response.status_code == 422
    card = _card(response.content.decode(), "satisfaction-card")
    cell = card.split(f'data-field="{field}"')[1].split("data-field=")[0]
    assert message in cell
    assert _state(account) == before


@pytest.mark.parametrize(("viewer", "expected"), WRITERS.items())
def test_recording_and_deleting_satisfaction_follow_edit_rights(
    client_for, people, account, viewer, expected
):
    # given
    record = satisfaction_record_add(actor=people.rep_a, account=account, score=2)
    before = _state(account)
    client = client_for(getattr(people, viewer))
    # when
    add = client.post(reverse("account-satisfaction-add", args=[account.pk]), {"sat-score": "5"})
    delete = client.post(reverse("account-satisfaction-delete", args=[account.pk, record.pk]))
    # then
    assert (add.status_code, delete.status_code) == (expected, expected)
    if expected == 302:
        assert list(SatisfactionRecord.objects.values_list("score", flat=True)) == [5]
    else:
        assert _state(account) == before


# --- what a non-editor sees ---------------------------------------------------------------


def test_a_rep_who_sells_on_the_account_sees_the_cards_without_forms(client_for, people, account):
    # given
    needs_set(actor=people.rep_a, account=account, needs=RADAR)
    record = satisfaction_record_add(actor=people.rep_a, account=account, score=2)
    seller = _seller(people, account)
    client = client_for(seller)
    before = _state(account)
    # when
    html = _page(client, account)
    posts = [
        client.post(reverse("account-needs", args=[account.pk]), _needs_post([])),
        client.post(reverse("account-satisfaction-add", args=[account.pk]), {"sat-score": "5"}),
        client.post(reverse("account-satisfaction-delete", args=[account.pk, record.pk])),
        client.post(reverse("account-type", args=[account.pk]), {"offering": "standard"}),
    ]
    # then
    assert _json(html, "needs-radar-data") is not None
    for testid in ("needs-form", "satisfaction-form", "satisfaction-delete"):
        assert f'data-testid="{testid}"' not in html
    assert 'data-testid="type-suggest-link"' in html
    assert [r.status_code for r in posts] == [403, 403, 403, 403]
    assert _state(account) == before


# --- the questionnaire page ------------------------------------------------------------------


def _questionnaire(client, account, status: int = 200, **answers) -> str:
    response = client.get(reverse("account-type", args=[account.pk]), answers)
    assert response.status_code == status
    return response.content.decode()


def test_the_questionnaire_asks_every_question_with_radio_buttons(client_for, people, account):
    html = _questionnaire(client_for(people.rep_a), account)
    assert html.count('data-testid="question"') == 6
    assert html.count('type="radio"') == 18
    assert "What decides their choice of supplier?" in html
    assert 'data-testid="suggestion"' not in html
    assert html.count('data-testid="type-guide"') == 1


def test_the_questionnaire_in_chinese(client_for, people, account):
    html = _questionnaire(client_for(people.rep_a, "zh-hans"), account)
    assert "什么决定他们选择哪家供应商?" in html
    assert "交易型" in html and "价值型" in html and "战略型" in html


def test_answers_give_a_suggestion_with_reasons_points_and_the_apply_button(
    client_for, people, account
):
    # when
    html = _questionnaire(
        client_for(people.rep_a),
        account,
        asked="1",
        offering="tailored",
        decides="solution_fit",
        switching="hardly",
    )
    # then
    suggestion = html[html.index('data-testid="suggestion"') : html.index("</section>")]
    assert 'data-testid="suggested-type" data-type="value">Value</span>' in suggestion
    assert "From 3 of 6 answers; 71% of the points went to this type." in suggestion
    assert '<span class="points-n num" data-testid="points-value">5</span>' in suggestion
    assert '<span class="points-n num" data-testid="points-strategic">2</span>' in suggestion
    assert '<span class="points-n num" data-testid="points-transactional">0</span>' in suggestion
    reasons = suggestion[suggestion.index('data-testid="suggestion-reasons"') :]
    assert reasons.count("<li>") == 3
    assert "Solution fit and price–performance decide." in reasons
    assert 'data-testid="suggestion-tie"' not in suggestion
    assert 'data-testid="apply-type"' in suggestion
    assert '<input type="hidden" name="decides" value="solution_fit">' in suggestion
    # the answers stay chosen
    assert re.search(r'value="tailored"[^>]*checked', html)


def test_a_tie_is_explained(client_for, people, account):
    html = _questionnaire(
        client_for(people.rep_a), account, offering="codeveloped", decides="price"
    )
    assert 'data-type="transactional"' in html
    assert 'data-testid="suggestion-tie"' in html
    assert "A tie between Transactional / Strategic" in html


def test_asking_with_nothing_chosen_says_so(client_for, people, account):
    html = _questionnaire(client_for(people.rep_a), account, asked="1")
    assert 'data-testid="suggestion-none"' in html
    assert 'data-testid="apply-type"' not in html


def test_an_unknown_answer_in_the_query_is_a_field_error(client_for, people, account):
    html = _questionnaire(client_for(people.rep_a), account, 422, decides="luck")
    question = html.split('data-question="decides"')[1].split("</fieldset>")[0]
    assert "Select a valid choice. luck is not one of the available choices." in question


def test_applying_the_suggestion_sets_the_type(client_for, people, account):
    # when
    response = client_for(people.rep_a).post(
        reverse("account-type", args=[account.pk]),
        {"offering": "codeveloped", "decides": "capability"},
    )
    # then
    assert response.status_code == 302
    assert response["Location"] == reverse("account-detail", args=[account.pk]) + "#account-type"
    account.refresh_from_db()
    assert account.account_type == "strategic"
    event = Event.objects.filter(account_id=account.pk).last()
    assert (event.action, event.before, event.after, event.actor_id) == (
        "updated",
        {"account_type": ""},
        {"account_type": "strategic"},
        people.rep_a.pk,
    )


def test_applying_without_answers_comes_back_with_the_error(client_for, people, account):
    # given
    before = _state(account)
    # when
    response = client_for(people.rep_a).post(reverse("account-type", args=[account.pk]), {})
    # then
    assert response.status_code == 422
    assert "Answer at least one question before applying a suggestion." in (
        response.content.decode()
    )
    assert _state(account) == before


def test_the_current_type_needs_no_apply_button(client_for, people, account):
    # given
    account_update(actor=people.rep_a, account=account, account_type="strategic")
    # when
    html = _questionnaire(client_for(people.rep_a), account, offering="codeveloped")
    # then
    assert 'data-testid="already-type"' in html
    assert 'data-testid="apply-type"' not in html


def test_a_seller_may_ask_but_gets_no_apply_button(client_for, people, account):
    seller = _seller(people, account)
    html = _questionnaire(client_for(seller), account, offering="standard")
    assert 'data-type="transactional"' in html
    assert 'data-testid="apply-type"' not in html


@pytest.mark.parametrize(("viewer", "expected"), WRITERS.items())
def test_applying_follows_edit_rights(client_for, people, account, viewer, expected):
    # given
    before = _state(account)
    # when
    response = client_for(getattr(people, viewer)).post(
        reverse("account-type", args=[account.pk]), {"offering": "standard"}
    )
    # then
    assert response.status_code == expected
    account.refresh_from_db()
    if expected == 302:
        assert account.account_type == "transactional"
    else:
        assert _state(account) == before


# --- the type elsewhere: list, opportunity page, account form ---------------------------------


def test_the_account_list_shows_and_filters_by_type(client_for, people, books):
    # given
    account_update(actor=people.rep_a, account=books["rep_a"].account, account_type="value")
    client = client_for(people.admin)
    # when
    everything = client.get(reverse("account-list")).content.decode()
    values = client.get(reverse("account-list"), {"account_type": "value"}).content.decode()
    # then
    assert everything.count('data-testid="account-row"') == 3
    assert '<span class="badge type-value">Value</span>' in everything
    assert values.count('data-testid="account-row"') == 1
    assert "Alpha Steel Works" in values


def test_the_opportunity_page_shows_the_accounts_type(client_for, people, books):
    # given
    book = books["rep_a"]
    account_update(actor=people.rep_a, account=book.account, account_type="strategic")
    # when
    html = (
        client_for(people.rep_a)
        .get(reverse("opportunity-detail", args=[book.opportunity.pk]))
        .content.decode()
    )
    # then
    assert '<span class="badge type-strategic" data-testid="account-type">Strategic</span>' in html


def test_the_account_form_sets_the_value_positioning(client_for, people, account):
    # given
    client = client_for(people.rep_a)
    form = client.get(reverse("account-edit", args=[account.pk])).content.decode()
    data = {"name": account.name, "owner": people.rep_a.pk, "value_positioning": "4"}
    # when
    response = client.post(reverse("account-edit", args=[account.pk]), data)
    bad = client.post(
        reverse("account-edit", args=[account.pk]), {**data, "value_positioning": "7"}
    )
    # then
    assert 'name="value_positioning"' in form
    assert "How well what we offer matches the value this customer seeks" in form
    assert response.status_code == 302
    account.refresh_from_db()
    assert account.value_positioning == 4
    assert "Select a valid choice. 7 is not one of the available choices." in (bad.content.decode())
