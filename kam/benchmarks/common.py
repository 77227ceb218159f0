"""What the benchmarks share: the run's context (the data set's plan, its people, a
test client with a bearer token), timing several runs of two sides interleaved and
taking the median, counting queries, and the line each benchmark prints."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TextIO

from django.db import connection

from kam.benchmarks.generate import Plan

# A side whose first (warm-up) run takes longer than this counts that run as a sample,
# and one that takes longer than SLOW_S runs only once more: a run of the whole book
# at a million deals can take minutes.
WARM_AS_SAMPLE_S = 20.0
SLOW_S = 90.0


@dataclass
class Sample:
    name: str
    times: list[float] = field(default_factory=list)
    result: Any = None

    @property
    def median(self) -> float:
        return statistics.median(self.times)

    @property
    def runs(self) -> int:
        return len(self.times)


def measure(sides: dict[str, Callable[[], Any]], *, runs: int) -> dict[str, Sample]:
    """Each side run `runs` times, interleaved (A B A B …) so that both see the same
    caches and the same machine, after one warm-up run each; the last result kept."""
    samples = {name: Sample(name) for name in sides}
    slow = False
    for name, fn in sides.items():
        t0 = time.perf_counter()
        samples[name].result = fn()
        took = time.perf_counter() - t0
        if took > WARM_AS_SAMPLE_S:
            samples[name].times.append(took)
        slow = slow or took > SLOW_S
    wanted = 1 if slow else runs
    while min(s.runs for s in samples.values()) < wanted:
        for name, fn in sides.items():
            if samples[name].runs >= wanted:
                continue
            t0 = time.perf_counter()
            samples[name].result = fn()
            samples[name].times.append(time.perf_counter() - t0)
    return samples


def cold(fn: Callable[[], Any]) -> float:
    """Seconds of one run of `fn` with no assessment kept (kam/opportunities/stored.py):
    every open deal it reads is assessed and kept, as after a new release or an edited
    methodology. The runs measured after it read the kept rows."""
    from kam.opportunities.models import StoredAssessment

    StoredAssessment.objects.all().delete()
    t0 = time.perf_counter()
    fn()
    took = time.perf_counter() - t0
    if connection.vendor == "postgresql" and not connection.in_atomic_block:
        # Every kept row was deleted and written again: what autovacuum does within a
        # minute or so, done now, so that the runs measured next see the table as it
        # stands in use, not 300,000 dead rows and no statistics of the new ones.
        with connection.cursor() as cursor:
            cursor.execute(f"VACUUM (ANALYZE) {StoredAssessment._meta.db_table}")
    return took


def seconds(value: float) -> str:
    if value >= 10:
        return f"{value:,.1f} s"
    if value >= 1:
        return f"{value:.2f} s"
    return f"{value * 1000:,.1f} ms"


@dataclass
class Outcome:
    """One ratio against its goal, for the summary."""

    benchmark: str
    label: str
    value: float | None  # None: could not be measured
    goal: str  # e.g. "≤ 1.5×"
    met: bool | None
    note: str = ""

    def line(self) -> str:
        verdict = {True: "ok", False: "MISSED", None: "not measured"}[self.met]
        shown = "-" if self.value is None else self.shown_value()
        note = f"  ({self.note})" if self.note else ""
        return (
            f"{self.benchmark:<10} {self.label:<44} {shown:>10}  goal {self.goal:<8} "
            f"{verdict}{note}"
        )

    def shown_value(self) -> str:
        assert self.value is not None
        if self.goal.endswith("%"):
            return f"{self.value:.0%}"
        if self.goal.endswith("ms"):
            return f"{self.value:,.1f} ms"
        if self.goal.endswith(" s"):
            return f"{self.value:,.1f} s"
        return f"{self.value:.2f}×"


def verdict(met: bool | None) -> str:
    return {True: "ok", False: "MISSED", None: "not measured"}[met]


class QueryCounter:
    """Counts the statements the default connection executes (execute_wrapper: the
    test client's request_started resets connection.queries, so it cannot be read)."""

    def __init__(self) -> None:
        self.count = 0
        self._wrapper = None

    def __call__(self, execute, sql, params, many, context):
        self.count += 1
        return execute(sql, params, many, context)

    def __enter__(self) -> QueryCounter:
        self._wrapper = connection.execute_wrapper(self)
        self._wrapper.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        assert self._wrapper is not None
        self._wrapper.__exit__(*exc)


@dataclass
class Context:
    """What every benchmark of one run gets."""

    plan: Plan
    people: dict[str, Any]  # username -> User
    out: TextIO
    runs: int = 5
    options: dict[str, Any] = field(default_factory=dict)
    outcomes: list[Outcome] = field(default_factory=list)
    _tokens: dict[str, str] = field(default_factory=dict)

    @property
    def vendor(self) -> str:
        return connection.vendor

    def say(self, text: str = "") -> None:
        print(text, file=self.out, flush=True)

    def token(self, username: str) -> str:
        from kam.users.services import token_create

        if username not in self._tokens:
            self._tokens[username] = token_create(user=self.people[username], name="kam bench")
        return self._tokens[username]

    def client(self, username: str):
        from django.test import Client

        return Client(HTTP_HOST="localhost", HTTP_AUTHORIZATION=f"Bearer {self.token(username)}")

    def record(self, outcome: Outcome) -> None:
        self.outcomes.append(outcome)


def get_json(client, path: str) -> Any:
    response = client.get(path)
    if response.status_code != 200:
        raise RuntimeError(
            f"GET {path} answered {response.status_code}: {response.content[:300]!r}"
        )
    return response.json()


def table(model) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def month_of(column: str) -> str:
    """SQL: the YYYY-MM of a date or timestamp column, on SQLite and PostgreSQL."""
    if connection.vendor == "postgresql":
        return f"to_char({column}, 'YYYY-MM')"
    return f"strftime('%%Y-%%m', {column})"


def json_text(column: str, key: str) -> str:
    """SQL: the text under `key` of a JSON column, on SQLite and PostgreSQL."""
    if connection.vendor == "postgresql":
        return f"({column} ->> '{key}')"
    return f"json_extract({column}, '$.{key}')"


def whole_days(until: str, since: str) -> str:
    """SQL: the whole days from the moment `since` (a column or ISO text) to `until`,
    never below 0, on SQLite and PostgreSQL."""
    if connection.vendor == "postgresql":
        return f"GREATEST(0, FLOOR(EXTRACT(EPOCH FROM ({until} - ({since})::timestamptz)) / 86400))"
    return f"MAX(0, CAST(julianday({until}) - julianday({since}) AS INTEGER))"


def fetch(sql: str, params: list | tuple = ()) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()
