# ruff: noqa: S311  (seeded generators on purpose: the same data on every run)
"""A filtered, paginated opportunity list (GET /api/v1/opportunities?status=open&
owner_id=…&page=…&page_size=50) under 20 concurrent clients: `kam serve` (waitress)
runs in a subprocess on the bench database on a free loopback port; each client is a
process of its own with one keep-alive connection, signed in as a team's manager,
asking for a random page of a random rep of that team's open deals, again and again
for a fixed time. Prints p50 and p99 latency and throughput. Goal: p99 ≤ 50 ms.

Also, in-process: the statements one request runs at page sizes 10, 50 and 200, which
must not depend on the page size (one COUNT, one page, a fixed set of fact queries)."""

from __future__ import annotations

import http.client
import math
import multiprocessing
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from kam.benchmarks.common import Context, Outcome, QueryCounter, verdict
from kam.core.serving import default_workers

GOAL_P99_MS = 50.0
PAGE_SIZE = 50


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def targets(ctx: Context) -> list[dict]:
    """Per team: its manager's token and its reps with open deals, with how many pages
    of PAGE_SIZE each has."""
    from django.db.models import Count

    from kam.opportunities.models import Opportunity, Status

    open_by_owner = dict(
        Opportunity.objects.filter(status=Status.OPEN)
        .values_list("owner_id")
        .annotate(n=Count("id"))
        .values_list("owner_id", "n")
    )
    out = []
    for person in ctx.plan.people:
        if person.role != "manager":
            continue
        manager = ctx.people[person.username]
        reps = [
            (
                ctx.people[p.username].pk,
                math.ceil(open_by_owner[ctx.people[p.username].pk] / PAGE_SIZE),
            )
            for p in ctx.plan.rep_list
            if p.team == person.team and open_by_owner.get(ctx.people[p.username].pk)
        ]
        if reps:
            out.append({"token": ctx.token(person.username), "reps": reps, "manager": manager.pk})
    return out


def path(owner_id: int, page: int, page_size: int = PAGE_SIZE) -> str:
    return (
        f"/api/v1/opportunities?status=open&owner_id={owner_id}&page={page}&page_size={page_size}"
    )


def query_counts(ctx: Context, target: dict) -> dict[int, int]:
    """Statements per request at page sizes 10, 50 and 200 (the busiest rep's list)."""
    from django.test import Client

    client = Client(HTTP_HOST="localhost", HTTP_AUTHORIZATION=f"Bearer {target['token']}")
    owner = max(target["reps"], key=lambda r: r[1])[0]
    counts = {}
    for size in (10, 50, 200):
        client.get(path(owner, 1, size))  # the token's last-used touch happens once
        with QueryCounter() as counter:
            response = client.get(path(owner, 1, size))
        assert response.status_code == 200, response.content[:300]
        counts[size] = counter.count
    return counts


def _client(number: int, port: int, target: dict, start_at: float, stop_at: float, queue) -> None:
    """One client: requests on a keep-alive connection until stop_at; the latencies
    (ms) of those that started after start_at, and the errors."""
    rng = random.Random(number)
    headers = {"Authorization": f"Bearer {target['token']}", "Host": "localhost"}
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    latencies: list[float] = []
    errors = 0
    first_error = ""
    while True:
        began = time.time()
        if began >= stop_at:
            break
        owner, pages = rng.choice(target["reps"])
        t0 = time.perf_counter()
        try:
            conn.request("GET", path(owner, rng.randint(1, pages)), headers=headers)
            response = conn.getresponse()
            body = response.read()
            ok = response.status == 200
            if not ok and not first_error:
                first_error = f"{response.status} {body[:200]!r}"
        except (OSError, http.client.HTTPException) as exc:
            ok = False
            first_error = first_error or repr(exc)
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        took = (time.perf_counter() - t0) * 1000
        if began >= start_at:
            if ok:
                latencies.append(took)
            else:
                errors += 1
    conn.close()
    queue.put((latencies, errors, first_error))


class Server:
    """`kam serve` in a subprocess on the same database, on a free loopback port."""

    def __init__(self, *, threads: int, workers: int, token: str):
        self.port = free_port()
        self.threads = threads
        self.workers = workers
        self.token = token
        self.log = Path(tempfile.mkstemp(prefix="kam-bench-serve-", suffix=".log")[1])
        self.process: subprocess.Popen | None = None

    def __enter__(self) -> Server:
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "kam.cli",
                    "serve",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(self.port),
                    "--threads",
                    str(self.threads),
                    "--workers",
                    str(self.workers),
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                env=os.environ.copy(),
            )
        deadline = time.time() + 180
        while time.time() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"kam serve stopped: {self.log.read_text()[-2000:]}")
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
                conn.request(
                    "GET",
                    "/api/v1/opportunities?page_size=1",
                    headers={"Authorization": f"Bearer {self.token}", "Host": "localhost"},
                )
                if conn.getresponse().status == 200:
                    conn.close()
                    return self
            except OSError:
                time.sleep(0.3)
        raise RuntimeError(f"kam serve did not answer within 180 s: {self.log.read_text()[-2000:]}")

    def __exit__(self, *exc) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.unlink(missing_ok=True)


def load(port: int, targets_: list[dict], *, clients: int, seconds: float) -> dict:
    """`clients` processes for `seconds` (after 2 s of warm-up); latencies and counts."""
    from django.db import connections

    connections.close_all()  # the children are forked: they must not share a connection
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    start_at = time.time() + 2.0
    stop_at = start_at + seconds
    procs = [
        context.Process(
            target=_client,
            args=(i, port, targets_[i % len(targets_)], start_at, stop_at, queue),
            daemon=True,
        )
        for i in range(clients)
    ]
    for p in procs:
        p.start()
    results = [queue.get(timeout=seconds + 300) for _ in procs]
    for p in procs:
        p.join(timeout=30)
    latencies = sorted(x for r in results for x in r[0])
    errors = sum(r[1] for r in results)
    first_error = next((r[2] for r in results if r[2]), "")
    return {"latencies": latencies, "errors": errors, "first_error": first_error}


def percentile(values: list[float], q: float) -> float:
    if not values:
        return math.nan
    k = max(0, min(len(values) - 1, math.ceil(q * len(values)) - 1))
    return values[k]


def run(ctx: Context) -> None:
    clients = int(ctx.options.get("clients", 20))
    seconds = float(ctx.options.get("list_seconds", 20))
    threads = int(ctx.options.get("threads", 8))
    workers = ctx.options.get("workers") or default_workers()
    ctx.say(
        f"== list: GET /api/v1/opportunities?status=open&owner_id=…&page=…&page_size="
        f"{PAGE_SIZE}, {clients} clients × keep-alive against kam serve ({workers} "
        f"{'process' if workers == 1 else 'processes'} × {threads} threads), "
        f"{seconds:g} s =="
    )
    found = targets(ctx)
    if not found:
        ctx.say("  no open deals: nothing to list")
        return
    counts = query_counts(ctx, found[0])
    same = len(set(counts.values())) == 1
    ctx.say(
        "  statements per request by page size: "
        + ", ".join(f"{size} → {n}" for size, n in counts.items())
        + (" (independent of the page size) ok" if same else " DEPENDS ON THE PAGE SIZE")
    )
    ctx.record(
        Outcome(
            "list",
            "queries at page size 10 / 50 / 200",
            None,
            "equal",
            same,
            " / ".join(str(n) for n in counts.values()),
        )
    )
    with Server(threads=threads, workers=workers, token=found[0]["token"]) as server:
        alone = load(server.port, found, clients=1, seconds=min(5.0, seconds))
        result = load(server.port, found, clients=clients, seconds=seconds)
    one = alone["latencies"]
    ctx.say(
        f"  one client alone: p50 {percentile(one, 0.5):,.1f} ms, p99 "
        f"{percentile(one, 0.99):,.1f} ms ({len(one) / min(5.0, seconds):,.1f} req/s)"
    )
    lat = result["latencies"]
    p50, p99 = percentile(lat, 0.50), percentile(lat, 0.99)
    throughput = len(lat) / seconds
    ctx.say(
        f"  {len(lat):,} requests in {seconds:g} s = {throughput:,.1f} req/s; p50 {p50:,.1f} ms, "
        f"p99 {p99:,.1f} ms (goal p99 ≤ {GOAL_P99_MS:g} ms) {verdict(p99 <= GOAL_P99_MS)}; "
        f"errors {result['errors']}"
        + (f" (first: {result['first_error']})" if result["errors"] else "")
    )
    # Under a closed loop, latency ≈ clients ÷ throughput: the queue, not the request.
    ctx.say(
        f"  ({clients} clients in a closed loop on {os.cpu_count()} cores wait ≈ clients ÷ "
        f"throughput = {1000 * clients / throughput if throughput else math.nan:,.0f} ms a "
        "request, most of it queueing)"
    )
    ctx.record(
        Outcome(
            "list",
            f"p99 latency, {clients} clients",
            p99,
            f"≤ {GOAL_P99_MS:g} ms",
            p99 <= GOAL_P99_MS,
            f"p50 {p50:,.1f} ms, {throughput:,.1f} req/s",
        )
    )


def profiled(ctx: Context):
    """The call --profile profiles: one page of 50, in-process, as the load asks for it."""
    from django.test import Client

    target = targets(ctx)[0]
    client = Client(HTTP_HOST="localhost", HTTP_AUTHORIZATION=f"Bearer {target['token']}")
    owner = max(target["reps"], key=lambda r: r[1])[0]
    return lambda: client.get(path(owner, 1))
