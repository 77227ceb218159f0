"""List filters, pagination and the htmx partial."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from kam.accounts.services import account_create
from kam.opportunities.services import opportunity_create, opportunity_update


def test_account_list_filters_by_search_industry_and_type(client_for, people):
    # given
    rep = people.rep_a
    account_create(actor=rep, name="Baosteel", industry="Steel", account_type="strategic")
    account_create(actor=rep, name="Bright Foods", industry="Food", account_type="value")
    account_create(actor=rep, name="Steel Pipe Ltd", industry="Steel", account_type="value")
    client = client_for(rep)
    # when
    by_q = client.get(reverse("account-list"), {"q": "pipe"})
    by_industry = client.get(reverse("account-list"), {"industry": "Steel"})
    by_type = client.get(reverse("account-list"), {"industry": "Steel", "account_type": "value"})
    # then
    assert [a.name for a in by_q.context["page"]] == ["Steel Pipe Ltd"]
    assert [a.name for a in by_industry.context["page"]] == ["Baosteel", "Steel Pipe Ltd"]
    assert [a.name for a in by_type.context["page"]] == ["Steel Pipe Ltd"]
    assert by_industry.context["form"].fields["industry"].choices == [
        ("", "All industries"),
        ("Food", "Food"),
        ("Steel", "Steel"),
    ]


def test_account_list_pages_by_fifty(client_for, people):
    # given
    for i in range(51):
        account_create(actor=people.rep_a, name=f"Account {i:02d}")
    client = client_for(people.rep_a)
    # when
    first = client.get(reverse("account-list"))
    second = client.get(reverse("account-list"), {"page": "2"})
    # then
    assert len(first.context["page"].object_list) == 50
    assert [a.name for a in second.context["page"]] == ["Account 50"]
    assert 'href="?page=2"' in first.content.decode()
    assert "Page 2 of 2" in second.content.decode()


def test_htmx_request_gets_only_the_results(client_for, people, books):
    # given
    client = client_for(people.rep_a)
    # when
    partial = client.get(reverse("account-list"), {"q": "alpha"}, HTTP_HX_REQUEST="true")
    full = client.get(reverse("account-list"), {"q": "alpha"})
    restore = client.get(
        reverse("account-list"),
        {"q": "alpha"},
        HTTP_HX_REQUEST="true",
        HTTP_HX_HISTORY_RESTORE_REQUEST="true",
    )
    # then
    assert partial.status_code == 200
    assert "<html" not in partial.content.decode()
    assert "Alpha Steel Works" in partial.content.decode()
    assert "<html" in full.content.decode()
    assert "<html" in restore.content.decode()
    assert "HX-Request" in partial["Vary"]


def test_opportunity_list_filters_by_status_stage_owner_and_search(client_for, people, books):
    # given
    rep = people.rep_b
    account = books["rep_b"].account
    lost = opportunity_create(
        actor=rep,
        account=account,
        name="Old tender",
        amount="5",
        expected_close=dt.date(2026, 12, 1),
        playbook="milestones-5",
    )
    opportunity_update(actor=rep, opportunity=lost, buyer_stage="criteria")
    client = client_for(people.manager_east)
    url = reverse("opportunity-list")
    # when
    by_owner = client.get(url, {"owner": people.rep_b.pk})
    by_stage = client.get(url, {"stage": "milestones-5:lead_confirmation"})
    by_bare_stage = client.get(url, {"stage": "development"})
    by_q = client.get(url, {"q": "alpha"})
    by_status = client.get(url, {"status": "won"})
    # then
    assert [o.name for o in by_owner.context["page"]] == ["Old tender", "Bravo Press line"]
    assert [o.name for o in by_stage.context["page"]] == ["Old tender"]
    assert [o.name for o in by_bare_stage.context["page"]] == [
        "Alpha Press line",
        "Bravo Press line",
    ]
    assert [o.name for o in by_q.context["page"]] == ["Alpha Press line"]
    assert list(by_status.context["page"]) == []
    assert "No opportunity matches these filters." in by_status.content.decode()


def test_opportunity_list_has_no_owner_filter_for_a_rep(client_for, people, books):
    # given
    client = client_for(people.rep_a)
    # when
    html = client.get(reverse("opportunity-list")).content.decode()
    # then
    assert 'name="owner"' not in html
    assert 'name="stage"' in html


@pytest.mark.parametrize("url_name", ["opportunity-list", "account-list", "home"])
def test_list_query_count_does_not_grow_with_rows(client_for, people, books, url_name):
    # given
    client = client_for(people.manager_east)
    url = reverse(url_name)
    client.get(url)  # warm the session
    with CaptureQueriesContext(connection) as few:
        client.get(url)
    for i in range(20):
        account = account_create(actor=people.rep_b, name=f"Extra {i}")
        opportunity_create(
            actor=people.rep_a,
            account=account,
            name=f"Deal {i}",
            amount="1",
            expected_close=dt.date(2027, 1, 1),
        )
    # when
    with CaptureQueriesContext(connection) as many:
        response = client.get(url)
    # then
    assert response.status_code == 200
    assert len(many) == len(few)
