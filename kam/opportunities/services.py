"""Changing opportunities. The seller stage is never set by assignment here: a new
deal starts at its playbook's first stage and moves only through the process
engine's advance services. The buyer's stage is the customer's fact and may be
edited on its own; every change is an event in the deal's history."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction
from django.db.models import Sum
from django.utils.translation import gettext as _

from kam.core import audit, clock, validation
from kam.core.errors import Conflict, ValidationFailed
from kam.core.permissions import check_assignable
from kam.methodology import registry
from kam.opportunities import rules
from kam.opportunities.models import Opportunity

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
SNAPSHOT_FIELDS = (
    "account",
    "playbook",
    "stage",
    "stage_entered_at",
    "status",
    *EDITABLE_FIELDS,
)


def _clean(data: dict[str, Any], *, instance: Opportunity | None = None) -> dict[str, Any]:
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
                message=_("Another opportunity already uses the code “%(code)s”."),
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
    playbook_key = playbook or registry.default_playbook_key()
    if playbook_key not in registry.playbook_keys():
        raise ValidationFailed(
            _("Unknown playbook “%(value)s”; use one of: %(keys)s.")
            % {"value": playbook_key, "keys": ", ".join(registry.playbook_keys())},
            field="playbook",
        )
    book = registry.playbook(playbook_key)
    data = _clean({"name": name, "amount": amount, "expected_close": expected_close, **fields})
    owner = owner or actor
    check_assignable(actor, owner)
    if stage is not None and stage not in book.stage_keys:
        raise ValidationFailed(
            _("Unknown stage “%(value)s” for playbook %(book)s; use one of: %(keys)s.")
            % {"value": stage, "book": playbook_key, "keys": ", ".join(book.stage_keys)},
            field="stage",
        )
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
    opp.save()
    audit.record(
        actor=actor,
        entity="opportunity",
        entity_id=opp.pk,
        action="created",
        after=audit.snapshot(opp, SNAPSHOT_FIELDS),
        opportunity_id=opp.pk,
        account_id=account.pk,
    )
    return opp


@transaction.atomic
def opportunity_update(*, actor, opportunity: Opportunity, **changes: Any) -> Opportunity:
    """Edit the deal's facts. A buyer-stage change is its own event
    (`buyer_stage_changed`) because alignment and progress are measured on it."""
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
def opportunity_delete(*, actor, opportunity: Opportunity) -> None:
    """For entries made by mistake. A real deal that ends is closed (won/lost/abandoned)
    by the process engine, keeping its history."""
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
    opportunity.delete()
