"""`kam demo` on databases that are not the shared loaded one: refusals leave
everything as it was, a failure half-way leaves nothing, two loads are identical,
and the command run twice is harmless."""

from __future__ import annotations

import datetime as dt
import io
from collections import Counter

import pytest
from django.db import transaction

from kam.accounts.models import Account
from kam.accounts.services import account_create
from kam.cli import main
from kam.contacts.models import Contact
from kam.core import clock
from kam.core.models import Event
from kam.demo.loader import DemoRefused, load_demo
from kam.opportunities import services as opportunity_services
from kam.opportunities.models import Milestone, Opportunity
from kam.stakeholders.models import Stakeholder
from kam.users.models import Team, User
from kam.users.services import user_create

pytestmark = pytest.mark.django_db


def _counts() -> dict[str, int]:
    return {
        "users": User.objects.count(),
        "teams": Team.objects.count(),
        "accounts": Account.objects.count(),
        "contacts": Contact.objects.count(),
        "opportunities": Opportunity.objects.count(),
        "events": Event.objects.count(),
    }


def _snapshot() -> dict[str, list]:
    return {
        "accounts": sorted(Account.objects.values_list("name", flat=True)),
        "opportunities": sorted(
            (account, name, str(amount), stage, status, buyer_stage, priority)
            for account, name, amount, stage, status, buyer_stage, priority in (
                Opportunity.objects.values_list(
                    "account__name", "name", "amount", "stage", "status", "buyer_stage", "priority"
                )
            )
        ),
        "events": sorted(Counter(Event.objects.values_list("entity", "action")).items()),
        "stakeholders": sorted(
            Stakeholder.objects.values_list("opportunity__name", "contact__name", "stance")
        ),
        "milestones": sorted(
            (name, kind, str(price))
            for name, kind, price in Milestone.objects.values_list(
                "opportunity__name", "kind", "price"
            )
        ),
    }


def test_real_data_is_refused_and_nothing_is_written():
    # given a database with a real account
    boss = user_create(username="boss", role="admin", password="boss-pass-123")
    account_create(actor=boss, name="真实客户有限公司")
    before = _counts()
    out = io.StringIO()

    # when the demo is loaded
    with pytest.raises(DemoRefused) as refused:
        load_demo(out=out)

    # then it is refused as foreign data, and nothing is written or printed
    assert refused.value.already_loaded is False
    assert "1 accounts, 0 contacts, 0 opportunities" in str(refused.value)
    assert _counts() == before
    assert out.getvalue() == ""


def test_users_alone_do_not_block_the_demo():
    # given a fresh folder where someone ran `kam user add boss`
    user_create(username="boss", role="admin", password="boss-pass-123")

    # when the demo is loaded
    summary = load_demo(out=io.StringIO())

    # then it loads beside that user
    assert summary.users == 6
    assert User.objects.count() == 7
    assert User.objects.filter(username="boss").exists()


def test_a_taken_demo_user_name_is_refused_by_name():
    # given a user already called rep2
    user_create(username="rep2", role="rep", password="rep2-pass-123")
    before = _counts()

    # when the demo is loaded
    with pytest.raises(DemoRefused) as refused:
        load_demo(out=io.StringIO())

    # then the refusal names it and nothing is written
    assert refused.value.already_loaded is False
    assert "rep2" in str(refused.value)
    assert _counts() == before


def test_an_error_half_way_leaves_nothing(monkeypatch):
    # given a service that fails on its 100th call
    real = opportunity_services.opportunity_create
    calls = {"n": 0}

    def failing(**kwargs):
        calls["n"] += 1
        if calls["n"] == 100:
            raise RuntimeError("disk full")
        return real(**kwargs)

    monkeypatch.setattr(opportunity_services, "opportunity_create", failing)

    # when the demo is loaded
    with pytest.raises(RuntimeError, match="disk full"):
        load_demo(out=io.StringIO())

    # then the 99 deals before it, and everything else, are gone
    assert calls["n"] == 100
    assert _counts() == {
        "users": 0,
        "teams": 0,
        "accounts": 0,
        "contacts": 0,
        "opportunities": 0,
        "events": 0,
    }
    assert abs((clock.now() - dt.datetime.now(dt.UTC)).total_seconds()) < 60


class _Rollback(Exception):
    pass


def test_two_loads_in_fresh_databases_are_identical():
    # given a first load, snapshotted and then rolled back to an empty database
    with pytest.raises(_Rollback), transaction.atomic():
        load_demo(out=io.StringIO())
        first = _snapshot()
        raise _Rollback
    assert _counts()["accounts"] == 0

    # when the demo is loaded again
    load_demo(out=io.StringIO())

    # then the same accounts, deals, histories and evidence, to the cent, come back
    second = _snapshot()
    assert second == first
    assert len(first["accounts"]) == 44
    assert len(first["opportunities"]) == 156


def test_kam_demo_twice_is_harmless(db, capsys):
    # given a demo loaded with the command
    assert main(["demo"]) == 0
    first = capsys.readouterr()
    assert "KAM demo loaded" in first.out
    counts = (Account.objects.count(), Contact.objects.count(), Event.objects.count())

    # when it runs again
    code = main(["demo"])

    # then it says so, succeeds, and changes nothing
    second = capsys.readouterr()
    assert code == 0
    assert "already loaded" in second.err
    assert (Account.objects.count(), Contact.objects.count(), Event.objects.count()) == counts
