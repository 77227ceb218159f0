"""The manager's dashboard (路标管理, SPEC §8): where the visible book stands now and
how far it moved in a period, measured by the customer's buying process rather
than by calls made.

**Book**: the deals the user may see (`opportunities_for_user`: a rep their own, a
manager their team's, an admin all), narrowed by owner, team and playbook.

**Now** (open deals of the book, whatever the period):
- funnels by our stage (per playbook that has open deals — every playbook when none
  has, or the one filtered on — up to its winning stage) and by the buyer's
  stage: count, amount, and weighted amount = Σ amount × the deal's win probability
  (the same probability, with the same factors, that its page shows), each deal's
  product rounded to the fen;
- forecast by expected-close month (count, amount, weighted), beside the amount won
  in each month;
- stalled deals (a `stalled` alert: days in the stage beyond its healthy dwell time)
  with the key-node items still missing; alerts by severity and code; A deals at risk
  (priority A with at least one high alert).

**Period** (a named period such as 2026Q4 or two dates; default: this quarter):
- progress (推进了多少): for each deal, the buyer stages it moved forward and back in
  the period (over its buyer-stage changes, each counted by how many stages it
  jumped) and the net = forward − back = where the customer ended minus where it
  began. Advanced: net > 0 (stages advanced = Σ net of those deals); moved back: any
  step back in the period (stages back = Σ back), so a failed tender shows even when
  the deal had gained ground earlier in the period; per rep with our own stage
  advances and the deals won;
- stage exits: per stage, the deals that left it by advancing (forced ones counted
  too) and those lost or abandoned while in it; conversion = advanced ÷ (advanced +
  dropped); median days = median whole days in the stage of those that advanced;
- forced moves made in the period, with the items still unmet today (open deals);
- win rate = won ÷ closed (won, lost, abandoned) among deals closed in the period,
  by count and by amount; cycle length = days from creation to the win, median and
  mean, of the deals won in the period.

Queries: a fixed number whatever the size of the book (tests/opportunities/
test_pipeline.py counts them). The open deals are counted and summed in SQL over their
kept assessments (kam/opportunities/stored.py): two grouped queries, by stage, buyer
stage and expected close, and by owner and combination of alerts; the few deals whose
kept assessment no longer holds are read and assessed here and added one by one. The
period's figures are grouped in SQL too: the buyer-stage moves summed per deal, the
stage advances by stage, whole days in it (`kam.core.db.WholeDays`) and owner, the deals
closed by outcome, stage and owner and the won by days from creation — medians come
from those counts. Every query reads the same moment of the database
(`kam.core.db.one_moment`), so the figures add up while others write.

`drill[figure]` holds the ids of the deals behind every number, so the dashboard can
list them (`deal_ids_behind`): the buyer-stage moves' and forced moves' as lists, the
others read when asked for (`Drill`; `drill.count(figure)` without reading them)."""

from __future__ import annotations

import datetime as dt
import re
import statistics
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db import connection
from django.db.models import (
    BigIntegerField,
    Case,
    Count,
    DateTimeField,
    ExpressionWrapper,
    F,
    FloatField,
    IntegerField,
    OuterRef,
    Q,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.fields.json import KT
from django.db.models.functions import Cast, Round, TruncMonth
from django.db.models.lookups import GreaterThan, LessThan
from django.utils import timezone
from django.utils.translation import gettext as _

from kam.core import clock
from kam.core.db import WholeDays, YearMonth, one_moment
from kam.core.errors import ValidationFailed
from kam.core.models import Event
from kam.core.periods import Period, dates_period, named_period, quarter_of
from kam.core.permissions import user_scope
from kam.methodology import registry, risks
from kam.opportunities import stored
from kam.opportunities.alerts import SEVERITIES, in_rule_order
from kam.opportunities.assess import assess_many
from kam.opportunities.models import ForcedMove, Opportunity, Status
from kam.opportunities.selectors import opportunities_for_user
from kam.users.models import Role, Team, User

ZERO = Decimal("0.00")
CENT = Decimal("0.01")
CLOSED = (Status.WON, Status.LOST, Status.ABANDONED)
DROPPED = (Status.LOST, Status.ABANDONED)
ADVANCE_ACTIONS = ("advanced", "force_advanced")
# Months between the first and the last of the forecast filled with empty months, so the
# chart's time axis is continuous; a longer span shows only the months that have data.
FILL_MONTHS_MAX = 36
# The stalled and the A-at-risk deals listed in full (their drill figures hold them all).
LISTED = 50


# --- filters ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Filters:
    period: Period
    owner: User | None = None
    team: Team | None = None
    playbook: str = ""

    def query(self) -> dict[str, str]:
        """The filters as query-string parameters (links, the export, drill-down)."""
        out: dict[str, str] = {}
        if self.period.key:
            out["period"] = self.period.key
        else:
            out["start"] = self.period.start.isoformat()
            out["end"] = self.period.end.isoformat()
        if self.owner is not None:
            out["owner"] = str(self.owner.pk)
        if self.team is not None:
            out["team"] = str(self.team.pk)
        if self.playbook:
            out["playbook"] = self.playbook
        return out


def parse_filters(
    user,
    *,
    period: str | None = None,
    start: Any = None,
    end: Any = None,
    owner: int | None = None,
    team: int | None = None,
    playbook: str = "",
) -> Filters:
    """The filters a request asks for, checked; bad input is a ValidationFailed naming
    the field. An owner or team the user cannot see is refused the same way as one that
    does not exist, so the answer does not tell which."""
    if period and (start is not None or end is not None):
        raise ValidationFailed(
            _("Give either a period (such as 2026Q4) or start and end, not both."), field="period"
        )
    if period:
        span = named_period(period)
    elif start is not None or end is not None:
        span = dates_period(start, end)
    else:
        span = quarter_of(clock.today())
    if playbook and playbook not in registry.playbook_keys():
        raise ValidationFailed(
            _("Unknown playbook “%(value)s”. Use one of: %(known)s.")
            % {"value": playbook, "known": ", ".join(registry.playbook_keys())},
            field="playbook",
        )
    person = None
    if owner is not None:
        person = User.objects.filter(user_scope(user), pk=owner).first()
        if person is None:
            raise ValidationFailed(
                _("No one with id %(id)s among the people whose deals you see.") % {"id": owner},
                field="owner",
            )
    group = None
    if team is not None:
        group = Team.objects.filter(pk=team).first()
        visible = group is not None and (
            user.role == Role.ADMIN or (user.role == Role.MANAGER and user.team_id == group.pk)
        )
        if not visible:
            raise ValidationFailed(
                _("No team with id %(id)s among the teams whose deals you see.") % {"id": team},
                field="team",
            )
    return Filters(period=span, owner=person, team=group, playbook=playbook)


# --- results ---------------------------------------------------------------------------------


@dataclass
class Days:
    """Durations in whole days, as how many took each (the database counts them)."""

    counts: dict[int, int] = field(default_factory=dict)

    def add(self, days: int, n: int = 1) -> None:
        self.counts[days] = self.counts.get(days, 0) + n

    def __len__(self) -> int:
        return sum(self.counts.values())

    def sorted(self) -> list[int]:
        return [d for d in sorted(self.counts) for _i in range(self.counts[d])]

    @property
    def median(self) -> float | None:
        """As statistics.median of the durations: the middle one, or the mean of the
        middle two."""
        n = len(self)
        if not n:
            return None
        wanted, found, seen = {(n - 1) // 2, n // 2}, [], 0
        for days in sorted(self.counts):
            seen += self.counts[days]
            while wanted and min(wanted) < seen:
                wanted.discard(min(wanted))
                found.append(days)
        return float(statistics.fmean(found))

    @property
    def mean(self) -> float | None:
        n = len(self)
        return round(sum(d * k for d, k in self.counts.items()) / n, 1) if n else None


@dataclass
class Bucket:
    """Open deals counted three ways."""

    count: int = 0
    amount: Decimal = ZERO
    weighted: Decimal = ZERO

    def add(self, amount: Decimal, weighted: Decimal, count: int = 1) -> None:
        self.count += count
        self.amount += amount
        self.weighted += weighted


@dataclass
class StageRow:
    playbook: str
    key: str
    name: Any  # Text
    open: Bucket = field(default_factory=Bucket)


@dataclass
class MonthRow:
    month: str  # YYYY-MM
    open: Bucket = field(default_factory=Bucket)
    won_count: int = 0
    won_amount: Decimal = ZERO
    overdue: bool = False  # a month already over with deals still expected then


@dataclass
class DealMove:
    opportunity: Opportunity
    forward: int  # buyer stages moved forward in the period
    back: int  # … and back (a failed tender sends the customer back to its criteria)
    changes: int
    start_stage: str  # buyer stage before the first change in the period
    end_stage: str  # after the last

    @property
    def net(self) -> int:
        """Stages gained: where the customer ended minus where it began (forward − back)."""
        return self.forward - self.back


@dataclass
class RepRow:
    user: User
    open: Bucket = field(default_factory=Bucket)
    deals_advanced: int = 0
    stages_advanced: int = 0
    deals_moved_back: int = 0
    stages_back: int = 0
    seller_advances: int = 0
    won_count: int = 0
    won_amount: Decimal = ZERO


@dataclass
class StalledRow:
    opportunity: Opportunity
    days: int
    healthy_days: int
    severity: str
    missing: list[Any]  # labels of the key-node items not met


@dataclass
class ForcedRow:
    move: ForcedMove
    still_unmet: list[Any] | None  # labels; None when the deal is closed


@dataclass
class AtRiskRow:
    opportunity: Opportunity
    probability: int
    alerts: list[risks.Alert]  # the high ones


@dataclass
class ConversionRow:
    playbook: str
    key: str
    name: Any
    healthy_days: int
    advanced: int = 0
    forced: int = 0
    dropped: int = 0
    days: Days = field(default_factory=lambda: Days())

    @property
    def exits(self) -> int:
        return self.advanced + self.dropped

    @property
    def rate(self) -> float | None:
        return round(self.advanced / self.exits, 4) if self.exits else None

    @property
    def median_days(self) -> float | None:
        return self.days.median


@dataclass
class Outcomes:
    won: int = 0
    lost: int = 0
    abandoned: int = 0
    won_amount: Decimal = ZERO
    lost_amount: Decimal = ZERO
    abandoned_amount: Decimal = ZERO

    @property
    def closed(self) -> int:
        return self.won + self.lost + self.abandoned

    @property
    def rate(self) -> float | None:
        return round(self.won / self.closed, 4) if self.closed else None

    @property
    def amount_rate(self) -> float | None:
        total = self.won_amount + self.lost_amount + self.abandoned_amount
        return round(float(self.won_amount / total), 4) if total else None


@dataclass
class Cycle:
    days: Days = field(default_factory=lambda: Days())  # from creation to the win

    @property
    def median(self) -> float | None:
        return self.days.median

    @property
    def mean(self) -> float | None:
        return self.days.mean


@dataclass
class Pipeline:
    filters: Filters
    as_of: dt.datetime
    total: Bucket
    by_stage: list[StageRow]
    by_buyer_stage: list[StageRow]
    forecast: list[MonthRow]
    progress: list[DealMove]
    reps: list[RepRow]
    stalled: list[StalledRow]
    forced: list[ForcedRow]
    alerts_by_severity: dict[str, int]
    alerts_by_code: dict[str, int]
    at_risk: list[AtRiskRow]
    conversion: list[ConversionRow]
    outcomes: Outcomes
    cycle: Cycle
    probabilities: Probabilities = field(compare=False)  # of the open deals
    drill: Drill

    @property
    def advanced(self) -> list[DealMove]:
        return [m for m in self.progress if m.net > 0]

    @property
    def moved_back(self) -> list[DealMove]:
        return [m for m in self.progress if m.back]


# --- computing -------------------------------------------------------------------------------


def _weighted(amount: Decimal, probability: int) -> Decimal:
    return (amount * probability / Decimal(100)).quantize(CENT, ROUND_HALF_UP)


def _month(day: dt.date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def _month_start(key: str) -> dt.date:
    return dt.date(int(key[:4]), int(key[5:7]), 1)


def _next_month(day: dt.date) -> dt.date:
    return dt.date(day.year + day.month // 12, day.month % 12 + 1, 1)


def _book(user, filters: Filters):
    deals = opportunities_for_user(user)
    if filters.owner is not None:
        deals = deals.filter(owner_id=filters.owner.pk)
    if filters.team is not None:
        deals = deals.filter(owner__team_id=filters.team.pk)
    if filters.playbook:
        deals = deals.filter(playbook=filters.playbook)
    return deals


def _of_book(rows, column: str, book):
    """`rows` narrowed to those whose `column` is a deal of `book`. The whole table (an
    admin's book, unfiltered) narrows nothing: asking would make the database walk every
    deal to find a period's rows (events of deals deleted since are left out later)."""
    if not book.query.where:
        return rows
    return rows.filter(**{f"{column}__in": book.values("pk")})


def _buyer_index_case(side: str) -> Case:
    """SQL: the position of the buyer stage recorded in an event's `before`/`after`."""
    keys = registry.buyer_process().keys
    return Case(
        *[When(**{f"{side}__buyer_stage": key}, then=Value(i)) for i, key in enumerate(keys)],
        default=Value(0),
        output_field=IntegerField(),
    )


def pipeline_report(user, filters: Filters, *, listed: int | None = LISTED) -> Pipeline:
    """The dashboard of the deals `user` may see under `filters`. The stalled and the
    A-at-risk lists hold their first `listed` deals (None: all of them); their drill
    figures hold every one.

    Every figure is read at one moment (`one_moment`), so they add up while others
    write; the assessments computed on the way are kept after."""
    with one_moment():
        report, keep = _report(user, filters, listed)
    stored.keep(keep)
    return report


def _report(user, filters: Filters, listed: int | None) -> tuple[Pipeline, list]:
    m = registry.current()
    buyer = registry.buyer_process()
    now = clock.now()
    today = timezone.localdate(now)
    lo, hi = filters.period.bounds()
    book = _book(user, filters)
    books = [filters.playbook] if filters.playbook else _playbooks_default_first()
    stages = _stages_to_win(m, books)  # every playbook's, to the winning stage
    stage_rows = {(key, s.key): StageRow(key, s.key, s.name) for key, s in stages}
    # 4–6 (+ 9 when kept assessments no longer hold, + 10 for the listed deals): the open
    # deals, counted in SQL over their kept assessments (kam/opportunities/stored.py).
    open_part = _open_deals(book, stage_rows, buyer, now, listed)
    drill = open_part.drill
    reps = open_part.reps
    months = open_part.months
    # The stages of the playbooks in use (of every playbook on an empty book).
    by_stage = {
        k: r
        for k, r in stage_rows.items()
        if filters.playbook or k[0] in open_part.present or not open_part.present
    }

    # 1: won per month, from the first month shown (the period's or the earliest forecast).
    first_month = min([filters.period.start.replace(day=1), *map(_month_start, months)])
    start_at = timezone.make_aware(dt.datetime.combine(first_month, dt.time.min))
    won_rows = (
        book.filter(status=Status.WON, closed_at__gte=start_at)
        .annotate(m=TruncMonth("closed_at"))
        .values("m")
        .annotate(n=Count("id"), amount=Sum("amount"))
        .order_by("m")
    )
    for r in won_rows:
        month = _month(timezone.localdate(r["m"]) if isinstance(r["m"], dt.datetime) else r["m"])
        row = months.setdefault(month, MonthRow(month))
        row.won_count += r["n"]
        row.won_amount += r["amount"] or ZERO
    forecast = _fill_months(months)
    this_month = today.replace(day=1)
    for row in forecast:
        row.overdue = row.open.count > 0 and _month_start(row.month) < this_month

    # 2: buyer-stage progress — per deal, the stages moved forward and back, summed in SQL.
    changes = Event.objects.filter(
        entity="opportunity",
        action="buyer_stage_changed",
        at__gte=lo,
        at__lt=hi,
    )
    changes = _of_book(changes, "opportunity_id", book)
    delta = _buyer_index_case("after") - _buyer_index_case("before")
    moves = {
        r["opportunity_id"]: r
        for r in changes.values("opportunity_id").annotate(
            forward=Sum(Case(When(GreaterThan(delta, 0), then=delta), default=Value(0))),
            back=Sum(Case(When(LessThan(delta, 0), then=-delta), default=Value(0))),
            n=Count("id"),
            first_stage=Subquery(
                changes.filter(opportunity_id=OuterRef("opportunity_id"))
                .order_by("at", "id")
                .values("before__buyer_stage")[:1]
            ),
            last_stage=Subquery(
                changes.filter(opportunity_id=OuterRef("opportunity_id"))
                .order_by("-at", "-id")
                .values("after__buyer_stage")[:1]
            ),
        )
    }
    moved_deals: dict[int, Opportunity] = {}
    moved_ids = list(moves)
    for start in range(0, len(moved_ids), stored.CHUNK):
        moved_deals.update(
            book.select_related("account", "owner").in_bulk(moved_ids[start : start + stored.CHUNK])
        )
    progress = []
    for pk, r in moves.items():
        if pk not in moved_deals or not (r["forward"] or r["back"]):
            continue
        opp = moved_deals[pk]
        move = DealMove(
            opp,
            forward=int(r["forward"]),
            back=int(r["back"]),
            changes=r["n"],
            start_stage=r["first_stage"] or "",
            end_stage=r["last_stage"] or "",
        )
        progress.append(move)
        rep = reps.setdefault(opp.owner_id, RepRow(opp.owner))
        if move.net > 0:
            rep.deals_advanced += 1
            rep.stages_advanced += move.net
        if move.back:
            rep.deals_moved_back += 1
            rep.stages_back += move.back
    progress.sort(key=lambda mv: (-mv.net, -mv.forward, mv.opportunity.name, mv.opportunity.pk))
    for mv in progress:
        if mv.net > 0:
            drill.lists["progress"].append(mv.opportunity.pk)
            drill.lists[f"rep_progress:{mv.opportunity.owner_id}"].append(mv.opportunity.pk)
        if mv.back:
            drill.lists["moved_back"].append(mv.opportunity.pk)

    # the stages a deal leaves by advancing or being dropped
    conversion = {
        (key, s.key): ConversionRow(key, s.key, s.name, s.healthy_dwell_days) for key, s in stages
    }
    # 2: our stage advances in the period (conversion, median days, per rep), counted in
    # SQL: by stage and days in it, and by owner.
    advances = _advances(book, lo, hi)
    by_stage_days, by_owner = _advance_counts(book, lo, hi)
    for playbook, stage, days, n, forced_n in by_stage_days:
        row = conversion.get((playbook, stage))  # None: a deal deleted since, a stage gone
        if row is None:
            continue
        row.advanced += n
        row.forced += forced_n
        if days is not None:
            row.days.add(days, n)
    for (playbook, stage), row in conversion.items():
        if row.advanced:
            drill.later(
                f"advanced:{playbook}:{stage}",
                row.advanced,
                _event_deals(advances.filter(_playbook=playbook, before__stage=stage)),
            )
    # The events of deals deleted since (no owner) are skipped here: as a filter, it made
    # PostgreSQL look up the deal of every event of the period before narrowing them to
    # the book's (2.2 s of a team's 5.8 s at 1,000,000 deals).
    for owner_id, n, deals in by_owner:
        if owner_id is None:
            continue
        reps.setdefault(owner_id, RepRow(user=None)).seller_advances += n  # user: below
        drill.later(
            f"rep_advances:{owner_id}",
            deals,
            _event_deals(advances.filter(_owner=owner_id), once=True),
        )

    # 2: the deals closed in the period (win rate, cycle length, drops per stage), counted
    # in SQL: by outcome, stage and owner, and the won by days from creation.
    outcomes = Outcomes()
    cycle = Cycle()
    closed = book.filter(status__in=CLOSED, closed_at__gte=lo, closed_at__lt=hi)
    for status, playbook, stage, owner_id, n, cents in (
        closed.annotate(_owner=_unindexed("owner_id"))
        .values_list("status", "playbook", "stage", "_owner")
        .annotate(n=Count("pk"), cents=Sum(_CENTS))
    ):
        amount = _fen(cents)
        if status == Status.WON:
            outcomes.won += n
            outcomes.won_amount += amount
            rep = reps.setdefault(owner_id, RepRow(user=None))
            rep.won_count += n
            rep.won_amount += amount
            continue
        if status == Status.LOST:
            outcomes.lost += n
            outcomes.lost_amount += amount
        else:
            outcomes.abandoned += n
            outcomes.abandoned_amount += amount
        row = conversion.get((playbook, stage))
        if row is not None:
            row.dropped += n
    for days, n in (
        closed.filter(status=Status.WON)
        .values_list(WholeDays("closed_at", "created_at"))
        .annotate(n=Count("pk"))
    ):
        cycle.days.add(days, n)
    in_order = closed.order_by("closed_at", "pk")
    for status, n in (
        (Status.WON, outcomes.won),
        (Status.LOST, outcomes.lost),
        (Status.ABANDONED, outcomes.abandoned),
    ):
        if n:
            drill.later(status, n, _pks(in_order.filter(status=status)))
    for owner_id, rep in reps.items():
        if rep.won_count:
            drill.later(
                f"rep_won:{owner_id}",
                rep.won_count,
                _pks(in_order.filter(status=Status.WON, owner_id=owner_id)),
            )
    for (playbook, stage), row in conversion.items():
        if row.dropped:
            drill.later(
                f"dropped:{playbook}:{stage}",
                row.dropped,
                _pks(in_order.filter(status__in=DROPPED, playbook=playbook, stage=stage)),
            )

    # 1: forced moves made in the period.
    forced = []
    moves_qs = (
        _of_book(ForcedMove.objects.filter(at__gte=lo, at__lt=hi), "opportunity_id", book)
        .select_related("opportunity", "opportunity__account", "opportunity__owner", "actor")
        .order_by("-at", "-id")
    )
    moves = list(moves_qs)
    # 8: the facts of their open deals, to tell what is still unmet today
    open_moved = {mv.opportunity_id: mv.opportunity for mv in moves}
    found = assess_many([o for o in open_moved.values() if o.status == Status.OPEN])
    for move in moves:
        a = found.get(move.opportunity_id)
        still = None
        if a is not None:
            playbook = m.playbooks[move.opportunity.playbook]
            unmet = risks.still_unmet(
                playbook, move.from_stage, move.unmet, a.facts, m.check_context
            )
            still = [r.label for r in unmet]
        forced.append(ForcedRow(move, still))
        if move.opportunity_id not in drill.lists["forced"]:
            drill.lists["forced"].append(move.opportunity_id)

    # 0–1: the win probabilities of the open deals among the progress and the forced moves
    open_part.probabilities.load(
        [mv.opportunity.pk for mv in progress if mv.opportunity.status == Status.OPEN]
        + [row.move.opportunity_id for row in forced if row.still_unmet is not None],
        again=True,  # one query, whichever of them are listed too
    )

    # 1: the people — everyone in view with a role that sells, and every owner met above.
    people = User.objects.filter(user_scope(user))
    if filters.owner is not None:
        people = people.filter(pk=filters.owner.pk)
    if filters.team is not None:
        people = people.filter(team_id=filters.team.pk)
    for person in people.filter(Q(pk__in=list(reps)) | Q(is_active=True, role__in=SELLING)):
        reps.setdefault(person.pk, RepRow(person)).user = person
    # 0–1: owners of open deals out of that view (a deal shared with the reader)
    unseen = [pk for pk in open_part.owners if reps[pk].user is None]
    for pk, person in User.objects.in_bulk(unseen).items() if unseen else ():
        reps[pk].user = person
    rep_rows = sorted(
        (r for r in reps.values() if r.user is not None),
        key=lambda r: (-r.stages_advanced, -r.open.weighted, str(r.user), r.user.pk),
    )

    return Pipeline(
        filters=filters,
        as_of=now,
        total=open_part.total,
        by_stage=list(by_stage.values()),
        by_buyer_stage=list(open_part.by_buyer.values()),
        forecast=forecast,
        progress=progress,
        reps=rep_rows,
        stalled=open_part.stalled,
        forced=forced,
        alerts_by_severity=open_part.by_severity,
        alerts_by_code=in_rule_order(open_part.by_code),
        at_risk=open_part.at_risk,
        conversion=list(conversion.values()),
        outcomes=outcomes,
        cycle=cycle,
        probabilities=open_part.probabilities,
        drill=open_part.drill,
    ), open_part.keep


SELLING = (Role.REP, Role.MANAGER)


# --- the open deals --------------------------------------------------------------------------

# SQL: a deal's amount in fen, and its weighted amount (amount × win probability) in fen,
# rounded half up as `_weighted` rounds it. Whole numbers, so the sums are exact on
# SQLite too (which keeps the amounts as binary floats).
_CENTS = Cast(Round(F("amount") * 100), BigIntegerField())
_WEIGHTED_CENTS = Case(
    When(
        amount__gte=0,
        then=(_CENTS * F("stored_assessment__probability") + 50) / 100,
    ),
    default=-((-_CENTS * F("stored_assessment__probability") + 50) / 100),
    output_field=BigIntegerField(),
)
_MEASURES = {"n": Count("pk"), "cents": Sum(_CENTS), "weighted": Sum(_WEIGHTED_CENTS)}
# What the deals whose kept assessment does not hold are read with.
_STALE_COLUMNS = (*stored.ROW_COLUMNS, "amount", "owner_id")


def _fen(cents) -> Decimal:
    return (Decimal(cents or 0) / 100).quantize(CENT)


class Drill(Mapping):
    """The ids of the deals behind each figure, in the order the dashboard lists them.
    Those of the buyer-stage moves and forced moves are lists made with the report
    (`lists`); the others (hundreds of thousands of ids in a large book) are read when
    asked for (`later`), and `count` tells their size without reading them. They are
    read as of the report's moment `now`."""

    def __init__(self, now: dt.datetime) -> None:
        self.now = now
        self.lists: dict[str, list[int]] = defaultdict(list)
        self._later: dict[str, tuple[int, Any]] = {}

    def later(self, figure: str, count: int, read) -> None:
        self._later[figure] = (count, read)

    def count(self, figure: str) -> int:
        if figure in self.lists:
            return len(self.lists[figure])
        return self._later[figure][0] if figure in self._later else 0

    def __getitem__(self, figure: str) -> list[int]:
        if figure not in self.lists and figure in self._later:
            with clock.freeze(self.now):
                self.lists[figure] = self._later[figure][1]()
            del self._later[figure]
        if figure not in self.lists:
            raise KeyError(figure)
        return self.lists[figure]

    def __iter__(self):
        return iter([*self.lists, *self._later])

    def __len__(self) -> int:
        return len(self.lists) + len(self._later)


class Probabilities:
    """The win probability of an open deal of the book, read (from its kept assessment)
    when asked for, as of the report's moment `now`; `load` reads many at once."""

    def __init__(self, now: dt.datetime, deals) -> None:
        self.now = now
        self._deals = deals  # the open deals of the book: no other deal is read
        self._known: dict[int, int | None] = {}

    def load(self, ids, *, again: bool = False) -> None:
        """Read the probabilities of the deals `ids` from their kept assessments (one
        query for up to 2,000 of them; those read before are read again only when asked,
        `again`). A deal whose kept assessment does not hold is assessed, unless the
        report did that already."""
        wanted = [pk for pk in ids if again or pk not in self._known]
        missing: list[int] = []
        with clock.freeze(self.now):
            config = stored.fingerprint()
            for start in range(0, len(wanted), stored.CHUNK):
                part = self._deals.filter(pk__in=wanted[start : start + stored.CHUNK])
                for pk, held, probability in part.annotate(
                    _holds=stored.holds(config, self.now)
                ).values_list("pk", "_holds", "stored_assessment__probability"):
                    if held:
                        self._known[pk] = probability
                    elif pk not in self._known or self._known[pk] is None:
                        missing.append(pk)
            found = stored.summaries_of(missing) if missing else {}
        for pk in wanted:
            self._known.setdefault(pk, None)
        for pk, summary in found.items():
            self._known[pk] = summary.probability

    def remember(self, pk: int, probability: int) -> None:
        """A probability the report computed itself (not to be read again)."""
        self._known[pk] = probability

    def get(self, pk: int, default=None):
        self.load([pk])
        found = self._known.get(pk)
        return default if found is None else found

    def __getitem__(self, pk: int) -> int:
        found = self.get(pk)
        if found is None:
            raise KeyError(pk)
        return found


@dataclass
class _Open:
    """The report's figures of the open deals."""

    total: Bucket
    by_buyer: dict[str, StageRow]
    months: dict[str, MonthRow]
    reps: dict[int, RepRow]
    owners: list[int]
    present: set[str]  # the playbooks of the open deals
    by_severity: dict[str, int]
    by_code: dict[str, int]
    stalled: list[StalledRow]
    at_risk: list[AtRiskRow]
    probabilities: Probabilities
    drill: Drill
    keep: list  # assessments computed on the way, to keep


def _open_deals(book, stage_rows, buyer, now: dt.datetime, listed: int | None) -> _Open:
    """Count the open deals of `book` by stage, buyer stage, expected close, owner and
    alerts. SQL adds up the deals whose kept assessment holds (two grouped queries); the
    others (none, usually) are read and assessed here and added one by one."""
    m = registry.current()
    config = stored.fingerprint()
    open_deals = book.filter(status=Status.OPEN)
    deals = open_deals.annotate(_holds=stored.holds(config, now))
    held = deals.filter(_holds=True)
    out = _Open(
        total=Bucket(),
        by_buyer={s.key: StageRow("", s.key, s.name) for s in buyer.stages},
        months={},
        reps={},
        owners=[],
        present=set(),
        by_severity=dict.fromkeys(SEVERITIES, 0),
        by_code={},
        stalled=[],
        at_risk=[],
        probabilities=Probabilities(now, open_deals),
        drill=Drill(now),
        keep=[],
    )
    counts: dict[str, int] = defaultdict(int)  # the deals behind each figure
    combinations: dict[str, list[int]] = defaultdict(lambda: [0, 0])  # alerts: [deals, A]

    def add(playbook, stage, buyer_stage, month, n, amount, weighted):
        out.total.add(amount, weighted, n)
        out.present.add(playbook)
        row = stage_rows.get((playbook, stage))
        if row is not None:
            row.open.add(amount, weighted, n)
            counts[f"stage:{playbook}:{stage}"] += n
        row = out.by_buyer.get(buyer_stage)
        if row is not None:
            row.open.add(amount, weighted, n)
            counts[f"buyer:{buyer_stage}"] += n
        found = out.months.get(month)
        if found is None:
            found = out.months[month] = MonthRow(month)
        found.open.add(amount, weighted, n)
        counts[f"month:{month}"] += n

    def add_owner(owner_id, n, amount, weighted):
        rep = out.reps.get(owner_id)
        if rep is None:
            rep = out.reps[owner_id] = RepRow(user=None)  # the person is read later
            out.owners.append(owner_id)
        rep.open.add(amount, weighted, n)
        counts[f"rep_open:{owner_id}"] += n

    # 1: by stage, buyer stage and month of expected close
    for r in (
        held.annotate(_month=YearMonth("expected_close"))
        .values("playbook", "stage", "buyer_stage", "_month")
        .annotate(**_MEASURES)
    ):
        add(
            r["playbook"],
            r["stage"],
            r["buyer_stage"],
            r["_month"],
            r["n"],
            _fen(r["cents"]),
            _fen(r["weighted"]),
        )
    # 1: by owner and combination of alerts (a few hundred in a book of 300,000 deals);
    # over every open deal, grouped by whether its kept assessment holds too, so that the
    # deals whose does not are looked for only when there are any
    any_stale = False
    for r in (
        deals.annotate(
            _a=Case(When(priority="A", then=1), default=0, output_field=IntegerField()),
            _owner=_unindexed("owner_id"),
        )
        .values("_holds", "_owner", "stored_assessment__alerts", "_a")
        .annotate(**_MEASURES)
    ):
        if not r["_holds"]:
            any_stale = True
            continue
        add_owner(r["_owner"], r["n"], _fen(r["cents"]), _fen(r["weighted"]))
        found = combinations[r["stored_assessment__alerts"]]
        found[0] += r["n"]
        found[1] += r["n"] * r["_a"]
    # 0 or 1 (+ 9 when there are any): the deals whose kept assessment does not hold,
    # assessed here; kept after the report
    stale = list(deals.filter(_holds=False).values_list(*_STALE_COLUMNS)) if any_stale else []
    stale_stalled: list[tuple] = []
    stale_at_risk: list[tuple[Decimal, int]] = []
    found_now: dict[int, stored.Summary] = {}
    for start in range(0, len(stale), stored.CHUNK):  # one round of fact queries each
        found, keep = stored.assess_rows(stale[start : start + stored.CHUNK], config, now)
        found_now.update(found)
        out.keep += keep
    for row in stale:
        pk, playbook, stage, buyer_stage = row[:4]
        priority, entered, close = row[5:8]
        amount, owner_id = row[-2:]
        summary = found_now[pk]
        out.probabilities.remember(pk, summary.probability)
        weighted = _weighted(amount, summary.probability)
        add(playbook, stage, buyer_stage, _month(close), 1, amount, weighted)
        add_owner(owner_id, 1, amount, weighted)
        text = stored.encode(summary.alerts)
        combinations[text][0] += 1
        combinations[text][1] += priority == "A"
        severity = _stalled_severity(summary.alerts)
        if severity is not None:
            stale_stalled.append((pk, (playbook, stage), close, severity, entered))
        if priority == "A" and any(s == "high" for _c, s in summary.alerts):
            stale_at_risk.append((-amount, pk))

    # the alerts, counted from their combinations
    at_risk_count = 0
    for text, (n, a_deals) in combinations.items():
        alerts = stored.decode(text)
        if not alerts:
            continue
        for code, severity in alerts:
            out.by_severity[severity] = out.by_severity.get(severity, 0) + n
            out.by_code[code] = out.by_code.get(code, 0) + n
        for code in dict.fromkeys(code for code, _s in alerts):
            counts[f"code:{code}"] += n
        severities = {severity for _code, severity in alerts}
        for severity in severities:
            counts[f"alerts:{severity}"] += n
        if "high" in severities:
            at_risk_count += a_deals

    # 1: the first `listed` stalled deals, most overdue first, ordered in SQL (and those
    # whose kept assessment did not hold, put in place here)
    overdue = _overdue(now, m)
    stalled_found = sorted(
        [
            (-days / healthy, close, pk, days, healthy, _stalled_severity(stored.decode(text)))
            for pk, close, days, healthy, text in held.filter(_STALLED)
            .annotate(**overdue)
            .order_by(*_MOST_OVERDUE)
            .values_list("pk", "expected_close", "_days", "_healthy", "stored_assessment__alerts")[
                :listed
            ]
        ]
        + _stalled_order(stale_stalled, now, m)
    )[:listed]
    # 1: the A deals at risk, largest first
    at_risk_deals = held.filter(priority="A", stored_assessment__alerts__contains="/high")
    at_risk_found = sorted(
        [
            (-amount, pk)
            for pk, amount in at_risk_deals.order_by("-amount", "pk").values_list("pk", "amount")[
                :listed
            ]
        ]
        + stale_at_risk
    )
    # + 10: the listed deals, assessed in full
    out.stalled, out.at_risk, assessed = _listed(stalled_found[:listed], at_risk_found[:listed])
    for pk, found in assessed.items():
        out.probabilities.remember(pk, found.probability)

    # the deals behind each figure, read when asked for
    if out.total.count:
        out.drill.later("open", out.total.count, _ids(open_deals))
    for figure, n in counts.items():
        if not n:
            continue
        kind, _sep, key = figure.partition(":")
        if kind == "stage":
            playbook, stage = key.split(":", 1)
            read = _ids(open_deals.filter(playbook=playbook, stage=stage))
        elif kind == "buyer":
            read = _ids(open_deals.filter(buyer_stage=key))
        elif kind == "month":
            first = _month_start(key)
            read = _ids(
                open_deals.filter(expected_close__gte=first, expected_close__lt=_next_month(first))
            )
        elif kind == "rep_open":
            read = _ids(open_deals.filter(owner_id=int(key)))
        elif kind == "code":
            read = _alerted(
                book, f"{key}/", lambda alerts, key=key: any(c == key for c, _s in alerts)
            )
        else:  # alerts:SEVERITY
            read = _alerted(
                book, f"/{key}", lambda alerts, key=key: any(s == key for _c, s in alerts)
            )
        out.drill.later(figure, n, read)
    out.drill.later(
        "stalled",
        counts.get("code:stalled", 0),
        _alerted(
            book.annotate(**overdue),
            "stalled/",
            lambda alerts: _stalled_severity(alerts) is not None,
            order=_MOST_OVERDUE,
        ),
    )
    out.drill.later(
        "at_risk",
        at_risk_count,
        _alerted(
            book.filter(priority="A"),
            "/high",
            lambda alerts: any(s == "high" for _c, s in alerts),
            order=("-amount", "id"),
        ),
    )
    return out


def _advance_events(book, lo: dt.datetime, hi: dt.datetime):
    """The events of our stage advances (plain and forced) in [lo, hi) of the deals of
    `book`, with the stage left (`_stage`) and the whole days spent in it (`_days`)."""
    events = Event.objects.filter(
        entity="opportunity", action__in=ADVANCE_ACTIONS, at__gte=lo, at__lt=hi
    )
    return _of_book(events, "opportunity_id", book).annotate(
        _stage=KT("before__stage"),  # as text (->>), not decoded from JSON per event
        _days=WholeDays("at", KT("before__stage_entered_at")),
    )


def _advances(book, lo: dt.datetime, hi: dt.datetime):
    """`_advance_events` with the deal's playbook and owner (None: the deal was deleted
    since), for the drill lists, read when asked for."""
    deal = Opportunity.objects.filter(pk=OuterRef("opportunity_id")).order_by()  # one row
    return _advance_events(book, lo, hi).annotate(
        _playbook=Subquery(deal.values("playbook")[:1]),
        _owner=Subquery(deal.values("owner_id")[:1]),
    )


def _advance_counts(book, lo: dt.datetime, hi: dt.datetime) -> tuple[list[tuple], list[tuple]]:
    """The advances of `_advance_events` counted in one statement, both ways the
    dashboard shows them: by (playbook, stage left, whole days in it) with how many were
    forced, and by owner with how many deals. The deal's playbook and owner come by a
    join (None: the deal was deleted since). PostgreSQL reads the period's events once
    for both (GROUPING SETS: 1.6-1.8 s instead of 2.5 s for two grouped queries looking
    up each event's deal, at 1,000,000 deals); SQLite, which has no grouping sets, twice."""
    rows = (
        _advance_events(book, lo, hi)
        .annotate(_deal=F("opportunity_id"), _action=F("action"))
        .values_list("_deal", "_action", "_stage", "_days")
        .order_by()
    )
    inner, params = rows.query.sql_with_params()
    deals = connection.ops.quote_name(Opportunity._meta.db_table)
    source = f"FROM ({inner}) e LEFT JOIN {deals} d ON d.id = e._deal"
    forced = "SUM(CASE WHEN e._action = %s THEN 1 ELSE 0 END)"
    if connection.vendor == "postgresql":
        sql = (
            f"SELECT GROUPING(d.owner_id), d.playbook, e._stage, e._days, d.owner_id, "
            f"COUNT(*), {forced}, COUNT(DISTINCT e._deal) {source} "
            "GROUP BY GROUPING SETS ((d.playbook, e._stage, e._days), (d.owner_id))"
        )
        params = ("force_advanced", *params)
    else:
        sql = (
            f"SELECT 1, d.playbook, e._stage, e._days, NULL, COUNT(*), {forced}, NULL "
            f"{source} GROUP BY d.playbook, e._stage, e._days UNION ALL "
            f"SELECT 0, NULL, NULL, NULL, d.owner_id, COUNT(*), NULL, COUNT(DISTINCT e._deal) "
            f"{source} GROUP BY d.owner_id"
        )
        params = ("force_advanced", *params, *params)
    by_stage_days, by_owner = [], []
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        for by_days, playbook, stage, days, owner_id, n, forced_n, deals_n in cursor.fetchall():
            if by_days:
                by_stage_days.append((playbook, stage, days, n, forced_n))
            else:
                by_owner.append((owner_id, n, deals_n))
    return by_stage_days, by_owner


def _event_deals(events, *, once: bool = False):
    """Read later: the deals of `events`, in the order of the events (each deal once
    when `once`)."""

    def read() -> list[int]:
        ids = list(events.order_by("at", "id").values_list("opportunity_id", flat=True))
        return list(dict.fromkeys(ids)) if once else ids

    return read


def _pks(deals):
    """Read later: the ids of `deals`, in their order."""
    return lambda: list(deals.values_list("pk", flat=True))


def _unindexed(column: str) -> ExpressionWrapper:
    """`column` + 0: the same value, grouped without the column's index. SQLite would
    walk the index to have the groups in order, reading the whole table (1.9 s instead
    of 1.0 s over the 300,000 open deals of 1,000,000)."""
    return ExpressionWrapper(F(column) + 0, output_field=BigIntegerField())


def _ids(deals):
    """Read later: the ids of `deals` in the dashboard's order (by expected close)."""
    return lambda: list(deals.order_by("expected_close", "id").values_list("pk", flat=True))


def _alerted(book, text: str, test, order=("expected_close", "id")):
    """Read later: the ids of the open deals of `book` whose alerts pass `test`, in
    `order` (the kept rows narrowed to those whose alerts' text has `text`)."""

    def read() -> list[int]:
        rows = stored.summaries(
            book.order_by(*order), ("pk",), where=Q(stored_assessment__alerts__contains=text)
        )
        return [pk for (pk,), summary in rows if test(summary.alerts)]

    return read


# The kept alerts hold the stalled alert (a code is followed by /severity, and codes are
# separated by a space).
_STALLED = Q(stored_assessment__alerts__startswith="stalled/") | Q(
    stored_assessment__alerts__contains=" stalled/"
)
_MOST_OVERDUE = ("-_overdue", "expected_close", "id")


def _overdue(now: dt.datetime, m) -> dict[str, Any]:
    """Annotations: the whole days a deal has been in its stage at `now` (`_days`), the
    stage's healthy days (`_healthy`) and how many times those it has been there
    (`_overdue`, a float as `_stalled_order` divides)."""
    healthy = Case(
        *[
            When(playbook=key, stage=stage.key, then=Value(stage.healthy_dwell_days))
            for key, playbook in m.playbooks.items()
            for stage in playbook.stages
        ],
        default=None,
        output_field=IntegerField(),
    )
    days = WholeDays(Value(now, output_field=DateTimeField()), "stage_entered_at")
    return {
        "_days": days,
        "_healthy": healthy,
        "_overdue": ExpressionWrapper(
            Cast(days, FloatField()) / healthy, output_field=FloatField()
        ),
    }


def _stalled_severity(alerts: tuple[tuple[str, str], ...]) -> str | None:
    return next((severity for code, severity in alerts if code == "stalled"), None)


def _stalled_order(
    deals: list[tuple[int, tuple[str, str], dt.date, str, dt.datetime]], now: dt.datetime, m
) -> list[tuple[float, dt.date, int, int, int, str]]:
    """The stalled deals, most overdue first (days in stage ÷ healthy days, then the
    expected close): (order, close, id, days, healthy days, severity)."""
    healthy: dict[tuple[str, str], int] = {}
    out = []
    for pk, key, close, severity, entered in deals:
        if key not in healthy:
            healthy[key] = m.playbooks[key[0]].stage(key[1]).healthy_dwell_days
        days = max(0, (now - entered).days)
        out.append((-days / healthy[key], close, pk, days, healthy[key], severity))
    out.sort()
    return out


def _listed(
    stalled_found: list[tuple], at_risk_found: list[tuple]
) -> tuple[list[StalledRow], list[AtRiskRow], dict]:
    """The rows of the stalled and A-at-risk lists: their deals with account and owner,
    and their assessment in full (the key-node items missing, the alerts' titles); and
    those assessments."""
    ids = list(dict.fromkeys([r[2] for r in stalled_found] + [r[1] for r in at_risk_found]))
    deals: dict[int, Opportunity] = {}
    found = {}
    for start in range(0, len(ids), stored.CHUNK):
        part = Opportunity.objects.select_related("account", "owner").in_bulk(
            ids[start : start + stored.CHUNK]
        )
        deals.update(part)
        found.update(assess_many(part.values()))
    stalled = [
        StalledRow(
            opportunity=deals[pk],
            days=days,
            healthy_days=healthy_days,
            severity=severity,
            missing=[r.label for r in found[pk].gate if not r.met],
        )
        for _order, _close, pk, days, healthy_days, severity in stalled_found
        if pk in deals
    ]
    at_risk = [
        AtRiskRow(
            deals[pk],
            found[pk].probability,
            [x for x in found[pk].alerts if x.severity == "high"],
        )
        for _amount, pk in at_risk_found
        if pk in deals
    ]
    return stalled, at_risk, found


def _stages_to_win(m, books: list[str]) -> list[tuple[str, Any]]:
    """(playbook, stage) for each playbook of `books`, its stages up to the winning one."""
    out = []
    for key in books:
        for stage in m.playbooks[key].stages:
            out.append((key, stage))
            if stage.wins:
                break
    return out


def _playbooks_default_first() -> list[str]:
    default = registry.default_playbook_key()
    return sorted(registry.playbook_keys(), key=lambda k: k != default)


def _fill_months(months: dict[str, MonthRow]) -> list[MonthRow]:
    if not months:
        return []
    keys = sorted(months)
    first, last = _month_start(keys[0]), _month_start(keys[-1])
    span = (last.year - first.year) * 12 + last.month - first.month + 1
    if span <= FILL_MONTHS_MAX:
        day = first
        while day <= last:
            key = _month(day)
            months.setdefault(key, MonthRow(key))
            day = _next_month(day)
    return [months[k] for k in sorted(months)]


# --- the deals behind a number ----------------------------------------------------------------

FIGURE = re.compile(
    r"^(?:open|progress|moved_back|stalled|forced|at_risk|won|lost|abandoned"
    r"|(?:stage|advanced|dropped):[\w-]{1,40}:[\w-]{1,40}"
    r"|(?:buyer|code):[\w-]{1,40}"
    r"|alerts:(?:high|medium|low)"
    r"|(?:month|won_month):\d{4}-\d{2}"
    r"|(?:rep_open|rep_progress|rep_advances|rep_won):\d{1,19})$",
    re.ASCII,
)
FIGURE_FORMS = (
    "open, progress, moved_back, stalled, forced, at_risk, won, lost, abandoned, "
    "stage:PLAYBOOK:STAGE, advanced:PLAYBOOK:STAGE, dropped:PLAYBOOK:STAGE, buyer:STAGE, "
    "code:CODE, alerts:SEVERITY, month:YYYY-MM, won_month:YYYY-MM, rep_open:USER, "
    "rep_progress:USER, rep_advances:USER, rep_won:USER"
)


def check_figure(figure: str) -> str:
    figure = (figure or "").strip()
    month = figure.rsplit(":", 1)[-1] if figure.startswith(("month:", "won_month:")) else ""
    if not FIGURE.match(figure) or (month and not 1 <= int(month[5:7] or 0) <= 12):
        raise ValidationFailed(
            _("Unknown figure “%(value)s”. Use one of: %(known)s.")
            % {"value": figure[:60], "known": FIGURE_FORMS},
            field="figure",
        )
    return figure


def deal_ids_behind(user, filters: Filters, figure: str, report: Pipeline | None = None):
    """The ids of the deals behind one number of the dashboard, in the order the
    dashboard lists them (a figure with no deal gives an empty list)."""
    figure = check_figure(figure)
    report = report or pipeline_report(user, filters)
    if figure.startswith("won_month:"):
        first = _month_start(figure.split(":", 1)[1])
        lo = timezone.make_aware(dt.datetime.combine(first, dt.time.min))
        hi = timezone.make_aware(dt.datetime.combine(_next_month(first), dt.time.min))
        return list(
            _book(user, filters)
            .filter(status=Status.WON, closed_at__gte=lo, closed_at__lt=hi)
            .order_by("closed_at", "pk")
            .values_list("pk", flat=True)
        )
    return list(report.drill.get(figure, []))
