"""A new record checked but not yet written, with the events its creation writes.

A creating service is two steps: `<entity>_build` validates and returns a `Draft`
(the unsaved record and its events, nothing written, no query beyond the lookups its
rules need), then `save_one` writes it. The importer builds thousands of drafts with
the same rules and writes them with `save_many`: the records in a few multi-row
INSERTs, then all their events — one logic for what a valid record is, two ways of
writing it."""

from __future__ import annotations

import datetime as dt
import json
import operator
import queue
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from django.conf import settings
from django.db import connections, models, router
from django.db.backends.base.operations import BaseDatabaseOperations
from django.utils.functional import Promise

from kam.core.audit import EventRow
from kam.core.models import Event

M = TypeVar("M", bound=models.Model)
# Rows per INSERT statement at most (fewer when the columns would pass the database's
# limit on parameters).
BATCH_SIZE = 1000


@dataclass(eq=False)
class Draft(Generic[M]):
    record: M
    # Not written yet; `own` names their columns that take the record's primary key
    # once it has one (entity_id always; opportunity_id or account_id when the record
    # is that).
    events: list[EventRow] = field(default_factory=list)
    own: tuple[str, ...] = ("entity_id",)

    def _stamp(self) -> list[EventRow]:
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
        events[0].instance().save(force_insert=True)
    elif events:
        insert_many(events, model=Event)
    return draft.record


def save_many(drafts: Sequence[Draft], *, events: bool = True) -> list[EventRow]:
    """Write drafts of one model: the records, then every event, in row order.

    The records get their primary keys from the INSERT itself (RETURNING: PostgreSQL,
    SQLite ≥ 3.35), which the events then carry. No `save()` runs: a draft is complete
    when built (its version, its timestamps). With `events=False` the events, stamped,
    are returned for the caller to write (`WriteBehind`)."""
    if not drafts:
        return []
    insert_many([d.record for d in drafts])
    rows = [event for draft in drafts for event in draft._stamp()]
    if not events:
        return rows
    insert_many(rows, model=Event)
    return []


def insert_many(records: Sequence[Any], *, model: type[models.Model] | None = None) -> None:
    """INSERT new records of one model, many rows a statement, and set their ids; or,
    given `model`, rows of its columns that are not instances (EventRow), whose ids
    nobody needs.

    What `bulk_create` does for these models (no signals, no save(), ids from
    RETURNING), without its per-value compilation, which cost more than the database's
    own work: a record's attributes are read at once, only the values the database
    takes in another form are converted, and a statement's text is built once."""
    if not records:
        return
    instances = model is None
    model = model or type(records[0])
    connection = connections[router.db_for_write(model)]
    if instances and not connection.features.can_return_rows_from_bulk_insert:
        for record in records:  # pragma: no cover - SQLite < 3.35 gives no ids back
            record.save(force_insert=True)
        return
    with connection.cursor() as cursor:
        for batch, sql, params in _statements(records, model, connection, returning=instances):
            cursor.execute(sql, params)
            if not instances:
                continue
            ids = [row[0] for row in cursor.fetchall()]
            for record, pk in zip(batch, ids, strict=True):
                record.pk = pk
                record._state.adding = False
                record._state.db = connection.alias


def _statements(
    records: Sequence[Any], model: type[models.Model], connection, *, returning: bool
) -> Iterator[tuple[Sequence[Any], str, list[Any]]]:
    """(the records, the INSERT, its parameters) of each statement writing them."""
    fields, make_row = _row_maker(model, connection)
    per_statement = max(1, min(BATCH_SIZE, _max_params(connection) // len(fields)))
    quote = connection.ops.quote_name
    # Names from the model's metadata, quoted; values only as parameters.
    head = (
        f"INSERT INTO {quote(model._meta.db_table)} "  # noqa: S608
        f"({', '.join(quote(f.column) for f in fields)}) VALUES "
    )
    one_row = "(" + ", ".join(["%s"] * len(fields)) + ")"
    tail = f" RETURNING {quote(model._meta.pk.column)}" if returning else ""
    for start in range(0, len(records), per_statement):
        batch = records[start : start + per_statement]
        params: list[Any] = []
        for record in batch:
            if returning and record.pk is not None:
                raise ValueError(f"{record!r} is already saved")
            params.extend(make_row(record))
        yield batch, head + ", ".join([one_row] * len(batch)) + tail, params


class WriteBehindFailed(RuntimeError):
    """The second thread's write failed (not a DatabaseError: no savepoint of this
    thread may take it for its own and go on; the whole transaction must go)."""


class WriteBehind:
    """A second thread writing rows (an import's events: three in four of the rows it
    writes) on this thread's connection, in its transaction, while this thread checks
    and builds the next rows. SQLite and psycopg let go of Python's lock while the
    database works, so the writing overlaps the checking on a second core.

    One batch at a time, in order. Every statement this thread runs first waits for the
    batch in hand (an execute wrapper on the connection), so reads see what was written
    and savepoints never straddle the other thread's work; leaving the block waits for
    the last batch, so the transaction is never committed or rolled back under it. An
    error on the second thread is raised on this one at its next statement, or on
    leaving the block, as WriteBehindFailed: the import fails whole."""

    def __init__(self, connection) -> None:
        # The connection itself (django.db.connection would find the other thread's own)
        self.connection = connection
        self._jobs: queue.Queue = queue.Queue()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._work, name="kam-write-behind", daemon=True)
        self._wrapper = connection.execute_wrapper(self._before_statement)

    def __enter__(self) -> WriteBehind:
        self.connection.inc_thread_sharing()
        self._wrapper.__enter__()
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._jobs.put(None)
        self._thread.join()
        self._wrapper.__exit__(*exc)
        self.connection.dec_thread_sharing()
        if exc[0] is None:
            self._raise()

    def submit(self, rows: Sequence[Any], model: type[models.Model]) -> None:
        """Write these rows of `model` (as `insert_many(rows, model=model)`) behind. The
        statements are made here: the other thread only runs them (Python's lock held
        as little as may be there)."""
        self.wait()
        if rows:
            statements = [
                (sql, params)
                for _rows, sql, params in _statements(rows, model, self.connection, returning=False)
            ]
            self._jobs.put(statements)

    def wait(self) -> None:
        """Until the batch in hand is written; its error, if it failed."""
        self._jobs.join()
        self._raise()

    def _raise(self) -> None:
        error, self._error = self._error, None
        if error is not None:
            raise WriteBehindFailed(f"writing behind failed: {error}") from error

    def _before_statement(self, execute, sql, params, many, context):
        if threading.current_thread() is not self._thread:
            self.wait()
        return execute(sql, params, many, context)

    def _work(self) -> None:
        while (job := self._jobs.get()) is not None:
            try:
                if self._error is None:
                    with self.connection.cursor() as cursor:
                        for sql, params in job:
                            cursor.execute(sql, params)
            except BaseException as exc:  # raised on the importer's thread
                self._error = exc
            finally:
                self._jobs.task_done()
        self._jobs.task_done()


def update_many(records: Sequence[models.Model], fields: Sequence[str]) -> None:
    """UPDATE these fields of saved records of one model to the values they hold, one
    statement run for each (executemany). For changes checked by a service's build step
    (`contact_update_build`), like `bulk_update` without its CASE per row and field."""
    if not records:
        return
    model = type(records[0])
    connection = connections[router.db_for_write(model)]
    columns = [model._meta.get_field(name) for name in fields]
    _fields, make_row = _row_maker(model, connection, columns)
    quote = connection.ops.quote_name
    pk = model._meta.pk
    sets = ", ".join(f"{quote(c.column)} = %s" for c in columns)
    sql = f"UPDATE {quote(model._meta.db_table)} SET {sets} WHERE {quote(pk.column)} = %s"  # noqa: S608
    params = [[*make_row(record), record.pk] for record in records]
    with connection.cursor() as cursor:
        cursor.executemany(sql, params)


def _row_maker(model: type[models.Model], connection, fields: list | None = None):
    """(the columns written, a function giving a record's values for them as the
    database takes them). The attributes are read all at once (attrgetter); only the
    columns whose values need converting for the database are touched one by one."""
    fields = fields or [
        f
        for f in model._meta.concrete_fields
        if not f.primary_key and not getattr(f, "generated", False)
    ]
    get = operator.attrgetter(*[f.attname for f in fields])
    if len(fields) == 1:
        single = get
        get = lambda record: (single(record),)  # noqa: E731
    fixes, when_none = [], []
    for i, f in enumerate(fields):
        fix = _fixer(f, connection)
        if fix is not None:
            (when_none if _plain_relation(f, connection) else fixes).append((i, fix))

    def make_row(record) -> list[Any]:
        row = list(get(record))
        for i, fix in fixes:
            row[i] = fix(row[i], record)
        for i, fix in when_none:  # a relation set as an object: its id, read now
            if row[i] is None:
                row[i] = fix(None, record)
        return row

    return fields, make_row


def _plain_relation(column: models.Field, connection) -> bool:
    """A relation whose id the driver takes as it is: only a missing one needs a look."""
    return (
        column.is_relation
        and column.target_field.get_internal_type() in _INTEGERS
        and _plain_integers(connection)
    )


def _fixer(column: models.Field, connection) -> Callable[[Any, models.Model], Any] | None:
    """How a column's value becomes what the database takes, or None when it goes as it
    is (text, yes/no; whole numbers where the driver takes Python's)."""
    to_db = column.get_db_prep_value
    kind = column.get_internal_type()
    if getattr(column, "auto_now", False) or getattr(column, "auto_now_add", False):
        return lambda _value, record: to_db(column.pre_save(record, True), connection)
    if column.is_relation:
        plain = column.target_field.get_internal_type() in _INTEGERS and _plain_integers(connection)

        def related(value, record):
            if value is None and hasattr(record, "_state") and column.is_cached(record):
                # set as an object, saved since
                other = column.get_cached_value(record)
                if other is not None:
                    if other.pk is None:
                        raise ValueError(f"{column.name} of {record!r} is not saved")
                    value = other.pk
                    setattr(record, column.attname, value)
            if value is None or (plain and type(value) is int):
                return value
            return to_db(value, connection)

        return related
    if type(column).get_db_prep_value is models.Field.get_db_prep_value:
        return None
    if kind in _INTEGERS and _plain_integers(connection):
        return None  # SQLite takes Python's int (the services set ints here)
    if kind in ("DateTimeField", "DateField"):
        # The same days and moments come back row after row (stage dates); each new
        # one is converted as Django converts it, or, for SQLite keeping moments as
        # text in UTC, as its adapt_datetimefield_value would without its lookups.
        seen: dict[Any, Any] = {}
        utc = dt.UTC
        convert = (
            (
                lambda value: (
                    str(value)
                    if value.utcoffset() is None
                    else str(value.astimezone(utc).replace(tzinfo=None))
                )
            )
            if kind == "DateTimeField" and _utc_text(connection, column)
            else lambda value: to_db(value, connection, prepared=True)
        )

        def moment(value, _record):
            if value is None:
                return None
            done = seen.get(value, _MISSING)
            if done is _MISSING:
                done = convert(value)
                if len(seen) < 10_000:
                    seen[value] = done
            return done

        return moment
    if (
        kind == "JSONField"
        and getattr(column, "encoder", None) is None
        and type(connection.ops).adapt_json_value is BaseDatabaseOperations.adapt_json_value
    ):
        # What adapt_json_value does (json.dumps with its defaults), without the calls.
        encode = json.JSONEncoder().encode
        return lambda value, _record: None if value is None else encode(value)

    def other(value, _record):
        if value is None:
            return None  # NULL (JSONField's get_db_prep_value would write JSON null)
        if isinstance(value, Promise):
            value = str(value)
        return to_db(value, connection, prepared=True)

    return other


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


def _utc_text(connection, column: models.Field) -> bool:
    """Whether the column's moments are written as SQLite's text in UTC, by Django's
    own conversion."""
    return (
        connection.vendor == "sqlite"
        and settings.USE_TZ
        and connection.timezone_name == "UTC"
        and type(column).get_db_prep_value is models.DateTimeField.get_db_prep_value
    )


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
