"""Writing the event log. Every service that changes a record calls `record` (or
`record_changes`) inside its transaction, so the change and its event commit
together or not at all."""

from __future__ import annotations

import datetime as dt
import decimal
import functools
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from django.db import models

from kam.core import clock
from kam.core.models import Event

_AS_IS = frozenset((str, int, bool, float, type(None)))


def jsonable(value: Any) -> Any:
    """Event payloads are JSON: dates as ISO text, money as a decimal string."""
    if type(value) in _AS_IS:  # most values: a quick way out
        return value
    if isinstance(value, models.Model):
        return value.pk
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)
    return value


def snapshot(instance: models.Model, fields: Iterable[str]) -> dict[str, Any]:
    out = {}
    for name, key in _keys(type(instance), fields):
        value = getattr(instance, key)
        out[name] = value if type(value) in _AS_IS else jsonable(value)
    return out


@functools.cache
def _keys_of(model: type[models.Model], fields: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    out = []
    for name in fields:
        field = model._meta.get_field(name)
        out.append((name, field.attname if field.is_relation else name))
    return tuple(out)


def _keys(model: type[models.Model], fields: Iterable[str]) -> tuple[tuple[str, str], ...]:
    """(field name, attribute holding its value) of each field, looked up once per model
    and list of fields (the importer snapshots thousands of records)."""
    return _keys_of(model, fields if isinstance(fields, tuple) else tuple(fields))


def record(
    *,
    actor,
    entity: str,
    entity_id: int,
    action: str,
    before: dict | None = None,
    after: dict | None = None,
    opportunity_id: int | None = None,
    account_id: int | None = None,
    note: str = "",
) -> Event:
    written = event(
        actor=actor,
        entity=entity,
        entity_id=entity_id,
        action=action,
        before=before,
        after=after,
        opportunity_id=opportunity_id,
        account_id=account_id,
        note=note,
    ).instance()
    written.save(force_insert=True)
    return written


@dataclass(slots=True)
class EventRow:
    """An event not yet written: Event's columns, without the model instance, which
    costs five times more to make (an import builds hundreds of thousands of these;
    kam.core.drafts writes them). `instance()` gives the Event `record` saves."""

    at: dt.datetime
    actor_id: int | None
    entity: str
    entity_id: int | None
    action: str
    before: dict
    after: dict
    opportunity_id: int | None
    account_id: int | None
    note: str

    def instance(self) -> Event:
        return Event(
            at=self.at,
            actor_id=self.actor_id,
            entity=self.entity,
            entity_id=self.entity_id,
            action=self.action,
            before=self.before,
            after=self.after,
            opportunity_id=self.opportunity_id,
            account_id=self.account_id,
            note=self.note,
        )


def event(
    *,
    actor,
    entity: str,
    action: str,
    entity_id: int | None = None,
    before: dict | None = None,
    after: dict | None = None,
    opportunity_id: int | None = None,
    account_id: int | None = None,
    note: str = "",
    at: dt.datetime | None = None,
) -> EventRow:
    """The event `record` writes, not yet written, dated `at` or now: for a draft, whose
    record's id it gets when written (kam.core.drafts)."""
    return EventRow(
        at if at is not None else clock.now(),
        getattr(actor, "pk", None) or None,
        entity,
        entity_id,
        action,
        before or {},
        after or {},
        opportunity_id,
        account_id,
        note,
    )


def apply_changes(instance: models.Model, changes: dict[str, Any]) -> tuple[dict, dict]:
    """Set the fields that really differ; return (before, after) of just those."""
    before: dict[str, Any] = {}
    after: dict[str, Any] = {}
    for name, new in changes.items():
        field = instance._meta.get_field(name)
        key = field.attname if field.is_relation else name
        old = getattr(instance, key)
        new_value = new.pk if isinstance(new, models.Model) else new
        if old != new_value:
            before[name] = jsonable(old)
            after[name] = jsonable(new_value)
            setattr(instance, key, new_value)
    return before, after


def record_deleted(
    *,
    actor,
    rows: Iterable[models.Model],
    entity: str,
    fields: Iterable[str],
    extra: Callable[[Any], dict] | None = None,
    note: str = "",
    opportunity_id: int | None = None,
    account_id: int | None = None,
) -> int:
    """A "deleted" event for each row about to go with its parent (a cascade), so the
    child's own history ends as if it had been deleted on its own. Returns how many."""
    fields = tuple(fields)
    count = 0
    for row in rows:
        record(
            actor=actor,
            entity=entity,
            entity_id=row.pk,
            action="deleted",
            before={**snapshot(row, fields), **(extra(row) if extra else {})},
            opportunity_id=opportunity_id,
            account_id=account_id,
            note=note,
        )
        count += 1
    return count
