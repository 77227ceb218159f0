"""The process engine through /api/v1/opportunities/{id}/…: gates, advance and
force, close, evaluation and priority, purchase criteria, milestones, alerts and
win probability — as a client script or the board would use them."""

from __future__ import annotations

import datetime as dt

import pytest

from kam.core import clock
from kam.core.models import Event
from kam.opportunities.models import Evaluation, ForcedMove, Milestone, Opportunity

GOOD = {"project_grade": 4, "funding": 4, "technical_fit": 4, "relationship": 4, "credit": 4,
        "product": 4, "price": 4, "solution": 4, "service": 4}
GOOD_CONTRIBUTIONS = {"project_grade": 12.0, "funding": 12.0, "technical_fit": 12.0,
                      "relationship": 12.0, "credit": 8.0, "product": 8.0, "price": 8.0,
                      "solution": 4.0, "service": 4.0}
DEVELOPMENT_GATE = ["evaluation_passed", "priority_assigned"]


# --- helpers -------------------------------------------------------------------------


def _ok(response, status: int = 200):
    assert response.status_code == status, response.content
    return response.json()


def _create(client, account: int, *, playbook: str = "standard-6", days: int = 60,
            name: str = "数控机床") -> int:
    close = (clock.today() + dt.timedelta(days=days)).isoformat()
    body = _ok(client.post("opportunities", {"account_id": account, "name": name,
                                             "amount": 1_000_000, "expected_close": close,
                                             "playbook": playbook}), 201)
    return body["id"]


def _person(client, account: int, deal: int, name: str, **fields) -> dict:
    contact = _ok(client.post("contacts", {"account_id": account, "name": name}), 201)
    return _ok(client.post(f"opportunities/{deal}/stakeholders",
                           {"contact_id": contact["id"], **fields}), 201)


def _state(deal: int) -> tuple:
    """Everything a refused call must leave as it was."""
    opp = Opportunity.objects.get(pk=deal)
    return (opp.stage, opp.status, opp.stage_entered_at, opp.closed_at, opp.priority,
            opp.priority_overridden, Event.objects.filter(opportunity_id=deal).count(),
            ForcedMove.objects.filter(opportunity_id=deal).count())


@pytest.fixture
def rep(world, api_as):
    return api_as(world.rep_a)


@pytest.fixture
def manager(world, api_as):
    return api_as(world.manager_east)


@pytest.fixture
def account(rep) -> int:
    return _ok(rep.post("accounts", {"name": "华鼎精密"}), 201)["id"]


@pytest.fixture
def deal(rep, account) -> int:
    """rep_a's standard-6 deal, closing in two months (an A deal once it scores 80)."""
    return _create(rep, account)


# --- gates ---------------------------------------------------------------------------


def test_gates_show_the_key_node_of_the_current_stage(rep, deal):
    # when
    body = _ok(rep.get(f"opportunities/{deal}/gates"))
    # then
    assert body == {
        "stage": "development",
        "stage_name": "Development",
        "key_node": "Evaluation recorded and passed; priority grade assigned.",
        "next_stage": "entry",
        "wins": False,
        "met": False,
        "status": "open",
        "unmet": DEVELOPMENT_GATE,
        "criteria": [
            {"key": "evaluation_passed", "label": "Evaluation recorded and passed",
             "met": False,
             "why": "No evaluation yet: score the deal with the evaluation model.",
             "evidence": []},
            {"key": "priority_assigned", "label": "Priority grade assigned", "met": False,
             "why": "No priority yet: it is graded as soon as an evaluation exists.",
             "evidence": []},
        ],
    }


def test_gates_turn_met_once_the_evidence_is_recorded(rep, deal):
    # given
    _ok(rep.put(f"opportunities/{deal}/evaluation", {"scores": GOOD}))
    # when
    body = _ok(rep.get(f"opportunities/{deal}/gates"))
    # then
    assert body["met"] is True
    assert body["unmet"] == []
    assert [(c["key"], c["met"], c["why"]) for c in body["criteria"]] == [
        ("evaluation_passed", True, "Passed with 80 points."),
        ("priority_assigned", True, "Graded A."),
    ]


# --- advance -------------------------------------------------------------------------


def test_refused_advance_is_409_with_the_unmet_keys_and_changes_nothing(rep, deal):
    # given
    before = _state(deal)
    # when
    response = rep.post(f"opportunities/{deal}/advance", {})
    # then
    assert response.status_code == 409
    body = response.json()
    assert body["unmet"] == DEVELOPMENT_GATE
    assert body["stage"] == "development"
    assert body["detail"] == ("The key node of Development is not met yet: Evaluation recorded "
                              "and passed; Priority grade assigned.")
    assert [(c["key"], c["met"]) for c in body["criteria"]] == [
        ("evaluation_passed", False), ("priority_assigned", False)]
    assert _state(deal) == before


def test_advance_needs_no_body(rep, deal):
    # given
    _ok(rep.put(f"opportunities/{deal}/evaluation", {"scores": GOOD}))
    # when: a bare POST, as `curl -X POST` sends it
    response = rep.client.generic("POST", f"/api/v1/opportunities/{deal}/advance", "",
                                  **rep.headers)
    # then
    assert _ok(response)["stage"] == "entry"


def test_advance_from_a_stale_stage_is_409_and_changes_nothing(rep, deal):
    # given: the deal moved on while another client still shows development
    _ok(rep.put(f"opportunities/{deal}/evaluation", {"scores": GOOD}))
    _ok(rep.post(f"opportunities/{deal}/advance", {"from_stage": "development"}))
    before = _state(deal)
    # when
    response = rep.post(f"opportunities/{deal}/advance", {"from_stage": "development"})
    # then
    assert response.status_code == 409
    assert response.json()["stage"] == "entry"
    assert response.json()["unmet"] == []
    assert _state(deal) == before


def test_rep_asking_to_force_gets_403_and_nothing_changes(rep, deal):
    # given
    before = _state(deal)
    # when
    response = rep.post(f"opportunities/{deal}/advance",
                        {"force": True, "reason": "客户高层已口头确认"})
    # then
    assert response.status_code == 403
    assert response.json() == {
        "detail": "Only a sales manager or an administrator may force a deal past its key node."}
    assert _state(deal) == before


@pytest.mark.parametrize("reason", [None, "", "   "])
def test_force_without_a_reason_is_422_and_nothing_changes(manager, deal, reason):
    # given
    before = _state(deal)
    # when
    response = manager.post(f"opportunities/{deal}/advance", {"force": True, "reason": reason})
    # then
    assert response.status_code == 422
    assert response.json()["field"] == "reason"
    assert _state(deal) == before


@pytest.mark.parametrize("user", ["manager_east", "admin"])
def test_manager_of_the_team_or_admin_may_force(world, api_as, deal, user):
    # when
    response = api_as(getattr(world, user)).post(
        f"opportunities/{deal}/advance", {"force": True, "reason": "客户高层已口头确认"})
    # then
    body = _ok(response)
    assert (body["stage"], body["status"]) == ("entry", "open")
    move = ForcedMove.objects.get(opportunity_id=deal)
    assert (move.from_stage, move.to_stage, move.unmet, move.reason, move.actor_id) == (
        "development", "entry", DEVELOPMENT_GATE, "客户高层已口头确认", getattr(world, user).pk)


@pytest.mark.parametrize("user", ["manager_west", "rep_c", "rep_b"])
def test_force_outside_ones_scope_is_404_and_nothing_changes(world, api_as, deal, user):
    # given
    before = _state(deal)
    # when
    response = api_as(getattr(world, user)).post(
        f"opportunities/{deal}/advance", {"force": True, "reason": "x"})
    # then
    assert response.status_code == 404
    assert response.json() == {"detail": "No such opportunity, or it is not shared with you."}
    assert _state(deal) == before


@pytest.mark.usefixtures("process_rules_only")
def test_forced_move_is_in_history_and_costs_probability_until_met(world, rep, manager, deal):
    # given: the customer has approved the project, so only the forced gate weighs
    _ok(rep.patch(f"opportunities/{deal}", {"buyer_stage": "approval"}))
    # when
    moved = _ok(manager.post(f"opportunities/{deal}/advance",
                             {"force": True, "reason": "客户高层已口头确认"}))
    # then: the history keeps who, why and what was unmet
    history = _ok(rep.get(f"opportunities/{deal}/history"))
    forced = [e for e in history if e["action"] == "force_advanced"]
    assert len(forced) == 1
    assert forced[0]["actor"] == "m_east"
    assert forced[0]["note"] == "客户高层已口头确认"
    assert forced[0]["before"]["stage"] == "development"
    assert forced[0]["after"]["stage"] == "entry"
    assert forced[0]["after"]["unmet"] == DEVELOPMENT_GATE
    # and the win probability shows the ×0.5 factor
    assert moved["win_probability"] == 10
    assert moved["alignment"] == "aligned"
    assert _ok(rep.get(f"opportunities/{deal}/win-probability")) == {
        "value": 10,
        "factors": [
            {"key": "stage_base", "label": "Base probability of the stage", "effect": "20%",
             "value": 0.2},
            {"key": "forced_gate", "label": "Forced past the Development gate",
             "effect": "×0.5", "value": 0.5},
        ],
    }
    risks = _ok(rep.get(f"opportunities/{deal}/risks"))
    assert [(r["code"], r["severity"]) for r in risks] == [("forced_gate", "high")]
    assert risks[0]["evidence"] == [{"kind": "event", "id": forced[0]["id"]}]
    assert risks[0]["action"] == ("Meet the missing items: Evaluation recorded and passed, "
                                  "Priority grade assigned.")
    # when the items are met later
    _ok(rep.put(f"opportunities/{deal}/evaluation", {"scores": GOOD}))
    # then the penalty lifts
    assert _ok(rep.get(f"opportunities/{deal}/win-probability")) == {
        "value": 20,
        "factors": [{"key": "stage_base", "label": "Base probability of the stage",
                     "effect": "20%", "value": 0.2}],
    }
    assert _ok(rep.get(f"opportunities/{deal}/risks")) == []


def test_the_winning_gate_cannot_be_forced(rep, manager, deal):
    # given: forced all the way to negotiation
    for _ in range(4):
        _ok(manager.post(f"opportunities/{deal}/advance", {"force": True, "reason": "试点"}))
    assert _ok(rep.get(f"opportunities/{deal}"))["stage"] == "negotiation"
    before = _state(deal)
    # when
    response = manager.post(f"opportunities/{deal}/advance", {"force": True, "reason": "试点"})
    # then
    assert response.status_code == 409
    assert response.json()["unmet"] == ["contract_signed"]
    assert _state(deal) == before


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"force": "maybe"}, "force"),
        ({"force": True, "reason": 123}, "reason"),
        ({"force": True, "reason": "x" * 2001}, "reason"),
        ({"from_stage": "x" * 41}, "from_stage"),
    ],
)
def test_bad_advance_input_is_422_naming_the_field(manager, deal, payload, field):
    before = _state(deal)
    response = manager.post(f"opportunities/{deal}/advance", payload)
    assert response.status_code == 422
    assert response.json()["field"] == field
    assert _state(deal) == before


# --- both playbooks, end to end ------------------------------------------------------


@pytest.mark.parametrize("final", ["close", "advance"])
def test_standard_6_walked_to_won(rep, account, deal, final):
    path = f"opportunities/{deal}"
    # development → entry
    evaluation = _ok(rep.put(f"{path}/evaluation", {"scores": GOOD}))
    assert (evaluation["score"], evaluation["passed"], evaluation["priority"]) == (80.0, True, "A")
    _ok(rep.patch(path, {"buyer_stage": "approval"}))
    moved = _ok(rep.post(f"{path}/advance", {"from_stage": "development"}))
    # 20% × 0.7 (no decision maker identified yet) × 0.8 (nobody supports us yet)
    assert (moved["stage"], moved["win_probability"], moved["alignment"]) == ("entry", 11,
                                                                             "aligned")
    # entry → proposal: coach, decision maker, candidate status
    coach = _person(rep, account, deal, "王立新", roles=["technical"], stance="champion",
                    is_coach=True)
    boss = _person(rep, account, deal, "高振宇", roles=["decision_maker"], stance="supporter")
    refused = rep.post(f"{path}/advance")
    assert refused.status_code == 409
    assert refused.json()["unmet"] == ["candidate_confirmed"]
    gates = _ok(rep.get(f"{path}/gates"))
    assert [(c["key"], c["met"], c["evidence"]) for c in gates["criteria"]] == [
        ("coach", True, [coach["id"]]),
        ("decision_maker", True, [boss["id"]]),
        ("candidate_confirmed", False, []),
    ]
    candidate = _ok(rep.post(f"{path}/milestones", {"kind": "candidate_confirmed"}), 201)
    assert _ok(rep.get(f"{path}/gates"))["criteria"][2]["evidence"] == [candidate["id"]]
    _ok(rep.patch(path, {"buyer_stage": "criteria"}))
    assert _ok(rep.post(f"{path}/advance"))["stage"] == "proposal"
    # proposal → bidding: three criteria, one shaped by us, and the proposal
    criteria = [_ok(rep.post(f"{path}/criteria", {"text": text, "shaped_by_us": i == 0}), 201)
                for i, text in enumerate(["五轴联动", "交期90天", "本地服务"])]
    _ok(rep.post(f"{path}/milestones", {"kind": "proposal_submitted"}), 201)
    gates = _ok(rep.get(f"{path}/gates"))
    assert gates["met"] is True
    assert gates["criteria"][0]["evidence"] == [c["id"] for c in criteria]
    assert gates["criteria"][0]["why"] == "3 criteria, 1 shaped by us."
    _ok(rep.patch(path, {"buyer_stage": "evaluation"}))
    assert _ok(rep.post(f"{path}/advance"))["stage"] == "bidding"
    # bidding → negotiation: a bid without its margin is not enough
    _ok(rep.post(f"{path}/milestones", {"kind": "bid_submitted", "price": "980000"}), 201)
    refused = rep.post(f"{path}/advance")
    assert refused.status_code == 409
    assert refused.json()["unmet"] == ["bid_submitted"]
    _ok(rep.post(f"{path}/milestones",
                 {"kind": "bid_submitted", "price": "980000", "margin": "18.5"}), 201)
    _ok(rep.patch(path, {"buyer_stage": "negotiation"}))
    moved = _ok(rep.post(f"{path}/advance"))
    assert (moved["stage"], moved["win_probability"]) == ("negotiation", 80)
    gates = _ok(rep.get(f"{path}/gates"))
    assert (gates["wins"], gates["next_stage"]) == (True, "implementation")
    # negotiation: won only by signing
    early = rep.post(f"{path}/close", {"outcome": "won"})
    assert early.status_code == 409
    assert early.json()["unmet"] == ["contract_signed"]
    _ok(rep.post(f"{path}/milestones", {"kind": "contract_signed", "price": "960000"}), 201)
    if final == "close":
        won = _ok(rep.post(f"{path}/close", {"outcome": "won", "reason": "合同已签"}))
    else:
        won = _ok(rep.post(f"{path}/advance"))
    # then
    assert (won["stage"], won["status"], won["win_probability"], won["alignment"]) == (
        "implementation", "won", 100, "unmapped")
    assert won["closed_at"] is not None
    assert _ok(rep.get(f"{path}/win-probability")) == {
        "value": 100,
        "factors": [{"key": "status_won", "label": "Won", "effect": "100%", "value": 1.0}],
    }
    assert _ok(rep.get(f"{path}/risks")) == []
    # implementation: advancing completes the project, once acceptance is recorded
    again = rep.post(f"{path}/advance")
    assert again.status_code == 409
    assert again.json()["unmet"] == ["acceptance"]
    _ok(rep.post(f"{path}/milestones", {"kind": "acceptance"}), 201)
    done = _ok(rep.post(f"{path}/advance"))
    assert (done["status"], done["stage"]) == ("won", "implementation")
    assert done["completed_at"] is not None
    assert rep.post(f"{path}/advance").status_code == 409
    history = _ok(rep.get(f"{path}/history"))
    moves = [e["action"] for e in history if e["action"] in ("advanced", "force_advanced",
                                                              "closed", "completed")]
    assert moves == ["advanced"] * 5 + ["closed", "completed"]


def test_milestones_5_walked_to_won(rep, account):
    # given
    deal = _create(rep, account, playbook="milestones-5")
    path = f"opportunities/{deal}"
    # lead_confirmation → need_nurturing
    _ok(rep.put(f"{path}/evaluation", {"scores": GOOD}))
    assert _ok(rep.post(f"{path}/advance"))["stage"] == "need_nurturing"
    # need_nurturing → solution_evaluation
    _person(rep, account, deal, "李工", roles=["user"], stance="champion", is_coach=True)
    refused = rep.post(f"{path}/advance")
    assert refused.status_code == 409
    assert refused.json()["unmet"] == ["decision_maker"]
    _person(rep, account, deal, "赵总", roles=["decision_maker"])
    assert _ok(rep.post(f"{path}/advance"))["stage"] == "solution_evaluation"
    # solution_evaluation → negotiation: a shaped criterion and a proposal *or* a bid
    _ok(rep.post(f"{path}/criteria", {"text": "能耗低于同类", "shaped_by_us": True}), 201)
    _ok(rep.post(f"{path}/milestones", {"kind": "bid_submitted", "price": 500000, "margin": 20}),
        201)
    assert _ok(rep.post(f"{path}/advance"))["stage"] == "negotiation"
    # negotiation → contract_signing
    _ok(rep.post(f"{path}/milestones", {"kind": "preferred_supplier"}), 201)
    refused = rep.post(f"{path}/advance")
    assert refused.status_code == 409
    assert refused.json()["unmet"] == ["terms_agreed"]
    _ok(rep.post(f"{path}/milestones", {"kind": "terms_agreed", "price": 480000, "margin": 17}),
        201)
    assert _ok(rep.post(f"{path}/advance"))["stage"] == "contract_signing"
    gates = _ok(rep.get(f"{path}/gates"))
    assert (gates["wins"], gates["next_stage"], gates["unmet"]) == (True, None,
                                                                  ["contract_signed"])
    # when the contract is signed
    _ok(rep.post(f"{path}/milestones", {"kind": "contract_signed", "price": 480000}), 201)
    won = _ok(rep.post(f"{path}/advance"))
    # then
    assert (won["stage"], won["status"], won["win_probability"]) == ("contract_signing", "won",
                                                                     100)


# --- close ---------------------------------------------------------------------------


@pytest.mark.parametrize("outcome", ["lost", "abandoned"])
def test_close_lost_or_abandoned_with_a_reason(rep, deal, outcome):
    # when
    body = _ok(rep.post(f"opportunities/{deal}/close",
                        {"outcome": outcome, "reason": "withdrew: criteria unfavourable"}))
    # then
    assert (body["status"], body["close_reason"], body["win_probability"]) == (
        outcome, "withdrew: criteria unfavourable", 0)
    assert body["closed_at"] is not None
    closed = [e for e in _ok(rep.get(f"opportunities/{deal}/history"))
              if e["action"] == "closed"]
    assert [(e["after"], e["note"], e["actor"]) for e in closed] == [
        ({"status": outcome, "closed_at": closed[0]["after"]["closed_at"],
          "close_reason": "withdrew: criteria unfavourable"},
         "withdrew: criteria unfavourable", "rep_a")]
    assert dt.datetime.fromisoformat(closed[0]["after"]["closed_at"]) == (
        Opportunity.objects.get(pk=deal).closed_at)
    assert _ok(rep.get(f"opportunities/{deal}/win-probability"))["factors"] == [
        {"key": f"status_{outcome}", "label": outcome.capitalize(), "effect": "0%", "value": 0.0}]


def test_closing_a_closed_deal_is_409_and_changes_nothing(rep, deal):
    # given
    _ok(rep.post(f"opportunities/{deal}/close", {"outcome": "lost", "reason": "价格"}))
    before = _state(deal)
    # when
    again = rep.post(f"opportunities/{deal}/close", {"outcome": "abandoned", "reason": "x"})
    advance = rep.post(f"opportunities/{deal}/advance")
    # then
    assert again.status_code == 409
    assert again.json()["detail"] == ("This opportunity is closed (Lost); it cannot move any "
                                      "more.")
    assert again.json()["unmet"] == []
    assert advance.status_code == 409
    assert _state(deal) == before


def test_won_before_the_winning_stage_is_409(rep, deal):
    before = _state(deal)
    response = rep.post(f"opportunities/{deal}/close", {"outcome": "won"})
    assert response.status_code == 409
    assert response.json()["unmet"] == ["contract_signed"]
    assert response.json()["stage"] == "development"
    assert _state(deal) == before


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"outcome": "lost"}, "reason"),
        ({"outcome": "lost", "reason": "  "}, "reason"),
        ({"outcome": "abandoned", "reason": None}, "reason"),
        ({"outcome": "lost", "reason": "x" * 2001}, "reason"),
        ({"outcome": "cancelled", "reason": "x"}, "outcome"),
        ({"outcome": None, "reason": "x"}, "outcome"),
        ({"reason": "x"}, "outcome"),
        ({"outcome": 1, "reason": "x"}, "outcome"),
    ],
)
def test_bad_close_input_is_422_naming_the_field(rep, deal, payload, field):
    before = _state(deal)
    response = rep.post(f"opportunities/{deal}/close", payload)
    assert response.status_code == 422
    assert response.json()["field"] == field
    assert response.json()["detail"]
    assert _state(deal) == before


# --- evaluation and priority ---------------------------------------------------------


def test_evaluation_before_the_first_is_200_with_nulls(rep, deal):
    assert _ok(rep.get(f"opportunities/{deal}/evaluation")) == {
        "evaluated": False, "scores": None, "score": None, "passed": None, "knocked_out": [],
        "pass_mark": 60.0, "contributions": {}, "priority": None, "priority_overridden": False,
        "priority_reason": "", "matrix_priority": None, "evaluated_at": None,
        "evaluated_by": None,
    }


def test_evaluation_scores_and_grades_the_deal(rep, deal):
    # when
    put = _ok(rep.put(f"opportunities/{deal}/evaluation", {"scores": GOOD}))
    got = _ok(rep.get(f"opportunities/{deal}/evaluation"))
    # then
    assert put == got
    assert {k: v for k, v in got.items() if k != "evaluated_at"} == {
        "evaluated": True, "scores": GOOD, "score": 80.0, "passed": True, "knocked_out": [],
        "pass_mark": 60.0, "contributions": GOOD_CONTRIBUTIONS, "priority": "A",
        "priority_overridden": False, "priority_reason": "", "matrix_priority": "A",
        "evaluated_by": "rep_a",
    }
    assert _ok(rep.get(f"opportunities/{deal}"))["priority"] == "A"


def test_knock_out_fails_whatever_the_total(rep, deal):
    # given: everything 5 but no funding in sight
    scores = dict.fromkeys(GOOD, 5) | {"funding": 1}
    # when
    body = _ok(rep.put(f"opportunities/{deal}/evaluation", {"scores": scores}))
    # then
    assert (body["score"], body["passed"], body["knocked_out"]) == (88.0, False, ["funding"])
    gate = _ok(rep.get(f"opportunities/{deal}/gates"))["criteria"][0]
    assert (gate["key"], gate["met"], gate["why"]) == (
        "evaluation_passed", False, "Knocked out: Funding scored 1, whatever the total.")
    assert rep.post(f"opportunities/{deal}/advance").json()["unmet"] == ["evaluation_passed"]


def test_re_evaluation_replaces_the_score_and_keeps_the_history(rep, deal):
    # given
    _ok(rep.put(f"opportunities/{deal}/evaluation", {"scores": GOOD}))
    # when
    body = _ok(rep.put(f"opportunities/{deal}/evaluation",
                       {"scores": dict.fromkeys(GOOD, 3)}))
    # then
    assert (body["score"], body["passed"], body["priority"]) == (60.0, True, "A")
    assert Evaluation.objects.filter(opportunity_id=deal).count() == 1
    evaluated = [e for e in _ok(rep.get(f"opportunities/{deal}/history"))
                 if e["action"] == "evaluated"]
    assert [e["after"]["score"] for e in evaluated] == ["80.0", "60.0"]


def test_priority_is_recomputed_when_the_expected_close_moves(rep, deal):
    # given: an A deal (score 80, closing within three months)
    _ok(rep.put(f"opportunities/{deal}/evaluation", {"scores": GOOD}))
    # when: the close slips beyond a year
    later = (clock.today() + dt.timedelta(days=500)).isoformat()
    body = _ok(rep.patch(f"opportunities/{deal}", {"expected_close": later}))
    # then
    assert body["priority"] == "C"
    assert _ok(rep.get(f"opportunities/{deal}/evaluation"))["priority"] == "C"
    changes = [(e["before"], e["after"]) for e in _ok(rep.get(f"opportunities/{deal}/history"))
               if e["action"] == "priority_changed"]
    assert changes == [({"priority": ""}, {"priority": "A"}), ({"priority": "A"},
                                                               {"priority": "C"})]


@pytest.mark.parametrize(
    ("scores", "field"),
    [
        ({k: v for k, v in GOOD.items() if k != "service"}, "scores.service"),
        (GOOD | {"funding": 0}, "scores.funding"),
        (GOOD | {"funding": 6}, "scores.funding"),
        (GOOD | {"funding": -3}, "scores.funding"),
        (GOOD | {"funding": "4"}, "scores.funding"),
        (GOOD | {"funding": 3.5}, "scores.funding"),
        (GOOD | {"funding": True}, "scores.funding"),
        (GOOD | {"funding": None}, "scores.funding"),
        (GOOD | {"funding": [4]}, "scores.funding"),
        (GOOD | {"charm": 5}, "scores.charm"),
        (None, "scores"),
        ([4, 4], "scores"),
        ("high", "scores"),
    ],
)
def test_bad_scores_are_422_naming_the_factor_and_write_nothing(rep, deal, scores, field):
    # given
    before = _state(deal)
    # when
    response = rep.put(f"opportunities/{deal}/evaluation", {"scores": scores})
    # then
    assert response.status_code == 422
    assert response.json()["field"] == field
    assert response.json()["detail"]
    assert not Evaluation.objects.filter(opportunity_id=deal).exists()
    assert _state(deal) == before


def test_evaluation_without_scores_is_422(rep, deal):
    response = rep.put(f"opportunities/{deal}/evaluation", {})
    assert response.status_code == 422
    assert response.json()["field"] == "scores"


def test_manager_overrides_the_priority_and_clears_it(rep, manager, deal):
    # given: the matrix says A
    _ok(rep.put(f"opportunities/{deal}/evaluation", {"scores": GOOD}))
    # when
    body = _ok(manager.put(f"opportunities/{deal}/priority",
                           {"grade": "B", "reason": "资源集中在华东项目"}))
    # then
    assert (body["priority"], body["priority_overridden"], body["priority_reason"]) == (
        "B", True, "资源集中在华东项目")
    evaluation = _ok(rep.get(f"opportunities/{deal}/evaluation"))
    assert (evaluation["priority"], evaluation["matrix_priority"]) == ("B", "A")
    # and the matrix no longer moves it
    later = (clock.today() + dt.timedelta(days=500)).isoformat()
    assert _ok(rep.patch(f"opportunities/{deal}", {"expected_close": later}))["priority"] == "B"
    # when the manager hands it back to the matrix
    body = _ok(manager.put(f"opportunities/{deal}/priority", {"grade": None}))
    # then
    assert (body["priority"], body["priority_overridden"], body["priority_reason"]) == (
        "C", False, "")
    changes = [(e["after"], e["note"], e["actor"])
               for e in _ok(rep.get(f"opportunities/{deal}/history"))
               if e["action"] == "priority_changed"]
    assert changes[-2:] == [
        ({"priority": "B", "priority_overridden": True, "priority_reason": "资源集中在华东项目"},
         "资源集中在华东项目", "m_east"),
        ({"priority": "C", "priority_overridden": False, "priority_reason": ""}, "", "m_east"),
    ]


def test_rep_may_not_set_the_priority(rep, deal):
    _ok(rep.put(f"opportunities/{deal}/evaluation", {"scores": GOOD}))
    before = _state(deal)
    response = rep.put(f"opportunities/{deal}/priority", {"grade": "D", "reason": "x"})
    assert response.status_code == 403
    assert _state(deal) == before


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"grade": "B"}, "reason"),
        ({"grade": "B", "reason": " "}, "reason"),
        ({"grade": "E", "reason": "x"}, "grade"),
        ({"grade": "a", "reason": "x"}, "grade"),
        ({"grade": 1, "reason": "x"}, "grade"),
        ({"reason": "x"}, "grade"),
        ({"grade": "B", "reason": "x" * 2001}, "reason"),
    ],
)
def test_bad_priority_input_is_422(manager, deal, payload, field):
    before = _state(deal)
    response = manager.put(f"opportunities/{deal}/priority", payload)
    assert response.status_code == 422
    assert response.json()["field"] == field
    assert _state(deal) == before


# --- purchase criteria ---------------------------------------------------------------


def test_criteria_crud(rep, deal):
    # when
    created = _ok(rep.post(f"opportunities/{deal}/criteria",
                           {"text": " 五轴联动加工能力 ", "shaped_by_us": True}), 201)
    plain = _ok(rep.post(f"opportunities/{deal}/criteria", {"text": "交期90天"}), 201)
    # then
    assert {k: created[k] for k in ("opportunity_id", "text", "shaped_by_us", "favourable")} == {
        "opportunity_id": deal, "text": "五轴联动加工能力", "shaped_by_us": True,
        "favourable": None}
    assert (plain["shaped_by_us"], plain["favourable"]) == (False, None)
    # when
    patched = _ok(rep.patch(f"opportunities/{deal}/criteria/{plain['id']}",
                            {"favourable": False, "text": "交期60天"}))
    # then
    assert (patched["text"], patched["shaped_by_us"], patched["favourable"]) == (
        "交期60天", False, False)
    listed = _ok(rep.get(f"opportunities/{deal}/criteria"))
    assert [(c["id"], c["text"]) for c in listed] == [(created["id"], "五轴联动加工能力"),
                                                      (plain["id"], "交期60天")]
    # when
    assert rep.delete(f"opportunities/{deal}/criteria/{created['id']}").status_code == 204
    # then
    assert [c["id"] for c in _ok(rep.get(f"opportunities/{deal}/criteria"))] == [plain["id"]]
    events = [(e["entity"], e["action"]) for e in _ok(rep.get(f"opportunities/{deal}/history"))
              if e["entity"] == "criterion"]
    assert events == [("criterion", "created"), ("criterion", "created"),
                      ("criterion", "updated"), ("criterion", "deleted")]


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({}, "text"),
        ({"text": ""}, "text"),
        ({"text": "   "}, "text"),
        ({"text": None}, "text"),
        ({"text": 5}, "text"),
        ({"text": "x" * 501}, "text"),
        ({"text": "x", "shaped_by_us": "maybe"}, "shaped_by_us"),
        ({"text": "x", "favourable": "maybe"}, "favourable"),
    ],
)
def test_bad_criterion_is_422_and_writes_nothing(rep, deal, payload, field):
    before = _state(deal)
    response = rep.post(f"opportunities/{deal}/criteria", payload)
    assert response.status_code == 422
    assert response.json()["field"] == field
    assert _state(deal) == before


@pytest.mark.parametrize(("payload", "field"),
                         [({"text": None}, "text"), ({"shaped_by_us": None}, "shaped_by_us"),
                          ({"text": "x" * 501}, "text")])
def test_bad_criterion_patch_is_422(rep, deal, payload, field):
    criterion = _ok(rep.post(f"opportunities/{deal}/criteria", {"text": "交期"}), 201)
    response = rep.patch(f"opportunities/{deal}/criteria/{criterion['id']}", payload)
    assert response.status_code == 422
    assert response.json()["field"] == field


def test_a_criterion_belongs_to_its_deal(world, api_as, rep, account, deal):
    # given: a criterion on another of rep_a's deals, and one on rep_c's
    other = _create(rep, account, name="另一个项目")
    foreign = _ok(rep.post(f"opportunities/{other}/criteria", {"text": "交期"}), 201)
    # when / then: addressed through the wrong deal it does not exist
    path = f"opportunities/{deal}/criteria/{foreign['id']}"
    assert rep.patch(path, {"text": "改"}).status_code == 404
    assert rep.delete(path).status_code == 404
    assert rep.patch(f"opportunities/{deal}/criteria/99999999999999999999", {}).status_code == 404
    # and outside one's scope the deal itself does not exist
    outsider = api_as(world.rep_c)
    response = outsider.delete(f"opportunities/{other}/criteria/{foreign['id']}")
    assert response.status_code == 404
    assert [c["text"] for c in _ok(rep.get(f"opportunities/{other}/criteria"))] == ["交期"]


# --- milestones ----------------------------------------------------------------------


def test_milestones_record_list_and_delete(rep, deal):
    # when
    bid = _ok(rep.post(f"opportunities/{deal}/milestones",
                       {"kind": "bid_submitted", "date": "2025-03-01", "price": "980000.50",
                        "margin": "-2.5", "note": "议标"}), 201)
    today = _ok(rep.post(f"opportunities/{deal}/milestones", {"kind": "proposal_submitted"}),
                201)
    # then
    assert {k: v for k, v in bid.items() if k not in ("id", "created_at")} == {
        "opportunity_id": deal, "kind": "bid_submitted", "kind_name": "Bid submitted",
        "date": "2025-03-01", "price": "980000.50", "margin": "-2.50", "note": "议标"}
    assert today["date"] == clock.today().isoformat()
    assert (today["price"], today["margin"], today["note"]) == (None, None, "")
    assert [m["id"] for m in _ok(rep.get(f"opportunities/{deal}/milestones"))] == [
        bid["id"], today["id"]]
    # when
    assert rep.delete(f"opportunities/{deal}/milestones/{bid['id']}").status_code == 204
    # then
    assert [m["id"] for m in _ok(rep.get(f"opportunities/{deal}/milestones"))] == [today["id"]]
    deleted = [e for e in _ok(rep.get(f"opportunities/{deal}/history"))
               if e["entity"] == "milestone" and e["action"] == "deleted"]
    assert [e["before"]["price"] for e in deleted] == ["980000.50"]


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({}, "kind"),
        ({"kind": None}, "kind"),
        ({"kind": "won_the_lottery"}, "kind"),
        ({"kind": ["bid_submitted"]}, "kind"),
        ({"kind": "x" * 41}, "kind"),
        ({"kind": "acceptance", "date": "2999-01-01"}, "date"),
        ({"kind": "acceptance", "date": "2027-02-30"}, "date"),
        ({"kind": "acceptance", "date": "1899-12-31"}, "date"),
        ({"kind": "acceptance", "date": "tomorrow"}, "date"),
        ({"kind": "bid_submitted", "price": -1}, "price"),
        ({"kind": "bid_submitted", "price": "abc"}, "price"),
        ({"kind": "bid_submitted", "price": "NaN"}, "price"),
        ({"kind": "bid_submitted", "price": "1e20"}, "price"),
        ({"kind": "bid_submitted", "price": "1.234"}, "price"),
        ({"kind": "bid_submitted", "margin": 150}, "margin"),
        ({"kind": "bid_submitted", "margin": -101}, "margin"),
        ({"kind": "bid_submitted", "margin": "12.345"}, "margin"),
        ({"kind": "bid_submitted", "margin": "Infinity"}, "margin"),
        ({"kind": "bid_submitted", "note": "x" * 2001}, "note"),
        ({"kind": "bid_submitted", "note": 5}, "note"),
    ],
)
def test_bad_milestone_is_422_and_writes_nothing(rep, deal, payload, field):
    before = _state(deal)
    response = rep.post(f"opportunities/{deal}/milestones", payload)
    assert response.status_code == 422
    assert response.json()["field"] == field
    assert response.json()["detail"]
    assert not Milestone.objects.exists()
    assert _state(deal) == before


def test_future_milestone_says_why(rep, deal):
    tomorrow = (clock.today() + dt.timedelta(days=1)).isoformat()
    response = rep.post(f"opportunities/{deal}/milestones",
                        {"kind": "contract_signed", "date": tomorrow})
    assert response.status_code == 422
    assert response.json() == {
        "detail": "A milestone is something that happened: the date cannot be in the future.",
        "field": "date"}


def test_a_milestone_belongs_to_its_deal(rep, account, deal):
    other = _create(rep, account, name="另一个项目")
    foreign = _ok(rep.post(f"opportunities/{other}/milestones", {"kind": "acceptance"}), 201)
    assert rep.delete(f"opportunities/{deal}/milestones/{foreign['id']}").status_code == 404
    assert Milestone.objects.filter(pk=foreign["id"]).exists()


# --- risks and alignment -------------------------------------------------------------


@pytest.mark.usefixtures("process_rules_only")
def test_aligned_deal_has_no_risks(rep, deal):
    assert _ok(rep.get(f"opportunities/{deal}/risks")) == []
    assert _ok(rep.get(f"opportunities/{deal}"))["alignment"] == "aligned"


@pytest.mark.usefixtures("process_rules_only")
def test_behind_buyer_when_the_customer_is_further(rep, deal):
    # when: the customer already formed its buying team while we are still developing
    body = _ok(rep.patch(f"opportunities/{deal}", {"buyer_stage": "approval"}))
    # then
    assert body["alignment"] == "behind_buyer"
    assert body["win_probability"] == 8  # 10% × 0.8
    assert _ok(rep.get(f"opportunities/{deal}/risks")) == [{
        "code": "behind_buyer",
        "severity": "medium",
        "title": "Behind the customer",
        "message": "The customer is already at “Project approval, buying team formed”, 1 step(s) "
                   "beyond what our stage Development matches (Problem and need, Information "
                   "search): we are late.",
        "action": "Catch up with the customer: Map the buying team and their roles; build "
                  "relationships with the key persons.",
        "evidence": [],
    }]
    far = _ok(rep.patch(f"opportunities/{deal}", {"buyer_stage": "evaluation"}))
    assert far["alignment"] == "behind_buyer"
    assert [(r["code"], r["severity"]) for r in _ok(rep.get(f"opportunities/{deal}/risks"))] == [
        ("behind_buyer", "high")]


@pytest.mark.usefixtures("process_rules_only")
def test_ahead_of_buyer_when_we_outrun_the_customer(rep, deal):
    # given: the customer is still searching for information
    _ok(rep.patch(f"opportunities/{deal}", {"buyer_stage": "search"}))
    _ok(rep.put(f"opportunities/{deal}/evaluation", {"scores": GOOD}))
    # when
    body = _ok(rep.post(f"opportunities/{deal}/advance"))
    # then
    assert (body["stage"], body["alignment"], body["win_probability"]) == (
        "entry", "ahead_of_buyer", 14)  # 20% × 0.7
    risks = _ok(rep.get(f"opportunities/{deal}/risks"))
    assert [(r["code"], r["severity"], r["title"]) for r in risks] == [
        ("ahead_of_buyer", "medium", "Ahead of the customer")]
    assert [f["key"] for f in _ok(rep.get(f"opportunities/{deal}/win-probability"))["factors"]
            ] == ["stage_base", "ahead_of_buyer"]


@pytest.mark.usefixtures("process_rules_only")
def test_forced_ahead_of_the_buyer_raises_both_alerts(manager, deal):
    # when: forced to entry while the customer is still at its first step
    _ok(manager.post(f"opportunities/{deal}/advance", {"force": True, "reason": "试点"}))
    # then
    risks = _ok(manager.get(f"opportunities/{deal}/risks"))
    assert [(r["code"], r["severity"]) for r in risks] == [("forced_gate", "high"),
                                                          ("ahead_of_buyer", "high")]
    assert _ok(manager.get(f"opportunities/{deal}/win-probability"))["value"] == 7  # 20×.5×.7


@pytest.mark.usefixtures("process_rules_only")
def test_stalled_once_the_healthy_dwell_time_is_over(rep, deal):
    # given: development is healthy for 45 days
    entered = Opportunity.objects.get(pk=deal).stage_entered_at
    # when / then
    with clock.freeze(entered + dt.timedelta(days=45, hours=1)):
        assert _ok(rep.get(f"opportunities/{deal}/risks")) == []
    with clock.freeze(entered + dt.timedelta(days=46, hours=1)):
        stalled = _ok(rep.get(f"opportunities/{deal}/risks"))
    assert stalled == [{
        "code": "stalled",
        "severity": "medium",
        "title": "Stalled in Development",
        "message": "46 days in Development; a healthy deal moves on within 45 days.",
        "action": "Work on what keeps it here: Evaluation recorded and passed, Priority grade "
                  "assigned.",
        "evidence": [],
    }]
    with clock.freeze(entered + dt.timedelta(days=91, hours=1)):
        assert [(r["code"], r["severity"]) for r in _ok(rep.get(f"opportunities/{deal}/risks"))
                ] == [("stalled", "high")]


def test_closed_deal_raises_no_alerts(rep, deal):
    _ok(rep.patch(f"opportunities/{deal}", {"buyer_stage": "contract"}))
    assert _ok(rep.get(f"opportunities/{deal}/risks")) != []
    _ok(rep.post(f"opportunities/{deal}/close", {"outcome": "lost", "reason": "迟到"}))
    assert _ok(rep.get(f"opportunities/{deal}/risks")) == []


def test_list_carries_alignment_and_priority_override(rep, manager, account, deal):
    # given
    _ok(rep.put(f"opportunities/{deal}/evaluation", {"scores": GOOD}))
    _ok(manager.put(f"opportunities/{deal}/priority", {"grade": "B", "reason": "资源"}))
    other = _create(rep, account, name="另一个项目")
    _ok(rep.patch(f"opportunities/{other}", {"buyer_stage": "criteria"}))
    # when
    items = {i["id"]: i for i in _ok(rep.get("opportunities"))["items"]}
    # then
    assert {k: items[deal][k] for k in ("alignment", "priority", "priority_overridden",
                                        "priority_reason")} == {
        "alignment": "aligned", "priority": "B", "priority_overridden": True,
        "priority_reason": "资源"}
    assert (items[other]["alignment"], items[other]["priority_overridden"]) == ("behind_buyer",
                                                                               False)


# --- language ------------------------------------------------------------------------


def test_chinese_request_gets_chinese_names_and_the_same_structure(world, api_as, rep, deal):
    # given
    zh = api_as(world.rep_a, language="zh-hans")
    _ok(rep.post(f"opportunities/{deal}/milestones", {"kind": "proposal_submitted"}), 201)
    # when
    gates = _ok(zh.get(f"opportunities/{deal}/gates"))
    refused = zh.post(f"opportunities/{deal}/advance")
    scores = zh.put(f"opportunities/{deal}/evaluation", {"scores": GOOD | {"funding": 9}})
    milestones = _ok(zh.get(f"opportunities/{deal}/milestones"))
    missing = zh.get("opportunities/424242/gates")
    # then
    assert (gates["stage"], gates["stage_name"]) == ("development", "开发阶段")
    assert gates["key_node"] == "已完成评估且通过;已确定优先级。"
    assert [c["key"] for c in gates["criteria"]] == DEVELOPMENT_GATE
    assert refused.status_code == 409
    assert refused.json()["unmet"] == DEVELOPMENT_GATE
    assert "开发阶段" in refused.json()["detail"]
    assert scores.status_code == 422
    assert scores.json()["field"] == "scores.funding"
    assert "资金状况" in scores.json()["detail"]
    assert milestones[0]["kind_name"] == "已提交方案"
    assert missing.status_code == 404
    assert missing.json() == {"detail": "商机不存在,或未向您开放。"}


# --- scope, unknown ids, cost --------------------------------------------------------

ENDPOINTS = [
    ("get", "gates", None, 200),
    ("post", "advance", {}, 409),
    ("post", "close", {"outcome": "lost", "reason": "价格"}, 200),
    ("get", "evaluation", None, 200),
    ("put", "evaluation", {"scores": GOOD}, 200),
    ("put", "priority", {"grade": "A", "reason": "战略客户"}, 200),
    ("get", "criteria", None, 200),
    ("post", "criteria", {"text": "交期"}, 201),
    ("get", "milestones", None, 200),
    ("post", "milestones", {"kind": "proposal_submitted"}, 201),
    ("get", "risks", None, 200),
    ("get", "win-probability", None, 200),
    ("get", "history", None, 200),
    ("get", "stakeholders", None, 200),
]
USERS = ["rep_a", "rep_b", "manager_east", "manager_west", "rep_c", "admin"]
IN_SCOPE = {"rep_a", "manager_east", "admin"}


def _call(client, method, path, body):
    return getattr(client, method)(path) if body is None else getattr(client, method)(path, body)


@pytest.mark.parametrize("user", USERS)
@pytest.mark.parametrize(("method", "endpoint", "body", "status"), ENDPOINTS,
                         ids=[f"{m}-{e}" for m, e, _, _ in ENDPOINTS])
def test_permission_matrix(world, api_as, deal, user, method, endpoint, body, status):
    # given
    before = _state(deal)
    # when
    response = _call(api_as(getattr(world, user)), method, f"opportunities/{deal}/{endpoint}",
                     body)
    # then
    if user not in IN_SCOPE:
        assert response.status_code == 404
        assert _state(deal) == before
    elif endpoint == "priority" and user == "rep_a":
        assert response.status_code == 403
        assert _state(deal) == before
    else:
        assert response.status_code == status, response.content


@pytest.mark.parametrize(("method", "endpoint", "body", "status"), ENDPOINTS,
                         ids=[f"{m}-{e}" for m, e, _, _ in ENDPOINTS])
@pytest.mark.parametrize("opportunity_id", [424242, 99999999999999999999999])
def test_unknown_deal_is_404(world, api_as, method, endpoint, body, status, opportunity_id):
    response = _call(api_as(world.admin), method, f"opportunities/{opportunity_id}/{endpoint}",
                     body)
    assert response.status_code == 404
    assert response.json() == {"detail": "No such opportunity, or it is not shared with you."}


@pytest.mark.parametrize("endpoint", ["gates", "risks", "win-probability"])
def test_reads_cost_the_same_whatever_the_evidence(rep, account, deal, endpoint,
                                                   django_assert_max_num_queries):
    # given: the token lookup, the deal and the eight fact queries (kam/opportunities/facts.py)
    path = f"opportunities/{deal}/{endpoint}"
    with django_assert_max_num_queries(10):
        assert rep.get(path).status_code == 200
    # when the deal gathers evidence
    for i in range(12):
        _ok(rep.post(f"opportunities/{deal}/criteria", {"text": f"标准{i}",
                                                        "shaped_by_us": i % 2 == 0}), 201)
        _ok(rep.post(f"opportunities/{deal}/milestones", {"kind": "proposal_submitted"}), 201)
    for i in range(5):
        _person(rep, account, deal, f"联系人{i}", roles=["user"], stance="supporter",
                is_coach=i == 0)
    _ok(rep.put(f"opportunities/{deal}/evaluation", {"scores": GOOD}))
    # then
    with django_assert_max_num_queries(10):
        assert rep.get(path).status_code == 200


def test_openapi_describes_the_process_endpoints(db, client):
    schema = client.get("/api/v1/openapi.json").json()
    paths = schema["paths"]
    base = "/api/v1/opportunities/{opportunity_id}"
    for suffix, methods in {
        "/gates": ["get"], "/advance": ["post"], "/close": ["post"],
        "/evaluation": ["get", "put"], "/priority": ["put"], "/criteria": ["get", "post"],
        "/criteria/{criterion_id}": ["patch", "delete"], "/milestones": ["get", "post"],
        "/milestones/{milestone_id}": ["delete"], "/risks": ["get"],
        "/win-probability": ["get"], "/history": ["get"], "/stakeholders": ["get", "post"],
        "/stakeholders/{stakeholder_id}": ["get", "patch", "delete"],
    }.items():
        assert sorted(paths[base + suffix]) == sorted(methods), suffix
    conflict = paths[base + "/advance"]["post"]["responses"]["409"]
    ref = conflict["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]
    assert "unmet" in schema["components"]["schemas"][ref]["properties"]


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "field"),
    [
        ("post", "opportunities", {"account_id": 10**30}, 422, "account_id"),
        ("post", "opportunities", {"account_id": -(10**30)}, 422, "account_id"),
        ("post", "opportunities", {"owner_id": 10**30}, 422, "owner_id"),
        ("patch", "opportunities/{deal}", {"owner_id": 10**30}, 422, "owner_id"),
        ("get", "opportunities?account_id=" + "9" * 30, None, 422, "account_id"),
        ("get", "opportunities?owner_id=-" + "9" * 30, None, 422, "owner_id"),
        ("patch", "opportunities/{deal}/criteria/" + "9" * 30, {"text": "x"}, 404, None),
        ("delete", "opportunities/{deal}/milestones/" + "9" * 30, None, 404, None),
    ],
)
def test_ids_beyond_64_bits_are_a_clear_answer_not_a_500(rep, account, deal, method, path, body,
                                                         status, field):
    # given
    payload = {"account_id": account, "name": "x", "amount": 1,
               "expected_close": "2027-01-01"} | (body or {})
    url = "/api/v1/" + path.format(deal=deal)
    # when
    if method in ("post", "patch"):
        response = getattr(rep, method)(url, payload if method == "post" else body)
    else:
        response = getattr(rep, method)(url)
    # then
    assert response.status_code == status
    assert response.json().get("field") == field
