"""Rebuilding records from the event log alone, to prove the log is complete.

`replay(entity, entity_id)` folds a record's events in the order they were written:
the first event's `after` (the created snapshot: every audited field) starts the
record, each later event's `after` overwrites the fields it names, and "deleted"
ends it (None). `current(entity, entity_id)` reads the same fields from the table.
Both return typed values (Decimal, date, aware datetime in UTC, ids for foreign
keys), so "120000" recorded from the input equals the stored 120000.00 and a
datetime written in local time equals the same instant read back in UTC. When the
log is complete, `replay(...) == current(...)` for every record
(tests/security/test_audit_replay.py).

Events are folded by id, not by `at`: an import writes a deal's past with the days
it stands for (backdated `at`), but always in order.

What is audited, per entity, is the field list its service snapshots (`AUDITED`
below reads it from the services, so the two cannot drift apart). Not audited, on
purpose, and why:

- `created_at`, `updated_at`: bookkeeping; each event has its own `at`.
- `version` (opportunity, account, stakeholder): optimistic-concurrency bookkeeping,
  raised by every save; it says how many saves happened, not what changed.
- Who did it (`created_by`, `recorded_by`, `evaluated_by`, `released_by`): the
  creating or changing event's `actor`.
- `ForcedMove` rows: derived from the `force_advanced` event (its `after.unmet`,
  `note`, actor and moment); they carry the event's id.
- Child rows kept as one list on their parent's events: the opportunity's
  competition table (`competition_scored` on the opportunity), an account's needs
  radar (`needs_set` on the account), competition map (entity `competition_map`)
  and SWOT (`swot` set events and `swot_item` events), an intelligence item's
  sources (`sources` in its created event, one event per confirmation or removal),
  account and deal teams (`member_*` events on the record).
- A SWOT line's `position`: its order within the quadrant, the list order of the
  `swot` events.
- A payout's `statement`: the statement it paid, computed from the referrals and
  payments whose own events are in the log.
- Users: their created event names the team by name (teams are created with their
  first member); tokens store only a hash and are audited as `token_*` events.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.apps import apps
from django.db import models
from django.utils.dateparse import parse_datetime

from kam.core.audit import jsonable
from kam.core.models import Event

MISSING = "<not in any event>"


@dataclass(frozen=True)
class Audited:
    """How one entity of the event log maps onto its table."""

    model: str  # "app_label.ModelName"
    fields: Callable[[], tuple[str, ...]]  # read lazily from the services
    # Actions on this entity whose payload is not the record's fields.
    other_payloads: frozenset[str] = field(default_factory=frozenset)

    def model_class(self) -> type[models.Model]:
        return apps.get_model(self.model)


def _opportunity_fields() -> tuple[str, ...]:
    from kam.opportunities.services import SNAPSHOT_FIELDS

    return SNAPSHOT_FIELDS


def _from(module: str, name: str, *, prefix: tuple[str, ...] = ()) -> Callable:
    def fields() -> tuple[str, ...]:
        from importlib import import_module

        return (*prefix, *getattr(import_module(module), name))

    return fields


AUDITED: dict[str, Audited] = {
    "account": Audited("accounts.Account", _from("kam.accounts.services", "EDITABLE_FIELDS")),
    "contact": Audited(
        "contacts.Contact",
        _from("kam.contacts.services", "EDITABLE_FIELDS", prefix=("account",)),
    ),
    "opportunity": Audited(
        "opportunities.Opportunity",
        _opportunity_fields,
        # the table is keyed by party names, which could spell a field's name
        other_payloads=frozenset({"competition_scored"}),
    ),
    "stakeholder": Audited(
        "stakeholders.Stakeholder", _from("kam.stakeholders.services", "FIELDS")
    ),
    "criterion": Audited(
        "opportunities.PurchaseCriterion", _from("kam.opportunities.process", "CRITERION_FIELDS")
    ),
    "milestone": Audited(
        "opportunities.Milestone", _from("kam.opportunities.process", "MILESTONE_FIELDS")
    ),
    "evaluation": Audited(
        "opportunities.Evaluation", _from("kam.opportunities.process", "EVALUATION_FIELDS")
    ),
    "intel": Audited("intel.IntelItem", _from("kam.intel.services", "ITEM_FIELDS")),
    "competitor": Audited("competition.Competitor", _from("kam.competition.competitors", "FIELDS")),
    "competitive_position": Audited(
        "competition.Position", _from("kam.competition.accounts", "POSITION_FIELDS")
    ),
    "satisfaction": Audited(
        "accounts.SatisfactionRecord", _from("kam.accounts.needs", "SATISFACTION_FIELDS")
    ),
    "revenue_record": Audited("accounts.RevenueRecord", _from("kam.accounts.revenue", "FIELDS")),
    "segment": Audited("segments.Segment", _from("kam.segments.services", "FIELDS")),
    "partner": Audited("partners.Partner", _from("kam.partners.services", "PARTNER_FIELDS")),
    "referral": Audited("partners.Referral", _from("kam.partners.services", "REFERRAL_FIELDS")),
    "payment": Audited("partners.Payment", _from("kam.partners.services", "PAYMENT_FIELDS")),
    "payout": Audited(
        "partners.Payout", lambda: ("partner", "period", "amount", "paid_on", "reference")
    ),
}


def _typed(model_field: models.Field, value: Any) -> Any:
    """An event's JSON value (or a column's value) as the Python value it stands for."""
    if value is None:
        return None
    if model_field.is_relation:
        return int(value)
    if isinstance(model_field, models.DecimalField):
        return Decimal(str(value))
    if isinstance(model_field, models.DateTimeField):
        moment = parse_datetime(value) if isinstance(value, str) else value
        return moment.astimezone(dt.UTC)
    if isinstance(model_field, models.DateField):
        return dt.date.fromisoformat(value) if isinstance(value, str) else value
    return value


def _spec(entity: str) -> Audited:
    try:
        return AUDITED[entity]
    except KeyError:
        raise ValueError(f"{entity!r} is not a replayable entity; see kam.core.replay") from None


def replay(entity: str, entity_id: int) -> dict[str, Any] | None:
    """The record's audited fields as its events alone say they are now; None when
    it was deleted or never existed."""
    spec = _spec(entity)
    model = spec.model_class()
    fields = spec.fields()
    state: dict[str, Any] | None = None
    events = (
        Event.objects.filter(entity=entity, entity_id=entity_id)
        .exclude(action__in=spec.other_payloads)
        .order_by("id")
        .values_list("action", "after")
    )
    for action, after in events:
        if action == "deleted":
            state = None
            continue
        state = dict(state or {})
        state.update((name, after[name]) for name in fields if name in after)
    if state is None:
        return None
    # A field no event ever named stays out, so the comparison with `current` shows
    # the gap instead of guessing a default.
    return {
        name: _typed(model._meta.get_field(name), state[name]) for name in fields if name in state
    }


def current(entity: str, entity_id: int) -> dict[str, Any] | None:
    """The record's audited fields as stored; None when there is no such row."""
    spec = _spec(entity)
    model = spec.model_class()
    row = model._base_manager.filter(pk=entity_id).first()
    if row is None:
        return None
    out = {}
    for name in spec.fields():
        model_field = model._meta.get_field(name)
        key = model_field.attname if model_field.is_relation else name
        out[name] = _typed(model_field, jsonable(getattr(row, key)))
    return out


def differences(entity: str, entity_id: int) -> dict[str, tuple[Any, Any]]:
    """{field: (replayed, stored)} where they differ (MISSING: no event named the
    field); {"*": (replayed, stored)} when one side is None."""
    replayed, stored = replay(entity, entity_id), current(entity, entity_id)
    if replayed is None or stored is None:
        return {} if replayed == stored else {"*": (replayed, stored)}
    return {
        name: (replayed.get(name, MISSING), stored[name])
        for name in stored
        if replayed.get(name, MISSING) != stored[name]
    }
