"""Who may see and change what, per role, through the API (issue 2: a rep cannot
read or change another rep's opportunity, and nothing changes when refused)."""

from __future__ import annotations

import pytest

from kam.accounts.models import Account
from kam.contacts.models import Contact
from kam.core.models import Event
from kam.opportunities.models import Opportunity

# Records belong to rep_a (team East). Expected answer for each viewer.
VIEWERS = {
    "rep_a": 200,  # the owner
    "rep_b": 404,  # another rep, same team
    "rep_c": 404,  # a rep of another team
    "manager_east": 200,  # the owner's manager
    "manager_west": 404,  # another team's manager
    "admin": 200,
    None: 401,  # anonymous
}


def _viewer(world, name):
    return None if name is None else getattr(world, name)


def _rows():
    return (
        list(Opportunity.objects.order_by("pk").values()),
        list(Account.objects.order_by("pk").values()),
        list(Contact.objects.order_by("pk").values()),
        Event.objects.count(),
    )


@pytest.mark.parametrize(("viewer", "expected"), VIEWERS.items())
@pytest.mark.parametrize("kind", ["opportunities", "accounts", "contacts"])
def test_read_follows_ownership(world, book, api_as, viewer, expected, kind):
    # given
    record = book["rep_a"][{"opportunities": "opportunity", "accounts": "account",
                            "contacts": "contact"}[kind]]
    # when
    response = api_as(_viewer(world, viewer)).get(f"{kind}/{record.pk}")
    # then
    assert response.status_code == expected
    if expected == 200:
        assert response.json()["id"] == record.pk
    if expected == 404:
        # a refused read looks exactly like a missing record
        missing = api_as(_viewer(world, viewer)).get(f"{kind}/999999")
        assert missing.status_code == 404


WRITES = {
    "opportunities": {"name": "Renamed", "amount": "1"},
    "accounts": {"name": "Renamed"},
    "contacts": {"name": "Renamed"},
}


@pytest.mark.parametrize(("viewer", "expected"), VIEWERS.items())
@pytest.mark.parametrize("kind", ["opportunities", "accounts", "contacts"])
def test_refused_write_changes_nothing(world, book, api_as, viewer, expected, kind):
    # given
    record = book["rep_a"][{"opportunities": "opportunity", "accounts": "account",
                            "contacts": "contact"}[kind]]
    client = api_as(_viewer(world, viewer))
    before = _rows()
    # when
    response = client.patch(f"{kind}/{record.pk}", WRITES[kind])
    # then
    assert response.status_code == expected
    if expected != 200:
        assert _rows() == before
    else:
        assert response.json()["name"] == "Renamed"


@pytest.mark.parametrize("viewer", ["rep_b", "rep_c", "manager_west"])
def test_refused_delete_changes_nothing(world, book, api_as, viewer):
    # given
    opp = book["rep_a"]["opportunity"]
    client = api_as(_viewer(world, viewer))
    before = _rows()
    # when
    response = client.delete(f"opportunities/{opp.pk}")
    # then
    assert response.status_code == 404
    assert _rows() == before


@pytest.mark.parametrize(
    ("viewer", "expected_names"),
    [
        ("rep_a", {"Deal of rep_a"}),
        ("rep_b", {"Deal of rep_b"}),
        ("manager_east", {"Deal of rep_a", "Deal of rep_b"}),
        ("manager_west", {"Deal of rep_c"}),
        ("admin", {"Deal of rep_a", "Deal of rep_b", "Deal of rep_c"}),
    ],
)
def test_lists_show_only_visible_records(world, book, api_as, viewer, expected_names):
    # when
    body = api_as(_viewer(world, viewer)).get("opportunities").json()
    # then
    assert {item["name"] for item in body["items"]} == expected_names
    assert body["count"] == len(expected_names)


def test_rep_sees_account_of_own_deal_but_cannot_edit_it(world, book, api_as):
    # given: rep_b sells on rep_a's account
    from kam.opportunities.services import opportunity_create

    account = book["rep_a"]["account"]
    opportunity_create(actor=world.rep_b, account=account, name="B on A", amount="5",
                       expected_close="2027-01-01")
    client = api_as(world.rep_b)
    # when
    read = client.get(f"accounts/{account.pk}")
    write = client.patch(f"accounts/{account.pk}", {"name": "Taken over"})
    # then
    assert read.status_code == 200
    assert write.status_code == 403
    account.refresh_from_db()
    assert account.name == "Account of rep_a"


def test_rep_cannot_create_opportunity_on_invisible_account(world, book, api_as):
    # given
    before = Opportunity.objects.count()
    # when
    response = api_as(world.rep_c).post("opportunities", {
        "account_id": book["rep_a"]["account"].pk, "name": "Poach", "amount": 1,
        "expected_close": "2027-01-01"})
    # then
    assert response.status_code == 422
    assert response.json()["field"] == "account_id"
    assert Opportunity.objects.count() == before


def test_rep_cannot_give_a_deal_to_someone_else(world, book, api_as):
    # given
    opp = book["rep_a"]["opportunity"]
    # when
    response = api_as(world.rep_a).patch(f"opportunities/{opp.pk}", {"owner_id": world.rep_c.pk})
    # then
    assert response.status_code == 403
    opp.refresh_from_db()
    assert opp.owner_id == world.rep_a.pk


def test_manager_reassigns_within_team_only(world, book, api_as):
    # given
    opp = book["rep_a"]["opportunity"]
    client = api_as(world.manager_east)
    # when
    inside = client.patch(f"opportunities/{opp.pk}", {"owner_id": world.rep_b.pk})
    outside = client.patch(f"opportunities/{opp.pk}", {"owner_id": world.rep_c.pk})
    # then
    assert inside.status_code == 200
    assert inside.json()["owner_id"] == world.rep_b.pk
    assert outside.status_code == 403
    opp.refresh_from_db()
    assert opp.owner_id == world.rep_b.pk


def test_disabled_user_token_is_refused(world, book, api_as):
    # given
    client = api_as(world.rep_a)
    world.rep_a.is_active = False
    world.rep_a.save(update_fields=["is_active"])
    # when
    response = client.get("opportunities")
    # then
    assert response.status_code == 401


def test_wrong_token_is_refused(db):
    from django.test import Client

    response = Client().get("/api/v1/accounts", HTTP_AUTHORIZATION="Bearer kam_not-a-token")
    assert response.status_code == 401
    assert "kam token" in response.json()["detail"]
