"""SPEC §6: the competitor scoring table (竞争对手分析表) of an opportunity — the
criteria with what 1 and 5 mean and their weights (models/competition.toml), and
the pure arithmetic over a table: a party's weighted total, whether every criterion
is scored, the gap per criterion between us and the best rival, and a fair
comparison of us with one rival over the criteria both of us were scored on.

A table may be half filled (a rep knows the rival's price and service, not its
financial strength), so every total is taken over the criteria actually scored:
Σ weight × score / (5 × Σ weight of those criteria) × 100. No Django here."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from fractions import Fraction
from typing import Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator, model_validator

from kam.methodology.schema import Text, _check_key, check_unique

SCORE_MIN, SCORE_MAX = 1, 5
TENTH = Fraction(1, 10)

P = TypeVar("P")  # how the caller names a rival (a competitor id, a name …)


class Criterion(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    key: str
    name: Text
    guide: Text  # what 1 and 5 mean, shown beside the input and as the cell's tooltip
    weight: float = Field(gt=0, le=1000)

    _key = field_validator("key")(_check_key)


class CompetitionModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    criteria: list[Criterion] = Field(min_length=1)
    # [(criteria, (keys in order, exact weights, the same weights as integers over
    # their common denominator))], made once (a pipeline's scan totals tables per deal
    # and rival) and kept with the criteria it was made of (a model_copy shares it).
    _table: list = PrivateAttr(default_factory=list)

    @model_validator(mode="after")
    def _unique(self) -> CompetitionModel:
        keys = [c.key for c in self.criteria]
        check_unique(keys, "criterion")
        return self

    def weights(self) -> tuple[tuple[str, ...], dict[str, Fraction], dict[str, int]]:
        if not self._table or self._table[0][0] is not self.criteria:
            exact = {c.key: Fraction(str(c.weight)) for c in self.criteria}
            scale = math.lcm(*(w.denominator for w in exact.values()))
            whole = {k: int(w * scale) for k, w in exact.items()}
            self._table[:] = [(self.criteria, (tuple(exact), exact, whole))]
        return self._table[0][1]

    @property
    def keys(self) -> list[str]:
        return list(self.weights()[0])

    def criterion(self, key: str) -> Criterion:
        return next(c for c in self.criteria if c.key == key)

    def weight(self, key: str) -> Fraction:
        return self.weights()[1][key]


def _round(value: Fraction) -> float:
    """One decimal, halves away from zero (as the evaluation score rounds)."""
    tenths, rest = divmod(abs(value), TENTH)
    if rest * 2 >= TENTH:
        tenths += 1
    return float((tenths * TENTH) * (1 if value >= 0 else -1))


def weighted_total(
    model: CompetitionModel, scores: Mapping[str, int], *, only: Iterable[str] | None = None
) -> float | None:
    """0–100 over the criteria scored (and, with `only`, among those): Σ w·s / (5·Σ w)
    × 100, one decimal; None when nothing is scored. Scores outside the model are
    ignored; the service refuses them before they are stored."""
    keys, _exact, whole = model.weights()
    allowed = None if only is None else set(only)
    weights = points = 0  # in integer units of weight: exact, and cheap
    for key in keys:
        score = scores.get(key)
        if score is not None and (allowed is None or key in allowed):
            weights += whole[key]
            points += whole[key] * score
    if not weights:
        return None
    return _round(Fraction(points * 100, SCORE_MAX * weights))


def is_complete(model: CompetitionModel, scores: Mapping[str, int]) -> bool:
    """Every criterion of the model is scored."""
    return all(scores.get(k) is not None for k in model.keys)


@dataclass(frozen=True)
class Gap(Generic[P]):
    """Us against the best rival on one criterion; `gap` = us − best rival (negative:
    a rival is ahead), None unless both sides are scored."""

    criterion: str
    us: int | None
    best_rival: int | None
    best_rival_id: P | None
    gap: int | None


def gaps(
    model: CompetitionModel, us: Mapping[str, int], rivals: Iterable[tuple[P, Mapping[str, int]]]
) -> list[Gap[P]]:
    """One row per criterion, in the model's order. The best rival is the highest
    score; on a tie, the first rival in the order given."""
    rivals = list(rivals)
    out = []
    for key in model.keys:
        best: tuple[P, int] | None = None
        for rival, scores in rivals:
            value = scores.get(key)
            if value is not None and (best is None or value > best[1]):
                best = (rival, value)
        ours = us.get(key)
        out.append(
            Gap(
                criterion=key,
                us=ours,
                best_rival=best[1] if best else None,
                best_rival_id=best[0] if best else None,
                gap=ours - best[1] if ours is not None and best is not None else None,
            )
        )
    return out


@dataclass(frozen=True)
class Comparison:
    """Us and one rival over the criteria both were scored on, so that a rival scored
    on three criteria is not measured against our thirteen. `gap` = rival − us, in
    points of the 0–100 scale (positive: the rival is ahead); None without a common
    criterion. `leads` are the common criteria where the rival scores higher, the
    widest lead first (then the heavier criterion); `behind` those where we do."""

    criteria: tuple[str, ...]
    us: float | None
    rival: float | None
    gap: float | None
    leads: tuple[tuple[str, int], ...]  # (criterion, rival − us > 0)
    behind: tuple[tuple[str, int], ...]  # (criterion, us − rival > 0)

    @property
    def rival_ahead(self) -> bool:
        return self.gap is not None and self.gap > 0


def compare(model: CompetitionModel, us: Mapping[str, int], rival: Mapping[str, int]) -> Comparison:
    keys, exact, _whole = model.weights()
    common = tuple(k for k in keys if us.get(k) is not None and rival.get(k) is not None)
    if not common:
        return Comparison((), None, None, None, (), ())
    ours = weighted_total(model, us, only=common) or 0.0
    theirs = weighted_total(model, rival, only=common) or 0.0
    order = {k: i for i, k in enumerate(keys)}

    def ranked(diffs: list[tuple[str, int]]) -> tuple[tuple[str, int], ...]:
        return tuple(sorted(diffs, key=lambda d: (-d[1], -exact[d[0]], order[d[0]])))

    leads = ranked([(k, rival[k] - us[k]) for k in common if rival[k] > us[k]])
    behind = ranked([(k, us[k] - rival[k]) for k in common if us[k] > rival[k]])
    # Both totals are shown rounded; the gap is their difference, so what a person
    # reads (78.0 against 65.0) is exactly what decides.
    gap = _round(Fraction(str(theirs)) - Fraction(str(ours)))
    return Comparison(common, ours, theirs, gap, leads, behind)
