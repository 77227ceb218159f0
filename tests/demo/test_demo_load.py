"""`kam demo` (kam.demo.loader.load_demo): an empty database gets the whole demo in
one transaction; anything else is refused and left exactly as it was."""

from __future__ import annotations

import datetime as dt
import io
from collections import Counter
from decimal import Decimal

import pytest
from django.contrib.auth import authenticate
from django.db import transaction

from kam.accounts.models import Account
from kam.accounts.services import account_create
from kam.contacts.models import Contact
from kam.core import clock
from kam.core.models import Event
from kam.demo import cases
from kam.demo.loader import DEMO_USERS, DemoRefused, load_demo
from kam.methodology import registry
from kam.opportunities import services as opportunity_services
from kam.opportunities.models import Opportunity
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
            (account, name, str(amount))
            for account, name, amount in Opportunity.objects.values_list(
                "account__name", "name", "amount"
            )
        ),
    }


@pytest.fixture
def loaded():
    out = io.StringIO()
    summary = load_demo(out=out)
    return summary, out.getvalue()


def test_load_creates_users_who_can_sign_in_with_the_printed_passwords(loaded):
    # given an empty database
    # when the demo loads
    summary, printed = loaded

    # then each demo user exists and signs in with the password shown to them
    assert summary.users == 6
    for user in DEMO_USERS:
        assert user.password in printed
        assert user.username in printed
        signed_in = authenticate(username=user.username, password=user.password)
        assert signed_in is not None
        assert signed_in.role == user.role
        assert signed_in.display_name == user.display_name
        assert (signed_in.team.name if signed_in.team else None) == user.team
    assert "Open http://127.0.0.1:8000/ and sign in" in printed
    assert sorted(Team.objects.values_list("name", flat=True)) == ["大客户一部", "大客户二部"]


def test_load_fills_every_stage_of_both_playbooks(loaded):
    # given / when
    summary, _ = loaded

    # then the book is big enough to look real and spans both processes
    assert summary.accounts == Account.objects.count() == 44
    assert summary.opportunities == Opportunity.objects.count() == 156
    assert Account.objects.count() >= 40
    assert Opportunity.objects.count() >= 150
    for key in ("standard-6", "milestones-5"):
        present = set(Opportunity.objects.filter(playbook=key).values_list("stage", flat=True))
        assert present == set(registry.playbook(key).stage_keys)
    owners = Counter(Opportunity.objects.values_list("owner__username", flat=True))
    assert {"rep1", "rep2", "rep3", "manager"} <= set(owners)
    per_account = Counter(Contact.objects.values_list("account_id", flat=True))
    assert all(2 <= n <= 11 for n in per_account.values())
    assert len(per_account) == 44


def test_every_opportunity_has_a_created_event_at_its_creation(loaded):
    # given / when
    loaded  # noqa: B018

    # then each deal's history starts with its created event, dated when it was made
    created = {e.entity_id: e for e in Event.objects.filter(entity="opportunity", action="created")}
    opportunities = list(Opportunity.objects.all())
    assert set(created) == {o.pk for o in opportunities}
    for opp in opportunities:
        assert created[opp.pk].at == opp.created_at
        assert opp.stage_entered_at <= opp.created_at
    assert Event.objects.filter(entity="demo", action="loaded").count() == 1


def test_demo_history_lies_in_the_past(loaded):
    # given / when
    loaded  # noqa: B018
    now = clock.now()

    # then nothing is dated in the future, and the clock is no longer frozen
    assert not Event.objects.filter(at__gt=now).exists()
    assert not Opportunity.objects.filter(stage_entered_at__gt=now).exists()
    assert abs((clock.now() - dt.datetime.now(dt.UTC)).total_seconds()) < 60
    some_stalled = [
        o
        for o in Opportunity.objects.all()
        if (now - o.stage_entered_at).days
        > registry.playbook(o.playbook).stage(o.stage).healthy_dwell_days
    ]
    assert len(some_stalled) >= 10
    assert Event.objects.filter(entity="opportunity", action="buyer_stage_changed").count() >= 20


def test_liao_case_holds_the_org_chart_and_the_change_of_people(loaded):
    # given / when
    loaded  # noqa: B018
    today = clock.today()

    # then the account, its people and the moves are there as the story tells
    account = Account.objects.get(name=cases.LIAO_ACCOUNT)
    assert (account.region, account.nature, account.account_type) == (
        "上海",
        "private",
        "strategic",
    )
    people = {c.name: c for c in account.contacts.select_related("reports_to")}
    vp, design, gm = (
        people[cases.LIAO_VP],
        people[cases.LIAO_DESIGN_HEAD],
        people[cases.LIAO_NEW_GM],
    )
    assert vp.name.startswith("刘")
    assert design.name.startswith("王")
    assert (vp.status, vp.title, vp.layer) == ("left", "副总裁(已调任成都分公司)", "decision")
    assert vp.left_at == today - dt.timedelta(days=20)
    assert vp.reports_to == gm
    assert (gm.title, gm.layer, gm.status) == ("总经理", "decision", "active")
    assert gm.joined_at == today - dt.timedelta(days=28)
    assert gm.reports_to.title == "董事长"
    assert (design.title, design.layer, design.reports_to) == ("设计部部长", "management", gm)
    assert people["周海涛"].status == "left"
    assert Event.objects.filter(entity="contact", entity_id=vp.pk, action="left").count() == 1

    opp = Opportunity.objects.get(account=account)
    assert opp.owner.username == "rep1"
    assert (opp.playbook, opp.stage, opp.buyer_stage) == ("standard-6", "proposal", "criteria")
    assert opp.amount == Decimal("8600000")
    assert "王立新" in opp.description and "刘建华" in opp.description


def test_crown_and_b_company_cases(loaded):
    # given / when
    loaded  # noqa: B018

    # then the challenger account carries its SWOT, and 李四's deals carry §7's numbers
    crown = Account.objects.get(name=cases.CROWN_ACCOUNT)
    assert "常州" in crown.notes and "SWOT" in crown.notes
    assert set(crown.opportunities.values_list("owner__username", flat=True)) == {"rep2"}

    b_account = Account.objects.get(name=cases.B_ACCOUNT)
    lisi = b_account.contacts.get(name=cases.LISI)
    assert lisi.department == "设备部"
    direct = sorted(b_account.opportunities.values_list("amount", flat=True))
    assert direct == [Decimal("40000"), Decimal("60000")]
    indirect = Account.objects.get(name=cases.B_INDIRECT_ACCOUNT)
    assert list(indirect.opportunities.values_list("amount", flat=True)) == [Decimal("30000")]


def test_loading_twice_is_refused_as_already_loaded_and_changes_nothing(loaded):
    # given a database holding the demo
    before = _counts()

    # when the demo is loaded again
    with pytest.raises(DemoRefused) as refused:
        load_demo(out=io.StringIO())

    # then it says so and nothing changed
    assert refused.value.already_loaded is True
    assert "already loaded" in str(refused.value)
    assert _counts() == before


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

    # then the same accounts and deals, to the cent, come back
    second = _snapshot()
    assert second == first
    assert len(first["accounts"]) == 44
    assert len(first["opportunities"]) == 156
