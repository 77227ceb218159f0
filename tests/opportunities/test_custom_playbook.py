"""An administrator's own playbook file, with criteria the shipped playbooks do not
use, works end to end through the process services without a code change."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest
from django.utils import translation

from kam.accounts.services import account_create
from kam.contacts.services import contact_create
from kam.core import clock
from kam.core.errors import Conflict
from kam.core.i18n import show
from kam.core.models import Event
from kam.methodology import registry
from kam.opportunities import process
from kam.opportunities.assess import assess
from kam.opportunities.models import Opportunity
from kam.opportunities.services import opportunity_create, opportunity_update
from kam.stakeholders.services import stakeholder_add, stakeholder_update

PLAYBOOK = """\
# An engineering contractor's own process, in the admin's data folder.
key = "projects-4"
name = { en = "Engineering projects", zh-Hans = "工程项目流程" }

[[stages]]
key = "qualify"
name = { en = "Qualify", zh-Hans = "资格确认" }
main_work = { en = "Wait for the project to be approved.", zh-Hans = "等待项目立项。" }
key_node = { en = "Project approved; go/no-go passed.", zh-Hans = "项目已立项;立项评估通过。" }
base_probability = 0.15
healthy_dwell_days = 30
buyer_stages = ["need", "search", "approval"]

[[stages.gate]]
key = "project_approved"
check = "buyer_stage_reached"
params = { stage = "approval" }

[[stages.gate]]
key = "go_no_go"
check = "evaluation_passed"
label = { en = "Go/no-go evaluation passed", zh-Hans = "立项评估通过" }

[[stages]]
key = "influence"
name = { en = "Influence", zh-Hans = "影响标准" }
main_work = { en = "Win the decision maker.", zh-Hans = "争取决策者。" }
key_node = { en = "Decision maker for us.", zh-Hans = "决策者支持我方。" }
base_probability = 0.35
healthy_dwell_days = 60
buyer_stages = ["criteria"]

[[stages.gate]]
key = "dm_supportive"
check = "stakeholder_role"
params = { role = "decision_maker", stances = ["champion", "supporter"] }

[[stages.gate]]
key = "criteria_favourable"
check = "purchase_criteria"
params = { min = 2, favourable_min = 2 }

[[stages]]
key = "tender"
name = { en = "Tender", zh-Hans = "投标" }
main_work = { en = "Bid.", zh-Hans = "投标。" }
key_node = { en = "Bid submitted with its price.", zh-Hans = "已报价投标。" }
base_probability = 0.60
healthy_dwell_days = 45
buyer_stages = ["evaluation", "selection", "negotiation"]

[[stages.gate]]
key = "bid"
check = "milestone"
params = { kind = "bid_submitted", require = ["price"] }

[[stages]]
key = "award"
name = { en = "Award", zh-Hans = "授标" }
main_work = { en = "Sign.", zh-Hans = "签约。" }
key_node = { en = "Contract signed.", zh-Hans = "合同已签订。" }
base_probability = 0.85
healthy_dwell_days = 30
buyer_stages = ["contract"]
wins = true

[[stages.gate]]
key = "signed"
check = "milestone"
params = { kind = "contract_signed" }
"""

GOOD = {
    "project_grade": 4,
    "funding": 4,
    "technical_fit": 4,
    "relationship": 4,
    "credit": 4,
    "product": 4,
    "price": 4,
    "solution": 4,
    "service": 4,
}


@pytest.fixture
def custom_playbook(tmp_path, settings):
    """projects-4.toml in an extra playbook folder, loaded; the shipped set afterwards."""
    folder = tmp_path / "playbooks"
    folder.mkdir()
    (folder / "projects-4.toml").write_text(PLAYBOOK, encoding="utf-8")
    original = list(settings.KAM_PLAYBOOK_DIRS)
    settings.KAM_PLAYBOOK_DIRS = [*original, folder]
    registry.load()
    with translation.override("en"):
        yield registry.playbook("projects-4")
    settings.KAM_PLAYBOOK_DIRS = original
    registry.load()
    assert "projects-4" not in registry.playbook_keys()


@pytest.fixture
def deal(world, custom_playbook):
    account = account_create(actor=world.rep_a, name="中建安装")
    return opportunity_create(
        actor=world.rep_a,
        account=account,
        name="厂房机电总包",
        amount=5_000_000,
        playbook="projects-4",
        expected_close=dt.date.today() + dt.timedelta(days=80),
    )


def _unmet(actor, deal) -> list[str]:
    with pytest.raises(Conflict) as info:
        process.opportunity_advance(actor=actor, opportunity=deal)
    return info.value.extra["unmet"]


def _why(deal) -> dict[str, str]:
    return {r.key: show(r.why) for r in assess(Opportunity.objects.get(pk=deal.pk)).gate}


def test_the_admin_playbook_is_offered_beside_the_shipped_ones(custom_playbook):
    assert set(registry.playbook_keys()) == {"standard-6", "milestones-5", "projects-4"}
    assert registry.default_playbook_key() == "standard-6"
    assert custom_playbook.stage_keys == ["qualify", "influence", "tender", "award"]


def test_a_deal_walks_the_admin_playbook_on_evidence(world, deal, process_rules_only):
    rep = world.rep_a
    # given: a new deal starts at the first stage, the customer at its first buyer stage
    assert (deal.playbook, deal.stage, deal.buyer_stage) == ("projects-4", "qualify", "need")
    assert assess(deal).probability == 15

    # when / then: nothing is met yet, and the refusal changes nothing
    events = Event.objects.count()
    with pytest.raises(Conflict) as info:
        process.opportunity_advance(actor=rep, opportunity=deal)
    assert info.value.extra["unmet"] == ["project_approved", "go_no_go"]
    assert [(c["key"], c["label"], c["met"]) for c in info.value.extra["criteria"]] == [
        (
            "project_approved",
            "The customer has reached: Project approval, buying team formed",
            False,
        ),
        ("go_no_go", "Go/no-go evaluation passed", False),
    ]
    assert info.value.extra["criteria"][0]["why"] == "The customer is still at: Problem and need."
    assert Event.objects.count() == events
    assert Opportunity.objects.get(pk=deal.pk).stage == "qualify"

    # when: the evaluation passes but the project is not approved yet
    process.evaluation_record(actor=rep, opportunity=deal, scores=GOOD)
    # then
    assert _unmet(rep, deal) == ["project_approved"]

    # when: the customer approves the project
    opportunity_update(actor=rep, opportunity=deal, buyer_stage="approval")
    process.opportunity_advance(actor=rep, opportunity=deal)
    # then
    assert deal.stage == "influence"

    # given: the decision maker is known but neutral, one criterion is favourable
    boss = contact_create(actor=rep, account=deal.account, name="高振宇")
    dm = stakeholder_add(
        actor=rep, opportunity=deal, contact=boss, roles=["decision_maker"], stance="neutral"
    )
    first = process.criterion_add(actor=rep, opportunity=deal, text="本地服务网点", favourable=True)
    process.criterion_add(actor=rep, opportunity=deal, text="最低价中标", favourable=False)
    # when / then
    assert _unmet(rep, deal) == ["dm_supportive", "criteria_favourable"]
    why = _why(deal)
    assert why["dm_supportive"] == (
        "高振宇 hold the role decision maker, but none is champion, supporter."
    )
    assert why["criteria_favourable"] == "Still short: 1 of 2 favourable to us."

    # when: the decision maker comes round and a second criterion turns in our favour
    stakeholder_update(actor=rep, stakeholder=dm, stance="supporter")
    process.criterion_update(actor=rep, criterion=first, text="本地服务网点(2小时响应)")
    process.criterion_add(actor=rep, opportunity=deal, text="国产化率≥80%", favourable=True)
    opportunity_update(actor=rep, opportunity=deal, buyer_stage="criteria")
    process.opportunity_advance(actor=rep, opportunity=deal)
    # then
    assert deal.stage == "tender"

    # when: the bid is recorded without its price, then with it
    opportunity_update(actor=rep, opportunity=deal, buyer_stage="evaluation")
    process.milestone_record(actor=rep, opportunity=deal, kind="bid_submitted")
    assert _unmet(rep, deal) == ["bid"]
    assert _why(deal)["bid"] == "Bid submitted: recorded, but without price."
    process.milestone_record(actor=rep, opportunity=deal, kind="bid_submitted", price=4_800_000)
    process.opportunity_advance(actor=rep, opportunity=deal)
    # then
    assert deal.stage == "award"
    found = assess(Opportunity.objects.get(pk=deal.pk))
    assert ([a.code for a in found.alerts], found.probability) == (["ahead_of_buyer"], 60)
    opportunity_update(actor=rep, opportunity=deal, buyer_stage="contract")
    found = assess(Opportunity.objects.get(pk=deal.pk))
    assert (found.alerts, found.probability) == ([], 85)

    # when: the contract is signed, the deal is won at the winning stage
    with pytest.raises(Conflict):
        process.opportunity_close(actor=rep, opportunity=deal, outcome="won")
    process.milestone_record(actor=rep, opportunity=deal, kind="contract_signed", price=4_750_000)
    process.opportunity_close(actor=rep, opportunity=deal, outcome="won")
    # then
    won = Opportunity.objects.get(pk=deal.pk)
    assert (won.stage, won.status) == ("award", "won")
    assert assess(won).probability == 100
    actions = list(
        Event.objects.filter(opportunity_id=deal.pk, entity="opportunity").values_list(
            "action", flat=True
        )
    )
    assert actions.count("advanced") == 4
    assert actions[-1] == "closed"


def test_forcing_an_admin_gate_costs_probability_until_it_is_met(world, deal, process_rules_only):
    rep, manager = world.rep_a, world.manager_east
    # given: a deal in influence with nothing of its key node met
    process.evaluation_record(actor=rep, opportunity=deal, scores=GOOD)
    opportunity_update(actor=rep, opportunity=deal, buyer_stage="approval")
    process.opportunity_advance(actor=rep, opportunity=deal)
    # when: a manager forces it into tender; the customer is evaluating bids
    process.opportunity_advance(actor=manager, opportunity=deal, force=True, reason="招标提前发布")
    opportunity_update(actor=rep, opportunity=deal, buyer_stage="evaluation")
    found = assess(Opportunity.objects.get(pk=deal.pk))
    # then: 60% × 0.5
    assert [a.code for a in found.alerts] == ["forced_gate"]
    assert show(found.alerts[0].action) == (
        "Meet the missing items: A decision maker identified who is champion, supporter, "
        "At least 2 purchase criteria recorded, 2 favourable to us."
    )
    assert found.probability == 30

    # when: the items are met later
    boss = contact_create(actor=rep, account=deal.account, name="高振宇")
    stakeholder_add(
        actor=rep, opportunity=deal, contact=boss, roles=["decision_maker"], stance="champion"
    )
    for text in ("本地服务网点", "国产化率≥80%"):
        process.criterion_add(actor=rep, opportunity=deal, text=text, favourable=True)
    found = assess(Opportunity.objects.get(pk=deal.pk))
    # then: the penalty lifts
    assert found.alerts == []
    assert found.probability == 60


def test_forced_gate_message_dates_the_move_in_local_time(world, deal):
    # given: forced at 07:00 in Shanghai on 1 October (23:00 UTC on 30 September)
    morning = dt.datetime(2026, 10, 1, 7, 0, tzinfo=zoneinfo.ZoneInfo("Asia/Shanghai"))
    with clock.freeze(morning):
        process.opportunity_advance(
            actor=world.manager_east, opportunity=deal, force=True, reason="客户口头确认"
        )
    # when
    [alert] = [
        a for a in assess(Opportunity.objects.get(pk=deal.pk)).alerts if a.code == "forced_gate"
    ]
    # then
    assert "on 2026-10-01;" in show(alert.message)
