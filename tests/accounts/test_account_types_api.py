"""/api/v1/accounts/type-questionnaire and /accounts/{id}/type-questionnaire: the
three account types (三类大客户, SPEC §6) and the questionnaire that suggests one."""

from __future__ import annotations

import datetime as dt

import pytest

from kam.accounts.models import Account
from kam.core.models import Event
from kam.opportunities.services import opportunity_create

VALUE = {"offering": "tailored", "decides": "solution_fit", "switching": "hardly"}
ROLES = {
    "rep_a": 200,
    "rep_b": 404,
    "rep_c": 404,
    "manager_east": 200,
    "manager_west": 404,
    "admin": 200,
}


def _ok(response, status: int = 200):
    assert response.status_code == status, response.content
    return response.json()


@pytest.fixture
def account(book):
    return book["rep_a"]["account"]


def _state(account) -> tuple:
    return (
        Account.objects.filter(pk=account.pk).values().get(),
        Event.objects.filter(account_id=account.pk).count(),
    )


# --- the questionnaire --------------------------------------------------------------------


def test_the_questionnaire_route_is_not_taken_for_an_account_id(world, api_as):
    # when
    response = api_as(world.rep_a).get("accounts/type-questionnaire")
    # then
    body = _ok(response)
    assert [t["key"] for t in body["types"]] == ["transactional", "value", "strategic"]
    assert [q["key"] for q in body["questions"]] == [
        "offering",
        "switching",
        "decides",
        "contacts",
        "horizon",
        "sharing",
    ]


def test_the_questionnaire_in_english(world, api_as):
    body = _ok(api_as(world.rep_a).get("accounts/type-questionnaire"))
    assert body["types"][0] == {
        "key": "transactional",
        "name": "Transactional",
        "buys": "The product only: standard, replaceable items bought to a specification.",
        "decides": "Price and ease of buying: delivery, ordering, payment terms.",
        "relationship": "Arm's-length: purchasing deals with our sales rep, order by order.",
        "emphasis": [
            "Keep the cost to serve low: quote within a day, standard terms, easy ordering "
            "and reliable delivery from stock.",
            "Compete on price with a clear price list and volume or framework discounts; do "
            "not give engineering time away for free.",
            "Watch for a need beyond the product (quality problems, a redesign, a new line): "
            "it is the way to move the account up to value.",
        ],
    }
    assert body["questions"][2] == {
        "key": "decides",
        "text": "What decides their choice of supplier?",
        "help": "",
        "answers": [
            {"key": "price", "text": "The lowest price and easy ordering and delivery"},
            {
                "key": "solution_fit",
                "text": "How well the solution fits, and price–performance over its life",
            },
            {"key": "capability", "text": "Our capability and long-term fit with their strategy"},
        ],
    }


def test_the_questionnaire_in_chinese(world, api_as):
    body = _ok(api_as(world.rep_a, "zh-hans").get("accounts/type-questionnaire"))
    assert [t["name"] for t in body["types"]] == ["交易型", "价值型", "战略型"]
    assert body["questions"][0]["text"] == "客户向我们采购的是什么?"
    assert body["questions"][0]["answers"][0]["text"] == "标准目录产品,按规格采购"


def test_the_questionnaire_needs_a_login(db, api_as):
    assert api_as(None).get("accounts/type-questionnaire").status_code == 401


# --- suggesting ---------------------------------------------------------------------------


def test_a_suggestion_with_points_and_reasons_changes_nothing(world, api_as, account):
    # given
    before = _state(account)
    # when
    body = _ok(
        api_as(world.rep_a).post(
            f"accounts/{account.pk}/type-questionnaire", {"answers": {**VALUE, "horizon": None}}
        )
    )
    # then
    assert body == {
        "suggested": "value",
        "suggested_name": "Value",
        "points": {"transactional": 0, "value": 5, "strategic": 2},
        "reasons": [
            "Buys products tailored to the application — value beyond the product.",
            "Our technology is built into their products or processes.",
            "Solution fit and price–performance decide.",
        ],
        "tie": False,
        "tied": [],
        "confidence": 0.71,
        "answered": 3,
        "questions": 6,
        "applied": False,
        "account_type": "",
    }
    assert _state(account) == before


def test_a_tie_is_reported_in_chinese(world, api_as, account):
    body = _ok(
        api_as(world.rep_a, "zh-hans").post(
            f"accounts/{account.pk}/type-questionnaire",
            {"answers": {"offering": "codeveloped", "decides": "price"}},
        )
    )
    assert (body["suggested"], body["suggested_name"], body["tie"], body["tied"]) == (
        "transactional",
        "交易型",
        True,
        ["transactional", "strategic"],
    )
    assert body["reasons"] == ["价格和采购便利性起决定作用。"]


def test_no_answers_suggest_nothing(world, api_as, account):
    body = _ok(
        api_as(world.rep_a).post(f"accounts/{account.pk}/type-questionnaire", {"answers": {}})
    )
    assert (body["suggested"], body["suggested_name"], body["reasons"], body["answered"]) == (
        None,
        "",
        [],
        0,
    )


@pytest.mark.parametrize(
    ("answers", "field", "detail"),
    [
        (
            {"colour": "red"},
            "answers.colour",
            "There is no question “colour”; use one of: offering, switching, decides, "
            "contacts, horizon, sharing.",
        ),
        (
            {"offering": "standard", "decides": "luck"},
            "answers.decides",
            "“luck” is not an answer to this question; use one of: price, solution_fit, "
            "capability.",
        ),
    ],
)
@pytest.mark.parametrize("apply", [False, True])
def test_unknown_keys_are_refused_naming_the_question(
    world, api_as, account, answers, field, detail, apply
):
    # given
    before = _state(account)
    # when
    response = api_as(world.rep_a).post(
        f"accounts/{account.pk}/type-questionnaire", {"answers": answers, "apply": apply}
    )
    # then
    assert response.status_code == 422
    assert response.json() == {"detail": detail, "field": field}
    assert _state(account) == before


def test_a_non_text_answer_is_refused_by_the_schema(world, api_as, account):
    response = api_as(world.rep_a).post(
        f"accounts/{account.pk}/type-questionnaire", {"answers": {"offering": 3}}
    )
    assert response.status_code == 422
    assert response.json()["field"] == "answers.offering"


# --- applying -----------------------------------------------------------------------------


def test_applying_sets_the_type_through_an_audited_update(world, api_as, account):
    # when
    body = _ok(
        api_as(world.rep_a).post(
            f"accounts/{account.pk}/type-questionnaire", {"answers": VALUE, "apply": True}
        )
    )
    # then
    assert (body["suggested"], body["applied"], body["account_type"]) == ("value", True, "value")
    account.refresh_from_db()
    assert account.account_type == "value"
    event = Event.objects.filter(account_id=account.pk).last()
    assert (event.entity, event.action, event.actor_id, event.before, event.after) == (
        "account",
        "updated",
        world.rep_a.pk,
        {"account_type": ""},
        {"account_type": "value"},
    )


def test_applying_the_type_it_already_has_writes_nothing(world, api_as, account):
    # given
    client = api_as(world.rep_a)
    _ok(client.post(f"accounts/{account.pk}/type-questionnaire", {"answers": VALUE, "apply": True}))
    before = _state(account)
    # when
    body = _ok(
        client.post(f"accounts/{account.pk}/type-questionnaire", {"answers": VALUE, "apply": True})
    )
    # then
    assert body["account_type"] == "value"
    assert _state(account) == before


def test_applying_without_an_answer_is_refused(world, api_as, account):
    # given
    before = _state(account)
    # when
    response = api_as(world.rep_a).post(
        f"accounts/{account.pk}/type-questionnaire",
        {"answers": {"offering": None}, "apply": True},
    )
    # then
    assert response.status_code == 422
    assert response.json() == {
        "detail": "Answer at least one question before applying a suggestion.",
        "field": "answers",
    }
    assert _state(account) == before


@pytest.mark.parametrize(("viewer", "expected"), ROLES.items())
def test_suggesting_follows_the_accounts_visibility(world, api_as, account, viewer, expected):
    # given
    before = _state(account)
    # when
    response = api_as(getattr(world, viewer)).post(
        f"accounts/{account.pk}/type-questionnaire", {"answers": VALUE}
    )
    # then
    assert response.status_code == expected
    assert _state(account) == before


@pytest.mark.parametrize(("viewer", "expected"), ROLES.items())
def test_applying_follows_edit_rights(world, api_as, account, viewer, expected):
    # given
    before = _state(account)
    # when
    response = api_as(getattr(world, viewer)).post(
        f"accounts/{account.pk}/type-questionnaire", {"answers": VALUE, "apply": True}
    )
    # then
    assert response.status_code == expected
    account.refresh_from_db()
    if expected == 200:
        assert account.account_type == "value"
        assert (
            Event.objects.filter(account_id=account.pk).last().actor_id == getattr(world, viewer).pk
        )
    else:
        assert _state(account) == before


def test_a_rep_who_sells_on_the_account_may_ask_but_not_apply(world, api_as, account):
    # given
    opportunity_create(
        actor=world.rep_b,
        account=account,
        name="B on A",
        amount="5",
        expected_close=dt.date(2027, 1, 1),
    )
    before = _state(account)
    client = api_as(world.rep_b)
    # when
    ask = client.post(f"accounts/{account.pk}/type-questionnaire", {"answers": VALUE})
    apply = client.post(
        f"accounts/{account.pk}/type-questionnaire", {"answers": VALUE, "apply": True}
    )
    # then
    assert (ask.status_code, ask.json()["suggested"]) == (200, "value")
    assert apply.status_code == 403
    assert _state(account) == before
