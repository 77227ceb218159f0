"""Small database chores: statistics after the bulk loaders (demo, import, restore), a
larger page cache while they load, reads that see one moment of the database (the
dashboard), and two expressions the dashboard groups by: the whole days between two
moments and the month of a date."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from django.db import connection, transaction
from django.db.models import CharField, Func, IntegerField, QuerySet

# SQLite: a table is analysed again once it holds this many times the rows it held when
# last analysed (and at least SQLITE_GROWN_MIN more).
SQLITE_GROWTH = 2
SQLITE_GROWN_MIN = 1000


def refresh_statistics() -> None:
    """After a bulk load, let the database's planner see the new rows now.

    PostgreSQL: autovacuum analyzes a table only after the load commits and a while
    later; until then the planner judges the tables by their old size and may pick plans
    fit for empty tables (seconds instead of milliseconds on the dashboard). ANALYZE
    inside the loading transaction sees its rows.

    SQLite keeps no statistics unless asked: without them it chose to read every
    opportunity event of a 1,000,000-deal book for a team's dashboard (3.7 s; 0.96 s with
    them). Statistics from a sample (`analysis_limit`) are not enough: a sample of 1,000
    index entries sees one status, so "open" looked like 1,000 deals of 1,000,000 and a
    team's dashboard walked all 300,000 open deals, five times (2.6 s; 0.8 s with full
    statistics). A full ANALYZE takes 4–9 s at 1,000,000 deals, so a table is
    analysed only when it holds rows and was never analysed, or has doubled since
    (SQLITE_GROWTH, by its last rowid): a table that grows by a few thousand rows keeps
    its proportions, and its statistics. Only those tables are analysed (in one ANALYZE
    when that is every table holding rows: a fresh folder, a first load): an import
    into a large book whose kept assessments had filled since (a cache table, one row
    per deal) analysed every table, 6.6 s, where that table alone took 0.03–0.14 s."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("ANALYZE")
        elif connection.vendor == "sqlite":
            last = _sqlite_last_rowids(cursor)
            cursor.execute(
                f"CREATE TABLE IF NOT EXISTS {_ANALYSED} (tbl TEXT PRIMARY KEY, last INTEGER)"
            )
            cursor.execute(f"SELECT tbl, last FROM {_ANALYSED}")  # noqa: S608
            then = dict(cursor.fetchall())
            grown = [
                t
                for t, rows in last.items()
                if rows >= max(SQLITE_GROWTH * then.get(t, 0), then.get(t, 0) + SQLITE_GROWN_MIN, 1)
                or (rows and t not in then)
            ]
            if not grown:
                return
            cursor.execute("PRAGMA analysis_limit = 0")
            if len(grown) == sum(1 for rows in last.values() if rows):
                cursor.execute("ANALYZE")  # every table that holds rows: one statement
            else:
                for table in grown:
                    cursor.execute(f'ANALYZE "{table}"')
            cursor.executemany(
                f"INSERT OR REPLACE INTO {_ANALYSED} (tbl, last) VALUES (%s, %s)",  # noqa: S608
                [(t, last[t]) for t in grown],
            )


# SQLite's page cache while a bulk load writes (KiB; its default is 2,000).
BULK_CACHE_KIB = 65536


@contextmanager
def bulk_cache() -> Iterator[None]:
    """SQLite: a larger page cache for this connection while a bulk load runs, given back
    after. A load writes into every index of the tables it fills; with SQLite's 2 MB
    cache their pages went out and were read back from the OS again and again (a
    100,000-row import: half its system time, 5 % of its wall time). Other connections
    keep the default, so serving many requests does not take this memory each."""
    if connection.vendor != "sqlite":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA cache_size")
        (before,) = cursor.fetchone()
        cursor.execute(f"PRAGMA cache_size = {-BULK_CACHE_KIB:d}")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"PRAGMA cache_size = {int(before):d}")


def page_rows(
    queryset: QuerySet, start: int, stop: int, read: Callable[[QuerySet], QuerySet] | None = None
) -> list:
    """Rows `start` to `stop` of an ordered queryset, their ids picked first.

    A page of a large sorted list took every row's joins and columns into the sort:
    SQLite joined each of an admin's 1,000,000 deals to its account and owner before
    keeping 50 (0.7 s; sorting the ids alone reads only the order's columns). Here the
    page's ids are picked by the list's own filters and order, then its rows are read
    by id (`read`: the columns, joins and annotations shown, as objects or dicts) and
    put back in that order."""
    ids = list(queryset.values_list("pk", flat=True)[start:stop])
    if not ids:
        return []
    shown = (read(queryset) if read is not None else queryset).filter(pk__in=ids).order_by()
    by_id = {row["id"] if isinstance(row, dict) else row.pk: row for row in shown}
    return [by_id[pk] for pk in ids if pk in by_id]


class IdsFirst:
    """A queryset as Django's Paginator pages it, each page through `page_rows`."""

    def __init__(self, queryset: QuerySet) -> None:
        self.queryset = queryset
        self.ordered = queryset.ordered

    def count(self) -> int:
        return self.queryset.count()

    def __len__(self) -> int:
        return self.count()

    def __getitem__(self, window: slice) -> list:
        return page_rows(self.queryset, window.start or 0, window.stop)


# SQLite: each table's last rowid when the statistics were last taken (a table of its
# own, out of Django's models, dumps and migrations).
_ANALYSED = "kam_analysed"


def _sqlite_last_rowids(cursor) -> dict[str, int]:
    """Each table's last rowid, standing for its rows (instant, where COUNT(*) reads the
    whole table): one query whatever the number of tables."""
    cursor.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%%'"
        " AND name != %s",
        [_ANALYSED],
    )
    tables = [row[0] for row in cursor.fetchall()]
    if not tables:
        return {}
    cursor.execute(
        " UNION ALL ".join(f'SELECT %s, MAX(rowid) FROM "{t}"' for t in tables),  # noqa: S608
        tables,
    )
    return {table: rows or 0 for table, rows in cursor.fetchall()}


@contextmanager
def one_moment() -> Iterator[None]:
    """Every query inside sees the database as it was at the first of them, while others
    go on writing: the dashboard's figures add up, a dump is one moment of every table.
    For reading only (on PostgreSQL a write inside fails).

    SQLite: a deferred (read) transaction — unlike KAM's usual BEGIN IMMEDIATE, it does
    not hold the write lock, so `kam serve` keeps writing meanwhile (WAL). PostgreSQL: a
    REPEATABLE READ, READ ONLY transaction. Inside a transaction already (a test, a
    caller's `atomic`) that transaction is the moment."""
    if connection.in_atomic_block:
        yield
        return
    if connection.vendor == "postgresql":
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            yield
        return
    with connection.cursor() as cursor:
        cursor.execute("BEGIN DEFERRED")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("COMMIT")  # reads only: ends the read transaction


class WholeDays(Func):
    """SQL: the whole days from `since` to `until` — two moments, as datetime columns or
    as ISO text (an event's JSON) — floored as Python's `timedelta.days` and never below
    0; NULL when either is NULL. The dashboard's stage and cycle durations, grouped by
    the database instead of read deal by deal.

    SQLite counts from julianday() rounded to the millisecond (a difference within a
    millisecond of a whole day may fall on the other side of it); PostgreSQL counts
    exactly. The text must be a moment PostgreSQL can read (`audit.jsonable` writes
    ISO 8601)."""

    arity = 2
    output_field = IntegerField()

    def _parts(self, compiler, connection):
        (until, until_params), (since, since_params) = (
            compiler.compile(e) for e in self.get_source_expressions()
        )
        return until, since, (*until_params, *since_params)

    def as_sqlite(self, compiler, connection, **extra):
        until, since, params = self._parts(compiler, connection)
        ms = f"CAST(ROUND((julianday({until}) - julianday({since})) * 86400000) AS INTEGER)"
        return f"MAX(0, {ms} / 86400000)", params  # NULL in, NULL out

    def as_postgresql(self, compiler, connection, **extra):
        until, since, params = self._parts(compiler, connection)
        seconds = f"EXTRACT(EPOCH FROM (({until})::timestamptz - ({since})::timestamptz))"
        # GREATEST skips NULLs: keep a NULL NULL
        return (
            f"CASE WHEN ({until}) IS NULL OR ({since}) IS NULL THEN NULL "
            f"ELSE GREATEST(0, FLOOR({seconds} / 86400))::integer END",
            (*params, *params),
        )


class YearMonth(Func):
    """SQL: the month of a date column as 'YYYY-MM' text, computed in the database's own
    code (Django's TruncMonth and ExtractMonth call back into Python for each row on
    SQLite)."""

    arity = 1
    output_field = CharField()

    def as_sqlite(self, compiler, connection, **extra):
        (day, params) = compiler.compile(self.get_source_expressions()[0])
        return f"substr({day}, 1, 7)", params  # SQLite keeps dates as 'YYYY-MM-DD'

    def as_postgresql(self, compiler, connection, **extra):
        (day, params) = compiler.compile(self.get_source_expressions()[0])
        # the expression the dashboard's statistics are made on (opportunities
        # migration 0010): change both together
        return f"to_char({day}, 'YYYY-MM')", params
