"""The buying-centre alerts through the API (SPEC §5, §10): what a rep reads from
GET …/risks and …/win-probability once people are mapped, in English and Chinese."""

from __future__ import annotations

import pytest

from tests.opportunities.test_api_process import GOOD, _ok, _person


@pytest.fixture
def rep(world, api_as):
    return api_as(world.rep_a)


@pytest.fixture
def deal_at_proposal(rep):
    """A deal at the proposal stage (forced by nobody: every gate met on the way)."""
    account = _ok(rep.post("accounts", {"name": "华鼎精密"}), 201)["id"]
    deal = _ok(rep.post("opportunities", {"account_id": account, "name": "原材料招标",
                                          "amount": 1000000, "expected_close": "2027-03-31"}),
               201)["id"]
    _ok(rep.put(f"opportunities/{deal}/evaluation", {"scores": GOOD}))
    _ok(rep.patch(f"opportunities/{deal}", {"buyer_stage": "approval"}))
    _ok(rep.post(f"opportunities/{deal}/advance"))
    coach = _person(rep, account, deal, "林涛", roles=["technical", "user"], stance="champion",
                    is_coach=True)
    boss = _person(rep, account, deal, "高振宇", roles=["decision_maker"], stance="supporter")
    _ok(rep.post(f"opportunities/{deal}/milestones", {"kind": "candidate_confirmed"}), 201)
    _ok(rep.patch(f"opportunities/{deal}", {"buyer_stage": "criteria"}))
    assert _ok(rep.post(f"opportunities/{deal}/advance"))["stage"] == "proposal"
    return {"deal": deal, "account": account, "coach": coach, "boss": boss}


def test_a_blocking_technical_evaluator_shows_with_evidence_and_costs_probability(
    rep, deal_at_proposal
):
    deal, account = deal_at_proposal["deal"], deal_at_proposal["account"]
    assert _ok(rep.get(f"opportunities/{deal}/risks")) == []
    assert _ok(rep.get(f"opportunities/{deal}/win-probability"))["value"] == 40
    # when: the technical evaluator is firmly for a rival
    blocker = _person(rep, account, deal, "王立新", roles=["technical"], stance="blocker")
    # then
    risks = _ok(rep.get(f"opportunities/{deal}/risks"))
    assert risks == [{
        "code": "blocker_present",
        "severity": "high",
        "title": "A blocker: 王立新",
        "message": "王立新 is firmly for a rival and tells them what happens — and as technical "
                   "evaluator can veto us.",
        "action": "Do not share anything with 王立新 you would not tell the rival; strengthen "
                  "our supporters around them and win over the people they report to.",
        "evidence": [{"kind": "stakeholder", "id": blocker["id"]}],
    }]
    probability = _ok(rep.get(f"opportunities/{deal}/win-probability"))
    assert probability["value"] == 24  # 40% × 0.6
    assert probability["factors"][1] == {"key": "blocker_present", "label": "A blocker: 王立新",
                                         "effect": "×0.6", "value": 0.6}


def test_stance_changes_raise_and_lift_alerts_and_are_audited(rep, deal_at_proposal, api_as,
                                                             world):
    deal, boss = deal_at_proposal["deal"], deal_at_proposal["boss"]
    # when: the decision maker turns neutral
    _ok(rep.patch(f"opportunities/{deal}/stakeholders/{boss['id']}", {"stance": "neutral"}))
    # then
    codes = [r["code"] for r in _ok(rep.get(f"opportunities/{deal}/risks"))]
    assert codes == ["decision_maker_not_supportive", "single_threaded"]
    zh = _ok(api_as(world.rep_a, "zh-hans").get(f"opportunities/{deal}/risks"))
    assert zh[0]["title"] == "决策者不支持我方"
    assert _ok(rep.get(f"opportunities/{deal}/win-probability"))["value"] == 22  # 40×.7×.8
    history = _ok(rep.get(f"opportunities/{deal}/history"))
    change = [e for e in history if e["entity"] == "stakeholder" and e["action"] == "updated"]
    assert [(e["before"], e["after"], e["actor"]) for e in change] == [
        ({"stance": "supporter"}, {"stance": "neutral"}, "rep_a")]
    # when: they come round
    _ok(rep.patch(f"opportunities/{deal}/stakeholders/{boss['id']}", {"stance": "champion"}))
    assert _ok(rep.get(f"opportunities/{deal}/risks")) == []
