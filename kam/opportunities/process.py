"""The process engine's writes (SPEC §2–§3): moving a deal through its playbook on
evidence, forcing a gate, closing, and recording the evidence the gates read
(evaluation, purchase criteria, milestones) and the A/B/C/D priority.

Every service here runs in one transaction, locks the deal row first (so two
advances cannot both pass the same gate) and writes an event per change."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from kam.core import audit, clock, validation
from kam.core.concurrency import check_version
from kam.core.errors import Conflict, PermissionDenied, ValidationFailed
from kam.core.i18n import show, stage_name
from kam.core.permissions import is_manager
from kam.methodology import registry
from kam.methodology.evaluation import priority_grade, score_evaluation
from kam.opportunities.assess import assess
from kam.opportunities.models import (
    Evaluation,
    ForcedMove,
    Milestone,
    Opportunity,
    PurchaseCriterion,
    Status,
)

REASON_MAX = 2000


def _lock(opportunity: Opportunity, expected_version: int | None = None) -> Opportunity:
    """Re-read the deal under a row lock; the caller's copy may be stale. Two moves
    of one deal queue here, so the second sees the stage the first left it at."""
    fresh = (
        Opportunity.objects.select_for_update()
        .select_related("account", "owner")
        .get(pk=opportunity.pk)
    )
    check_version(fresh, expected_version)
    return fresh


def _common(opp: Opportunity, entity: str = "opportunity", entity_id: int | None = None) -> dict:
    return {
        "entity": entity,
        "entity_id": entity_id if entity_id is not None else opp.pk,
        "opportunity_id": opp.pk,
        "account_id": opp.account_id,
    }


def _require_open(opp: Opportunity) -> None:
    if opp.status != Status.OPEN:
        raise Conflict(
            _("This opportunity is closed (%(status)s); it cannot move any more.")
            % {"status": opp.get_status_display()},
            extra={"unmet": []},
        )


def _criteria_payload(assessment) -> list[dict]:
    return [
        {"key": r.key, "label": show(r.label), "met": r.met, "why": show(r.why)}
        for r in assessment.gate
    ]


# --- advance -----------------------------------------------------------------------


@transaction.atomic
def opportunity_advance(
    *,
    actor,
    opportunity: Opportunity,
    force: bool = False,
    reason: str = "",
    from_stage: str | None = None,
    expected_version: int | None = None,
) -> Opportunity:
    """Move the deal one stage on. Refused (409, nothing changed) while a criterion of
    the current key node is unmet, unless a manager forces it with a reason; the
    forced move keeps the unmet criteria and costs win probability until they are
    met. Leaving the playbook's winning stage wins the deal."""
    if force and not is_manager(actor):
        raise PermissionDenied(
            _("Only a sales manager or an administrator may force a deal past its key node.")
        )
    reason = validation.text(reason, field="reason", max_length=REASON_MAX, required=force)
    opp = _lock(opportunity, expected_version)
    if _completes_project(opp):
        return _complete_project(actor=actor, opp=opp, caller_copy=opportunity)
    _require_open(opp)
    if from_stage is not None and from_stage != opp.stage:
        raise Conflict(
            _("Someone moved this deal meanwhile: it is now at %(stage)s. Reload and try again.")
            % {"stage": _stage_name(opp)},
            extra={"unmet": [], "stage": opp.stage},
        )
    book = registry.playbook(opp.playbook)
    stage = book.stage(opp.stage)
    nxt = book.next_stage(opp.stage)
    if nxt is None and not stage.wins:
        raise Conflict(
            _("%(stage)s is the last stage of this playbook; close the deal instead.")
            % {"stage": _stage_name(opp)},
            extra={"unmet": []},
        )
    found = assess(opp)
    unmet = found.unmet
    if unmet and not force:
        items = [show(r.label) for r in found.gate if not r.met]
        raise Conflict(
            _("The key node of %(stage)s is not met yet: %(items)s.")
            % {"stage": _stage_name(opp), "items": "; ".join(items)},
            extra={"unmet": unmet, "stage": opp.stage, "criteria": _criteria_payload(found)},
        )
    if unmet and stage.wins:
        raise Conflict(
            _(
                "A deal is won only by signing: record the signed contract; this gate cannot be "
                "forced."
            ),
            extra={"unmet": unmet, "stage": opp.stage, "criteria": _criteria_payload(found)},
        )
    now = clock.now()
    before = {"stage": opp.stage, "stage_entered_at": audit.jsonable(opp.stage_entered_at)}
    was = _closing_fields(opp)
    if nxt is not None:
        opp.stage = nxt.key
        opp.stage_entered_at = now
    fields = ["stage", "stage_entered_at"]
    if stage.wins:
        opp.status = Status.WON
        opp.closed_at = now
        opp.close_reason = reason
        fields += ["status", "closed_at", "close_reason"]
    opp.updated_at = now
    opp.save(update_fields=[*fields, "updated_at"])
    after: dict[str, Any] = {
        "stage": opp.stage,
        "stage_entered_at": audit.jsonable(opp.stage_entered_at),
    }
    forced = bool(unmet)
    if forced:
        after["unmet"] = unmet
    event = audit.record(
        actor=actor,
        action="force_advanced" if forced else "advanced",
        before=before,
        after=after,
        note=reason,
        **_common(opp),
    )
    if forced:
        ForcedMove.objects.create(
            opportunity=opp,
            from_stage=stage.key,
            to_stage=opp.stage,
            unmet=unmet,
            reason=reason,
            actor=actor if getattr(actor, "pk", None) else None,
            at=now,
            event_id=event.pk,
        )
    if stage.wins:
        audit.record(
            actor=actor,
            action="closed",
            before=was,
            after=_closing_fields(opp),
            note=reason or _("Contract signed."),
            **_common(opp),
        )
    opportunity.__dict__.update(
        {k: getattr(opp, k) for k in ("stage", "stage_entered_at", "status", "closed_at")}
    )
    return opp


def _closing_fields(opp: Opportunity) -> dict[str, Any]:
    """What a "closed" event records on each side."""
    return {
        "status": opp.status,
        "closed_at": audit.jsonable(opp.closed_at),
        "close_reason": opp.close_reason,
    }


def _completes_project(opp: Opportunity) -> bool:
    """A won deal at the playbook's last stage after the winning one (e.g. standard-6's
    implementation): its key node, acceptance, closes the project."""
    if opp.status != Status.WON:
        return False
    book = registry.playbook(opp.playbook)
    stage = book.stage(opp.stage)
    return book.next_stage(opp.stage) is None and not stage.wins


def _complete_project(*, actor, opp: Opportunity, caller_copy: Opportunity):
    if opp.completed_at is not None:
        raise Conflict(
            _("This project was completed on %(date)s; there is nothing further.")
            % {"date": opp.completed_at.date().isoformat()},
            extra={"unmet": []},
        )
    found = assess(opp)
    if found.unmet:
        items = [show(r.label) for r in found.gate if not r.met]
        raise Conflict(
            _("The key node of %(stage)s is not met yet: %(items)s.")
            % {"stage": _stage_name(opp), "items": "; ".join(items)},
            extra={"unmet": found.unmet, "stage": opp.stage, "criteria": _criteria_payload(found)},
        )
    now = clock.now()
    opp.completed_at = now
    opp.updated_at = now
    opp.save(update_fields=["completed_at", "updated_at"])
    audit.record(
        actor=actor,
        action="completed",
        before={"completed_at": None},
        after={"completed_at": audit.jsonable(now)},
        **_common(opp),
    )
    caller_copy.completed_at = now
    return opp


def _stage_name(opp: Opportunity) -> str:
    return stage_name(opp.playbook, opp.stage)


# --- close -------------------------------------------------------------------------

OUTCOMES = (Status.WON, Status.LOST, Status.ABANDONED)


@transaction.atomic
def opportunity_close(
    *,
    actor,
    opportunity: Opportunity,
    outcome: str,
    reason: str = "",
    expected_version: int | None = None,
) -> Opportunity:
    """End a deal. Lost and abandoned need a reason (e.g. "withdrew: criteria
    unfavourable"). Won is reached by signing, as the playbook says: at its winning
    stage with the contract recorded this is the same as advancing."""
    if outcome not in OUTCOMES:
        raise ValidationFailed(
            _("Use one of: %(choices)s.") % {"choices": ", ".join(OUTCOMES)}, field="outcome"
        )
    reason = validation.text(
        reason, field="reason", max_length=REASON_MAX, required=outcome != Status.WON
    )
    opp = _lock(opportunity, expected_version)
    _require_open(opp)
    book = registry.playbook(opp.playbook)
    if outcome == Status.WON:
        winning = book.winning_stage
        if winning is not None and opp.stage != winning.key:
            raise Conflict(
                _("A deal is won by signing the contract at %(stage)s; it is at %(current)s now.")
                % {"stage": show(winning.name), "current": _stage_name(opp)},
                extra={"unmet": [c.key for c in winning.gate], "stage": opp.stage},
            )
        if winning is not None:
            return opportunity_advance(actor=actor, opportunity=opp, reason=reason)
    now = clock.now()
    was = _closing_fields(opp)
    opp.status = outcome
    opp.closed_at = now
    opp.close_reason = reason
    opp.updated_at = now
    opp.save(update_fields=["status", "closed_at", "close_reason", "updated_at"])
    audit.record(
        actor=actor,
        action="closed",
        before=was,
        after=_closing_fields(opp),
        note=reason,
        **_common(opp),
    )
    return opp


# --- evaluation and priority -------------------------------------------------------


def _clean_scores(scores: Any) -> dict[str, int]:
    model = registry.current().evaluation
    if not isinstance(scores, dict):
        raise ValidationFailed(_("Send the scores as an object of factor: 1–5."), field="scores")
    unknown = sorted(set(scores) - set(model.keys))
    if unknown:
        raise ValidationFailed(
            _("Unknown factor “%(key)s”; the model scores: %(keys)s.")
            % {"key": unknown[0], "keys": ", ".join(model.keys)},
            field=f"scores.{unknown[0]}",
        )
    out = {}
    for key in model.keys:
        value = scores.get(key)
        if value is None:
            raise ValidationFailed(
                _("Score %(factor)s from 1 to 5.") % {"factor": show(model.factor(key).name)},
                field=f"scores.{key}",
            )
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 5:
            raise ValidationFailed(
                _("Score %(factor)s with a whole number from 1 to 5.")
                % {"factor": show(model.factor(key).name)},
                field=f"scores.{key}",
            )
        out[key] = value
    return out


@transaction.atomic
def evaluation_record(*, actor, opportunity: Opportunity, scores: Any) -> Evaluation:
    """Score the deal with the evaluation model; the priority follows unless a
    manager has set it."""
    clean = _clean_scores(scores)
    opp = _lock(opportunity)
    result = score_evaluation(registry.current().evaluation, clean)
    existing = Evaluation.objects.filter(opportunity=opp).first()
    before = audit.snapshot(existing, EVALUATION_FIELDS) if existing else {}
    now = clock.now()
    evaluation = existing or Evaluation(opportunity=opp, created_at=now)
    evaluation.scores = clean
    evaluation.score = result.score
    evaluation.passed = result.passed
    evaluation.knocked_out = list(result.knocked_out)
    evaluation.evaluated_by = actor if getattr(actor, "pk", None) else None
    evaluation.updated_at = now
    evaluation.save()
    audit.record(
        actor=actor,
        action="evaluated",
        before=before,
        after={
            "score": f"{result.score:.1f}",
            "passed": result.passed,
            "scores": clean,
            "knocked_out": list(result.knocked_out),
        },
        **_common(opp, "evaluation", evaluation.pk),
    )
    priority_refresh(actor=actor, opportunity=opp, evaluation=evaluation)
    opportunity.priority = opp.priority
    return evaluation


EVALUATION_FIELDS = ("scores", "score", "passed", "knocked_out")


def computed_priority(opportunity: Opportunity, evaluation: Evaluation | None) -> str:
    """What the matrix says now ('' until the deal has been evaluated)."""
    if evaluation is None:
        return ""
    # A failed evaluation (below the pass mark or knocked out) is read as the lowest
    # likelihood, whatever its raw total: SPEC §3 "failing means: drop it".
    return priority_grade(
        registry.current().priority,
        score=float(evaluation.score) if evaluation.passed else 0.0,
        expected_close=opportunity.expected_close,
        today=clock.today(),
    )


def priority_refresh(*, actor, opportunity: Opportunity, evaluation: Evaluation | None = None):
    """Recompute the grade after the evaluation or the expected close changed.
    A manager's override stands until they clear it."""
    if opportunity.priority_overridden:
        return opportunity
    if evaluation is None:
        evaluation = Evaluation.objects.filter(opportunity=opportunity).first()
    grade = computed_priority(opportunity, evaluation)
    if grade == opportunity.priority:
        return opportunity
    before = {"priority": opportunity.priority}
    opportunity.priority = grade
    opportunity.save(update_fields=["priority"])
    audit.record(
        actor=actor,
        action="priority_changed",
        before=before,
        after={"priority": grade},
        **_common(opportunity),
    )
    return opportunity


@transaction.atomic
def priority_override(
    *, actor, opportunity: Opportunity, grade: str | None, reason: str = ""
) -> Opportunity:
    """A manager sets the grade by hand with a reason, or (grade None) returns it
    to the matrix."""
    if not is_manager(actor):
        raise PermissionDenied(_("Only a sales manager or an administrator may set the priority."))
    opp = _lock(opportunity)
    fields = ("priority", "priority_overridden", "priority_reason")
    before = audit.snapshot(opp, fields)
    if grade is None or grade == "":
        reason = validation.text(reason, field="reason", max_length=REASON_MAX)
        opp.priority_overridden = False
        opp.priority_reason = ""
        opp.priority = computed_priority(opp, Evaluation.objects.filter(opportunity=opp).first())
    else:
        if grade not in ("A", "B", "C", "D"):
            raise ValidationFailed(
                _("Use one of: %(choices)s.") % {"choices": "A, B, C, D"}, field="grade"
            )
        reason = validation.text(reason, field="reason", max_length=REASON_MAX, required=True)
        opp.priority = grade
        opp.priority_overridden = True
        opp.priority_reason = reason
    now_values = audit.snapshot(opp, fields)
    after = {k: v for k, v in now_values.items() if v != before[k]}
    before = {k: v for k, v in before.items() if k in after}
    if not after:
        return opp
    opp.updated_at = clock.now()
    opp.save(update_fields=["priority", "priority_overridden", "priority_reason", "updated_at"])
    audit.record(
        actor=actor,
        action="priority_changed",
        before=before,
        after=after,
        note=reason,
        **_common(opp),
    )
    opportunity.__dict__.update(
        {k: getattr(opp, k) for k in ("priority", "priority_overridden", "priority_reason")}
    )
    return opp


# --- purchase criteria -------------------------------------------------------------


def _criterion_fields(data: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if "text" in data:
        out["text"] = validation.text(data["text"], field="text", max_length=500, required=True)
    if "shaped_by_us" in data:
        if not isinstance(data["shaped_by_us"], bool):
            raise ValidationFailed(_("Enter true or false."), field="shaped_by_us")
        out["shaped_by_us"] = data["shaped_by_us"]
    if "favourable" in data:
        if data["favourable"] is not None and not isinstance(data["favourable"], bool):
            raise ValidationFailed(_("Enter true, false or null."), field="favourable")
        out["favourable"] = data["favourable"]
    return out


CRITERION_FIELDS = ("text", "shaped_by_us", "favourable")


@transaction.atomic
def criterion_add(
    *,
    actor,
    opportunity: Opportunity,
    text: str,
    shaped_by_us: bool = False,
    favourable: bool | None = None,
) -> PurchaseCriterion:
    data = _criterion_fields({"text": text, "shaped_by_us": shaped_by_us, "favourable": favourable})
    opp = _lock(opportunity)
    criterion = PurchaseCriterion.objects.create(opportunity=opp, **data)
    audit.record(
        actor=actor,
        action="created",
        after=audit.snapshot(criterion, CRITERION_FIELDS),
        **_common(opp, "criterion", criterion.pk),
    )
    return criterion


@transaction.atomic
def criterion_update(*, actor, criterion: PurchaseCriterion, **changes: Any) -> PurchaseCriterion:
    data = _criterion_fields(changes)
    opp = _lock(criterion.opportunity)
    before, after = audit.apply_changes(criterion, data)
    if after:
        criterion.updated_at = clock.now()
        criterion.save(update_fields=[*after, "updated_at"])
        audit.record(
            actor=actor,
            action="updated",
            before=before,
            after=after,
            **_common(opp, "criterion", criterion.pk),
        )
    return criterion


@transaction.atomic
def criterion_delete(*, actor, criterion: PurchaseCriterion) -> None:
    opp = _lock(criterion.opportunity)
    audit.record(
        actor=actor,
        action="deleted",
        before=audit.snapshot(criterion, CRITERION_FIELDS),
        **_common(opp, "criterion", criterion.pk),
    )
    criterion.delete()


# --- milestones --------------------------------------------------------------------

MILESTONE_FIELDS = ("kind", "date", "price", "margin", "note")


def _margin(value: Any) -> Any:
    if value is None or value == "":
        return None
    number = _number(value)
    if not (-100 <= number <= 100):
        raise ValidationFailed(
            _("Enter the margin as a percentage from -100 to 100."), field="margin"
        )
    if number.as_tuple().exponent < -2:  # type: ignore[operator]
        raise ValidationFailed(_("Use at most two decimal places."), field="margin")
    return number


def _number(value: Any) -> Decimal:
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise ValidationFailed(_("Enter a number."), field="margin") from None
    if not number.is_finite():
        raise ValidationFailed(_("Enter a number."), field="margin")
    return number


@transaction.atomic
def milestone_record(
    *,
    actor,
    opportunity: Opportunity,
    kind: str,
    date: Any = None,
    price: Any = None,
    margin: Any = None,
    note: str = "",
) -> Milestone:
    """Record a dated fact a key node may ask for. Dates are facts: not in the future."""
    kinds = registry.current().milestones
    if kinds.get(kind) is None:
        raise ValidationFailed(
            _("Unknown milestone “%(value)s”; use one of: %(keys)s.")
            % {"value": kind, "keys": ", ".join(kinds.keys)},
            field="kind",
        )
    when = validation.date(date, field="date") or clock.today()
    if when > clock.today():
        raise ValidationFailed(
            _("A milestone is something that happened: the date cannot be in the future."),
            field="date",
        )
    data = {
        "kind": kind,
        "date": when,
        "price": validation.money(price, field="price"),
        "margin": _margin(margin),
        "note": validation.text(note, field="note", max_length=2000),
    }
    opp = _lock(opportunity)
    milestone = Milestone.objects.create(opportunity=opp, **data)
    audit.record(
        actor=actor,
        action="recorded",
        after=audit.snapshot(milestone, MILESTONE_FIELDS),
        **_common(opp, "milestone", milestone.pk),
    )
    return milestone


@transaction.atomic
def milestone_delete(*, actor, milestone: Milestone) -> None:
    """For a milestone entered by mistake; the event keeps what it said."""
    opp = _lock(milestone.opportunity)
    audit.record(
        actor=actor,
        action="deleted",
        before=audit.snapshot(milestone, MILESTONE_FIELDS),
        **_common(opp, "milestone", milestone.pk),
    )
    milestone.delete()
