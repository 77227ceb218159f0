"""kam.core.drafts writes drafts one at a time (the services) or many at once (the
importer) with the same result: the same columns, JSON and dates as `audit.record`
and `Model.save` would write, and the events carrying their record's id."""

from __future__ import annotations

import dataclasses
import datetime as dt
import threading
import time
from decimal import Decimal

import pytest
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.utils import timezone

from kam.accounts.models import Account
from kam.accounts.services import account_build
from kam.core import audit, clock, drafts
from kam.core.models import Event

AT = timezone.make_aware(dt.datetime(2026, 3, 5, 9, 0))


def test_an_event_row_has_the_events_columns():
    columns = {f.attname for f in Event._meta.concrete_fields} - {"id"}
    assert {f.name for f in dataclasses.fields(audit.EventRow)} == columns


def rows(model, ids) -> list[dict]:
    return [
        {k: v for k, v in row.items() if k != "id"}
        for row in model.objects.filter(pk__in=ids).order_by("pk").values()
    ]


def test_many_drafts_are_written_as_one_at_a_time_would_write_them(world):
    # given: two sets of the same three accounts
    def build(prefix: str) -> list[drafts.Draft]:
        with clock.freeze(AT):
            return [
                account_build(
                    actor=world.admin,
                    name=f"客户 {i}",
                    code=f"{prefix}{i}",
                    owner=world.rep_a,
                    annual_revenue=Decimal("1250000.50"),
                    collection_cycle_days=90,
                    attributes={"technology": "automated"},
                )
                for i in range(3)
            ]

    one_by_one, together = build("A"), build("B")
    # when
    for draft in one_by_one:
        drafts.save_one(draft)
    drafts.save_many(together)
    # then: the same rows but for the codes, and events on their own records
    first = rows(Account, [d.record.pk for d in one_by_one])
    second = rows(Account, [d.record.pk for d in together])
    assert [{**r, "code": None} for r in first] == [{**r, "code": None} for r in second]
    assert Account.objects.get(code="B2").annual_revenue == Decimal("1250000.50")
    for draft in together:
        (event,) = Event.objects.filter(entity="account", entity_id=draft.record.pk)
        assert (event.action, event.at, event.account_id) == ("created", AT, draft.record.pk)
        assert event.after["code"] == draft.record.code
        assert event.after["attributes"] == {"technology": "automated"}
        assert event.after["annual_revenue"] == "1250000.50"


def test_an_event_row_saved_is_what_record_writes(world):
    # given
    with clock.freeze(AT):
        recorded = audit.record(
            actor=world.admin,
            entity="account",
            entity_id=7,
            action="updated",
            before={"a": 1},
            after={"a": 2},
            account_id=7,
            note="说明",
        )
        row = audit.event(
            actor=world.admin,
            entity="account",
            entity_id=7,
            action="updated",
            before={"a": 1},
            after={"a": 2},
            account_id=7,
            note="说明",
        )
    # when
    drafts.insert_many([row], model=Event)
    # then
    written = Event.objects.filter(entity="account", entity_id=7).exclude(pk=recorded.pk).get()
    fields = ("at", "actor_id", "entity", "action", "before", "after", "account_id", "note")
    assert [getattr(written, f) for f in fields] == [getattr(recorded, f) for f in fields]


def test_moments_are_written_in_the_text_django_writes(world):
    # given: a moment in UTC (now, as the services take it), with and without
    # microseconds, and one in the local time zone (an imported stage date)
    moments = [
        dt.datetime(2026, 3, 5, 1, 2, 3, 456789, tzinfo=dt.UTC),
        dt.datetime(2026, 3, 5, 1, 2, 3, tzinfo=dt.UTC),
        AT,
    ]
    for i, at in enumerate(moments):
        with clock.freeze(at):
            audit.record(actor=world.admin, entity="account", entity_id=100 + i, action="x")
            row = audit.event(actor=world.admin, entity="account", entity_id=200 + i, action="x")
        # when
        drafts.insert_many([row], model=Event)
    # then: the column's stored value (SQLite: its text) is the same both ways
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT entity_id, CAST(at AS TEXT) FROM core_event "
            "WHERE entity = 'account' AND action = 'x'"
        )
        stored = dict(cursor.fetchall())
    assert [stored[200 + i] for i in range(3)] == [stored[100 + i] for i in range(3)]
    assert len(set(stored.values())) == 3


# --- writing behind ------------------------------------------------------------------------


def x_events(world, n: int, first: int = 900) -> list[audit.EventRow]:
    return [
        audit.event(actor=world.admin, entity="account", entity_id=first + i, action="x")
        for i in range(n)
    ]


def test_rows_are_written_by_the_other_thread_and_a_read_here_waits_for_them(world):
    # given: the other thread slow to write
    writers: set[int] = set()

    def slow_writes(execute, sql, params, many, context):
        if sql.startswith('INSERT INTO "core_event"'):
            writers.add(threading.get_ident())
            time.sleep(0.3)
        return execute(sql, params, many, context)

    with (
        connection.execute_wrapper(slow_writes),
        drafts.WriteBehind(transaction.get_connection()) as behind,
    ):
        behind.submit(x_events(world, 50), Event)
        # when: this thread reads before the write is done
        seen = Event.objects.filter(action="x").count()
    # then: it saw every row, written on the other thread
    assert seen == 50
    assert writers and threading.get_ident() not in writers


def test_leaving_the_block_waits_for_the_last_rows(world):
    # when
    with drafts.WriteBehind(transaction.get_connection()) as behind:
        behind.submit(x_events(world, 3), Event)
        behind.submit(x_events(world, 2, first=950), Event)
    # then
    assert Event.objects.filter(action="x").count() == 5


@pytest.mark.parametrize("read_after", [True, False], ids=["next-statement", "leaving"])
def test_a_failure_behind_fails_this_thread_as_no_database_error(world, read_after):
    # given: a row the database refuses (an event without its entity)
    bad = x_events(world, 1)
    bad[0].entity = None
    # when / then: raised at the next statement here, or on leaving the block, as an
    # error no savepoint of the import takes for a refused batch of its own
    with (
        pytest.raises(drafts.WriteBehindFailed) as failed,
        transaction.atomic(),
        drafts.WriteBehind(transaction.get_connection()) as behind,
    ):
        behind.submit(bad, Event)
        if read_after:
            Event.objects.count()
    assert isinstance(failed.value.__cause__, IntegrityError)
    assert not isinstance(failed.value, DatabaseError)
    assert Event.objects.filter(action="x").count() == 0
