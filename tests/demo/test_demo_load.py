"""`kam demo` (kam.demo.loader.load_demo): an empty database gets the whole demo in
one transaction; anything else is refused and left exactly as it was.

The read-only checks share one load (the `demo` fixture of conftest.py)."""

from __future__ import annotations

import datetime as dt
import io
from collections import Counter
from decimal import Decimal

import pytest
from django.contrib.auth import authenticate

from kam.accounts.models import Account
from kam.contacts.models import Contact
from kam.core import clock
from kam.core.models import Event
from kam.demo import cases
from kam.demo.loader import DEMO_USERS, DemoRefused, load_demo
from kam.methodology import registry
from kam.opportunities.models import Opportunity
from kam.users.models import Team, User

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


@pytest.fixture
def loaded(demo, db):
    return demo


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


def test_every_opportunity_starts_at_the_first_stage_and_moves_by_events(loaded):
    # given / when
    loaded  # noqa: B018

    # then each deal's history starts with its created event at the playbook's first
    # stage, and every later stage was entered by an advance event, one step at a time
    created = {e.entity_id: e for e in Event.objects.filter(entity="opportunity", action="created")}
    opportunities = list(Opportunity.objects.all())
    assert set(created) == {o.pk for o in opportunities}
    moves = {"advanced", "force_advanced"}
    for opp in opportunities:
        book = registry.playbook(opp.playbook)
        event = created[opp.pk]
        assert event.at == opp.created_at
        assert event.after["stage"] == book.first_stage.key
        history = list(Event.objects.filter(opportunity_id=opp.pk, action__in=moves))
        stages = [event.after["stage"]] + [e.after["stage"] for e in history]
        position = book.stage_keys.index(opp.stage)
        if opp.status == "won" and book.stage(opp.stage).wins:
            stages = stages[:-1]  # signing at the last stage wins the deal where it stands
        assert stages == book.stage_keys[: position + 1], opp.name
        assert [e.before["stage"] for e in history if e.before["stage"] != e.after["stage"]] == (
            book.stage_keys[:position]
        )
        moved = [e for e in history if e.before["stage"] != e.after["stage"]]
        assert opp.stage_entered_at == (moved[-1].at if moved else opp.created_at)
        assert all(a.at <= b.at for a, b in zip(history, history[1:], strict=False))
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
    assert Event.objects.filter(entity="opportunity", action="buyer_stage_changed").count() >= 100
    users_created = Event.objects.filter(entity="user", action="created").earliest("at").at
    assert not Event.objects.filter(at__lt=users_created).exists()  # the team came first


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
    # at the bid, not yet submitted; the tender's criteria are being rewritten
    assert (opp.playbook, opp.stage, opp.status) == ("standard-6", "bidding", "open")
    assert opp.buyer_stage == "criteria"
    assert not opp.milestones.filter(kind="bid_submitted").exists()
    assert opp.amount == Decimal("8600000")
    assert "王立新" in opp.description and "刘建华" in opp.description
    mapped = {
        s.contact.name: (s.roles, s.stance, s.is_coach)
        for s in opp.stakeholders.select_related("contact")
    }
    assert mapped == {
        cases.LIAO_VP: (["decision_maker"], "champion", True),  # … who has left
        "钱卫东": (["purchaser"], "supporter", False),
        cases.LIAO_DESIGN_HEAD: (["technical"], "unknown", False),
        cases.LIAO_NEW_GM: (["decision_maker"], "unknown", False),
    }
    # 王 and 高 were mapped when 王 called, after 刘 had gone
    stakeholders = {s.contact.name: s for s in opp.stakeholders.select_related("contact")}
    assert stakeholders[cases.LIAO_NEW_GM].created_at.date() == today - dt.timedelta(days=14)
    assert stakeholders[cases.LIAO_VP].created_at < vp.updated_at


def test_crown_and_b_company_cases(loaded):
    # given / when
    loaded  # noqa: B018

    # then the challenger account carries its SWOT, and 李四's deals carry §7's numbers
    crown = Account.objects.get(name=cases.CROWN_ACCOUNT)
    assert "常州" in crown.notes and "SWOT" in crown.notes
    assert set(crown.opportunities.values_list("owner__username", flat=True)) == {"rep2"}

    main, sample = crown.opportunities.order_by("created_at")
    assert (main.stage, main.buyer_stage, sample.stage) == (
        "proposal",
        "criteria",
        "need_nurturing",
    )
    assert main.stakeholders.filter(is_coach=True, contact__name="许晓燕").exists()
    assert main.stakeholders.get(contact__name="蒋思远").stance == "enemy"

    b_account = Account.objects.get(name=cases.B_ACCOUNT)
    lisi = b_account.contacts.get(name=cases.LISI)
    assert lisi.department == "设备部"
    direct = sorted(b_account.opportunities.values_list("amount", flat=True))
    assert direct == [Decimal("40000"), Decimal("60000")]
    indirect = Account.objects.get(name=cases.B_INDIRECT_ACCOUNT)
    assert list(indirect.opportunities.values_list("amount", flat=True)) == [Decimal("30000")]
    # 李四's deals were won by signing, so the partner programme can add payments
    for opp in Opportunity.objects.filter(account__in=[b_account, indirect]):
        assert (opp.stage, opp.status, opp.buyer_stage) == ("implementation", "won", "contract")
        signed = opp.milestones.get(kind="contract_signed")
        assert signed.price == opp.amount
        assert signed.date == opp.closed_at.date() == opp.expected_close
    assert lisi.stakeholder_links.filter(is_coach=True, stance="champion").count() == 2


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
