# ruff: noqa: S311  (seeded generators on purpose: the same data on every run)
"""The bench data set: a book of N opportunities, as spreadsheet rows, loaded through
the import (`importer.write_sheets`) in chunks, each chunk its own transaction.

**Deterministic.** The rows are a function of (N, seed, today, prefix): every account
draws from a `random.Random` seeded with the seed and its own number, so an account,
its contacts and its deals are the same whatever the chunk size, and two runs with the
same arguments write the same rows. Dates are relative to `today` (open deals must be
open now, closed ones closed in the past); the day is recorded with the data set.

**Realistic** (the shape issue 10 asks for; tests/bench/test_generate.py checks it):
- people: one admin; ⌈N/3,000⌉ reps (8 to 400) in teams of about ten, a manager each;
  how much each rep sells is skewed (log-normal), an account's deals are mostly its
  account manager's, the rest a team-mate's;
- ~N/10 accounts: industry, city in the team's sales area, size, ownership nature
  (by industry), account type, annual revenue, collection cycle, value positioning;
  names made of the demo's vocabulary (kam/demo/vocab.py), codes A0000001 …;
- ~5 contacts per account (3–7) on the usual posts of a buying organisation, each
  reporting to the nearest filled post above; some new, some gone;
- N deals spread over the accounts by size (larger accounts buy more; some buy
  nothing), 85 % on the standard playbook, 15 % on the five milestones;
  ~30 % open, 25 % won, 25 % lost, 20 % abandoned; open deals mostly in the early
  stages (35/25/18/13/9 %), each stage's entry day drawn from its healthy dwell time
  (about a third of the open deals beyond it: stalled), expected close mostly ahead
  (8 % overdue); closed deals over the last four years, more of them recent;
  buyer stage aligned with ours for 85 %, behind for 10 %, ahead for 5 %; amounts
  log-normal around 800k CNY (50k–50M), larger at larger accounts.

The import gives every deal its history from the stage dates: a created event, one
`advanced` event per later stage and a `closed` event — about 4 events a deal, 5 with
the accounts' and contacts' own (created, and each contact's boss set)."""

from __future__ import annotations

import bisect
import datetime as dt
import itertools
import math
import random
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, TextIO

from kam.demo import vocab

HEADERS = {
    "accounts": (
        "code",
        "name",
        "owner",
        "industry",
        "region",
        "size",
        "nature",
        "account_type",
        "annual_revenue",
        "collection_cycle_days",
        "value_positioning",
    ),
    "contacts": (
        "code",
        "account",
        "name",
        "title",
        "department",
        "reports_to",
        "layer",
        "disc",
        "status",
        "joined_at",
        "left_at",
        "phone",
    ),
    "opportunities": (
        "code",
        "account",
        "name",
        "owner",
        "amount",
        "currency",
        "expected_close",
        "playbook",
        "stage",
        "stage_dates",
        "buyer_stage",
        "status",
        "closed_on",
        "close_reason",
        "description",
    ),
}
TITLES = {"accounts": "Accounts", "contacts": "Contacts", "opportunities": "Opportunities"}

DEALS_PER_REP = 3000
MIN_REPS, MAX_REPS = 8, 400
TEAM_SIZE = 10
YEARS = 4
SIZES = (("small", 30), ("medium", 35), ("large", 25), ("very_large", 10))
# How many more deals a size buys, and how much larger they are.
SIZE_DEALS = {"small": 0.5, "medium": 1.0, "large": 2.0, "very_large": 4.0}
SIZE_AMOUNT = {"small": 0.5, "medium": 0.8, "large": 1.3, "very_large": 2.0}
SIZE_REVENUE = {"small": 5e7, "medium": 3e8, "large": 2e9, "very_large": 1.5e10}
ACCOUNT_TYPES = (("transactional", 50), ("value", 35), ("strategic", 15))
# Status of a deal: open, won, lost, abandoned.
STATUSES = (("open", 30), ("won", 25), ("lost", 25), ("abandoned", 20))
# Where deals stand, by position among the stages up to the winning one.
OPEN_STAGE_WEIGHTS = (35, 25, 18, 13, 9)
DROPPED_STAGE_WEIGHTS = (22, 20, 22, 26, 10)
# A won deal on a playbook with stages after the winning one (implementation) is
# there this often: the project being delivered.
WON_PAST_WINNING = 0.45
OTHER_PLAYBOOK_SHARE = 0.15
MIN_AMOUNT, MAX_AMOUNT = 50_000, 50_000_000


@dataclass(frozen=True)
class Person:
    username: str
    role: str  # admin | manager | rep
    team: str  # "" for the admin
    display_name: str


@dataclass(frozen=True)
class StageInfo:
    key: str
    healthy_days: int
    buyer_stages: tuple[str, ...]


@dataclass(frozen=True)
class PlaybookInfo:
    key: str
    stages: tuple[StageInfo, ...]
    winning: int  # position of the winning stage


def methodology() -> tuple[dict[str, PlaybookInfo], tuple[str, ...], str, str]:
    """The playbooks (stage keys, healthy dwell, buyer stages), the buyer stages, the
    default playbook and the other one, from the methodology KAM runs with."""
    from kam.methodology import registry

    books = {}
    for key in registry.playbook_keys():
        book = registry.playbook(key)
        stages = tuple(
            StageInfo(s.key, s.healthy_dwell_days, tuple(s.buyer_stages)) for s in book.stages
        )
        winning = book.winning_stage
        books[key] = PlaybookInfo(
            key,
            stages,
            book.stage_keys.index(winning.key) if winning is not None else len(stages) - 1,
        )
    default = registry.default_playbook_key()
    others = sorted(k for k in books if k != default)
    return books, tuple(registry.buyer_process().keys), default, others[0] if others else default


@dataclass(frozen=True)
class Plan:
    """What to generate. `prefix` starts every code and username-free key, so a second
    batch (the import benchmark's) can sit beside the first; `owners` False leaves
    the owner columns out (the import then gives everything to the importing user);
    `contacts` False leaves the contacts sheet out."""

    opportunities: int
    seed: int = 1
    today: dt.date = field(default_factory=dt.date.today)
    prefix: str = ""
    owners: bool = True
    contacts: bool = True

    @property
    def accounts(self) -> int:
        return max(1, round(self.opportunities / 10))

    @property
    def reps(self) -> int:
        return min(MAX_REPS, max(MIN_REPS, math.ceil(self.opportunities / DEALS_PER_REP)))

    @property
    def teams(self) -> int:
        return max(2, round(self.reps / TEAM_SIZE))

    def rng(self, *parts: Any) -> random.Random:
        # A str seed is hashed with SHA-512: the same on every run and machine.
        return random.Random("/".join(map(str, (self.seed, self.prefix, *parts))))

    @cached_property
    def people(self) -> tuple[Person, ...]:
        """The admin, a manager per team, then the reps (rep j in team j mod teams)."""
        rng = self.rng("people")
        names: set[str] = set()
        out = [Person("admin", "admin", "", "系统管理员")]
        teams = [self.team_name(t) for t in range(self.teams)]
        for t, team in enumerate(teams):
            out.append(Person(f"mgr{t + 1:02d}", "manager", team, _person_name(rng, names)))
        for j in range(self.reps):
            out.append(
                Person(f"rep{j + 1:03d}", "rep", teams[j % self.teams], _person_name(rng, names))
            )
        return tuple(out)

    def team_name(self, t: int) -> str:
        areas = tuple(vocab.CITIES)
        return f"{areas[t % len(areas)]}{t // len(areas) + 1}组"

    @cached_property
    def rep_list(self) -> tuple[Person, ...]:
        return tuple(p for p in self.people if p.role == "rep")

    @cached_property
    def _rep_cum_weights(self) -> list[float]:
        rng = self.rng("rep-weights")
        return list(itertools.accumulate(rng.lognormvariate(0, 0.6) for _ in self.rep_list))

    def pick_rep(self, rng: random.Random) -> int:
        """A rep's index, the busier reps more often."""
        cum = self._rep_cum_weights
        return bisect.bisect_right(cum, rng.random() * cum[-1])

    @cached_property
    def deal_counts(self) -> list[int]:
        """Deals per account: N split by each account's weight (its size times a
        log-normal draw), largest remainder; some accounts get none."""
        weights = [_account_weight(self.rng("account", i)) for i in range(self.accounts)]
        return apportion(self.opportunities, weights)

    @cached_property
    def first_deal(self) -> list[int]:
        """The number of each account's first deal (codes run in account order)."""
        return [0, *itertools.accumulate(self.deal_counts)][:-1]


def apportion(total: int, weights: list[float]) -> list[int]:
    """`total` split in proportion to `weights` (largest remainder; ties by position)."""
    share = sum(weights)
    raw = [total * w / share for w in weights]
    counts = [math.floor(r) for r in raw]
    left = total - sum(counts)
    for i in sorted(range(len(raw)), key=lambda i: (counts[i] - raw[i], i))[:left]:
        counts[i] += 1
    return counts


def _account_weight(rng: random.Random) -> float:
    """The first two draws of an account's generator (see `_account`): its size and how
    much it buys."""
    size = _weighted(rng, SIZES)
    return SIZE_DEALS[size] * rng.lognormvariate(0, 0.7)


def _weighted(rng: random.Random, pairs: tuple[tuple[str, int], ...]) -> str:
    total = sum(w for _k, w in pairs)
    x = rng.random() * total
    for key, w in pairs:
        x -= w
        if x < 0:
            return key
    return pairs[-1][0]


def _position(rng: random.Random, weights: tuple[int, ...], n: int) -> int:
    """A position among the first `n` stages by `weights`."""
    ws = weights[:n]
    x = rng.random() * sum(ws)
    for i, w in enumerate(ws):
        x -= w
        if x < 0:
            return i
    return n - 1


def _person_name(rng: random.Random, taken: set[str]) -> str:
    for _ in range(20):
        name = rng.choice(vocab.SURNAMES) + rng.choice(vocab.GIVEN_NAMES)
        if name not in taken:
            break
    taken.add(name)
    return name


def _round_sig(value: float, digits: int = 3) -> int:
    magnitude = 10 ** (int(math.floor(math.log10(value))) - digits + 1)
    return int(round(value / magnitude) * magnitude)


# --- rows ------------------------------------------------------------------------------------


@dataclass
class Chunk:
    """The rows of accounts `first` … `last - 1`, with their contacts and deals."""

    first: int
    last: int
    rows: dict[str, list[tuple]]

    @property
    def size(self) -> int:
        return sum(len(r) for r in self.rows.values())


class Generator:
    """Rows for a plan, account by account."""

    def __init__(self, plan: Plan):
        self.plan = plan
        self.books, self.buyer_keys, self.default_book, self.other_book = methodology()
        self.buyer_index = {k: i for i, k in enumerate(self.buyer_keys)}
        self.posts = {p.key: p for p in vocab.POSTS}
        self.areas = tuple(vocab.CITIES)
        self.team_of = [j % plan.teams for j in range(len(plan.rep_list))]
        self.team_reps: dict[int, list[int]] = {}
        for j, t in enumerate(self.team_of):
            self.team_reps.setdefault(t, []).append(j)

    def headers(self, kind: str) -> tuple[str, ...]:
        out = HEADERS[kind]
        if not self.plan.owners:
            out = tuple(h for h in out if h != "owner")
        return out

    def header_row(self, kind: str) -> tuple[str, ...]:
        """The headers as a Chinese user's file has them (the template's zh-Hans names)."""
        from kam.transfer import columns as cols

        return tuple(cols.KINDS[kind].column(key).zh for key in self.headers(kind))

    def code(self, letter: str, number: int) -> str:
        return f"{self.plan.prefix}{letter}{number + 1:07d}"

    def chunks(self, rows: int = 40_000) -> Iterator[Chunk]:
        """The data set in chunks of about `rows` rows (whole accounts)."""
        chunk = self._empty(0)
        for i in range(self.plan.accounts):
            self.account(i, chunk.rows)
            if chunk.size >= rows:
                chunk.last = i + 1
                yield chunk
                chunk = self._empty(i + 1)
        if chunk.size:
            chunk.last = self.plan.accounts
            yield chunk

    def _empty(self, first: int) -> Chunk:
        kinds = ["accounts", "opportunities"]
        if self.plan.contacts:
            kinds.insert(1, "contacts")
        return Chunk(first, first, {k: [] for k in kinds})

    def sheets(self, chunk: Chunk):
        """The chunk as the import's sheets: title, header row, rows."""
        from kam.transfer.files import Sheet

        return [
            Sheet(TITLES[kind], iter([self.header_row(kind), *rows]))
            for kind, rows in chunk.rows.items()
        ]

    # --- one account ---------------------------------------------------------------------

    def account(self, i: int, out: dict[str, list[tuple]]) -> None:
        plan = self.plan
        rng = plan.rng("account", i)
        size = _weighted(rng, SIZES)
        rng.lognormvariate(0, 0.7)  # the weight's draw (see _account_weight)
        rep = plan.pick_rep(rng)
        team = self.team_of[rep]
        area = self.areas[team % len(self.areas)]
        city = rng.choice(vocab.CITIES[area])
        industry = rng.choice(vocab.INDUSTRIES)
        nature = rng.choice(industry.natures)
        brand = rng.choice(vocab.BRANDS)
        code = self.code("A", i)
        row = [
            code,
            _account_name(rng, brand=brand, city=city, industry=industry, nature=nature, size=size),
            plan.rep_list[rep].username,
            industry.name,
            city,
            size,
            nature,
            _weighted(rng, ACCOUNT_TYPES),
            _round_sig(SIZE_REVENUE[size] * rng.lognormvariate(0, 0.5)),
            rng.choice((30, 45, 60, 60, 90, 90, 120, 180)),
            rng.randint(1, 5),
        ]
        if not plan.owners:
            del row[2]
        out["accounts"].append(tuple(row))
        if plan.contacts:
            self.contacts(rng, i, code, out["contacts"])
        first = plan.first_deal[i]
        for k in range(plan.deal_counts[i]):
            out["opportunities"].append(self.deal(rng, first + k, code, industry, size, rep, team))

    def contacts(self, rng: random.Random, i: int, account: str, out: list[tuple]) -> None:
        """3–7 people on the usual posts (the general manager always), each reporting
        to the nearest filled post above."""
        count = rng.choice((3, 4, 5, 5, 6, 7))
        chosen = {"gm", *rng.sample([p.key for p in vocab.POSTS[1:]], count - 1)}
        ordered = [p for p in vocab.POSTS if p.key in chosen]
        codes = {p.key: self.code("C", i * 10 + n) for n, p in enumerate(ordered)}
        today = self.plan.today
        names: set[str] = set()
        for n, post in enumerate(ordered):
            boss = post.parent
            while boss is not None and boss not in codes:
                boss = self.posts[boss].parent
            joined = (
                today - dt.timedelta(days=rng.randint(8, 3650)) if rng.random() < 0.55 else None
            )
            status, left = "active", None
            if n and rng.random() < 0.05:
                status, left = "left", today - dt.timedelta(days=rng.randint(5, 150))
                if joined is None or joined > left:
                    joined = left - dt.timedelta(days=rng.randint(300, 3000))
            out.append(
                (
                    codes[post.key],
                    account,
                    _person_name(rng, names),
                    post.title,
                    post.department,
                    codes[boss] if boss else None,
                    post.layer,
                    rng.choice("DISC") if rng.random() < 0.45 else None,
                    status,
                    joined,
                    left,
                    f"1{rng.choice('3589')}{rng.randrange(10**9):09d}",
                )
            )

    def deal(
        self,
        rng: random.Random,
        number: int,
        account: str,
        industry: vocab.Industry,
        size: str,
        rep: int,
        team: int,
    ) -> tuple:
        plan = self.plan
        today = plan.today
        book = self.books[
            self.other_book if rng.random() < OTHER_PLAYBOOK_SHARE else self.default_book
        ]
        status = _weighted(rng, STATUSES)
        reachable = book.winning + 1  # stages up to the winning one
        if status == "open":
            position = _position(rng, OPEN_STAGE_WEIGHTS, reachable)
        elif status == "won":
            position = book.winning
            if len(book.stages) > reachable and rng.random() < WON_PAST_WINNING:
                position = reachable
        else:
            position = _position(rng, DROPPED_STAGE_WEIGHTS, reachable)
        current = book.stages[position]
        # Days in each stage before the current one; the current one's so far.
        dwell = [
            max(1, int(rng.lognormvariate(math.log(s.healthy_days * 0.6), 0.6)))
            for s in book.stages[:position]
        ]
        if status == "open":
            end = today
            in_current = int(rng.uniform(0, 1.6 * current.healthy_days))
            closed_on = None
            ahead = rng.randint(-60, -1) if rng.random() < 0.08 else rng.randint(15, 400)
            expected = today + dt.timedelta(days=ahead)
        else:
            age = max(1, int(YEARS * 365 * rng.random() ** 1.3))
            closed_on = end = today - dt.timedelta(days=age)
            in_current = 0 if status == "won" else int(rng.uniform(0, 1.2 * current.healthy_days))
            expected = closed_on + dt.timedelta(days=rng.randint(-45, 20))
        day = end - dt.timedelta(days=in_current)
        days = [day]
        for d in reversed(dwell):
            day -= dt.timedelta(days=d)
            days.append(day)
        days.reverse()
        if status == "won" and position > book.winning:
            # Won on the day the contract was signed; implementation began then.
            closed_on = days[-1]
        buyer = self._buyer_stage(rng, book, position)
        product = rng.choice(industry.products)
        amount = _round_sig(
            min(
                MAX_AMOUNT,
                max(MIN_AMOUNT, rng.lognormvariate(math.log(800_000), 1.0) * SIZE_AMOUNT[size]),
            )
        )
        owner = rep
        if rng.random() < 0.15:
            owner = rng.choice(self.team_reps[team])
        reason = ""
        if status in ("lost", "abandoned"):
            reason = rng.choice(
                [c[3] for c in vocab.CLOSINGS if c[2] == status] or ["客户取消项目。"]
            )
        description = None
        if rng.random() < 0.3:
            phase = (
                "early"
                if position < 2
                else "middle"
                if position < book.winning
                else "late"
                if position == book.winning
                else "after"
            )
            description = rng.choice(vocab.DESCRIPTIONS[phase]).format(year=expected.year)
        row = [
            self.code("O", number),
            account,
            f"{product}({expected.year})",
            plan.rep_list[owner].username,
            amount,
            "CNY",
            expected,
            book.key,
            current.key,
            "; ".join(d.isoformat() for d in days),
            buyer,
            status,
            closed_on,
            reason or None,
            description,
        ]
        if not plan.owners:
            del row[3]
        return tuple(row)

    def _buyer_stage(self, rng: random.Random, book: PlaybookInfo, position: int) -> str:
        mapped = book.stages[position].buyer_stages or (self.buyer_keys[-1],)
        x = rng.random()
        if x < 0.85:
            return rng.choice(mapped)
        positions = [self.buyer_index[k] for k in mapped]
        if x < 0.95:  # the customer is further than we are: we are late
            return self.buyer_keys[min(len(self.buyer_keys) - 1, max(positions) + 1)]
        return self.buyer_keys[max(0, min(positions) - 1)]  # we are ahead of the buyer


def _account_name(
    rng: random.Random, *, brand: str, city: str, industry: vocab.Industry, nature: str, size: str
) -> str:
    word = rng.choice(industry.words)
    if nature == "soe":
        return f"{city}{brand}{word}集团有限公司"
    if nature == "foreign":
        return f"{rng.choice(vocab.FOREIGN_BRANDS)}({city}){word}有限公司"
    if nature == "jv":
        return f"{city}{brand}{rng.choice(vocab.FOREIGN_BRANDS)}{word}有限公司"
    if nature == "public_institution":
        return f"{city}{brand}{word}"
    legal = "股份有限公司" if size in ("large", "very_large") else "有限公司"
    return f"{city}{brand}{word}{legal}"


# --- loading ---------------------------------------------------------------------------------


class BenchRefused(Exception):
    """Nothing was generated; the message says why."""


@dataclass(frozen=True)
class Counts:
    users: int
    accounts: int
    contacts: int
    opportunities: int
    events: int


def counts() -> Counts:
    from kam.accounts.models import Account
    from kam.contacts.models import Contact
    from kam.core.models import Event
    from kam.opportunities.models import Opportunity
    from kam.users.models import User

    return Counts(
        User.objects.count(),
        Account.objects.count(),
        Contact.objects.count(),
        Opportunity.objects.count(),
        Event.objects.count(),
    )


def check_empty() -> None:
    found = counts()
    if found.accounts or found.contacts or found.opportunities:
        raise BenchRefused(
            f"This database already holds data ({found.accounts:,} accounts, "
            f"{found.contacts:,} contacts, {found.opportunities:,} opportunities); the bench "
            "data loads only into an empty one, so nothing was written. Point KAM_DATA_DIR "
            "at a new folder (or KAM_DATABASE_URL at an empty database), or run "
            "'kam bench run' to measure the data that is there."
        )


def ensure_people(plan: Plan) -> dict[str, Any]:
    """The plan's users, created through `user_create` (no password: they sign in with
    API tokens); those that exist already are kept."""
    from kam.users.models import User
    from kam.users.services import user_create

    existing = {
        u.username: u for u in User.objects.filter(username__in=[p.username for p in plan.people])
    }
    out = {}
    for p in plan.people:
        out[p.username] = existing.get(p.username) or user_create(
            username=p.username, role=p.role, team=p.team or None, display_name=p.display_name
        )
    return out


GENERATED = ("bench", "generated")


def recorded_plan() -> Plan | None:
    """The plan of the data set in this database (recorded when it was generated)."""
    from kam.core.models import Event

    event = Event.objects.filter(entity=GENERATED[0], action=GENERATED[1]).order_by("-id").first()
    if event is None:
        return None
    a = event.after
    return Plan(
        opportunities=int(a["opportunities"]),
        seed=int(a["seed"]),
        today=dt.date.fromisoformat(a["today"]),
    )


def write_chunk(gen: Generator, chunk: Chunk, *, actor, name: str):
    """One chunk through the import, in a transaction of its own; the import's report."""
    from kam.transfer import importer

    report = importer.write_sheets(gen.sheets(chunk), actor=actor, name=name)
    if not report.written:
        problems = "; ".join(
            f"{p.sheet} row {p.row} {p.column}: {p.message}" for p in report.errors[:5]
        )
        raise BenchRefused(
            f"The import refused {name} ({report.error_count} errors), so it stopped there: "
            f"{problems}"
        )
    return report


def generate(plan: Plan, *, out: TextIO, chunk_rows: int = 40_000) -> Counts:
    """Load the plan's data set into the (empty) database through the import, printing
    progress and rows per second; the final counts."""
    from kam.core import audit
    from kam.core.db import refresh_statistics

    check_empty()
    started = time.perf_counter()
    people = ensure_people(plan)
    admin = people["admin"]
    print(
        f"Generating {plan.opportunities:,} opportunities (seed {plan.seed}, as of "
        f"{plan.today}): ~{plan.accounts:,} accounts, {plan.reps} reps in {plan.teams} "
        f"teams; through the import in chunks of ~{chunk_rows:,} rows.",
        file=out,
        flush=True,
    )
    gen = Generator(plan)
    rows = deals = 0
    load_s = 0.0
    for n, chunk in enumerate(gen.chunks(chunk_rows), start=1):
        t0 = time.perf_counter()
        write_chunk(gen, chunk, actor=admin, name=f"bench chunk {n}")
        load_s += time.perf_counter() - t0
        rows += chunk.size
        deals += len(chunk.rows["opportunities"])
        elapsed = time.perf_counter() - started
        done = deals / plan.opportunities if plan.opportunities else 1
        eta = elapsed / done - elapsed if done else 0
        print(
            f"  chunk {n}: accounts {chunk.last:,}/{plan.accounts:,}, opportunities "
            f"{deals:,}/{plan.opportunities:,}; {rows / load_s:,.0f} rows/s in the import, "
            f"{elapsed:,.0f} s so far, ~{eta:,.0f} s to go",
            file=out,
            flush=True,
        )
    refresh_statistics()
    audit.record(
        actor=admin,
        entity=GENERATED[0],
        entity_id=0,
        action=GENERATED[1],
        after={
            "opportunities": plan.opportunities,
            "seed": plan.seed,
            "today": plan.today.isoformat(),
            "rows": rows,
            "seconds": round(time.perf_counter() - started, 1),
        },
    )
    total = time.perf_counter() - started
    found = counts()
    print(
        f"Done in {total:,.0f} s: {rows:,} rows at {rows / total:,.0f} rows/s overall "
        f"({rows / load_s if load_s else 0:,.0f} rows/s in the import). The database holds "
        f"{found.users:,} users, {found.accounts:,} accounts, {found.contacts:,} contacts, "
        f"{found.opportunities:,} opportunities, {found.events:,} events.",
        file=out,
        flush=True,
    )
    return found
