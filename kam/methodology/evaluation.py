"""Qualification (SPEC §3): the weighted evaluation model with knock-outs, and the
A/B/C/D priority matrix over expected close and likelihood. Both models are
data (models/evaluation.toml, models/priority.toml); the arithmetic is here,
pure, so hypothesis can test it."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from kam.methodology.checks import GRADES
from kam.methodology.schema import Text, _check_key, check_unique

SCORE_MIN, SCORE_MAX = 1, 5


class Factor(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    key: str
    name: Text
    weight: float = Field(gt=0, le=1000)
    group: str = "opportunity"  # "opportunity" or "competition"
    guide: Text | None = None  # what 1 and 5 mean, shown beside the input

    _key = field_validator("key")(_check_key)

    @field_validator("group")
    @classmethod
    def _group(cls, value: str) -> str:
        if value not in ("opportunity", "competition"):
            raise ValueError("use 'opportunity' or 'competition'")
        return value


class Knockout(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    factor: str
    at_or_below: int = Field(ge=SCORE_MIN, le=SCORE_MAX)
    reason: Text


class EvaluationModel(BaseModel):
    """Σ weight × score / (5 × Σ weight) × 100: a 0–100 total, pass at `pass_mark`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    pass_mark: float = Field(ge=0, le=100)
    factors: list[Factor] = Field(min_length=1)
    knockouts: list[Knockout] = Field(default_factory=list)

    @model_validator(mode="after")
    def _consistent(self) -> EvaluationModel:
        keys = [f.key for f in self.factors]
        check_unique(keys, "factor")
        for i, ko in enumerate(self.knockouts):
            if ko.factor not in keys:
                raise ValueError(
                    f"knockouts[{i}].factor: unknown factor '{ko.factor}'; known: {', '.join(keys)}"
                )
        return self

    @property
    def keys(self) -> list[str]:
        return [f.key for f in self.factors]

    def factor(self, key: str) -> Factor:
        return next(f for f in self.factors if f.key == key)


@dataclass(frozen=True)
class EvaluationResult:
    score: float  # 0–100, one decimal
    passed: bool
    knocked_out: tuple[str, ...]
    contributions: dict[str, float]  # points each factor adds to the total


def score_evaluation(model: EvaluationModel, scores: dict[str, int]) -> EvaluationResult:
    """`scores` must hold every factor of the model with a whole number 1–5
    (the service checks the input and names the field at fault)."""
    total_weight = sum(Decimal(str(f.weight)) for f in model.factors)
    contributions: dict[str, float] = {}
    weighted = Decimal(0)
    for f in model.factors:
        points = Decimal(str(f.weight)) * scores[f.key] * 100 / (SCORE_MAX * total_weight)
        contributions[f.key] = float(points.quantize(Decimal("0.1"), ROUND_HALF_UP))
        weighted += Decimal(str(f.weight)) * scores[f.key]
    # One division for the total: summing each factor's (rounded) share could land
    # just below an exact tie such as 53.75 and round it down.
    total = weighted * 100 / (SCORE_MAX * total_weight)
    score = float(total.quantize(Decimal("0.1"), ROUND_HALF_UP))
    knocked = tuple(ko.factor for ko in model.knockouts if scores[ko.factor] <= ko.at_or_below)
    return EvaluationResult(
        score=score,
        passed=score >= model.pass_mark and not knocked,
        knocked_out=knocked,
        contributions=contributions,
    )


# --- priority ----------------------------------------------------------------------


class Likelihood(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    key: str
    name: Text
    min_score: float = Field(ge=0, le=100)

    _key = field_validator("key")(_check_key)


class Grade(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: Text
    action: Text


class PriorityModel(BaseModel):
    """Rows: likelihood bands by evaluation score, highest first. Columns: months
    until the expected close, ≤ each bound in `close_within_months`, then later."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    close_within_months: list[int] = Field(min_length=1)
    likelihood: list[Likelihood] = Field(min_length=1)
    matrix: dict[str, list[str]]
    grades: dict[str, Grade]

    @model_validator(mode="after")
    def _consistent(self) -> PriorityModel:
        bounds = self.close_within_months
        if any(b <= 0 for b in bounds) or bounds != sorted(set(bounds)):
            raise ValueError("close_within_months: use increasing whole months, e.g. [3, 6, 12]")
        mins = [band.min_score for band in self.likelihood]
        if mins != sorted(mins, reverse=True) or len(set(mins)) != len(mins):
            raise ValueError("likelihood: list the bands from the highest min_score down")
        if mins[-1] != 0:
            raise ValueError("likelihood: the last band needs min_score = 0 so every score fits")
        keys = [band.key for band in self.likelihood]
        if sorted(self.matrix) != sorted(keys):
            raise ValueError(f"matrix: give exactly one row per likelihood: {', '.join(keys)}")
        for key, row in self.matrix.items():
            if len(row) != len(bounds) + 1:
                raise ValueError(
                    f"matrix.{key}: give {len(bounds) + 1} grades, one per close-time column"
                )
            bad = [g for g in row if g not in GRADES]
            if bad:
                raise ValueError(f"matrix.{key}: unknown grade(s) {bad}; use A, B, C or D")
        if sorted(self.grades) != list(GRADES):
            raise ValueError("grades: describe each of A, B, C and D")
        return self

    def band(self, score: float) -> Likelihood:
        return next(b for b in self.likelihood if score >= b.min_score)

    def column(self, months: int) -> int:
        for i, bound in enumerate(self.close_within_months):
            if months <= bound:
                return i
        return len(self.close_within_months)


def months_until(today: dt.date, close: dt.date) -> int:
    """Whole months from today to the expected close, rounded up; overdue is 0."""
    if close <= today:
        return 0
    months = (close.year - today.year) * 12 + (close.month - today.month)
    if close.day > today.day:
        months += 1
    return max(months, 1)


def priority_grade(
    model: PriorityModel, *, score: float, expected_close: dt.date, today: dt.date
) -> str:
    band = model.band(score)
    return model.matrix[band.key][model.column(months_until(today, expected_close))]
