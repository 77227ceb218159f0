"""A new record checked but not yet written, with the events its creation writes.

A creating service is two steps: `<entity>_build` validates and returns a `Draft`
(the unsaved record and its events, nothing written, no query beyond the lookups its
rules need), then `save_one` writes it. The importer builds thousands of drafts with
the same rules and writes them with `save_many`: the records in a few multi-row
INSERTs, then all their events — one logic for what a valid record is, two ways of
writing it."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from django.db import connections, models, router
from django.db.backends.base.operations import BaseDatabaseOperations
from django.utils.functional import Promise

from kam.core.models import Event

M = TypeVar("M", bound=models.Model)
# Rows per INSERT statement at most (fewer when the columns would pass the database's
# limit on parameters).
BATCH_SIZE = 1000


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
    insert_many([d.record for d in drafts])
    insert_many([event for draft in drafts for event in draft._stamp()])


def insert_many(records: Sequence[models.Model]) -> None:
    """INSERT new records of one model, many rows a statement, and set their ids.

    What `bulk_create` does for these models (no signals, no save(), ids from
    RETURNING), without its per-value compilation, which cost more than the database's
    own work: each column's value goes through its field's `get_db_prep_value` once,
    and the statement's text is built once per batch size."""
    if not records:
        return
    model = type(records[0])
    connection = connections[router.db_for_write(model)]
    if not connection.features.can_return_rows_from_bulk_insert:  # pragma: no cover
        model._default_manager.bulk_create(records)  # sets no ids: write one by one
        for record in records:
            if record.pk is None:
                record.save(force_insert=True)
        return
    columns = _columns(model, connection)
    per_statement = max(1, min(BATCH_SIZE, _max_params(connection) // len(columns)))
    quote = connection.ops.quote_name
    # Names from the model's metadata, quoted; values only as parameters.
    head = (
        f"INSERT INTO {quote(model._meta.db_table)} "  # noqa: S608
        f"({', '.join(quote(f.column) for f, _p in columns)}) VALUES "
    )
    one_row = "(" + ", ".join(["%s"] * len(columns)) + ")"
    tail = f" RETURNING {quote(model._meta.pk.column)}"
    with connection.cursor() as cursor:
        for start in range(0, len(records), per_statement):
            batch = records[start : start + per_statement]
            params: list[Any] = []
            for record in batch:
                if record.pk is not None:
                    raise ValueError(f"{record!r} is already saved")
                for _field, prepare in columns:
                    params.append(prepare(record))
            cursor.execute(head + ", ".join([one_row] * len(batch)) + tail, params)
            ids = [row[0] for row in cursor.fetchall()]
            for record, pk in zip(batch, ids, strict=True):
                record.pk = pk
                record._state.adding = False
                record._state.db = connection.alias


def _columns(model: type[models.Model], connection) -> list[tuple[models.Field, Callable]]:
    """(field, value of a record as the database takes it) for each column written."""
    return [
        (f, _preparer(f, connection))
        for f in model._meta.concrete_fields
        if not f.primary_key and not getattr(f, "generated", False)
    ]


def _preparer(column: models.Field, connection) -> Callable[[models.Model], Any]:
    attname = column.attname
    to_db = column.get_db_prep_value
    if getattr(column, "auto_now", False) or getattr(column, "auto_now_add", False):

        def value(record):
            return column.pre_save(record, True)
    elif column.is_relation:

        def value(record):
            found = getattr(record, attname)
            if found is None and column.is_cached(record):  # set as an object saved since
                related = column.get_cached_value(record)
                if related is not None:
                    if related.pk is None:
                        raise ValueError(f"{column.name} of {record!r} is not saved")
                    found = related.pk
                    setattr(record, attname, found)
            return found
    else:

        def value(record):
            return getattr(record, attname)

    if type(column).get_db_prep_value is models.Field.get_db_prep_value:
        # Text and yes/no columns: a value already of its Python type goes as it is.
        def prepare(record):
            found = value(record)
            return str(found) if isinstance(found, Promise) else found

        return prepare
    target = column.target_field if column.is_relation else column
    if target.get_internal_type() in _INTEGERS and _plain_integers(connection):

        def prepare(record):
            found = value(record)
            return found if found is None or type(found) is int else to_db(found, connection)

        return prepare
    if column.get_internal_type() in ("DateTimeField", "DateField"):
        # The same days and moments come back row after row (stage dates, now).
        seen: dict[Any, Any] = {}

        def prepare(record):
            found = value(record)
            if found is None:
                return None
            done = seen.get(found, _MISSING)
            if done is _MISSING:
                done = to_db(found, connection, prepared=True)
                if len(seen) < 10_000:
                    seen[found] = done
            return done

        return prepare

    def prepare(record):
        found = value(record)
        if found is None:
            return None  # NULL (JSONField's get_db_prep_value would write JSON null)
        if isinstance(found, Promise):
            found = str(found)
        return to_db(found, connection, prepared=True)

    return prepare


_INTEGERS = frozenset(
    (
        "AutoField",
        "BigAutoField",
        "SmallAutoField",
        "IntegerField",
        "BigIntegerField",
        "SmallIntegerField",
        "PositiveIntegerField",
        "PositiveBigIntegerField",
        "PositiveSmallIntegerField",
    )
)
_MISSING = object()


def _plain_integers(connection) -> bool:
    """Whether the backend takes a Python int as it is (SQLite; psycopg 3's backend wraps
    it in a sized type)."""
    return (
        type(connection.ops).adapt_integerfield_value
        is BaseDatabaseOperations.adapt_integerfield_value
    )


def _max_params(connection) -> int:
    """Parameters one statement may carry: PostgreSQL's protocol counts them in 16
    bits; SQLite's limit is the library's, often far above Django's cautious 999."""
    if connection.vendor == "sqlite":
        import sqlite3

        connection.ensure_connection()
        try:
            return connection.connection.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
        except AttributeError:  # pragma: no cover - Python < 3.11
            return connection.features.max_query_params
    return 65535
