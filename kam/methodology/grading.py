"""SPEC §6: the value pyramid (客户价值金字塔) and the multi-indicator grade (多指标分类法).

Both models are data (models/grading.toml, overridable in <data>/models/); the
arithmetic is here, pure (no Django), so hypothesis can test it. The inputs are
gathered for the whole book in a fixed number of queries by kam/accounts/grading.py.

**Tiers.** One list of tiers serves both methods: `vip` (VIP客户), `key` (大客户),
`general` (一般客户), `small` (小型客户). Each tier but the last has a `share` of the
book by count (the pyramid) and every tier a `min_score` (the multi-indicator grade).

**Pyramid.** Accounts are ranked by revenue over the period, highest first, with
competition ranking (equal revenue → equal rank: 1, 1, 3), so equal revenue always
lands in the same tier. An account ranked r in a book of N falls in the first tier
whose cumulative share s (5 %, 20 %, 50 % by default) satisfies (r − 1) / N < s,
otherwise in the rest tier: a book of 1 is vip; of 3, vip/general/small; of 20,
exactly 1/3/6/10. An account without revenue in the period is always in the rest
tier. Tiers are computed over the whole book (a tier never depends on who looks).

**Pareto.** The revenue share of the top ⌈top_share % × N⌉ accounts over the total
(percent, one decimal; None when the total is 0), with the curve of cumulative
share of accounts against cumulative share of revenue.

**Grade.** Groups of indicators with weights (any positive numbers; only their
ratios matter). Each indicator's input is normalised to 0–100 by its `method`:
- `relative`: value / the book's maximum × 100, clamped to 0–100 (book maximum ≤ 0
  → 0 for everyone);
- `log`: the same on a logarithmic scale from `floor` (0) to the book's maximum
  (100): ln(value / floor) / ln(max / floor), clamped. Revenue is heavy-tailed (the
  Pareto law itself): on a linear scale one giant customer pushes every other
  account near 0, while on a log scale 1 million against a 30 million top with a
  100 000 floor scores 40, 5 million 69 — the spread a grade needs. At or below the
  floor → 0; a book maximum at or below the floor → 0 for everyone;
- `range`: linear from `worst` (0) to `best` (100), clamped; works both ways, so
  "shorter is better" is `best` < `worst` (collection cycle best 30, worst 180 days);
- `lookup`: a score from `table` for the input's value (`match = "substring"`: the
  first key, in file order, found in the text, case-insensitively — Account.industry is
  free text, so "汽车" matches "汽车零部件"; `"exact"`: the key itself), else `default`;
- `score5`: a 1–5 rating, 1 → 0 … 5 → 100.
A missing input (None or empty text) marks the indicator missing: its weight is
shared among the group's present indicators; a group with nothing present shares its
weight among the present groups. `coverage` is the percent of the configured weight
that had data, so a grade from thin data shows as thin. The total (0–100, one
decimal, rounded half up) places the account in the first tier whose `min_score` it
reaches. With no data at all the total is 0 and the coverage 0.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from functools import cached_property, lru_cache
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from kam.methodology.schema import Text, _check_key, check_unique, repeated

K = TypeVar("K")

# Indicator scores a model keeps for the inputs it met last (GradePlan.score).
SCORES_KEPT = 8192

# The inputs an indicator may grade on (filled by kam/accounts/grading.py) and
# whether each is a number or a text/choice (only text can be looked up).
NUMBER_INPUTS = (
    "revenue_total",  # 累计交易额: all-time won deals + revenue records
    "profit_total",  # 累计利润
    "average_deal",  # 平均交易额: revenue / (won deals + revenue records)
    "collection_cycle",  # 收款周期 (days), Account.collection_cycle_days
    "receivables",  # 欠款额, Account.receivables
    "value_positioning",  # 价值定位 1–5
    "purchase_criteria",  # 采购标准 match, Σ importance·fit / (5 Σ importance) × 100
)
TEXT_INPUTS = ("industry", "size", "nature")
INPUTS = NUMBER_INPUTS + TEXT_INPUTS

Method = Literal["relative", "log", "range", "lookup", "score5"]


class Tier(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    key: str
    name: Text
    share: float | None = Field(None, gt=0, lt=100)  # percent of the book, by count
    rest: bool = False  # the tier of everyone else (exactly one, the last)
    min_score: float = Field(ge=0, le=100)  # grade total from which an account is here

    _key = field_validator("key")(_check_key)


class Indicator(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    key: str
    name: Text
    weight: float = Field(gt=0, le=1000)
    method: Method
    best: float | None = None
    worst: float | None = None
    table: dict[str, float] | None = None
    default: float | None = Field(None, ge=0, le=100)
    match: Literal["exact", "substring"] | None = None
    floor: float | None = Field(None, gt=0)  # method "log": the value that scores 0

    @field_validator("key")
    @classmethod
    def _known(cls, value: str) -> str:
        if value not in INPUTS:
            raise ValueError(f"unknown indicator '{value}'; use one of: {', '.join(INPUTS)}")
        return value

    @field_validator("table")
    @classmethod
    def _scores(cls, value: dict[str, float] | None) -> dict[str, float] | None:
        for key, score in (value or {}).items():
            if not key.strip():
                raise ValueError("table keys cannot be empty")
            if not 0 <= score <= 100:
                raise ValueError(f"table.{key}: give a score from 0 to 100")
        return value

    @model_validator(mode="after")
    def _method(self) -> Indicator:
        m = self.method
        if m == "lookup":
            if self.key not in TEXT_INPUTS:
                raise ValueError(
                    f"method 'lookup' needs a text input ({', '.join(TEXT_INPUTS)}); "
                    f"'{self.key}' is a number: use relative, log, range or score5"
                )
            if not self.table:
                raise ValueError("method 'lookup' needs a table of value = score")
            if self.default is None:
                raise ValueError("method 'lookup' needs a default score for other values")
        else:
            if self.key in TEXT_INPUTS:
                raise ValueError(f"'{self.key}' is text: use method = \"lookup\"")
            if self.table is not None or self.default is not None or self.match is not None:
                raise ValueError("table, default and match belong to method 'lookup' only")
        if m == "range":
            if self.best is None or self.worst is None:
                raise ValueError("method 'range' needs best and worst")
            if self.best == self.worst:
                raise ValueError("method 'range': best and worst must differ")
        elif self.best is not None or self.worst is not None:
            raise ValueError("best and worst belong to method 'range' only")
        if m == "log" and self.floor is None:
            raise ValueError("method 'log' needs a floor: the value that scores 0, above 0")
        if m != "log" and self.floor is not None:
            raise ValueError("floor belongs to method 'log' only")
        return self


class Group(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    key: str
    name: Text
    weight: float = Field(gt=0, le=1000)
    indicators: list[Indicator] = Field(min_length=1)

    _key = field_validator("key")(_check_key)


class GradingModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    period_months: int = Field(12, ge=1, le=120)  # the default period, trailing months
    pareto_top_share: float = Field(20, gt=0, lt=100)  # percent of accounts
    tiers: list[Tier] = Field(min_length=2)
    groups: list[Group] = Field(min_length=1)

    @cached_property
    def plan(self) -> GradePlan:
        """What every grade under this model shares, worked out once."""
        return GradePlan(self)

    @model_validator(mode="after")
    def _consistent(self) -> GradingModel:
        keys = [t.key for t in self.tiers]
        check_unique(keys, "tiers:")
        rest = [i for i, t in enumerate(self.tiers) if t.rest]
        if rest != [len(self.tiers) - 1]:
            raise ValueError("tiers: exactly one tier has rest = true, and it comes last")
        for i, tier in enumerate(self.tiers):
            if tier.rest and tier.share is not None:
                raise ValueError(f"tiers[{i}].share: the rest tier takes whoever is left")
            if not tier.rest and tier.share is None:
                raise ValueError(f"tiers[{i}].share: give the percent of accounts in this tier")
        total = sum(Decimal(str(t.share)) for t in self.tiers if t.share is not None)
        if total >= 100:
            raise ValueError(f"tiers: the shares add up to {float(total):g}; keep them below 100")
        mins = [t.min_score for t in self.tiers]
        if mins != sorted(mins, reverse=True) or len(set(mins)) != len(mins):
            raise ValueError("tiers: min_score must fall from the first tier to the last")
        if mins[-1] != 0:
            raise ValueError("tiers: the last tier needs min_score = 0 so every total fits")
        groups = [g.key for g in self.groups]
        check_unique(groups, "groups:")
        indicators = [i.key for g in self.groups for i in g.indicators]
        if repeated(indicators):
            raise ValueError(
                f"groups: each indicator appears once; repeated: {', '.join(repeated(indicators))}"
            )
        return self

    @property
    def rest_tier(self) -> Tier:
        return self.tiers[-1]

    def tier(self, key: str) -> Tier:
        return next(t for t in self.tiers if t.key == key)

    @property
    def indicators(self) -> list[Indicator]:
        return [i for g in self.groups for i in g.indicators]

    @property
    def relative_keys(self) -> list[str]:
        """The inputs whose score needs the book's maximum."""
        return [i.key for i in self.indicators if i.method in ("relative", "log")]


# --- arithmetic helpers --------------------------------------------------------------


def _frac(value: Any) -> Fraction:
    """Exact arithmetic: Decimal money, float weights and ints alike."""
    return Fraction(value)


def round1(value: Fraction | float | Decimal) -> float:
    """One decimal, half up (53.75 → 53.8), exactly."""
    if isinstance(value, Fraction):
        d = Decimal(value.numerator) / Decimal(value.denominator)
    else:
        d = Decimal(str(value))
    return float(d.quantize(Decimal("0.1"), ROUND_HALF_UP))


# --- the value pyramid -----------------------------------------------------------------


@dataclass(frozen=True)
class Place:
    rank: int
    tier: str


def competition_ranks(values: Mapping[K, Decimal]) -> dict[K, int]:
    """1 + how many have strictly more: 100, 100, 50 → 1, 1, 3."""
    ordered = sorted(values.values(), reverse=True)
    first: dict[Decimal, int] = {}
    for i, v in enumerate(ordered):
        first.setdefault(v, i + 1)
    return {k: first[v] for k, v in values.items()}


def tier_limits(model: GradingModel, book_size: int) -> list[tuple[int, str]]:
    """Each tier but the rest with the first rank it no longer takes: an account ranked
    r is in the first tier whose cumulative share s has (r − 1) / N < s, that is
    r − 1 < ⌈s × N⌉ (r − 1 is a whole number), computed exactly once for the book."""
    cumulative = Fraction(0)
    limits = []
    for tier in model.tiers[:-1]:
        cumulative += Fraction(Decimal(str(tier.share))) / 100
        limits.append((math.ceil(cumulative * book_size) + 1, tier.key))
    return limits


def _tier_within(limits: list[tuple[int, str]], rank: int, rest: str) -> str:
    for limit, key in limits:
        if rank < limit:
            return key
    return rest


def place(
    model: GradingModel, revenue: Decimal, revenues: Sequence[Decimal], *, book_size: int
) -> Place:
    """One account's place in the pyramid, as `pyramid` gives it, without ranking the
    book: `revenues` are those of the accounts with revenue in the period (the
    account's own among them, if any); the other accounts of the book had 0."""
    rank = 1 + sum(1 for v in revenues if v > revenue)
    if revenue < 0:  # the accounts without revenue rank above it
        rank += book_size - len(revenues)
    rest = model.rest_tier.key
    tier = _tier_within(tier_limits(model, book_size), rank, rest) if revenue > 0 else rest
    return Place(rank=rank, tier=tier)


def pyramid(model: GradingModel, revenues: Mapping[K, Decimal]) -> dict[K, Place]:
    """Every account of the book with its rank and tier; `revenues` holds the WHOLE
    book (0 for an account without revenue in the period: always the rest tier)."""
    ranks = competition_ranks(revenues)
    limits = tier_limits(model, len(revenues))
    rest = model.rest_tier.key
    places: dict[tuple[int, bool], Place] = {}  # one Place per rank, shared
    out = {}
    for k, revenue in revenues.items():
        rank, paying = ranks[k], revenue > 0
        place = places.get((rank, paying))
        if place is None:
            tier = _tier_within(limits, rank, rest) if paying else rest
            place = places[rank, paying] = Place(rank=rank, tier=tier)
        out[k] = place
    return out


@dataclass(frozen=True)
class Pareto:
    top_share: float  # percent of accounts
    accounts: int  # ⌈top_share × N⌉: how many accounts make the top share
    ratio: float | None  # their percent of the revenue; None when there is none
    curve: tuple[tuple[float, float], ...]  # (cumulative % of accounts, % of revenue)


def top_count(top_share: float, n: int) -> int:
    return math.ceil(Fraction(Decimal(str(top_share))) * n / 100)


def hundredths(numerator: int, denominator: int) -> float:
    """numerator / denominator to two decimals, half to even, as round(Fraction, 2)
    rounds, in whole numbers (a Fraction for each of a book's accounts took seconds)."""
    q, r = divmod(numerator * 100, denominator)
    if 2 * r > denominator or (2 * r == denominator and q % 2):
        q += 1
    return q / 100


def pareto(revenues: Sequence[Decimal], top_share: float) -> Pareto:
    ordered = sorted((Decimal(v) for v in revenues), reverse=True)
    n = len(ordered)
    total = sum(ordered, Decimal(0))
    top = top_count(top_share, n)
    ratio = round1(_frac(sum(ordered[:top], Decimal(0))) * 100 / _frac(total)) if total else None
    curve = [(0.0, 0.0)]
    running = Decimal(0)
    # running / total = (a / b) / (c / d) = a·d / (b·c)
    c, d = total.as_integer_ratio()
    for i, v in enumerate(ordered, start=1):
        running += v
        if total:
            a, b = running.as_integer_ratio()
            y = hundredths(a * d * 100, b * c)
        else:
            y = 0.0
        curve.append((hundredths(i * 100, n), y))
    return Pareto(top_share=top_share, accounts=top, ratio=ratio, curve=tuple(curve))


# --- the multi-indicator grade -------------------------------------------------------------


def _clamp(x: Fraction) -> Fraction:
    return max(Fraction(0), min(Fraction(100), x))


def lookup_score(indicator: Indicator, value: str) -> Fraction:
    table = indicator.table or {}
    if indicator.match == "substring":
        text = value.casefold()
        for key, score in table.items():
            if key.casefold() in text:
                return _frac(score)
    else:
        for key, score in table.items():
            if key == value:
                return _frac(score)
    return _frac(indicator.default)


def normalise(indicator: Indicator, value: Any, book_max: Any = None) -> Fraction | None:
    """The indicator's 0–100 score for `value`, or None when the input is missing."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    m = indicator.method
    if m == "lookup":
        return lookup_score(indicator, str(value).strip())
    x = _frac(value)
    if m == "relative":
        top = _frac(book_max or 0)
        return _clamp(x * 100 / top) if top > 0 else Fraction(0)
    if m == "log":
        floor, top = _frac(indicator.floor), _frac(book_max or 0)
        if x <= floor or top <= floor:
            return Fraction(0)
        return _clamp(Fraction(math.log(x / floor) / math.log(top / floor)) * 100)
    if m == "range":
        best, worst = _frac(indicator.best), _frac(indicator.worst)
        return _clamp((x - worst) * 100 / (best - worst))
    # score5: 1 → 0, 5 → 100
    return _clamp((x - 1) * 25)


@dataclass(frozen=True)
class IndicatorResult:
    key: str
    name: Text
    method: str
    weight: float  # percent of its group, as configured
    effective_weight: float  # percent of the total it really carried (0 when missing)
    value: Any
    score: float | None  # 0–100, one decimal; None when missing
    missing: bool


@dataclass(frozen=True)
class GroupResult:
    key: str
    name: Text
    weight: float  # percent of the total, as configured
    effective_weight: float  # percent of the total it really carried
    score: float | None  # 0–100 over its present indicators; None when all are missing
    indicators: tuple[IndicatorResult, ...]


@dataclass(frozen=True)
class GradeResult:
    total: float  # 0–100, one decimal
    tier: str
    coverage: float  # percent of the configured weight that had data
    groups: tuple[GroupResult, ...]


def grade_tier(model: GradingModel, total: float) -> str:
    return next(t.key for t in model.tiers if total >= t.min_score)


class GradePlan:
    """What a model's grades share, worked out once per model: the weights' fractions
    and their rounded percents, and, for each pattern of present inputs met so far, the
    weights the present groups and indicators really carry (they depend on nothing else).
    A book's grades then only score each account's inputs; working every weight out
    again for each of 100,000 accounts took over a minute."""

    def __init__(self, model: GradingModel) -> None:
        self.model = model
        self.group_weights = tuple(_frac(g.weight) for g in model.groups)
        self.group_total = sum(self.group_weights)
        self.group_percents = tuple(round1(w * 100 / self.group_total) for w in self.group_weights)
        self.weights = tuple(tuple(_frac(i.weight) for i in g.indicators) for g in model.groups)
        self.totals = tuple(sum(ws) for ws in self.weights)
        self.percents = tuple(
            tuple(round1(w * 100 / total) for w in ws)
            for ws, total in zip(self.weights, self.totals, strict=True)
        )
        self._shapes: dict[tuple[tuple[bool, ...], ...], GradeShape] = {}
        # a book's accounts share many inputs (a size, a 1–5 rating, no revenue)
        self.score = lru_cache(maxsize=SCORES_KEPT)(self._score)

    def _score(
        self, group: int, indicator: int, value: Any, book_max: Any
    ) -> tuple[Fraction | None, float | None]:
        """An indicator's score for `value` and that score rounded as shown."""
        score = normalise(self.model.groups[group].indicators[indicator], value, book_max)
        return score, (round1(score) if score is not None else None)

    def shape(self, present: tuple[tuple[bool, ...], ...]) -> GradeShape:
        """The carried weights when `present` (per group, per indicator) have data."""
        found = self._shapes.get(present)
        if found is None:
            found = self._shapes[present] = self._work_out(present)
        return found

    def _work_out(self, present: tuple[tuple[bool, ...], ...]) -> GradeShape:
        present_weights = tuple(
            sum((w for w, here in zip(ws, flags, strict=True) if here), Fraction(0))
            for ws, flags in zip(self.weights, present, strict=True)
        )
        coverage = sum(
            (
                gw / self.group_total * pw / total
                for gw, pw, total in zip(
                    self.group_weights, present_weights, self.totals, strict=True
                )
            ),
            Fraction(0),
        )
        present_groups = sum(
            (gw for gw, pw in zip(self.group_weights, present_weights, strict=True) if pw),
            Fraction(0),
        )
        carried = tuple(
            gw / present_groups if pw else Fraction(0)
            for gw, pw in zip(self.group_weights, present_weights, strict=True)
        )
        return GradeShape(
            coverage=round1(coverage * 100),
            present_weights=present_weights,
            carried=carried,
            carried_percents=tuple(round1(c * 100) for c in carried),
            indicator_percents=tuple(
                tuple(
                    round1(c * w * 100 / pw) if here else 0.0
                    for w, here in zip(ws, flags, strict=True)
                )
                for c, pw, ws, flags in zip(
                    carried, present_weights, self.weights, present, strict=True
                )
            ),
        )


@dataclass(frozen=True)
class GradeShape:
    coverage: float  # percent of the configured weight that had data, rounded
    present_weights: tuple[Fraction, ...]  # per group: its present indicators' weight
    carried: tuple[Fraction, ...]  # per group: the share of the total it carries
    carried_percents: tuple[float, ...]
    indicator_percents: tuple[tuple[float, ...], ...]  # per group, per indicator


def grade(
    model: GradingModel, values: Mapping[str, Any], maxima: Mapping[str, Any] | None = None
) -> GradeResult:
    """`values`: each indicator's input (None when unknown); `maxima`: the book's
    maximum of each `relative` input (computed over every account of the book)."""
    maxima = maxima or {}
    plan = model.plan
    scored = tuple(
        tuple(
            plan.score(gi, ii, values.get(ind.key), maxima.get(ind.key))
            for ii, ind in enumerate(g.indicators)
        )
        for gi, g in enumerate(model.groups)
    )
    shape = plan.shape(tuple(tuple(s is not None for s, _shown in gs) for gs in scored))
    total = Fraction(0)
    groups = []
    for g, shown, ws, group_pct, percents, pw, carried, carried_pct, eff_pcts in zip(
        model.groups,
        scored,
        plan.weights,
        plan.group_percents,
        plan.percents,
        shape.present_weights,
        shape.carried,
        shape.carried_percents,
        shape.indicator_percents,
        strict=True,
    ):
        gscore = None
        if pw:
            gscore = (
                sum(w * s for w, (s, _shown) in zip(ws, shown, strict=True) if s is not None) / pw
            )
            total += carried * gscore
        groups.append(
            GroupResult(
                key=g.key,
                name=g.name,
                weight=group_pct,
                effective_weight=carried_pct,
                score=round1(gscore) if gscore is not None else None,
                indicators=tuple(
                    IndicatorResult(
                        key=ind.key,
                        name=ind.name,
                        method=ind.method,
                        weight=percent,
                        effective_weight=eff_pct,
                        value=values.get(ind.key),
                        score=score_shown,
                        missing=score is None,
                    )
                    for ind, (score, score_shown), percent, eff_pct in zip(
                        g.indicators, shown, percents, eff_pcts, strict=True
                    )
                ),
            )
        )
    rounded = round1(total)
    return GradeResult(
        total=rounded,
        tier=grade_tier(model, rounded),
        coverage=shape.coverage,
        groups=tuple(groups),
    )


def book_maxima(model: GradingModel, book: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The maximum of each `relative` input over the book (missing values skipped)."""
    out: dict[str, Any] = {}
    for key in model.relative_keys:
        seen = [row[key] for row in book if row.get(key) is not None]
        out[key] = max(seen) if seen else 0
    return out
