"""Changing opportunities. The seller stage is never set by assignment here: a new
deal starts at its playbook's first stage and moves only through the process
engine's advance services. The buyer's stage is the customer's fact and may be
edited on its own; every change is an event in the deal's history."""

from __future__ import annotations

import datetime as dt
import functools
from typing import Any

from django.db import transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from kam.core import audit, clock, drafts, sharing, validation
from kam.core.concurrency import lock_for_change
from kam.core.errors import Conflict, ValidationFailed
from kam.core.i18n import show
from kam.core.permissions import check_assignable
from kam.methodology import registry
from kam.opportunities import rules
from kam.opportunities.models import Opportunity, OpportunityMember, Status

EDITABLE_FIELDS = (
    "name",
    "code",
    "amount",
    "currency",
    "expected_close",
    "buyer_stage",
    "description",
    "owner",
)
# Everything the event log knows about a deal: the created event holds all of it,
# each later event the fields it changed (kam.core.replay rebuilds a deal from them).
# The process engine's fields change only through its own services and events.
PROCESS_FIELDS = (
    "priority",
    "priority_overridden",
    "priority_reason",
    "closed_at",
    "close_reason",
    "completed_at",
)
SNAPSHOT_FIELDS = (
    "account",
    "playbook",
    "stage",
    "stage_entered_at",
    "status",
    *EDITABLE_FIELDS,
    *PROCESS_FIELDS,
)


# Made once: the importer cleans thousands of rows and the message is rarely shown.
_CODE_TAKEN = gettext_lazy("Another opportunity already uses the code “%(code)s”.")


def _clean(
    data: dict[str, Any], *, instance: Opportunity | None = None, check_code: bool = True
) -> dict[str, Any]:
    unknown = set(data) - set(EDITABLE_FIELDS)
    if unknown:
        raise ValueError(f"not opportunity fields: {sorted(unknown)}")
    out: dict[str, Any] = {}
    for name, value in data.items():
        if name == "name":
            out[name] = validation.text(value, field=name, max_length=200, required=True)
        elif name == "code":
            out[name] = validation.unique_code(
                value,
                field=name,
                model=Opportunity,
                instance=instance,
                message=_CODE_TAKEN,
                check=check_code,
            )
        elif name == "amount":
            out[name] = validation.money(value, field=name, required=True)
        elif name == "currency":
            currency = validation.text(value, field=name, max_length=3, required=True).upper()
            if len(currency) != 3 or not currency.isalpha():
                raise ValidationFailed(
                    _("Use a three-letter currency code such as CNY."), field=name
                )
            out[name] = currency
        elif name == "expected_close":
            out[name] = validation.date(value, field=name, required=True)
        elif name == "buyer_stage":
            keys = registry.buyer_process().keys
            if value not in keys:
                raise ValidationFailed(
                    _("Unknown buyer stage “%(value)s”; use one of: %(keys)s.")
                    % {"value": value, "keys": ", ".join(keys)},
                    field=name,
                )
            out[name] = value
        elif name == "description":
            out[name] = validation.text(value, field=name, max_length=10_000)
        elif name == "owner":
            out[name] = value
    return out


def _playbook(key: str | None):
    """(key, playbook) for the given key or the default one; unknown keys refused."""
    playbook_key = key or registry.default_playbook_key()
    if playbook_key not in registry.playbook_keys():
        raise ValidationFailed(
            _("Unknown playbook “%(value)s”; use one of: %(keys)s.")
            % {"value": playbook_key, "keys": ", ".join(registry.playbook_keys())},
            field="playbook",
        )
    return playbook_key, registry.playbook(playbook_key)


def _check_stage(book, stage: str) -> str:
    if stage not in book.stage_keys:
        raise ValidationFailed(
            _("Unknown stage “%(value)s” for playbook %(book)s; use one of: %(keys)s.")
            % {"value": stage, "book": book.key, "keys": ", ".join(book.stage_keys)},
            field="stage",
        )
    return stage


@transaction.atomic
def opportunity_create(
    *,
    actor,
    account,
    name: str,
    amount: Any,
    expected_close: Any,
    playbook: str | None = None,
    owner=None,
    stage: str | None = None,
    stage_entered_at: dt.datetime | None = None,
    **fields: Any,
) -> Opportunity:
    """Start a deal at its playbook's first stage.

    `stage` / `stage_entered_at` exist for bringing in deals that were already under
    way before KAM (import, demo): the deal is recorded where it stands, and its
    created event says so. Moving a deal afterwards is the process engine's job."""
    return drafts.save_one(
        opportunity_build(
            actor=actor,
            account=account,
            name=name,
            amount=amount,
            expected_close=expected_close,
            playbook=playbook,
            owner=owner,
            stage=stage,
            stage_entered_at=stage_entered_at,
            **fields,
        )
    )


def opportunity_build(
    *,
    actor,
    account,
    name: str,
    amount: Any,
    expected_close: Any,
    playbook: str | None = None,
    owner=None,
    stage: str | None = None,
    stage_entered_at: dt.datetime | None = None,
    check_code: bool = True,
    **fields: Any,
) -> drafts.Draft[Opportunity]:
    """`opportunity_create`'s deal checked, unsaved, with its created event
    (`check_code=False` when the caller has looked the code up)."""
    playbook_key, book = _playbook(playbook)
    data = _clean(
        {"name": name, "amount": amount, "expected_close": expected_close, **fields},
        check_code=check_code,
    )
    owner = owner or actor
    check_assignable(actor, owner)
    if stage is not None:
        _check_stage(book, stage)
    if stage_entered_at is not None and stage_entered_at > clock.now():
        raise ValidationFailed(
            _("The stage cannot have been entered in the future."), field="stage_entered_at"
        )
    data.setdefault(
        "buyer_stage",
        rules.initial_buyer_stage(playbook=book, buyer=registry.buyer_process()),
    )
    opp = Opportunity(
        account=account,
        playbook=playbook_key,
        stage=stage or book.first_stage.key,
        stage_entered_at=stage_entered_at or clock.now(),
        owner=owner,
        **data,
    )
    created = audit.event(
        actor=actor,
        entity="opportunity",
        action="created",
        after=audit.snapshot(opp, SNAPSHOT_FIELDS),
        account_id=account.pk,
    )
    return drafts.Draft(opp, [created], own=("entity_id", "opportunity_id"))


@transaction.atomic
def opportunity_update(
    *, actor, opportunity: Opportunity, expected_version: int | None = None, **changes: Any
) -> Opportunity:
    """Edit the deal's facts. A buyer-stage change is its own event
    (`buyer_stage_changed`) because alignment and progress are measured on it.
    `expected_version`: the version the change was based on (412 when stale)."""
    lock_for_change(opportunity, expected_version)
    data = _clean(changes, instance=opportunity)
    if "owner" in data and data["owner"].pk != opportunity.owner_id:
        check_assignable(actor, data["owner"])
    collected = opportunity.payments.aggregate(s=Sum("amount"))["s"] if "amount" in data else None
    if collected is not None and data["amount"] < collected:
        raise ValidationFailed(
            _("%(collected)s was already collected on this deal; its amount cannot be lower.")
            % {"collected": f"{collected:,.2f}"},
            field="amount",
        )
    if data.get("currency", opportunity.currency) != opportunity.currency and (
        opportunity.referrals.exists() or opportunity.payments.exists()
    ):
        raise ValidationFailed(
            _("This deal has partner referrals or payments in %(currency)s; keep its currency.")
            % {"currency": opportunity.currency},
            field="currency",
        )
    buyer_stage = data.pop("buyer_stage", None)
    before, after = audit.apply_changes(opportunity, data)
    stage_before, stage_after = (
        audit.apply_changes(opportunity, {"buyer_stage": buyer_stage})
        if buyer_stage is not None
        else ({}, {})
    )
    if not after and not stage_after:
        return opportunity
    opportunity.updated_at = clock.now()
    opportunity.save(update_fields=[*after.keys(), *stage_after.keys(), "updated_at"])
    common = {
        "entity": "opportunity",
        "entity_id": opportunity.pk,
        "opportunity_id": opportunity.pk,
        "account_id": opportunity.account_id,
    }
    if after:
        audit.record(actor=actor, action="updated", before=before, after=after, **common)
    if "expected_close" in after:
        from kam.opportunities.process import priority_refresh

        priority_refresh(actor=actor, opportunity=opportunity)
    if stage_after:
        audit.record(
            actor=actor,
            action="buyer_stage_changed",
            before=stage_before,
            after=stage_after,
            **common,
        )
    return opportunity


@transaction.atomic
def opportunity_delete(
    *, actor, opportunity: Opportunity, expected_version: int | None = None
) -> None:
    """For entries made by mistake. A real deal that ends is closed (won/lost/abandoned)
    by the process engine, keeping its history."""
    lock_for_change(opportunity, expected_version)
    if opportunity.referrals.exists() or opportunity.payments.exists():
        raise Conflict(
            _("Partner referrals or payments collected are recorded on this deal; it stays.")
        )
    audit.record(
        actor=actor,
        entity="opportunity",
        entity_id=opportunity.pk,
        action="deleted",
        before=audit.snapshot(opportunity, SNAPSHOT_FIELDS),
        opportunity_id=opportunity.pk,
        account_id=opportunity.account_id,
    )
    _record_children_deleted(actor=actor, opportunity=opportunity)
    opportunity.delete()


def _record_children_deleted(*, actor, opportunity: Opportunity) -> None:
    """The deal's own records go with it (the database cascades): each gets its
    "deleted" event too, and each colleague on its team a `member_removed`. The
    competition table and forced moves are the deal's own events' business (they are
    written on the opportunity)."""
    from kam.intel.models import IntelSource
    from kam.intel.services import ITEM_FIELDS
    from kam.opportunities.models import Evaluation
    from kam.opportunities.process import CRITERION_FIELDS, EVALUATION_FIELDS, MILESTONE_FIELDS
    from kam.stakeholders.services import FIELDS as STAKEHOLDER_FIELDS

    ids = {"opportunity_id": opportunity.pk, "account_id": opportunity.account_id}
    note = _("Deleted with its opportunity.")
    sharing.members_removed_with(
        actor=actor, record=opportunity, member_model=OpportunityMember, note=note
    )
    kinds = (
        (
            opportunity.stakeholders.select_related("contact"),
            "stakeholder",
            STAKEHOLDER_FIELDS,
            lambda s: {"name": s.contact.name},
        ),
        (opportunity.criteria.all(), "criterion", CRITERION_FIELDS, None),
        (opportunity.milestones.all(), "milestone", MILESTONE_FIELDS, None),
        (Evaluation.objects.filter(opportunity=opportunity), "evaluation", EVALUATION_FIELDS, None),
        (
            opportunity.intel_items.all(),
            "intel",
            ITEM_FIELDS,
            lambda item: {
                "sources": list(
                    IntelSource.objects.filter(item=item)
                    .order_by("confirmed_on", "id")
                    .values_list("contact_id", flat=True)
                )
            },
        ),
    )
    for rows, entity, fields, extra in kinds:
        audit.record_deleted(
            actor=actor, rows=rows, entity=entity, fields=fields, extra=extra, note=note, **ids
        )


_STATUSES = frozenset(Status.values)


def _day_start(day: dt.date, tz: dt.tzinfo | None = None) -> dt.datetime:
    """The moment a day-dated fact is recorded at: 09:00 local time that day (`tz`: the
    current time zone, when the caller has it at hand)."""
    return _day_start_in(day, tz or timezone.get_current_timezone())


@functools.lru_cache(maxsize=4096)
def _day_start_in(day: dt.date, tz: dt.tzinfo) -> dt.datetime:
    # Kept: an import dates thousands of stages on the same few hundred days.
    return timezone.make_aware(dt.datetime.combine(day, dt.time(9, 0)), tz)


@transaction.atomic
def opportunity_bring_in(
    *,
    actor,
    account,
    name: str,
    amount: Any,
    expected_close: Any,
    playbook: str | None = None,
    stage: str | None = None,
    stage_dates: list[dt.date] | None = None,
    status: str = "open",
    closed_on: dt.date | None = None,
    close_reason: str = "",
    **fields: Any,
) -> Opportunity:
    """Record a deal that was under way (or already closed) before KAM, with its past.

    `stage_dates` are the days each stage was entered, from the playbook's first stage
    to `stage` (one date: only the day the current stage was entered). The history gets
    the created event on the first day and an `advanced` event on each later one, so
    the dashboard's progress, the stage durations and the stalled rule read an imported
    deal like one worked in KAM. A closed deal (won, lost, abandoned) gets its `closed`
    event on `closed_on`; won means at or past the playbook's winning stage."""
    return drafts.save_one(
        opportunity_bring_in_build(
            actor=actor,
            account=account,
            name=name,
            amount=amount,
            expected_close=expected_close,
            playbook=playbook,
            stage=stage,
            stage_dates=stage_dates,
            status=status,
            closed_on=closed_on,
            close_reason=close_reason,
            **fields,
        )
    )


def opportunity_bring_in_build(
    *,
    actor,
    account,
    name: str,
    amount: Any,
    expected_close: Any,
    playbook: str | None = None,
    stage: str | None = None,
    stage_dates: list[dt.date] | None = None,
    status: str = "open",
    closed_on: dt.date | None = None,
    close_reason: str = "",
    check_code: bool = True,
    tz: dt.tzinfo | None = None,
    **fields: Any,
) -> drafts.Draft[Opportunity]:
    """`opportunity_bring_in`'s deal checked, unsaved, as it stands after its past: at
    its current stage (its version counts each move, as if each had been saved), with
    the created event dated its first day, an `advanced` event per later day and the
    `closed` event. The importer writes thousands of these at once (`tz`: the current
    time zone, which it looks up once)."""
    playbook_key, book = _playbook(playbook)
    stage = _check_stage(book, stage or book.first_stage.key)
    position = book.stage_keys.index(stage)
    days = list(stage_dates or [])
    if len(days) not in (0, 1, position + 1):
        raise ValidationFailed(
            _(
                "Give one date (the day the current stage was entered) or one per stage from "
                "%(first)s to %(stage)s: %(n)d dates, not %(given)d."
            )
            % {
                "first": show(book.first_stage.name),
                "stage": show(book.stage(stage).name),
                "n": position + 1,
                "given": len(days),
            },
            field="stage_dates",
        )
    if any(later < earlier for earlier, later in zip(days, days[1:], strict=False)):
        raise ValidationFailed(
            _("The stage dates go back in time; list them from the first stage to the current."),
            field="stage_dates",
        )
    tz = tz or timezone.get_current_timezone()  # once: looking it up costs more than the rest
    if days and days[-1] > clock.today(tz):
        raise ValidationFailed(
            _("The stage cannot have been entered in the future."), field="stage_dates"
        )
    if status not in _STATUSES:
        raise ValidationFailed(
            _("Use one of: %(choices)s.") % {"choices": ", ".join(Status.values)}, field="status"
        )
    closed = status != Status.OPEN
    if closed:
        closed_on = validation.past_date(closed_on, field="closed_on", required=True, tz=tz)
        assert closed_on is not None
        if days and closed_on < days[-1]:
            raise ValidationFailed(
                _("The deal closed before it entered its current stage; check the dates."),
                field="closed_on",
            )
        close_reason = validation.text(
            close_reason, field="close_reason", max_length=2000, required=status != Status.WON
        )
        winning = book.winning_stage
        if (
            status == Status.WON
            and winning is not None
            and position < book.stage_keys.index(winning.key)
        ):
            raise ValidationFailed(
                _(
                    "A won deal has passed %(stage)s (the contract is signed there); it is at "
                    "%(current)s."
                )
                % {"stage": show(winning.name), "current": show(book.stage(stage).name)},
                field="stage",
            )
    elif closed_on is not None:
        raise ValidationFailed(
            _("An open deal has no closing date; clear it or set the status."), field="closed_on"
        )
    else:
        close_reason = validation.text(close_reason, field="close_reason", max_length=2000)
        if close_reason:
            raise ValidationFailed(
                _("An open deal has no close reason; clear it or set the status."),
                field="close_reason",
            )
    if closed and not days:  # a closed deal without its stage dates: it stood there then
        days = [closed_on]
    if len(days) <= 1:
        entered = [(stage, days[0] if days else None)]
    else:
        entered = list(zip(book.stage_keys[: position + 1], days, strict=True))
    first_stage, first_day = entered[0]
    at = _day_start(first_day, tz) if first_day else clock.now()
    with clock.freeze(at):
        draft = opportunity_build(
            actor=actor,
            account=account,
            name=name,
            amount=amount,
            expected_close=expected_close,
            playbook=playbook_key,
            stage=first_stage,
            stage_entered_at=at,
            check_code=check_code,
            **fields,
        )
    opp = draft.record
    # Each move below is a save in the database's eyes: the version counts it.
    advanced_note = _("Imported: the stage was entered on this day.") if len(entered) > 1 else ""
    for key, day in entered[1:]:
        at = _day_start(day, tz)
        before = {"stage": opp.stage, "stage_entered_at": audit.jsonable(opp.stage_entered_at)}
        opp.stage, opp.stage_entered_at, opp.updated_at = key, at, at
        opp.version += 1
        draft.events.append(
            audit.event(
                actor=actor,
                entity="opportunity",
                action="advanced",
                before=before,
                after={"stage": key, "stage_entered_at": audit.jsonable(at)},
                note=advanced_note,
                account_id=opp.account_id,
                at=at,
            )
        )
    if closed:
        at = max(_day_start(closed_on, tz), opp.stage_entered_at)
        opp.status, opp.closed_at, opp.close_reason, opp.updated_at = (
            status,
            at,
            close_reason,
            at,
        )
        opp.version += 1
        draft.events.append(
            audit.event(
                actor=actor,
                entity="opportunity",
                action="closed",
                before={"status": Status.OPEN, "closed_at": None, "close_reason": ""},
                after={
                    "status": status,
                    "closed_at": audit.jsonable(at),
                    "close_reason": close_reason,
                },
                note=close_reason or _("Imported: closed on this day."),
                account_id=opp.account_id,
                at=at,
            )
        )
    return draft
