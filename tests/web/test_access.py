"""Who may see and change which page: a record the user may not see is a 404,
a visible one they may not change is a 403, and a refused POST changes nothing."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from kam.accounts.models import Account
from kam.contacts.models import Contact
from kam.core.models import Event
from kam.opportunities.models import Opportunity
from kam.opportunities.services import opportunity_create

PAGES = {
    "opportunity-detail": "opportunity",
    "opportunity-edit": "opportunity",
    "account-detail": "account",
    "account-edit": "account",
    "contact-create": "account",
    "contact-edit": "report",
}

# Records belong to rep_a (team East): the status each viewer gets on each page.
VIEWERS = {
    "rep_a": 200,
    "rep_b": 404,
    "rep_c": 404,
    "manager_east": 200,
    "manager_west": 404,
    "admin": 200,
}


def _rows():
    return (
        list(Opportunity.objects.order_by("pk").values()),
        list(Account.objects.order_by("pk").values()),
        list(Contact.objects.order_by("pk").values()),
        Event.objects.count(),
    )


@pytest.mark.parametrize(("viewer", "expected"), VIEWERS.items())
@pytest.mark.parametrize(("url_name", "record"), PAGES.items())
def test_pages_follow_ownership(client_for, people, books, viewer, expected, url_name, record):
    # given
    client = client_for(getattr(people, viewer))
    target = getattr(books["rep_a"], record)
    # when
    response = client.get(reverse(url_name, args=[target.pk]))
    # then
    assert response.status_code == expected


def test_a_refused_record_looks_like_a_missing_one(client_for, people, books):
    # given
    client = client_for(people.rep_c)
    # when
    refused = client.get(reverse("opportunity-detail", args=[books["rep_a"].opportunity.pk]))
    missing = client.get(reverse("opportunity-detail", args=[999_999]))
    # then
    assert refused.status_code == missing.status_code == 404
    assert "not shared with you" in refused.content.decode()
    assert "Alpha" not in refused.content.decode()


def test_creating_an_opportunity_on_an_invisible_account_is_404(client_for, people, books):
    # given
    client = client_for(people.rep_c)
    account = books["rep_a"].account
    before = _rows()
    # when
    page = client.get(reverse("opportunity-create") + f"?account={account.pk}")
    post = client.post(
        reverse("opportunity-create") + f"?account={account.pk}",
        {
            "name": "Sneaky",
            "owner": people.rep_c.pk,
            "amount": "1",
            "currency": "CNY",
            "expected_close": "2027-01-01",
            "playbook": "standard-6",
        },
    )
    # then
    assert page.status_code == 404
    assert post.status_code == 404
    assert _rows() == before


@pytest.mark.parametrize(
    ("url_name", "record", "data"),
    [
        (
            "opportunity-edit",
            "opportunity",
            {
                "name": "Stolen",
                "owner": "",
                "amount": "1",
                "currency": "CNY",
                "expected_close": "2027-01-01",
                "buyer_stage": "contract",
            },
        ),
        ("account-edit", "account", {"name": "Stolen"}),
        ("contact-edit", "report", {"name": "Stolen", "status": "active"}),
        ("contact-create", "account", {"name": "Planted", "status": "active"}),
    ],
)
@pytest.mark.parametrize("viewer", ["rep_b", "rep_c", "manager_west"])
def test_a_refused_post_changes_nothing(client_for, people, books, url_name, record, data, viewer):
    # given
    client = client_for(getattr(people, viewer))
    target = getattr(books["rep_a"], record)
    if "owner" in data:
        data = {**data, "owner": getattr(people, viewer).pk}
    before = _rows()
    # when
    response = client.post(reverse(url_name, args=[target.pk]), data)
    # then
    assert response.status_code == 404
    assert _rows() == before


def test_an_account_seen_through_an_own_deal_is_readable_but_not_editable(
    client_for, people, books
):
    # given: rep_b sells to rep_a's account
    account = books["rep_a"].account
    opportunity_create(
        actor=people.rep_b,
        account=account,
        name="Bravo's deal at Alpha",
        amount="10",
        expected_close=dt.date(2027, 1, 1),
    )
    client = client_for(people.rep_b)
    before = _rows()
    # when
    detail = client.get(reverse("account-detail", args=[account.pk]))
    edit_page = client.get(reverse("account-edit", args=[account.pk]))
    edit_post = client.post(reverse("account-edit", args=[account.pk]), {"name": "Renamed"})
    # then
    assert detail.status_code == 200
    assert "Bravo&#x27;s deal at Alpha" in detail.content.decode()
    assert "Alpha Press line" not in detail.content.decode()
    assert 'data-testid="account-edit"' not in detail.content.decode()
    assert edit_page.status_code == 403
    assert "You can see this account but not change it" in edit_page.content.decode()
    assert edit_post.status_code == 403
    assert _rows() == before


def test_a_manager_sees_the_team_lists(client_for, people, books):
    # given
    client = client_for(people.manager_east)
    # when
    opportunities = client.get(reverse("opportunity-list")).content.decode()
    accounts = client.get(reverse("account-list")).content.decode()
    # then
    assert "Alpha Press line" in opportunities
    assert "Bravo Press line" in opportunities
    assert "Charlie Press line" not in opportunities
    assert "Alpha Steel Works" in accounts
    assert "Bravo Steel Works" in accounts
    assert "Charlie Steel Works" not in accounts


def test_a_rep_sees_only_their_own_lists(client_for, people, books):
    # given
    client = client_for(people.rep_a)
    # when
    opportunities = client.get(reverse("opportunity-list")).content.decode()
    home = client.get(reverse("home")).content.decode()
    # then
    assert "Alpha Press line" in opportunities
    assert "Bravo Press line" not in opportunities
    assert "Bravo Press line" not in home
