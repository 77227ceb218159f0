# ruff: noqa: S608  (SQL from quoted table names and fixed text: the hand-written side)
"""The import, two ways.

**Rows per second against a raw `executemany`** (goal: the import at least 50 % as
fast). A batch of new generated rows (accounts, their contacts and their deals, codes
starting IMP-) goes through `importer.write_sheets` inside a transaction that is rolled
back at the end; before the rollback, every row the import wrote (in any table: the
records and their history events) is read back. Then exactly those rows are written
again with one `cursor.executemany` INSERT per table, also rolled back. The two times
(medians, interleaved) are the import and the floor of the same writes; rows per
second count the spreadsheet's rows for both.

**A 100k-row .xlsx end to end** (goal: ≤ 30 s, memory that does not grow with the
file). A workbook of 10 % accounts and 90 % opportunities, written with openpyxl's
write-only mode, is imported by `kam import FILE --as admin` in a subprocess on a fresh
scratch database (a new SQLite folder, or a new database on the same PostgreSQL
server); the wall time and the peak RSS of that process (wait4's rusage) are reported,
and the same for a 50k-row file: with a streamed read the peak stays about the same."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path
from typing import Any

from django.db import connection, transaction

from kam.benchmarks.common import Context, Outcome, measure, seconds, verdict
from kam.benchmarks.generate import TITLES, Chunk, Generator, Plan

GOAL_SHARE = 0.5
GOAL_XLSX_S = 30.0


class _Rollback(Exception):
    pass


def _tables() -> list[tuple[str, str]]:
    """(table, primary-key column) of every model with a single integer key."""
    from django.apps import apps
    from django.db import models

    out = []
    for model in apps.get_models(include_auto_created=True):
        pk = model._meta.pk
        if isinstance(pk, models.AutoField | models.BigAutoField) and not model._meta.proxy:
            out.append((model._meta.db_table, pk.column))
    return out


def _high_marks(tables: list[tuple[str, str]]) -> dict[str, int]:
    q = connection.ops.quote_name
    marks = {}
    with connection.cursor() as cursor:
        for name, pk in tables:
            cursor.execute(f"SELECT MAX({q(pk)}) FROM {q(name)}")
            marks[name] = cursor.fetchone()[0] or 0
    return marks


def _rows_after(
    tables: list[tuple[str, str]], marks: dict[str, int]
) -> list[tuple[str, list[str], list[tuple]]]:
    """(table, columns, rows) of the rows with keys above the marks: what was written."""
    q = connection.ops.quote_name
    out = []
    with connection.cursor() as cursor:
        for name, pk in tables:
            cursor.execute(
                f"SELECT * FROM {q(name)} WHERE {q(pk)} > %s ORDER BY {q(pk)}", [marks[name]]
            )
            rows = cursor.fetchall()
            if rows:
                out.append((name, [d[0] for d in cursor.description], rows))
    return out


def _adapt(
    written: list[tuple[str, list[str], list[tuple]]],
) -> list[tuple[str, list[str], list[tuple]]]:
    """PostgreSQL hands JSON columns back as Python objects: wrap them to write back."""
    if connection.vendor != "postgresql":
        return written
    from psycopg.types.json import Jsonb

    def cell(v: Any) -> Any:
        return Jsonb(v) if isinstance(v, dict | list) else v

    return [
        (name, cols, [tuple(cell(v) for v in row) for row in rows]) for name, cols, rows in written
    ]


def batch(ctx: Context) -> tuple[Plan, Generator, Chunk]:
    """The import benchmark's rows: a data set of its own (codes IMP-…), generated once
    and kept as one chunk, so the timed runs only import."""
    size = int(ctx.options.get("import_rows", 5000))
    plan = Plan(opportunities=size, seed=ctx.plan.seed + 1000, today=ctx.plan.today, prefix="IMP-")
    gen = Generator(plan)
    return plan, gen, next(gen.chunks(10**9))


def import_batch(gen: Generator, chunk: Chunk, actor, *, capture: bool = False) -> tuple[Any, list]:
    """The chunk through write_sheets (as one file), rolled back; the report and (with
    `capture`) the rows it wrote."""
    from kam.transfer import importer

    tables = _tables()
    captured: dict[str, Any] = {"written": []}
    try:
        with transaction.atomic():
            marks = _high_marks(tables) if capture else {}
            captured["report"] = importer.write_sheets(
                gen.sheets(chunk), actor=actor, name="bench import"
            )
            if capture:
                captured["written"] = _rows_after(tables, marks)
            raise _Rollback
    except _Rollback:
        pass
    return captured["report"], captured["written"]


def raw_insert(written: list[tuple[str, list[str], list[tuple]]]) -> None:
    """The same rows, one executemany per table, rolled back."""
    q = connection.ops.quote_name
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            for name, cols, rows in written:
                marks = ", ".join(["%s"] * len(cols))
                cursor.executemany(
                    f"INSERT INTO {q(name)} ({', '.join(q(c) for c in cols)}) VALUES ({marks})",
                    rows,
                )
            raise _Rollback
    except _Rollback:
        pass


def rows_per_second(ctx: Context) -> None:
    from kam.core.db import refresh_statistics

    plan, gen, chunk = batch(ctx)
    # The statistics as a load would leave them, committed: the other benchmarks fill
    # the kept assessments (a cache table), and each rolled-back import would otherwise
    # analyse that table again, in its timed part.
    refresh_statistics()
    file_rows = chunk.size
    actor = ctx.people["admin"]
    report, written = import_batch(gen, chunk, actor, capture=True)
    if not report.written:
        problems = "; ".join(
            f"{p.sheet} {p.row} {p.column}: {p.message}" for p in report.errors[:3]
        )
        ctx.say(f"  the batch did not import: {problems}")
        ctx.record(
            Outcome("import", "rows/s vs raw executemany", None, "≥ 50%", None, "import failed")
        )
        return
    adapted = _adapt(written)
    db_rows = sum(len(rows) for _n, _c, rows in written)
    ctx.say(
        f"  batch: {file_rows:,} spreadsheet rows ({plan.accounts:,} accounts, their contacts, "
        f"{plan.opportunities:,} opportunities) → {db_rows:,} database rows: "
        + ", ".join(f"{name} {len(rows):,}" for name, _c, rows in written)
    )
    samples = measure(
        {
            "import": lambda: import_batch(gen, chunk, actor),
            "raw": lambda: raw_insert(adapted),
        },
        runs=min(ctx.runs, 5),
    )
    imp, raw = samples["import"], samples["raw"]
    share = raw.median / imp.median
    ctx.say(
        f"  import {file_rows / imp.median:,.0f} rows/s ({seconds(imp.median)}) vs raw "
        f"executemany of the same writes {file_rows / raw.median:,.0f} rows/s "
        f"({seconds(raw.median)}) = {share:.0%} (goal ≥ {GOAL_SHARE:.0%}) "
        f"{verdict(share >= GOAL_SHARE)}   [median of {imp.runs}/{raw.runs}]"
    )
    ctx.record(
        Outcome(
            "import",
            "import rows/s as a share of raw executemany",
            share,
            f"≥ {GOAL_SHARE:.0%}",
            share >= GOAL_SHARE,
            f"{file_rows / imp.median:,.0f} vs {file_rows / raw.median:,.0f} rows/s",
        )
    )


# --- the .xlsx end to end ----------------------------------------------------------------


def write_xlsx(path: Path, rows: int, *, seed: int, today) -> tuple[int, int]:
    """A workbook of about `rows` rows (10 % accounts, 90 % opportunities, no owner
    column: the importing user owns them); (accounts, opportunities) written."""
    from openpyxl import Workbook

    opportunities = round(rows * 10 / 11)
    plan = Plan(
        opportunities=opportunities,
        seed=seed,
        today=today,
        prefix="X-",
        owners=False,
        contacts=False,
    )
    gen = Generator(plan)
    book = Workbook(write_only=True)
    sheets = {}
    for kind in ("accounts", "opportunities"):
        sheet = book.create_sheet(TITLES[kind])
        sheet.append(gen.header_row(kind))
        sheets[kind] = sheet
    accounts = deals = 0
    # Accounts first, then deals: two passes so each sheet is written in one go.
    for chunk in gen.chunks(20_000):
        for row in chunk.rows["accounts"]:
            sheets["accounts"].append(row)
        accounts += len(chunk.rows["accounts"])
    for chunk in gen.chunks(20_000):
        for row in chunk.rows["opportunities"]:
            sheets["opportunities"].append(row)
        deals += len(chunk.rows["opportunities"])
    book.save(path)
    return accounts, deals


class Scratch:
    """A fresh, empty database for one `kam import`: a new SQLite folder, or a new
    database on the bench's PostgreSQL server (dropped afterwards)."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.env = os.environ.copy()
        self.env["KAM_DATA_DIR"] = str(folder)
        self.database = ""

    def __enter__(self) -> Scratch:
        url = os.environ.get("KAM_DATABASE_URL", "")
        if connection.vendor == "postgresql" and url:
            self.database = f"kam_bench_scratch_{os.getpid()}_{int(time.time() * 1000) % 10**8}"
            with connection.cursor() as cursor:
                cursor.execute(f"CREATE DATABASE {connection.ops.quote_name(self.database)}")
            parts = urllib.parse.urlsplit(url)
            self.env["KAM_DATABASE_URL"] = urllib.parse.urlunsplit(
                parts._replace(path="/" + self.database)
            )
        else:
            self.env.pop("KAM_DATABASE_URL", None)
        kam(["user", "add", "admin", "--role", "admin"], env=self.env)
        return self

    def __exit__(self, *exc) -> None:
        if self.database:
            with connection.cursor() as cursor:
                cursor.execute(
                    f"DROP DATABASE IF EXISTS {connection.ops.quote_name(self.database)}"
                )


def kam(args: list[str], *, env: dict[str, str]) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "kam.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode:
        raise RuntimeError(
            f"kam {' '.join(args)} failed: {done.stdout[-1000:]}{done.stderr[-2000:]}"
        )
    return done.stdout


# Runs a command and writes its peak RSS (KiB) to a file. The import is started from this
# small process, not from the bench's: Linux keeps the RSS high-water mark of the memory
# a process had before exec, and a child spawned from the bench (vfork) would report the
# bench's own peak — a gigabyte after the whole-book dashboard — as its own.
LAUNCHER = (
    "import os, subprocess, sys\n"
    "child = subprocess.Popen(sys.argv[2:])\n"
    "_pid, status, usage = os.wait4(child.pid, 0)\n"
    "open(sys.argv[1], 'w').write(str(usage.ru_maxrss))\n"
    "sys.exit(os.waitstatus_to_exitcode(status))\n"
)


def timed_import(path: Path, env: dict[str, str], log: Path) -> tuple[float, int, int, str]:
    """`kam import FILE --as admin`: wall seconds, peak RSS (KiB), exit code, its output."""
    peak = log.with_suffix(".rss")
    with log.open("wb") as out:
        t0 = time.perf_counter()
        done = subprocess.run(
            [
                sys.executable,
                "-c",
                LAUNCHER,
                str(peak),
                *(sys.executable, "-m", "kam.cli", "import", str(path), "--as", "admin"),
            ],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            check=False,
        )
        took = time.perf_counter() - t0
    rss = int(peak.read_text()) if peak.exists() else 0
    return took, rss, done.returncode, log.read_text(errors="replace")


def xlsx_end_to_end(ctx: Context) -> None:
    big = int(ctx.options.get("xlsx_rows", 100_000))
    results: dict[str, tuple[int, float, int] | None] = {}
    with tempfile.TemporaryDirectory(prefix="kam-bench-xlsx-") as tmp:
        for label, rows in (("half", big // 2), ("full", big)):
            path = Path(tmp) / f"import-{rows}.xlsx"
            t0 = time.perf_counter()
            accounts, deals = write_xlsx(
                path, rows, seed=ctx.plan.seed + 2000, today=ctx.plan.today
            )
            written = time.perf_counter() - t0
            with Scratch(Path(tmp) / f"data-{rows}") as scratch:
                took, rss, code, output = timed_import(path, scratch.env, Path(tmp) / f"log-{rows}")
            if code:
                ctx.say(f"  {rows:,} rows: kam import FAILED ({code}): {output[-800:]}")
                results[label] = None
                continue
            results[label] = (accounts + deals, took, rss)
            ctx.say(
                f"  {accounts + deals:,}-row .xlsx ({accounts:,} accounts + {deals:,} "
                f"opportunities, {path.stat().st_size / 1e6:,.1f} MB, written in "
                f"{written:,.1f} s): kam import {took:,.1f} s = {(accounts + deals) / took:,.0f} "
                f"rows/s, peak RSS {rss / 1024:,.0f} MB"
            )
    full, half = results.get("full"), results.get("half")
    goal = f"≤ {GOAL_XLSX_S:g} s"
    if full is None:
        ctx.record(Outcome("import", f"{big:,}-row .xlsx end to end", None, goal, None, "failed"))
        return
    n, took, rss = full
    ok = took <= GOAL_XLSX_S
    ctx.say(f"  {n:,} rows in {took:,.1f} s (goal {goal}) {verdict(ok)}")
    ctx.record(
        Outcome(
            "import",
            f"{n:,}-row .xlsx end to end",
            took,
            goal,
            ok,
            f"{n / took:,.0f} rows/s, peak RSS {rss / 1024:,.0f} MB",
        )
    )
    if half is not None:
        growth = rss / half[2]
        flat = growth <= 1.25
        ctx.say(
            f"  peak RSS {half[2] / 1024:,.0f} MB at {half[0]:,} rows → {rss / 1024:,.0f} MB at "
            f"{n:,}: ×{growth:.2f} for ×{n / half[0]:.1f} the rows (goal: does not grow with "
            f"the file, ≤ ×1.25) {verdict(flat)}"
        )
        ctx.record(Outcome("import", "peak RSS, 2× the rows", growth, "≤ 1.25×", flat))


def run(ctx: Context) -> None:
    ctx.say("== import: write_sheets vs raw executemany of the same rows; an .xlsx end to end ==")
    rows_per_second(ctx)
    xlsx_end_to_end(ctx)


def profiled(ctx: Context):
    """The call --profile profiles: the import batch (rolled back)."""
    _plan, gen, chunk = batch(ctx)
    return lambda: import_batch(gen, chunk, ctx.people["admin"])
