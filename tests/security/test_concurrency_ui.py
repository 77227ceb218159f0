"""The edit forms when someone else saved first (issue 9): the page says what
changed and who changed it, keeps what the user typed, and a second save is a
deliberate choice."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from kam.accounts.models import Account
from kam.opportunities.models import Opportunity
from kam.opportunities.services import opportunity_update
from kam.stakeholders.models import Stakeholder
from kam.stakeholders.services import stakeholder_add, stakeholder_update


def _client(user, language="en") -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    client.force_login(user)
    return client


def _form_data(html: str) -> dict:
    """Every named input, select and textarea of the page's edit form, as a browser
    would send it unchanged."""
    data: dict = {}
    for name, value in re.findall(r'<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"', html):
        data[name] = value
    for name, body in re.findall(r'<select[^>]*name="([^"]+)"[^>]*>(.*?)</select>', html, re.S):
        chosen = re.findall(r'<option value="([^"]*)"[^>]*selected', body)
        data[name] = chosen if "multiple" in body[:0] else (chosen[0] if chosen else "")
    for name, body in re.findall(r'<textarea[^>]*name="([^"]+)"[^>]*>(.*?)</textarea>', html, re.S):
        data[name] = body.strip()
    data.pop("csrfmiddlewaretoken", None)
    return data


def test_a_stale_deal_form_lists_what_changed_and_who_changed_it(book, world):
    # given: rep_a opens the edit form; the manager then changes the amount
    deal = book["rep_a"]["opportunity"]
    rep = _client(world.rep_a, "zh-hans")
    url = f"/opportunities/{deal.pk}/edit/"
    form = _form_data(rep.get(url).content.decode())
    assert form["version"] == "1" and form["initial-amount"] == "100000.00"
    opportunity_update(actor=world.manager_east, opportunity=deal, amount="150000.00")
    # when: rep_a saves a new name on the form they opened before
    form["name"] = "华东改造项目"
    response = rep.post(url, form)
    # then: refused, nothing of theirs written, the change shown with who made it
    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-testid="stale-changes"' in html
    assert "100000.00" in html and "150000.00" in html
    assert "m_east" in html
    assert 'value="华东改造项目"' in html  # their entry is kept
    stored = Opportunity.objects.get(pk=deal.pk)
    assert (stored.name, stored.amount, stored.version) == ("Deal of rep_a", 150000, 2)
    # when: they save again from the page they were shown
    again = rep.post(url, _form_data(html))
    # then: this time it is their deliberate choice over the other change
    assert again.status_code == 302
    stored.refresh_from_db()
    assert (stored.name, stored.amount, stored.version) == ("华东改造项目", 150000, 3)


def test_a_stale_account_form_is_refused_with_the_changes(book, world):
    account = book["rep_a"]["account"]
    rep = _client(world.rep_a)
    url = f"/accounts/{account.pk}/edit/"
    form = _form_data(rep.get(url).content.decode())
    from kam.accounts.services import account_update

    account_update(actor=world.admin, account=account, region="华南")
    form["industry"] = "机床"
    response = rep.post(url, form)
    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-testid="stale-changes"' in html and "华南" in html
    stored = Account.objects.get(pk=account.pk)
    assert (stored.industry, stored.region) == ("", "华南")


def test_a_stale_stakeholder_dialog_is_refused(book, world):
    deal, contact = book["rep_a"]["opportunity"], book["rep_a"]["contact"]
    sh = stakeholder_add(actor=world.rep_a, opportunity=deal, contact=contact)
    rep = _client(world.rep_a)
    url = f"/opportunities/{deal.pk}/stakeholders/{sh.pk}/"
    post = {"version": "1", "stance": "enemy", "initial-stance": "unknown", "notes": ""}
    stakeholder_update(actor=world.manager_east, stakeholder=sh, stance="champion")
    response = rep.post(url, post)
    assert response.status_code in (200, 409, 412)
    assert Stakeholder.objects.get(pk=sh.pk).stance == "champion"
    assert "stale-changes" in response.content.decode()


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_a_fresh_form_saves_as_before(book, world, language):
    deal = book["rep_a"]["opportunity"]
    rep = _client(world.rep_a, language)
    url = f"/opportunities/{deal.pk}/edit/"
    form = _form_data(rep.get(url).content.decode())
    form["amount"] = "200000.00"
    assert rep.post(url, form).status_code == 302
    assert Opportunity.objects.get(pk=deal.pk).amount == 200000
