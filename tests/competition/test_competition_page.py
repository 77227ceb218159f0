"""The competition card (竞争对手分析表) on the opportunity page: the totals with where
each rival stands against us, the radar's data, the table with each criterion's guide,
and the form to score us and the rivals, add a rival (recorded or new) and remove one.
Every write goes through kam.competition.scoring.competition_set; a refused one changes
nothing."""

from __future__ import annotations

import datetime as dt
import json
import re

import pytest
from django.db import connection
from django.db.models import F
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from kam.accounts.services import account_create
from kam.competition.competitors import competitor_create
from kam.competition.models import CompetitionScore, Competitor
from kam.competition.scoring import competition_set
from kam.core import clock
from kam.core.models import Event
from kam.methodology import registry
from kam.opportunities.services import opportunity_create
from kam.web.views.competition import competition_context

# The shipped criteria in their order (their list is checked in
# tests/methodology/test_competition_model.py).
KEYS = [c.key for c in registry.current().competition.criteria]


@pytest.fixture
def opp(world):
    account = account_create(actor=world.rep_a, name="某服装品牌")
    return opportunity_create(
        actor=world.rep_a,
        account=account,
        name="辅料年度供货",
        amount="800000",
        expected_close=clock.today() + dt.timedelta(days=90),
    )


@pytest.fixture
def incumbent(world):
    return competitor_create(actor=world.rep_a, name="常州精工")


@pytest.fixture
def scored(world, opp, incumbent):
    """Us strong on price, the incumbent ahead on share and history."""
    competition_set(
        actor=world.rep_a,
        opportunity=opp,
        scores={
            "us": {"purchase_share": 1, "cooperation_history": 2, "price": 5},
            incumbent.pk: {"purchase_share": 5, "cooperation_history": 5, "price": 3},
        },
    )
    return opp


def _client(user, language: str = "en") -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    client.force_login(user)
    return client


def _html(client, opp) -> str:
    response = client.get(reverse("opportunity-detail", args=[opp.pk]))
    assert response.status_code == 200
    return response.content.decode()


def _card(html: str) -> str:
    start = html.index('data-testid="competition-card"')
    return html[start : html.index("</section>", start)]


def _chart(html: str) -> dict:
    found = re.search(r'<script id="competition-data" type="application/json">(.*?)</script>', html)
    assert found, "no radar data"
    return json.loads(found.group(1))


def _post(client, opp, data: dict):
    return client.post(reverse("opportunity-competition", args=[opp.pk]), data)


def _state(opp) -> tuple:
    rows = list(
        CompetitionScore.objects.filter(opportunity=opp)
        .order_by(F("competitor_id").asc(nulls_first=True), "criterion")  # "us" (None) first
        .values_list("competitor_id", "criterion", "score")
    )
    return rows, Competitor.objects.count(), Event.objects.filter(opportunity_id=opp.pk).count()


def _cells(party: str, **scores) -> dict:
    return {f"s_{party}__{k}": str(v) for k, v in scores.items()}


# --- the card --------------------------------------------------------------------------------


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_an_empty_table_explains_itself_and_opens_the_form(world, opp, language):
    card = _card(_html(_client(world.rep_a, language), opp))
    assert 'data-testid="competition-empty"' in card
    assert 'data-testid="competition-radar"' not in card
    assert 'data-testid="competition-form"' in card
    assert re.search(
        r"<details class=\"inline-form\" open>\s*<summary data-testid=\"competition-open\"", card
    )


def test_the_radar_data_has_every_criterion_and_each_party(world, scored, incumbent):
    # when
    html = _html(_client(world.rep_a), scored)
    data = _chart(html)
    # then
    assert [i["name"] for i in data["indicators"]][:3] == [
        "Purchase share",
        "Profit",
        "Cooperation history",
    ]
    assert {i["max"] for i in data["indicators"]} == {5} and len(data["indicators"]) == 13
    us, rival = data["series"]
    assert (us["name"], us["us"], us["colour"], us["total"]) == ("Us", True, "#1d4e89", 53.3)
    assert us["values"] == [1, None, 2, None, None, None, None, None, None, None, None, None, 5]
    assert (rival["name"], rival["us"], rival["total"]) == ("常州精工", False, 86.7)
    assert rival["values"][0] == 5 and rival["values"][12] == 3
    assert 'data-testid="competition-radar"' in _card(html)


def test_totals_gaps_and_the_guide_as_tooltip(world, scored, incumbent):
    # when
    card = _card(_html(_client(world.rep_a), scored))
    # then: each weighs 8: us 8 + 16 + 40 = 64 of 120, the incumbent 40 + 40 + 24 = 104
    totals = re.findall(r'data-testid="competition-party-total">([^<]*)<', card)
    assert totals == ["53.3", "86.7"]
    assert "▲ 33.4 ahead of us" in card
    assert "86.7 against our 53.3 over 3 common criteria" in card
    assert card.count('data-testid="competition-row"') == 13
    assert (
        'title="1 = the dearest offer, well above the customer&#x27;s budget · 5 = the most '
        'attractive price for what is offered"' in card
    )
    gaps = re.findall(r'data-testid="competition-gap-cell">([^<]*)<', card)
    assert gaps[0] == "-4" and gaps[2] == "-3" and gaps[12] == "+2" and gaps[1] == "—"


def test_the_card_speaks_chinese(world, scored):
    html = _html(_client(world.rep_a, "zh-hans"), scored)
    assert [i["name"] for i in _chart(html)["indicators"]][-1] == "价格"
    assert "同等条件下价格最有吸引力" in _card(html)


def test_the_page_shows_the_alert_with_the_rival_as_evidence(world, scored):
    html = _html(_client(world.rep_a), scored)
    assert "Stronger competitor: 常州精工" in html
    assert re.search(r'<a href="#competition"[^>]*>常州精工</a>', html)


def test_the_history_shows_the_scoring(world, scored):
    html = _html(_client(world.rep_a), scored)
    assert 'data-action="competition_scored"' in html
    assert "Competition table scored" in html
    assert "3 scored, total 86.7" in html


def test_the_form_is_filled_with_the_scores(world, scored, incumbent):
    card = _card(_html(_client(world.rep_a), scored))
    price = re.search(rf'<select name="s_{incumbent.pk}__price"[^>]*>(.*?)</select>', card, re.S)
    assert price and '<option value="3" selected>' in price.group(1)
    assert f'name="remove" value="{incumbent.pk}"' in card
    assert 'name="rival_name"' in card


def test_who_cannot_edit_sees_no_form(world, scored):
    context = competition_context(world.rep_b, scored, {})
    assert context["competition_form"] is None
    assert context["competition"]["summary"][0]["total"] == "53.3"


def test_page_cost_does_not_grow_with_rivals(world, opp):
    # given
    client = _client(world.rep_a)
    rivals = [competitor_create(actor=world.rep_a, name=f"Rival {i}") for i in range(6)]
    competition_set(
        actor=world.rep_a, opportunity=opp, scores={"us": {"price": 3}, rivals[0].pk: {"price": 4}}
    )
    _html(client, opp)
    with CaptureQueriesContext(connection) as few:
        _html(client, opp)
    # when
    competition_set(
        actor=world.rep_a,
        opportunity=opp,
        scores={"us": {"price": 3}, **{r.pk: {"price": 4} for r in rivals}},
    )
    with CaptureQueriesContext(connection) as many:
        html = _html(client, opp)
    # then
    assert len(_chart(html)["series"]) == 7
    assert len(many.captured_queries) == len(few.captured_queries)


# --- saving ----------------------------------------------------------------------------------


def test_score_us_and_a_new_rival_typed_in(world, opp):
    # when
    response = _post(
        _client(world.rep_a),
        opp,
        {
            **_cells("us", price=5, quality=4),
            **_cells("new", price=3, quality=5),
            "rival_name": "常州精工",
        },
    )
    # then
    assert response.status_code == 302
    assert response["Location"].endswith(f"/opportunities/{opp.pk}/#competition")
    rival = Competitor.objects.get(name="常州精工")
    assert _state(opp)[0] == [
        (None, "price", 5),
        (None, "quality", 4),
        (rival.pk, "price", 3),
        (rival.pk, "quality", 5),
    ]
    assert Event.objects.filter(opportunity_id=opp.pk, action="competition_scored").count() == 1


def test_add_a_recorded_rival_and_change_our_scores(world, scored, incumbent):
    # given
    other = competitor_create(actor=world.rep_b, name="低价厂")
    data = {
        **_cells("us", purchase_share=1, cooperation_history=2, price=4),
        **_cells(str(incumbent.pk), purchase_share=5, cooperation_history=5, price=3),
        **_cells("new", price=5),
        "rival": str(other.pk),
    }
    # when
    response = _post(_client(world.rep_a), scored, data)
    # then
    assert response.status_code == 302
    rows = _state(scored)[0]
    assert (None, "price", 4) in rows and (other.pk, "price", 5) in rows
    assert len(rows) == 7


def test_remove_a_rival(world, scored, incumbent):
    # given: the page as shown, with the Remove button of the incumbent pressed
    data = {
        **_cells("us", purchase_share=1, cooperation_history=2, price=5),
        **_cells(str(incumbent.pk), purchase_share=5, cooperation_history=5, price=3),
        "remove": str(incumbent.pk),
    }
    client = _client(world.rep_a)
    # when
    response = _post(client, scored, data)
    # then
    assert response.status_code == 302
    assert {r[0] for r in _state(scored)[0]} == {None}
    assert "常州精工 taken out of the competition table." in _html(client, scored)


def test_a_new_rivals_name_without_scores_is_refused_and_records_nobody(world, scored, incumbent):
    # given
    before = _state(scored)
    data = {
        **_cells("us", purchase_share=1, cooperation_history=2, price=5),
        **_cells(str(incumbent.pk), purchase_share=5, cooperation_history=5, price=3),
        "rival_name": "新对手",
    }
    # when
    response = _post(_client(world.rep_a), scored, data)
    # then
    assert response.status_code == 422
    card = _card(response.content.decode())
    assert "Score the new rival on at least one criterion." in card
    assert re.search(r"<details class=\"inline-form\" open>", card)
    assert _state(scored) == before


def test_scores_for_a_new_rival_need_its_name(world, opp):
    before = _state(opp)
    response = _post(_client(world.rep_a), opp, _cells("new", price=3))
    assert response.status_code == 422
    assert "Choose the rival these scores are for, or type its name." in response.content.decode()
    assert _state(opp) == before


def test_an_emptied_rival_column_is_refused(world, scored, incumbent):
    # given: every cell of the incumbent blanked
    before = _state(scored)
    data = {**_cells("us", price=5), **_cells(str(incumbent.pk))}
    # when
    response = _post(_client(world.rep_a), scored, data)
    # then
    assert response.status_code == 422
    assert "Score 常州精工 on at least one criterion, or leave it out of the table." in (
        response.content.decode()
    )
    assert _state(scored) == before


def test_a_rival_already_in_the_table_cannot_be_added_again(world, scored, incumbent):
    before = _state(scored)
    data = {
        **_cells("us", price=5),
        **_cells(str(incumbent.pk), price=3),
        **_cells("new", price=4),
        "rival_name": "常州精工",
    }
    response = _post(_client(world.rep_a), scored, data)
    assert response.status_code == 422
    assert "常州精工 is already in the table: score it in its column." in response.content.decode()
    assert _state(scored) == before


def test_a_score_outside_1_to_5_is_refused_on_its_cell(world, opp):
    before = _state(opp)
    response = _post(_client(world.rep_a), opp, {"s_us__price": "9"})
    assert response.status_code == 422
    card = _card(response.content.decode())
    assert re.search(r'<td class="cell has-error">\s*<select name="s_us__price"', card)
    assert _state(opp) == before


def test_another_reps_deal_is_404_and_unchanged(world, scored):
    before = _state(scored)
    response = _post(_client(world.rep_c), scored, _cells("us", price=1))
    assert response.status_code == 404
    assert _state(scored) == before


def test_the_manager_scores_the_reps_deal(world, opp):
    response = _post(_client(world.manager_east), opp, _cells("us", price=2))
    assert response.status_code == 302
    assert _state(opp)[0] == [(None, "price", 2)]
