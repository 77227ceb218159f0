"""`kam bench [generate | run]`: the options and what each verb does. kam/cli.py only
adds the sub-command and calls `main`."""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
from typing import TYPE_CHECKING, TextIO

from kam.cli import positive

if TYPE_CHECKING:  # the parser is built for every `kam` command: import the rest lazily
    from kam.benchmarks.common import Context

BENCHMARKS = ("dashboard", "list", "import", "risks")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "verb",
        nargs="?",
        choices=["generate", "run"],
        help="generate: load the data set into an empty database; run: the benchmarks on "
        "it. Without a verb: generate if the database is empty, then run.",
    )
    parser.add_argument(
        "--opportunities",
        type=positive,
        default=1_000_000,
        metavar="N",
        help="generate: how many opportunities (default 1,000,000; ~N/10 accounts, "
        "~N/2 contacts, ~5N events)",
    )
    parser.add_argument("--seed", type=int, default=1, help="generate: the seed (default 1)")
    parser.add_argument(
        "--chunk",
        type=positive,
        default=40_000,
        metavar="ROWS",
        help="generate: rows per import call, each its own transaction (default 40,000)",
    )
    parser.add_argument(
        "--only",
        default=",".join(BENCHMARKS),
        metavar="LIST",
        help=f"run: which benchmarks, comma-separated (default {','.join(BENCHMARKS)})",
    )
    parser.add_argument(
        "--runs", type=positive, default=5, help="run: timed runs of each side (median; default 5)"
    )
    parser.add_argument(
        "--clients", type=positive, default=20, help="run: concurrent list clients (default 20)"
    )
    parser.add_argument(
        "--seconds",
        type=float,
        default=20.0,
        help="run: how long the list clients run (default 20 s)",
    )
    parser.add_argument(
        "--threads",
        type=positive,
        default=8,
        help="run: threads of each kam serve process (default 8)",
    )
    parser.add_argument(
        "--workers",
        type=positive,
        default=None,
        help="run: kam serve's processes (default as kam serve's: one per core, at most 4)",
    )
    parser.add_argument(
        "--import-rows",
        type=positive,
        default=5000,
        metavar="N",
        help="run: opportunities in the import batch (with N/10 accounts and their "
        "contacts; default 5,000)",
    )
    parser.add_argument(
        "--xlsx-rows",
        type=positive,
        default=100_000,
        metavar="N",
        help="run: rows of the end-to-end .xlsx (and half as many; default 100,000)",
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="run: after each benchmark, profile one more request and print the top of "
        "cProfile's listing",
    )


def _only(text: str) -> list[str]:
    wanted = [w.strip() for w in text.split(",") if w.strip()]
    unknown = [w for w in wanted if w not in BENCHMARKS]
    if unknown or not wanted:
        from kam.core.errors import ValidationFailed

        raise ValidationFailed(
            f"--only takes {', '.join(BENCHMARKS)} (comma-separated), not {text!r}."
        )
    return wanted


def main(args: argparse.Namespace, *, out: TextIO = sys.stdout) -> int:
    from kam.benchmarks.generate import BenchRefused, Plan, check_empty, generate, recorded_plan
    from kam.core import clock

    only = _only(args.only)
    try:
        if args.verb == "generate" or (args.verb is None and recorded_plan() is None):
            if args.verb is None:
                check_empty()
            plan = Plan(opportunities=args.opportunities, seed=args.seed, today=clock.today())
            generate(plan, out=out, chunk_rows=args.chunk)
            if args.verb == "generate":
                return 0
            print(file=out)
    except BenchRefused as exc:
        print(f"kam bench: {exc}", file=sys.stderr)
        return 3
    return run(only=only, args=args, out=out)


def machine() -> str:
    import platform

    from django.db import connection

    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    if connection.vendor == "postgresql":
        version = connection.pg_version
        database = f"PostgreSQL {version // 10000}.{version % 10000}"
    else:
        import sqlite3

        database = f"SQLite {sqlite3.sqlite_version} (WAL)"
    return (
        f"{dt.date.today()}, {os.cpu_count()} cores "
        f"({platform.processor() or platform.machine()}), "
        f"{memory:.0f} GB, {platform.system()} {platform.release()}, Python "
        f"{platform.python_version()}, {database}"
    )


def peak_rss_mb() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def load() -> str:
    """The load average: the figures mean little on a machine that is busy otherwise."""
    one, five, _fifteen = os.getloadavg()
    return f"load average {one:.1f} (1 min), {five:.1f} (5 min)"


def run(*, only: list[str], args: argparse.Namespace, out: TextIO) -> int:
    from kam.benchmarks import dashboard, importing, listing, risks
    from kam.benchmarks.common import Context
    from kam.benchmarks.generate import counts, recorded_plan
    from kam.users.models import User

    plan = recorded_plan()
    if plan is None:
        print(
            "kam bench: this database holds no bench data set; run 'kam bench generate "
            "--opportunities N' on an empty database first.",
            file=sys.stderr,
        )
        return 3
    people = {
        u.username: u for u in User.objects.filter(username__in=[p.username for p in plan.people])
    }
    ctx = Context(
        plan=plan,
        people=people,
        out=out,
        runs=args.runs,
        options={
            "clients": args.clients,
            "list_seconds": args.seconds,
            "threads": args.threads,
            "workers": args.workers,
            "import_rows": args.import_rows,
            "xlsx_rows": args.xlsx_rows,
            "profile": args.profile,
        },
    )
    found = counts()
    ctx.say(f"kam bench run — {machine()}; {load()}")
    ctx.say(
        f"data set: {plan.opportunities:,} opportunities generated with seed {plan.seed} as of "
        f"{plan.today}; the database holds {found.users:,} users, {found.accounts:,} accounts, "
        f"{found.contacts:,} contacts, {found.opportunities:,} opportunities, "
        f"{found.events:,} events"
    )
    modules = {"dashboard": dashboard, "list": listing, "import": importing, "risks": risks}
    for name in only:
        ctx.say()
        modules[name].run(ctx)
        ctx.say(f"  (this process's peak RSS so far: {peak_rss_mb():,.0f} MB)")
        if args.profile and hasattr(modules[name], "profiled"):
            profile(ctx, name, modules[name].profiled(ctx))
    ctx.say()
    ctx.say(f"== summary == ({load()} at the end)")
    for outcome in ctx.outcomes:
        ctx.say("  " + outcome.line())
    return (
        1
        if any(o.met is None and o.value is None and o.goal != "equal" for o in ctx.outcomes)
        else 0
    )


def profile(ctx: Context, name: str, fn) -> None:
    """One more call of the benchmark's KAM side under cProfile: KAM's own functions by
    cumulative time, then every function by its own time."""
    import cProfile
    import io
    import pstats
    import re
    from pathlib import Path

    profiler = cProfile.Profile()
    profiler.enable()
    fn()
    profiler.disable()
    text = io.StringIO()
    stats = pstats.Stats(profiler, stream=text)
    stats.sort_stats("cumulative").print_stats(r"/kam/(?!benchmarks)", 25)
    stats.sort_stats("tottime").print_stats(15)
    root = str(Path(__file__).resolve().parents[2]) + "/"
    shown = re.sub(r"\S*/(?:site-packages|python3\.\d+)/", "", text.getvalue().replace(root, ""))
    ctx.say(f"-- cProfile of one {name} call: KAM's functions by cumulative time, all by own --")
    ctx.say(shown.rstrip())
