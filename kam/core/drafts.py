"""A new record checked but not yet written, with the events its creation writes.

A creating service is two steps: `<entity>_build` validates and returns a `Draft`
(the unsaved record and its events, nothing written, no query beyond the lookups its
rules need), then `save_one` writes it. The importer builds thousands of drafts with
the same rules and writes them with `save_many`: the records in a few multi-row
INSERTs, then all their events — one logic for what a valid record is, two ways of
writing it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from django.db import models

from kam.core.models import Event

M = TypeVar("M", bound=models.Model)
# Rows per INSERT statement at most: PostgreSQL takes up to 65,535 parameters in one
# statement (Event has 10 columns); SQLite's backend splits further on its own limit.
BATCH_SIZE = 2000


@dataclass(eq=False)
class Draft(Generic[M]):
    record: M
    # Unsaved; `own` names their fields that take the record's primary key once it has
    # one (entity_id always; opportunity_id or account_id when the record is that).
    events: list[Event] = field(default_factory=list)
    own: tuple[str, ...] = ("entity_id",)

    def _stamp(self) -> list[Event]:
        pk = self.record.pk
        for event in self.events:
            for name in self.own:
                setattr(event, name, pk)
        return self.events


def save_one(draft: Draft[M]) -> M:
    """Write the record, then its events (in one statement when there are several)."""
    draft.record.save(force_insert=True)
    events = draft._stamp()
    if len(events) == 1:
        events[0].save(force_insert=True)
    elif events:
        Event.objects.bulk_create(events)
    return draft.record


def save_many(drafts: Sequence[Draft]) -> None:
    """Write drafts of one model: the records, then every event, in row order.

    The records get their primary keys from the INSERT itself (RETURNING: PostgreSQL,
    SQLite ≥ 3.35), which the events then carry. No `save()` runs: a draft is complete
    when built (its version, its timestamps)."""
    if not drafts:
        return
    model = type(drafts[0].record)
    model._default_manager.bulk_create([d.record for d in drafts], batch_size=BATCH_SIZE)
    events = [event for draft in drafts for event in draft._stamp()]
    Event.objects.bulk_create(events, batch_size=BATCH_SIZE)
