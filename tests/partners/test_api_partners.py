"""/api/v1/partners: create, read, change and list referral partners (SPEC §7, §10);
validation names the field, ownership follows the house rule and a refused write
changes nothing."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from kam.accounts.services import account_create
from kam.core import clock
from kam.core.models import Event
from kam.partners.models import Partner, Referral
from tests.partners.conftest import at, make_partner, refer, won_deal

HUGE = 2**63


def _rows():
    return (
        list(Partner.objects.order_by("pk").values()),
        list(Referral.objects.order_by("pk").values()),
        Event.objects.count(),
    )


@pytest.fixture
def customer(world, frozen):
    with clock.freeze(at(2025, 12, 1)):
        return account_create(actor=world.rep_a, name="苏州博远精密机械")


@pytest.fixture
def zhang(world, frozen):
    """rep_a's partner (team East)."""
    return make_partner(world.rep_a, "张三", position="采购经理", phone="138 0000 0000")


# --- create ----------------------------------------------------------------------------


def test_create_with_only_a_name_takes_the_defaults(world, api_as, frozen):
    # when
    r = api_as(world.rep_a).post("partners", {"name": "  张三 "})
    # then: managed by me, on the default programme, no employer, no agreement yet
    assert r.status_code == 201, r.content
    body = r.json()
    assert body["name"] == "张三"
    assert (body["owner_id"], body["owner_name"]) == (world.rep_a.pk, str(world.rep_a))
    assert (body["programme"], body["programme_name"]) == (
        "standard",
        "Standard referral programme",
    )
    assert (body["employer_account_id"], body["employer_account_name"]) == (None, None)
    assert body["agreement_date"] is None
    assert (body["position"], body["phone"], body["agreement_terms"], body["notes"]) == (
        "",
        "",
        "",
        "",
    )
    event = Event.objects.get(entity="partner", entity_id=body["id"])
    assert (event.action, event.actor_id) == ("created", world.rep_a.pk)
    assert event.after["name"] == "张三"
    assert event.after["programme"] == "standard"
    assert event.after["owner"] == world.rep_a.pk


def test_create_with_every_field(world, api_as, customer):
    # when
    r = api_as(world.rep_a).post(
        "partners",
        {
            "name": "李四",
            "employer_account_id": customer.pk,
            "position": "技术科长",
            "phone": "+86 512 0000 0000",
            "agreement_date": "2025-11-20",
            "agreement_terms": "回款的5%",
            "programme": "standard",
            "notes": "介绍人:王总",
        },
    )
    # then
    assert r.status_code == 201, r.content
    body = r.json()
    assert (body["employer_account_id"], body["employer_account_name"]) == (
        customer.pk,
        "苏州博远精密机械",
    )
    assert (body["position"], body["phone"]) == ("技术科长", "+86 512 0000 0000")
    assert (body["agreement_date"], body["agreement_terms"], body["notes"]) == (
        "2025-11-20",
        "回款的5%",
        "介绍人:王总",
    )


def test_the_programme_name_follows_the_language(world, api_as, zhang):
    r = api_as(world.rep_a, "zh-Hans").get(f"partners/{zhang.pk}")
    assert r.json()["programme_name"] == "标准推荐方案"


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({}, "name"),
        ({"name": None}, "name"),
        ({"name": ""}, "name"),
        ({"name": "   "}, "name"),
        ({"name": "x" * 121}, "name"),
        ({"name": "x", "position": "p" * 121}, "position"),
        ({"name": "x", "phone": "1" * 41}, "phone"),
        ({"name": "x", "agreement_terms": "t" * 4001}, "agreement_terms"),
        ({"name": "x", "notes": "n" * 2001}, "notes"),
        ({"name": "x", "programme": "gold"}, "programme"),
        ({"name": "x", "programme": "p" * 41}, "programme"),
        ({"name": "x", "agreement_date": "2026-08-11"}, "agreement_date"),
        ({"name": "x", "agreement_date": "2026-02-30"}, "agreement_date"),
        ({"name": "x", "agreement_date": "last week"}, "agreement_date"),
        ({"name": "x", "employer_account_id": 0}, "employer_account_id"),
        ({"name": "x", "employer_account_id": HUGE}, "employer_account_id"),
        ({"name": "x", "employer_account_id": "abc"}, "employer_account_id"),
        ({"name": "x", "owner_id": 999_999}, "owner_id"),
        ({"name": "x", "owner_id": HUGE}, "owner_id"),
    ],
)
def test_bad_input_on_create_is_a_422_naming_the_field(world, api_as, frozen, payload, field):
    # given
    client = api_as(world.rep_a)
    before = _rows()
    # when
    r = client.post("partners", payload)
    # then
    assert r.status_code == 422, r.content
    assert r.json()["field"] == field
    assert r.json()["detail"]
    assert _rows() == before


def test_a_future_agreement_date_says_why(world, api_as, frozen):
    r = api_as(world.rep_a).post("partners", {"name": "x", "agreement_date": "2026-08-11"})
    assert r.json()["detail"] == (
        "This date is in the future; enter the day it happened (today at the latest)."
    )
    assert (
        api_as(world.rep_a)
        .post("partners", {"name": "x", "agreement_date": "2026-08-10"})
        .status_code
        == 201
    )


def test_an_employer_the_user_cannot_see_looks_like_a_missing_one(world, api_as, frozen):
    # given: rep_c's customer (team West), invisible to rep_a
    with clock.freeze(at(2025, 12, 1)):
        hidden = account_create(actor=world.rep_c, name="West customer")
    client = api_as(world.rep_a)
    before = _rows()
    # when
    hidden_answer = client.post("partners", {"name": "x", "employer_account_id": hidden.pk})
    missing_answer = client.post("partners", {"name": "x", "employer_account_id": 999_999})
    # then: the same 404 naming the field; nothing written; existence not revealed
    assert hidden_answer.status_code == missing_answer.status_code == 404
    assert hidden_answer.json() == missing_answer.json()
    assert hidden_answer.json()["field"] == "employer_account_id"
    assert "West customer" not in hidden_answer.content.decode()
    assert _rows() == before


def test_an_account_where_the_rep_sells_can_be_the_employer(world, api_as, frozen):
    # given: rep_c's account on which rep_a owns a deal (rep_a sees whom they sell to)
    with clock.freeze(at(2025, 12, 1)):
        account = account_create(actor=world.rep_c, name="Shared customer")
    won_deal(world.rep_a, account, "rep_a sells here", "1000", at(2026, 2, 1))
    # when
    r = api_as(world.rep_a).post("partners", {"name": "x", "employer_account_id": account.pk})
    # then
    assert r.status_code == 201, r.content
    assert r.json()["employer_account_name"] == "Shared customer"


# --- get and patch ---------------------------------------------------------------------


def test_get_returns_the_partner(world, api_as, zhang):
    r = api_as(world.rep_a).get(f"partners/{zhang.pk}")
    assert r.status_code == 200
    body = r.json()
    assert (body["id"], body["name"], body["position"], body["phone"]) == (
        zhang.pk,
        "张三",
        "采购经理",
        "138 0000 0000",
    )
    assert body["agreement_date"] == "2025-11-20"


def test_patch_changes_only_the_fields_sent_and_records_them(world, api_as, zhang, customer):
    # when
    r = api_as(world.rep_a).patch(
        f"partners/{zhang.pk}",
        {"phone": "139 1111 1111", "employer_account_id": customer.pk, "notes": None},
    )
    # then
    assert r.status_code == 200, r.content
    body = r.json()
    assert (body["name"], body["position"], body["phone"]) == ("张三", "采购经理", "139 1111 1111")
    assert body["employer_account_id"] == customer.pk
    assert body["notes"] == ""
    event = Event.objects.filter(entity="partner", entity_id=zhang.pk).latest("id")
    assert event.action == "updated"
    assert event.before == {"phone": "138 0000 0000", "employer_account": None}
    assert event.after == {"phone": "139 1111 1111", "employer_account": customer.pk}


def test_patch_with_the_same_values_writes_no_event(world, api_as, zhang):
    client = api_as(world.rep_a)
    before = Event.objects.count()
    r = client.patch(f"partners/{zhang.pk}", {"name": "张三", "phone": "138 0000 0000"})
    assert r.status_code == 200
    assert Event.objects.count() == before


def test_patch_can_clear_the_employer_and_the_agreement_date(world, api_as, customer):
    # given
    partner = make_partner(world.rep_a, employer=customer)
    # when
    r = api_as(world.rep_a).patch(
        f"partners/{partner.pk}", {"employer_account_id": None, "agreement_date": None}
    )
    # then
    assert r.status_code == 200, r.content
    assert (r.json()["employer_account_id"], r.json()["agreement_date"]) == (None, None)
    partner.refresh_from_db()
    assert (partner.employer_account_id, partner.agreement_date) == (None, None)


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"name": None}, "name"),
        ({"name": ""}, "name"),
        ({"name": "  "}, "name"),
        ({"name": "x" * 121}, "name"),
        ({"programme": None}, "programme"),
        ({"programme": "gold"}, "programme"),
        ({"owner_id": None}, "owner_id"),
        ({"owner_id": 999_999}, "owner_id"),
        ({"agreement_date": "2026-08-11"}, "agreement_date"),
        ({"agreement_date": "2026-13-01"}, "agreement_date"),
        ({"phone": "1" * 41}, "phone"),
        ({"employer_account_id": 0}, "employer_account_id"),
    ],
)
def test_bad_input_on_patch_is_a_422_and_changes_nothing(world, api_as, zhang, payload, field):
    # given
    client = api_as(world.rep_a)
    before = _rows()
    # when
    r = client.patch(f"partners/{zhang.pk}", payload)
    # then
    assert r.status_code == 422, r.content
    assert r.json()["field"] == field
    assert _rows() == before


def test_patch_to_an_employer_the_user_cannot_see_is_a_404_and_changes_nothing(
    world, api_as, zhang
):
    with clock.freeze(at(2025, 12, 1)):
        hidden = account_create(actor=world.rep_c, name="West customer")
    client = api_as(world.rep_a)
    before = _rows()
    r = client.patch(f"partners/{zhang.pk}", {"employer_account_id": hidden.pk})
    assert r.status_code == 404
    assert r.json()["field"] == "employer_account_id"
    assert r.json() == client.patch(f"partners/{zhang.pk}", {"employer_account_id": 999_999}).json()
    assert _rows() == before


# --- list --------------------------------------------------------------------------------


@pytest.fixture
def four(world, frozen, customer):
    """Three partners of rep_a (one employed by 苏州博远, with a held referral) and one of
    rep_b."""
    alice = make_partner(world.rep_a, "Alice Wang")
    bob = make_partner(world.rep_a, "Bob Chen", employer=customer)
    carol = make_partner(world.rep_a, "Carol Zhang")
    dan = make_partner(world.rep_b, "Dan Wu")
    with clock.freeze(at(2025, 12, 1)):
        other = account_create(actor=world.rep_a, name="无锡启航")
    at_employer = won_deal(world.rep_a, customer, "held deal", "1000", at(2026, 2, 1))
    elsewhere = won_deal(world.rep_a, other, "clear deal", "1000", at(2026, 2, 1))
    refer(world.rep_a, bob, at_employer)
    refer(world.rep_a, bob, elsewhere)
    refer(world.rep_a, alice, at_employer, "indirect")
    return {"alice": alice, "bob": bob, "carol": carol, "dan": dan}


def _names(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [x["name"] for x in response.json()["items"]]


def test_list_shows_my_partners_by_name_with_their_counts(world, api_as, four):
    # when
    r = api_as(world.rep_a).get("partners")
    # then
    assert _names(r) == ["Alice Wang", "Bob Chen", "Carol Zhang"]
    body = r.json()
    assert (body["count"], body["page"], body["page_size"]) == (3, 1, 50)
    counts = {x["name"]: (x["referral_count"], x["held_count"]) for x in body["items"]}
    assert counts == {"Alice Wang": (1, 0), "Bob Chen": (2, 1), "Carol Zhang": (0, 0)}


def test_list_filters_by_name_or_employer(world, api_as, four):
    client = api_as(world.rep_a)
    assert _names(client.get("partners?q=zhang")) == ["Carol Zhang"]
    assert _names(client.get("partners?q=%E5%8D%9A%E8%BF%9C")) == ["Bob Chen"]  # 博远
    assert _names(client.get("partners?q=%20chen%20")) == ["Bob Chen"]
    assert _names(client.get("partners?q=nobody")) == []
    assert _names(client.get("partners?q=wu")) == []  # rep_b's partner stays invisible


def test_list_pages(world, api_as, four):
    client = api_as(world.rep_a)
    r = client.get("partners?page=2&page_size=2")
    assert _names(r) == ["Carol Zhang"]
    assert (r.json()["count"], r.json()["page"], r.json()["page_size"]) == (3, 2, 2)
    assert _names(client.get("partners?page=9&page_size=2")) == []


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("page=0", "page"),
        ("page_size=0", "page_size"),
        ("page_size=100000", "page_size"),
        ("page=x", "page"),
        ("q=" + "q" * 121, "q"),
    ],
)
def test_bad_list_query_names_the_field(world, api_as, four, query, field):
    r = api_as(world.rep_a).get(f"partners?{query}")
    assert r.status_code == 422
    assert r.json()["field"] == field


@pytest.mark.parametrize(
    ("viewer", "expected"),
    [
        ("rep_a", ["Alice Wang", "Bob Chen", "Carol Zhang"]),
        ("rep_b", ["Dan Wu"]),
        ("rep_c", []),
        ("manager_east", ["Alice Wang", "Bob Chen", "Carol Zhang", "Dan Wu"]),
        ("manager_west", []),
        ("admin", ["Alice Wang", "Bob Chen", "Carol Zhang", "Dan Wu"]),
    ],
)
def test_list_follows_ownership(world, api_as, four, viewer, expected):
    assert _names(api_as(getattr(world, viewer)).get("partners")) == expected


def test_list_needs_a_token(world, api_as, four):
    r = api_as(None).get("partners")
    assert r.status_code == 401
    assert "Bearer" in r.json()["detail"]


# --- visibility per role ---------------------------------------------------------------

# The partner belongs to rep_a (team East). Expected answer for each viewer.
VIEWERS = {
    "rep_a": 200,  # the owner
    "rep_b": 404,  # another rep, same team
    "rep_c": 404,  # a rep of another team
    "manager_east": 200,  # the owner's manager
    "manager_west": 404,  # another team's manager
    "admin": 200,
    None: 401,  # anonymous
}
READS = ["", "/referrals", "/statement?period=2026H1", "/payouts"]


def _viewer(world, name):
    return None if name is None else getattr(world, name)


@pytest.mark.parametrize(("viewer", "expected"), VIEWERS.items())
@pytest.mark.parametrize("path", READS)
def test_reads_follow_ownership(world, api_as, zhang, viewer, expected, path):
    # when
    r = api_as(_viewer(world, viewer)).get(f"partners/{zhang.pk}{path}")
    # then
    assert r.status_code == expected, r.content
    if expected == 404:
        # a refused read looks exactly like a missing partner
        missing = api_as(_viewer(world, viewer)).get(f"partners/999999{path}")
        assert missing.status_code == 404
        assert r.json() == missing.json()


@pytest.mark.parametrize(("viewer", "expected"), VIEWERS.items())
def test_a_refused_patch_changes_nothing(world, api_as, zhang, viewer, expected):
    # given
    client = api_as(_viewer(world, viewer))
    before = _rows()
    # when
    r = client.patch(f"partners/{zhang.pk}", {"name": "Renamed"})
    # then
    assert r.status_code == expected
    if expected == 200:
        assert r.json()["name"] == "Renamed"
    else:
        assert _rows() == before


@pytest.mark.parametrize(("viewer", "expected"), VIEWERS.items())
def test_a_refused_referral_changes_nothing(world, api_as, zhang, viewer, expected):
    # given: rep_a's deal; the viewers who see the partner see the deal as well
    with clock.freeze(at(2025, 12, 1)):
        account = account_create(actor=world.rep_a, name="East customer")
    deal = won_deal(world.rep_a, account, "East deal", "1000", at(2026, 2, 1))
    client = api_as(_viewer(world, viewer))
    before = _rows()
    # when
    r = client.post(f"partners/{zhang.pk}/referrals", {"opportunity_id": deal.pk, "kind": "direct"})
    # then
    assert r.status_code == (201 if expected == 200 else expected), r.content
    if expected != 200:
        assert _rows() == before


@pytest.mark.parametrize(
    "path",
    [
        f"partners/{HUGE}",
        f"partners/{HUGE}/referrals",
        f"partners/{HUGE}/statement",
        f"partners/{HUGE}/payouts",
        f"partners/{10**30}",
    ],
)
def test_an_id_beyond_the_database_range_is_a_404(world, api_as, zhang, path):
    r = api_as(world.admin).get(path)
    assert r.status_code == 404
    assert r.json()["detail"] == "No such partner, or it is not shared with you."


def test_ids_beyond_the_range_on_writes_and_sub_records_are_404s(world, api_as, zhang):
    client = api_as(world.admin)
    assert client.patch(f"partners/{HUGE}", {"name": "x"}).status_code == 404
    assert client.delete(f"partners/{zhang.pk}/referrals/{HUGE}").status_code == 404
    assert client.get(f"partners/{zhang.pk}/referrals/{HUGE}/disclosure").status_code == 404
    assert client.post(f"partners/{HUGE}/payouts", {"period": "2026H1"}).status_code == 404
    assert client.get(f"opportunities/{HUGE}/payments").status_code == 404
    assert client.get(f"opportunities/{HUGE}/referrals").status_code == 404
    assert client.delete(f"opportunities/{HUGE}/payments/1").status_code == 404


# --- owner assignment ----------------------------------------------------------------------


@pytest.mark.parametrize("other", ["rep_b", "rep_c"])
def test_a_rep_cannot_give_a_new_partner_to_someone_else(world, api_as, frozen, other):
    client = api_as(world.rep_a)
    before = _rows()
    r = client.post("partners", {"name": "x", "owner_id": getattr(world, other).pk})
    assert r.status_code == 403
    assert r.json()["field"] == "owner_id"
    assert _rows() == before


@pytest.mark.parametrize("other", ["rep_b", "rep_c", "manager_east"])
def test_a_rep_cannot_hand_their_partner_over(world, api_as, zhang, other):
    client = api_as(world.rep_a)
    before = _rows()
    r = client.patch(f"partners/{zhang.pk}", {"owner_id": getattr(world, other).pk})
    assert r.status_code == 403
    assert r.json()["field"] == "owner_id"
    assert _rows() == before


def test_a_manager_moves_a_partner_within_the_team_only(world, api_as, zhang):
    client = api_as(world.manager_east)
    # a manager creates one for a rep of the team
    r = client.post("partners", {"name": "New", "owner_id": world.rep_b.pk})
    assert (r.status_code, r.json()["owner_id"]) == (201, world.rep_b.pk)
    # not for another team
    before = _rows()
    r = client.patch(f"partners/{zhang.pk}", {"owner_id": world.rep_c.pk})
    assert r.status_code == 403
    assert r.json()["field"] == "owner_id"
    assert _rows() == before
    # within the team: rep_b sees it now, rep_a no longer does
    r = client.patch(f"partners/{zhang.pk}", {"owner_id": world.rep_b.pk})
    assert (r.status_code, r.json()["owner_id"]) == (200, world.rep_b.pk)
    assert api_as(world.rep_b).get(f"partners/{zhang.pk}").status_code == 200
    assert api_as(world.rep_a).get(f"partners/{zhang.pk}").status_code == 404


def test_an_admin_gives_a_partner_to_another_team(world, api_as, zhang):
    r = api_as(world.admin).patch(f"partners/{zhang.pk}", {"owner_id": world.rep_c.pk})
    assert (r.status_code, r.json()["owner_id"]) == (200, world.rep_c.pk)
    assert api_as(world.manager_west).get(f"partners/{zhang.pk}").status_code == 200
    assert api_as(world.manager_east).get(f"partners/{zhang.pk}").status_code == 404
    event = Event.objects.filter(entity="partner", entity_id=zhang.pk).latest("id")
    assert (event.before, event.after) == ({"owner": world.rep_a.pk}, {"owner": world.rep_c.pk})


def test_a_disabled_user_cannot_receive_a_partner(world, api_as, zhang):
    world.rep_b.is_active = False
    world.rep_b.save(update_fields=["is_active"])
    r = api_as(world.admin).patch(f"partners/{zhang.pk}", {"owner_id": world.rep_b.pk})
    assert r.status_code == 422
    assert r.json()["field"] == "owner_id"
    zhang.refresh_from_db()
    assert zhang.owner_id == world.rep_a.pk


# --- records the programme keeps -----------------------------------------------------------


def test_an_account_employing_a_partner_cannot_be_deleted(world, api_as, customer):
    # given: an account with nothing on it but a partner it employs
    partner = make_partner(world.rep_a, employer=customer)
    # when
    r = api_as(world.rep_a).delete(f"accounts/{customer.pk}")
    # then: a 409 that says why, not a crash; the partner keeps the employer
    assert r.status_code == 409, r.content
    assert r.json()["detail"] == (
        "Referral partners are recorded as employed by this account; change them first."
    )
    partner.refresh_from_db()
    assert partner.employer_account_id == customer.pk


def test_the_agreement_date_can_be_today(world, api_as, zhang):
    with clock.freeze(at(2026, 8, 10, 23)):
        r = api_as(world.rep_a).patch(f"partners/{zhang.pk}", {"agreement_date": "2026-08-10"})
    assert r.status_code == 200
    assert r.json()["agreement_date"] == dt.date(2026, 8, 10).isoformat()


def test_the_list_costs_the_same_for_1_and_5_partners(
    world, api_as, frozen, customer, django_assert_num_queries
):
    # given
    deal = won_deal(world.rep_a, customer, "deal", "1000", at(2026, 2, 1))
    refer(world.rep_a, make_partner(world.rep_a, "P0", employer=customer), deal)
    client = api_as(world.rep_a)
    client.get("partners")  # the token's first use is recorded once; leave it out
    with CaptureQueriesContext(connection) as one:
        assert len(client.get("partners").json()["items"]) == 1
    for i in range(1, 5):
        refer(world.rep_a, make_partner(world.rep_a, f"P{i}", employer=customer), deal, "indirect")
    # when / then: the token, the count, the page (owner, employer and counts joined)
    with django_assert_num_queries(len(one.captured_queries)):
        body = client.get("partners").json()
    assert [(x["name"], x["held_count"]) for x in body["items"]] == [(f"P{i}", 1) for i in range(5)]
    assert len(one.captured_queries) == 3
