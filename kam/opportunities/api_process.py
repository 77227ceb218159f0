"""/api/v1/opportunities/{id}/… — the process engine: key-node gates, advance and
forced advance, close, evaluation and priority, purchase criteria, milestones,
alerts and win probability (SPEC §2–§5, §10)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, Any, Literal

from django.http import HttpResponse
from django.utils.translation import gettext as _
from ninja import Field, Header, Router, Schema, Status

from kam.core.api_support import (
    ERRORS,
    IF_MATCH_HELP,
    VERSIONED_ERRORS,
    Money,
    checked,
    checked_decimal,
    version_named,
)
from kam.core.errors import NotFound
from kam.core.i18n import show
from kam.methodology import registry
from kam.methodology.evaluation import score_evaluation
from kam.opportunities import process
from kam.opportunities.api import MAX_ID, OpportunityOut, _deal, _out, out_with_etag
from kam.opportunities.assess import assessment_of
from kam.opportunities.models import Evaluation, Milestone, Opportunity, PurchaseCriterion

router = Router(tags=["sales process"])


# --- the process engine: key-node gates --------------------------------------------


class GateCriterionOut(Schema):
    key: str
    label: str
    met: bool
    why: str
    evidence: list[int] = Field(
        description="Ids of the stakeholders, purchase criteria or milestones the verdict "
        "rests on (the criterion's check type says which)."
    )


class GatesOut(Schema):
    stage: str
    stage_name: str
    key_node: str
    next_stage: str | None
    wins: bool = Field(description="Passing this gate wins the deal (the contract is signed).")
    met: bool
    status: str
    unmet: list[str]
    criteria: list[GateCriterionOut]


class ConflictCriterionOut(Schema):
    key: str
    label: str
    met: bool
    why: str


class ProcessConflictOut(Schema):
    """409 from the process engine: what stands in the way. Nothing was changed."""

    detail: str
    field: str | None = None
    unmet: list[str] = Field(default_factory=list, description="Keys of the unmet criteria.")
    stage: str | None = None
    criteria: list[ConflictCriterionOut] = Field(default_factory=list)


PROCESS_ERRORS = {**VERSIONED_ERRORS, 409: ProcessConflictOut}


@router.get("/{int:opportunity_id}/gates", response={200: GatesOut, **ERRORS})
def opportunity_gates(request, opportunity_id: int):
    """The key node (关键节点) of the deal's current stage: each criterion, met or not,
    and why — what has to happen before the deal may advance."""
    opp = _deal(request, opportunity_id)
    found = assessment_of(opp)
    book = registry.playbook(opp.playbook)
    stage = book.stage(opp.stage)
    nxt = book.next_stage(opp.stage)
    return {
        "stage": stage.key,
        "stage_name": show(stage.name),
        "key_node": show(stage.key_node),
        "next_stage": nxt.key if nxt else None,
        "wins": stage.wins,
        "met": found.gate_met,
        "status": opp.status,
        "unmet": found.unmet,
        "criteria": [
            {
                "key": r.key,
                "label": show(r.label),
                "met": r.met,
                "why": show(r.why),
                "evidence": list(r.evidence),
            }
            for r in found.gate
        ],
    }


class AdvanceIn(Schema):
    force: bool | None = Field(
        False,
        description="Pass the gate although criteria are unmet (强行进入): managers and "
        "admins only, with a reason; it costs win probability until the items are met.",
    )
    reason: str | None = Field(None, max_length=process.REASON_MAX)
    from_stage: str | None = Field(
        None,
        max_length=40,
        description="The stage the client last saw; if the deal moved meanwhile the call "
        "is refused (409) instead of moving it twice.",
    )


@router.post("/{int:opportunity_id}/advance", response={200: OpportunityOut, **PROCESS_ERRORS})
def advance_opportunity(
    request,
    opportunity_id: int,
    response: HttpResponse,
    payload: AdvanceIn | None = None,
    if_match: str | None = Header(None, alias="If-Match", description=IF_MATCH_HELP),
):
    """Move the deal one stage on when its key node is met; otherwise 409 with the
    unmet criteria and nothing changed. Leaving the winning stage wins the deal.
    The body is optional: a plain advance needs none."""
    opp = _deal(request, opportunity_id, edit=True)
    payload = payload or AdvanceIn()
    process.opportunity_advance(
        actor=request.auth,
        opportunity=opp,
        force=bool(payload.force),
        reason=payload.reason or "",
        from_stage=payload.from_stage,
        expected_version=version_named(if_match),
    )
    return out_with_etag(request, response, opportunity_id)


class CloseIn(Schema):
    outcome: Literal["won", "lost", "abandoned"]
    reason: str | None = Field(
        None,
        max_length=process.REASON_MAX,
        description="Required for lost and abandoned, e.g. “withdrew: criteria unfavourable”.",
    )


@router.post("/{int:opportunity_id}/close", response={200: OpportunityOut, **PROCESS_ERRORS})
def close_opportunity(
    request,
    opportunity_id: int,
    payload: CloseIn,
    response: HttpResponse,
    if_match: str | None = Header(None, alias="If-Match", description=IF_MATCH_HELP),
):
    """End the deal. Won only by signing: at the playbook's winning stage with the
    signed contract recorded (the same as advancing); otherwise 409."""
    opp = _deal(request, opportunity_id, edit=True)
    process.opportunity_close(
        actor=request.auth,
        opportunity=opp,
        outcome=payload.outcome,
        reason=payload.reason or "",
        expected_version=version_named(if_match),
    )
    return out_with_etag(request, response, opportunity_id)


# --- evaluation and priority -------------------------------------------------------


class EvaluationIn(Schema):
    scores: dict[str, Any] = Field(
        max_length=50,
        json_schema_extra=checked(
            propertyNames={"maxLength": 40},
            additionalProperties={"type": "integer", "minimum": 1, "maximum": 5},
        ),
        description="Every factor of the evaluation model scored with a whole number from "
        "1 to 5: project_grade, funding, technical_fit, relationship, credit, product, price, "
        "solution, service.",
    )


class EvaluationOut(Schema):
    evaluated: bool
    scores: dict[str, int] | None
    score: float | None = Field(description="0–100.")
    passed: bool | None
    knocked_out: list[str] = Field(
        description="Factors that failed the deal whatever the total (e.g. funding = 1)."
    )
    pass_mark: float
    contributions: dict[str, float] = Field(description="Points each factor adds to the score.")
    priority: str | None
    priority_overridden: bool
    priority_reason: str
    matrix_priority: str | None = Field(
        description="What the priority matrix says now (differs from priority when a manager "
        "has set it)."
    )
    evaluated_at: dt.datetime | None
    evaluated_by: str | None


def _contributions(scores: dict) -> dict[str, float]:
    model = registry.current().evaluation
    valid = all(
        isinstance(scores.get(k), int) and not isinstance(scores.get(k), bool) for k in model.keys
    )
    return score_evaluation(model, scores).contributions if valid else {}


def _evaluation_out(opp: Opportunity) -> dict[str, Any]:
    ev = Evaluation.objects.filter(opportunity=opp).select_related("evaluated_by").first()
    body: dict[str, Any] = {
        "evaluated": ev is not None,
        "pass_mark": registry.current().evaluation.pass_mark,
        "priority": opp.priority or None,
        "priority_overridden": opp.priority_overridden,
        "priority_reason": opp.priority_reason,
        "matrix_priority": process.computed_priority(opp, ev) or None,
    }
    if ev is None:
        return {
            **body,
            "scores": None,
            "score": None,
            "passed": None,
            "knocked_out": [],
            "contributions": {},
            "evaluated_at": None,
            "evaluated_by": None,
        }
    return {
        **body,
        "scores": ev.scores,
        "score": float(ev.score),
        "passed": ev.passed,
        "knocked_out": list(ev.knocked_out),
        "contributions": _contributions(ev.scores),
        "evaluated_at": ev.updated_at,
        "evaluated_by": str(ev.evaluated_by) if ev.evaluated_by else None,
    }


@router.get("/{int:opportunity_id}/evaluation", response={200: EvaluationOut, **ERRORS})
def get_evaluation(request, opportunity_id: int):
    """The deal's latest evaluation (评估模型). Before the first one this is still
    200, with `evaluated: false` and nulls, so a client gets the pass mark in one
    call and a 404 here always means the deal itself is unknown or not shared."""
    return _evaluation_out(_deal(request, opportunity_id))


@router.put("/{int:opportunity_id}/evaluation", response={200: EvaluationOut, **ERRORS})
def put_evaluation(request, opportunity_id: int, payload: EvaluationIn):
    """Score the deal; the A/B/C/D priority follows unless a manager has set it.
    A bad score is a 422 naming `scores.<factor>`."""
    opp = _deal(request, opportunity_id, edit=True)
    process.evaluation_record(actor=request.auth, opportunity=opp, scores=payload.scores)
    return _evaluation_out(_deal(request, opportunity_id))


class PriorityIn(Schema):
    grade: Literal["A", "B", "C", "D"] | None = Field(
        description="The grade to set; null hands the grade back to the priority matrix."
    )
    reason: str | None = Field(
        None, max_length=process.REASON_MAX, description="Required when setting a grade."
    )


@router.put("/{int:opportunity_id}/priority", response={200: OpportunityOut, **ERRORS})
def put_priority(request, opportunity_id: int, payload: PriorityIn):
    """A manager's override of the computed A/B/C/D grade, with a reason (recorded);
    reps get 403."""
    opp = _deal(request, opportunity_id, edit=True)
    process.priority_override(
        actor=request.auth, opportunity=opp, grade=payload.grade, reason=payload.reason or ""
    )
    return _out(request, opportunity_id)


# --- purchase criteria -------------------------------------------------------------


class CriterionIn(Schema):
    text: str = Field(max_length=500)
    shaped_by_us: bool | None = False
    favourable: bool | None = None


class CriterionPatch(Schema):
    text: str | None = Field(None, max_length=500)
    shaped_by_us: bool | None = None
    favourable: bool | None = None


class CriterionOut(Schema):
    id: int
    opportunity_id: int
    text: str
    shaped_by_us: bool
    favourable: bool | None
    created_at: dt.datetime
    updated_at: dt.datetime


def _criterion(opp: Opportunity, criterion_id: int) -> PurchaseCriterion:
    found = (
        PurchaseCriterion.objects.filter(pk=criterion_id, opportunity=opp).first()
        if criterion_id <= MAX_ID
        else None
    )
    if found is None:
        raise NotFound(_("No such purchase criterion on this opportunity."))
    found.opportunity = opp
    return found


@router.get("/{int:opportunity_id}/criteria", response={200: list[CriterionOut], **ERRORS})
def list_criteria(request, opportunity_id: int):
    opp = _deal(request, opportunity_id)
    return list(PurchaseCriterion.objects.filter(opportunity=opp).order_by("id"))


@router.post("/{int:opportunity_id}/criteria", response={201: CriterionOut, **ERRORS})
def add_criterion(request, opportunity_id: int, payload: CriterionIn):
    """Record a purchase criterion (采购标准) the customer will judge on."""
    opp = _deal(request, opportunity_id, edit=True)
    criterion = process.criterion_add(
        actor=request.auth,
        opportunity=opp,
        text=payload.text,
        shaped_by_us=bool(payload.shaped_by_us),
        favourable=payload.favourable,
    )
    return Status(201, criterion)


@router.patch(
    "/{int:opportunity_id}/criteria/{int:criterion_id}", response={200: CriterionOut, **ERRORS}
)
def update_criterion(request, opportunity_id: int, criterion_id: int, payload: CriterionPatch):
    opp = _deal(request, opportunity_id, edit=True)
    criterion = _criterion(opp, criterion_id)
    changes = payload.model_dump(exclude_unset=True)
    return process.criterion_update(actor=request.auth, criterion=criterion, **changes)


@router.delete("/{int:opportunity_id}/criteria/{int:criterion_id}", response={204: None, **ERRORS})
def delete_criterion(request, opportunity_id: int, criterion_id: int):
    opp = _deal(request, opportunity_id, edit=True)
    process.criterion_delete(actor=request.auth, criterion=_criterion(opp, criterion_id))
    return Status(204, None)


# --- milestones --------------------------------------------------------------------


class MilestoneIn(Schema):
    kind: str = Field(
        max_length=40,
        description="candidate_confirmed, proposal_submitted, bid_submitted, "
        "preferred_supplier, terms_agreed, contract_signed or acceptance.",
    )
    date: dt.date | None = Field(
        None, description="When it happened (not in the future); today if left out."
    )
    price: Money | None = None
    margin: Annotated[Decimal, checked_decimal(-100, 100)] | None = Field(
        None, description="Percent, -100 to 100."
    )
    note: str | None = Field(None, max_length=2000)


class MilestoneOut(Schema):
    id: int
    opportunity_id: int
    kind: str
    kind_name: str
    date: dt.date
    price: Decimal | None
    margin: Decimal | None
    note: str
    created_at: dt.datetime

    @staticmethod
    def resolve_kind_name(obj) -> str:
        kind = registry.current().milestones.get(obj.kind)
        return show(kind.name) if kind is not None else obj.kind


def _milestone(opp: Opportunity, milestone_id: int) -> Milestone:
    found = (
        Milestone.objects.filter(pk=milestone_id, opportunity=opp).first()
        if milestone_id <= MAX_ID
        else None
    )
    if found is None:
        raise NotFound(_("No such milestone on this opportunity."))
    found.opportunity = opp
    return found


@router.get("/{int:opportunity_id}/milestones", response={200: list[MilestoneOut], **ERRORS})
def list_milestones(request, opportunity_id: int):
    opp = _deal(request, opportunity_id)
    return list(Milestone.objects.filter(opportunity=opp).order_by("date", "id"))


@router.post("/{int:opportunity_id}/milestones", response={201: MilestoneOut, **ERRORS})
def record_milestone(request, opportunity_id: int, payload: MilestoneIn):
    """Record a dated fact a key node may ask for (a bid with its price and margin,
    the signed contract, …)."""
    opp = _deal(request, opportunity_id, edit=True)
    milestone = process.milestone_record(
        actor=request.auth,
        opportunity=opp,
        kind=payload.kind,
        date=payload.date,
        price=payload.price,
        margin=payload.margin,
        note=payload.note or "",
    )
    milestone.refresh_from_db()  # money as stored (two decimals), as GET shows it
    return Status(201, milestone)


@router.delete(
    "/{int:opportunity_id}/milestones/{int:milestone_id}", response={204: None, **ERRORS}
)
def delete_milestone(request, opportunity_id: int, milestone_id: int):
    """For a milestone entered by mistake; the history keeps what it said."""
    opp = _deal(request, opportunity_id, edit=True)
    process.milestone_delete(actor=request.auth, milestone=_milestone(opp, milestone_id))
    return Status(204, None)


# --- deal health -------------------------------------------------------------------


class EvidenceOut(Schema):
    kind: str = Field(description="event, stakeholder, criterion, milestone, …")
    id: int


class RiskOut(Schema):
    code: str
    severity: str = Field(description="high, medium or low.")
    title: str
    message: str
    action: str
    evidence: list[EvidenceOut]


def risk_body(a) -> dict[str, Any]:
    """One alert as `RiskOut`, its texts in the request's language (also the alert
    part of each row of `GET /risks`)."""
    return {
        "code": a.code,
        "severity": a.severity,
        "title": show(a.title),
        "message": show(a.message),
        "action": show(a.action),
        "evidence": [{"kind": e.kind, "id": e.id} for e in a.evidence],
    }


@router.get("/{int:opportunity_id}/risks", response={200: list[RiskOut], **ERRORS})
def opportunity_risks(request, opportunity_id: int):
    """The deal's alerts (红旗), most severe first; none once it is closed."""
    opp = _deal(request, opportunity_id)
    return [risk_body(a) for a in assessment_of(opp).alerts]


class FactorOut(Schema):
    key: str = Field(description="stage_base, status_<outcome>, open_range or an alert code.")
    label: str
    effect: str = Field(description="As shown to people, e.g. “40%” or “×0.5”.")
    value: float


class WinProbabilityOut(Schema):
    value: int = Field(description="Percent.")
    factors: list[FactorOut]


@router.get("/{int:opportunity_id}/win-probability", response={200: WinProbabilityOut, **ERRORS})
def win_probability(request, opportunity_id: int):
    """The win probability with every factor that made it: the stage's base, each
    alert that costs probability (a forced gate ×0.5, …), or the outcome."""
    found = assessment_of(_deal(request, opportunity_id))
    return {
        "value": found.probability,
        "factors": [
            {"key": f.key, "label": show(f.label), "effect": f.effect, "value": f.value}
            for f in found.factors
        ],
    }
