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

Queries: a fixed number whatever the size of the book — the open deals (1), their
facts (`deal_facts_many`, 8), won per month (1), buyer-stage progress (2), stage
advances (1), deals closed in the period (1), forced moves (1), the people (1), and
one more for each of the owner and team filters when given. Counts, amounts and the
progress sums are aggregated in SQL; what needs the rules (win probability, alerts,
gates) comes from the single assessment of the open deals.

`drill[figure]` holds the ids of the deals behind every number, so the dashboard can
list them (`deals_behind`)."""

from __future__ import annotations

import datetime as dt
import re
import statistics
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db.models import Case, Count, IntegerField, OuterRef, Q, Subquery, Sum, Value, When
from django.db.models.fields.json import KT
from django.db.models.functions import TruncMonth
from django.db.models.lookups import GreaterThan, LessThan
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from kam.core import clock
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
class Bucket:
    """Open deals counted three ways."""

    count: int = 0
    amount: Decimal = ZERO
    weighted: Decimal = ZERO

    def add(self, amount: Decimal, weighted: Decimal) -> None:
        self.count += 1
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
    days: list[int] = field(default_factory=list)

    @property
    def exits(self) -> int:
        return self.advanced + self.dropped

    @property
    def rate(self) -> float | None:
        return round(self.advanced / self.exits, 4) if self.exits else None

    @property
    def median_days(self) -> float | None:
        return float(statistics.median(self.days)) if self.days else None


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
    days: list[int] = field(default_factory=list)

    @property
    def median(self) -> float | None:
        return float(statistics.median(self.days)) if self.days else None

    @property
    def mean(self) -> float | None:
        return round(statistics.fmean(self.days), 1) if self.days else None


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
    probabilities: dict[int, int]  # of the open deals
    drill: dict[str, list[int]]

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
    figures hold every one."""
    m = registry.current()
    buyer = registry.buyer_process()
    now = clock.now()
    today = timezone.localdate(now)
    lo, hi = filters.period.bounds()
    book = _book(user, filters)
    drill: dict[str, list[int]] = defaultdict(list)

    # 1 a chunk of 2,000 open deals (+ 9 for the deals whose kept assessment no longer
    # holds): their win probability and alerts (kam/opportunities/stored.py).
    open_rows = stored.summaries(book.order_by("expected_close", "id"), _OPEN_COLUMNS)

    books = [filters.playbook] if filters.playbook else _playbooks_default_first()
    by_stage: dict[tuple[str, str], StageRow] = {}
    by_buyer = {s.key: StageRow("", s.key, s.name) for s in buyer.stages}
    total = Bucket()
    months: dict[str, MonthRow] = {}
    reps: dict[int, RepRow] = {}
    at_risk_found: list[tuple[Decimal, int]] = []
    probabilities: dict[int, int] = {}
    present: set[str] = set()
    by_severity = dict.fromkeys(SEVERITIES, 0)
    by_code: dict[str, int] = {}
    stage_rows: dict[tuple[str, str], StageRow] = {}  # every playbook's, to the winning stage
    for key in books:
        for stage in m.playbooks[key].stages:
            stage_rows[(key, stage.key)] = StageRow(key, stage.key, stage.name)
            if stage.wins:
                break
    open_owners: list[int] = []
    hundred = Decimal(100)
    # What each deal adds to, looked up once per stage, buyer stage, day, owner and
    # combination of alerts (a book of 60,000 deals has a few thousand of these).
    per_stage: dict[tuple[str, str], tuple[Bucket | None, list[int] | None]] = {}
    per_buyer: dict[str, tuple[Bucket | None, list[int] | None]] = {}
    per_day: dict[dt.date, tuple[Bucket, list[int]]] = {}
    per_owner: dict[int, tuple[Bucket, list[int]]] = {}
    per_alerts: dict[tuple, tuple[list[list[int]], bool, str | None]] = {}
    alert_sets: dict[tuple, int] = defaultdict(int)
    stalled_deals: list[tuple[int, tuple[str, str], dt.date, str]] = []
    all_open: list[int] = []
    for row, summary in open_rows:
        pk, amount, playbook, stage, buyer_stage, close, owner_id, priority = row
        probability = summary.probability
        probabilities[pk] = probability
        weighted = (amount * probability / hundred).quantize(CENT, ROUND_HALF_UP)
        total.add(amount, weighted)
        all_open.append(pk)
        key = (playbook, stage)
        found = per_stage.get(key)
        if found is None:
            present.add(playbook)
            row_ = stage_rows.get(key)
            found = per_stage[key] = (
                (row_.open, drill[f"stage:{playbook}:{stage}"]) if row_ else (None, None)
            )
        if found[0] is not None:
            found[0].add(amount, weighted)
            found[1].append(pk)
        found = per_buyer.get(buyer_stage)
        if found is None:
            row_ = by_buyer.get(buyer_stage)
            found = per_buyer[buyer_stage] = (
                (row_.open, drill[f"buyer:{buyer_stage}"]) if row_ else (None, None)
            )
        if found[0] is not None:
            found[0].add(amount, weighted)
            found[1].append(pk)
        found = per_day.get(close)
        if found is None:
            month = _month(close)
            month_row = months.get(month)
            if month_row is None:
                month_row = months[month] = MonthRow(month)
            found = per_day[close] = (month_row.open, drill[f"month:{month}"])
        found[0].add(amount, weighted)
        found[1].append(pk)
        found = per_owner.get(owner_id)
        if found is None:
            rep = reps[owner_id] = RepRow(user=None)  # the person is read below
            open_owners.append(owner_id)
            found = per_owner[owner_id] = (rep.open, drill[f"rep_open:{owner_id}"])
        found[0].add(amount, weighted)
        found[1].append(pk)
        alerts = summary.alerts
        if not alerts:
            continue
        alert_sets[alerts] += 1
        behind = per_alerts.get(alerts)
        if behind is None:
            # each deal once behind a code or a severity, however many of its alerts share it
            codes = dict.fromkeys(code for code, _severity in alerts)
            severities = {severity for _code, severity in alerts}
            behind = per_alerts[alerts] = (
                [drill[f"code:{code}"] for code in codes]
                + [drill[f"alerts:{x}"] for x in SEVERITIES if x in severities],
                "high" in severities,
                next((severity for code, severity in alerts if code == "stalled"), None),
            )
        lists, high, stalled_severity = behind
        for found_list in lists:
            found_list.append(pk)
        if stalled_severity is not None:
            stalled_deals.append((pk, key, close, stalled_severity))
        if high and priority == "A":
            at_risk_found.append((-amount, pk))
    if all_open:
        drill["open"] = all_open
    for alerts, n in alert_sets.items():
        for code, severity in alerts:
            by_severity[severity] = by_severity.get(severity, 0) + n
            by_code[code] = by_code.get(code, 0) + n
    # 1 a round of 2,000 stalled deals: how long each has been in its stage
    stalled_found = _stalled_order(stalled_deals, now, m)
    # The stages of the playbooks in use (of every playbook on an empty book).
    by_stage = {
        k: r for k, r in stage_rows.items() if filters.playbook or k[0] in present or not present
    }
    drill["stalled"] = [r[2] for r in stalled_found]
    at_risk_found.sort()
    drill["at_risk"] = [pk for _amount, pk in at_risk_found]
    stalled, at_risk = _listed(stalled_found[:listed], at_risk_found[:listed])

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
        opportunity_id__in=book.values("pk"),
    )
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
    moved_deals = {
        o.pk: o
        for o in book.filter(pk__in=changes.values("opportunity_id")).select_related(
            "account", "owner"
        )
    }
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
            drill["progress"].append(mv.opportunity.pk)
            drill[f"rep_progress:{mv.opportunity.owner_id}"].append(mv.opportunity.pk)
        if mv.back:
            drill["moved_back"].append(mv.opportunity.pk)

    # 1: our stage advances in the period (conversion, median days, per rep).
    conversion: dict[tuple[str, str], ConversionRow] = {}
    for key in books:
        playbook = m.playbooks[key]
        for stage in playbook.stages:
            conversion[(key, stage.key)] = ConversionRow(
                key, stage.key, stage.name, stage.healthy_dwell_days
            )
            if stage.wins:
                break
    owner_of = Opportunity.objects.filter(pk=OuterRef("opportunity_id"))
    advances = (
        Event.objects.filter(
            entity="opportunity",
            action__in=ADVANCE_ACTIONS,
            at__gte=lo,
            at__lt=hi,
            opportunity_id__in=book.values("pk"),
        )
        .annotate(
            playbook=Subquery(owner_of.values("playbook")[:1]),
            owner_id=Subquery(owner_of.values("owner_id")[:1]),
            # as text (->>), not decoded from JSON per event
            stage_before=KT("before__stage"),
            entered_before=KT("before__stage_entered_at"),
        )
        .values_list(
            "opportunity_id",
            "action",
            "playbook",
            "owner_id",
            "stage_before",
            "entered_before",
            "at",
        )
    )
    advanced_by: dict[int, set[int]] = defaultdict(set)
    for pk, action, playbook, owner_id, stage, entered, at in advances:
        if pk not in advanced_by[owner_id]:
            advanced_by[owner_id].add(pk)
            drill[f"rep_advances:{owner_id}"].append(pk)
        rep = reps.get(owner_id)
        if rep is not None:
            rep.seller_advances += 1
        else:
            reps[owner_id] = RepRow(user=None, seller_advances=1)  # filled in below
        row = conversion.get((playbook, stage))
        if row is None:
            continue
        row.advanced += 1
        row.forced += action == "force_advanced"
        drill[f"advanced:{playbook}:{stage}"].append(pk)
        since = _moment(entered)
        if since is not None:
            row.days.append(max(0, (at - since).days))

    # 1: the deals closed in the period (win rate, cycle length, drops per stage).
    outcomes = Outcomes()
    cycle = Cycle()
    closed = book.filter(status__in=CLOSED, closed_at__gte=lo, closed_at__lt=hi).values_list(
        "pk", "status", "playbook", "stage", "owner_id", "amount", "created_at", "closed_at"
    )
    for pk, status, playbook, stage, owner_id, amount, created, closed_at in closed.order_by(
        "closed_at", "pk"
    ):
        drill[status].append(pk)
        if status == Status.WON:
            outcomes.won += 1
            outcomes.won_amount += amount
            cycle.days.append(max(0, (closed_at - created).days))
            rep = reps.setdefault(owner_id, RepRow(user=None))
            rep.won_count += 1
            rep.won_amount += amount
            drill[f"rep_won:{owner_id}"].append(pk)
        else:
            if status == Status.LOST:
                outcomes.lost += 1
                outcomes.lost_amount += amount
            else:
                outcomes.abandoned += 1
                outcomes.abandoned_amount += amount
            row = conversion.get((playbook, stage))
            if row is not None:
                row.dropped += 1
                drill[f"dropped:{playbook}:{stage}"].append(pk)

    # 1: forced moves made in the period.
    forced = []
    moves_qs = (
        ForcedMove.objects.filter(at__gte=lo, at__lt=hi, opportunity__in=book)
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
        if move.opportunity_id not in drill["forced"]:
            drill["forced"].append(move.opportunity_id)

    # 1: the people — everyone in view with a role that sells, and every owner met above.
    people = User.objects.filter(user_scope(user))
    if filters.owner is not None:
        people = people.filter(pk=filters.owner.pk)
    if filters.team is not None:
        people = people.filter(team_id=filters.team.pk)
    for person in people.filter(Q(pk__in=list(reps)) | Q(is_active=True, role__in=SELLING)):
        reps.setdefault(person.pk, RepRow(person)).user = person
    # 0–1: owners of open deals out of that view (a deal shared with the reader)
    unseen = [pk for pk in open_owners if reps[pk].user is None]
    for pk, person in User.objects.in_bulk(unseen).items() if unseen else ():
        reps[pk].user = person
    rep_rows = sorted(
        (r for r in reps.values() if r.user is not None),
        key=lambda r: (-r.stages_advanced, -r.open.weighted, str(r.user), r.user.pk),
    )

    return Pipeline(
        filters=filters,
        as_of=now,
        total=total,
        by_stage=list(by_stage.values()),
        by_buyer_stage=list(by_buyer.values()),
        forecast=forecast,
        progress=progress,
        reps=rep_rows,
        stalled=stalled,
        forced=forced,
        alerts_by_severity=by_severity,
        alerts_by_code=in_rule_order(by_code),
        at_risk=at_risk,
        conversion=list(conversion.values()),
        outcomes=outcomes,
        cycle=cycle,
        probabilities=probabilities,
        drill=dict(drill),
    )


SELLING = (Role.REP, Role.MANAGER)
_OPEN_COLUMNS = (
    "pk",
    "amount",
    "playbook",
    "stage",
    "buyer_stage",
    "expected_close",
    "owner_id",
    "priority",
)


def _stalled_order(
    deals: list[tuple[int, tuple[str, str], dt.date, str]], now: dt.datetime, m
) -> list[tuple[float, dt.date, int, int, int, str]]:
    """The stalled deals, most overdue first (days in stage ÷ healthy days, then the
    expected close): (order, close, id, days, healthy days, severity)."""
    entered: dict[int, dt.datetime] = {}
    ids = [d[0] for d in deals]
    for start in range(0, len(ids), stored.CHUNK):
        entered.update(
            Opportunity.objects.filter(pk__in=ids[start : start + stored.CHUNK]).values_list(
                "pk", "stage_entered_at"
            )
        )
    healthy: dict[tuple[str, str], int] = {}
    out = []
    for pk, key, close, severity in deals:
        if pk not in entered:
            continue  # deleted since
        if key not in healthy:
            healthy[key] = m.playbooks[key[0]].stage(key[1]).healthy_dwell_days
        days = max(0, (now - entered[pk]).days)
        out.append((-days / healthy[key], close, pk, days, healthy[key], severity))
    out.sort()
    return out


def _listed(
    stalled_found: list[tuple], at_risk_found: list[tuple]
) -> tuple[list[StalledRow], list[AtRiskRow]]:
    """The rows of the stalled and A-at-risk lists: their deals with account and owner,
    and their assessment in full (the key-node items missing, the alerts' titles)."""
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
    return stalled, at_risk


def _moment(text: str | None) -> dt.datetime | None:
    """An ISO moment from an event's JSON (as audit.jsonable wrote it), or None."""
    if not isinstance(text, str):
        return None
    try:
        return dt.datetime.fromisoformat(text)
    except ValueError:
        return parse_datetime(text)


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
