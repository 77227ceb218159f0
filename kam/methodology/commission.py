"""The referral programme's arithmetic (交互式合作营销, SPEC §7), pure: no Django.

A partner's statement for a period is computed from plain inputs — the programme's
rules and the partner's referrals with their contracts and collections — so it can
be tested exhaustively and the database layer only gathers the inputs.

Rules (defaults of the shipped programme, all configurable):
- **direct** referral: commission = `direct_rate` × money collected (回款). Each
  payment counts in the period of its date. The commission on what is not yet
  collected (contract − collected up to the period's end) is *pending*: shown, not
  payable, and earned in the period its money comes in.
- **indirect** referral (the partner introduced another customer): no commission of
  its own; its sale counts toward the volume base at `indirect_weight` in the period
  the deal was won.
- **volume bonus** per period: base = direct money collected in the period +
  indirect_weight × indirect sales won in it; when base ≥ `threshold`, bonus =
  `bonus_rate` × base.
- **conflict of interest** (SPEC §7 compliance): a referral whose buying account
  employs the partner is computed like any other but *held*: its commission, its
  pending part and the share of the bonus it brings are not payable until an admin
  releases them with the customer's written disclosure (`released`). If the base
  reaches the threshold only thanks to held referrals, the whole bonus is held.

Money is Decimal throughout; each figure is rounded once, half up, to the fen (a
line's commission from its exact product, totals as sums of the rounded lines, the
bonus from the exact base).

Worked example (SPEC §7): direct sales 40 000 and 60 000 with 40 000 and 50 000
collected, one indirect sale of 30 000 → 2 000 + 2 500 earned, 500 pending; base
40 000 + 50 000 + 12 000 = 102 000 ≥ 100 000 → bonus 1 020."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from kam.methodology.schema import KEY_PATTERN, Text

FEN = Decimal("0.01")
ZERO = Decimal("0.00")
DIRECT, INDIRECT = "direct", "indirect"
KINDS = (DIRECT, INDIRECT)


def fen(value: Decimal) -> Decimal:
    return value.quantize(FEN, ROUND_HALF_UP)


@dataclass(frozen=True)
class Programme:
    direct_rate: Decimal = Decimal("0.05")
    indirect_weight: Decimal = Decimal("0.40")
    threshold: Decimal = Decimal("100000")
    bonus_rate: Decimal = Decimal("0.01")

    def __post_init__(self) -> None:
        for name in ("direct_rate", "indirect_weight", "bonus_rate"):
            value = getattr(self, name)
            if not isinstance(value, Decimal) or not ZERO <= value <= 1:
                raise ValueError(f"{name} must be a Decimal from 0 to 1, not {value!r}")
        if not isinstance(self.threshold, Decimal) or self.threshold < 0:
            raise ValueError(f"threshold must be a Decimal ≥ 0, not {self.threshold!r}")


@dataclass(frozen=True)
class Payment:
    date: dt.date
    amount: Decimal  # > 0


@dataclass(frozen=True)
class Referral:
    opportunity_id: int
    kind: str  # direct | indirect
    contract_amount: Decimal  # the won deal's amount
    won_on: dt.date | None  # None: not won (nothing counts)
    payments: tuple[Payment, ...] = ()
    conflict: bool = False  # the buying account employs the partner
    released: bool = False  # an admin recorded the customer's written disclosure

    @property
    def held(self) -> bool:
        return self.conflict and not self.released


@dataclass(frozen=True)
class Line:
    """One referral in one period."""

    opportunity_id: int
    kind: str
    contract_amount: Decimal
    collected: Decimal  # in the period (direct)
    collected_to_date: Decimal  # up to the period's end (direct)
    commission: Decimal  # on the money collected in the period (direct)
    pending: Decimal  # on the money not collected by the period's end (direct)
    base: Decimal  # what it adds to the volume base
    held: bool
    flags: tuple[str, ...] = ()


@dataclass(frozen=True)
class Statement:
    start: dt.date
    end: dt.date
    lines: tuple[Line, ...]
    earned: Decimal  # payable commission of the period (not held)
    pending: Decimal  # not collected yet, not held
    held: Decimal  # commission and pending of held referrals, and the held bonus
    volume_base: Decimal
    volume_bonus: Decimal  # the whole bonus of the period
    bonus_held: Decimal  # the part of the bonus that is held
    flags: tuple[str, ...] = field(default_factory=tuple)

    @property
    def payable(self) -> Decimal:
        """What may be paid for the period: earned commission + the bonus not held."""
        return self.earned + self.volume_bonus - self.bonus_held


def _line(referral: Referral, programme: Programme, start: dt.date, end: dt.date) -> Line:
    flags = ("conflict_of_interest",) if referral.conflict else ()
    if referral.won_on is None:
        return Line(referral.opportunity_id, referral.kind, referral.contract_amount,
                    ZERO, ZERO, ZERO, ZERO, ZERO, referral.held, flags)  # fmt: skip
    if referral.kind == INDIRECT:
        counts = start <= referral.won_on <= end
        base = fen(programme.indirect_weight * referral.contract_amount) if counts else ZERO
        return Line(referral.opportunity_id, INDIRECT, referral.contract_amount,
                    ZERO, ZERO, ZERO, ZERO, base, referral.held, flags)  # fmt: skip
    collected = sum((p.amount for p in referral.payments if start <= p.date <= end), ZERO)
    to_date = sum((p.amount for p in referral.payments if p.date <= end), ZERO)
    outstanding = max(ZERO, referral.contract_amount - to_date)
    return Line(
        opportunity_id=referral.opportunity_id,
        kind=DIRECT,
        contract_amount=referral.contract_amount,
        collected=fen(collected),
        collected_to_date=fen(to_date),
        commission=fen(programme.direct_rate * collected),
        pending=fen(programme.direct_rate * outstanding),
        base=fen(collected),
        held=referral.held,
        flags=flags,
    )


def statement(
    programme: Programme, referrals: list[Referral] | tuple[Referral, ...], start: dt.date,
    end: dt.date,
) -> Statement:  # fmt: skip
    """The partner's statement for the period [start, end] (both days included)."""
    if end < start:
        raise ValueError("the period ends before it starts")
    lines = tuple(_line(r, programme, start, end) for r in referrals)
    clear = [x for x in lines if not x.held]
    held_lines = [x for x in lines if x.held]
    base = sum((x.base for x in lines), ZERO)
    clear_base = sum((x.base for x in clear), ZERO)
    bonus = fen(programme.bonus_rate * base) if base >= programme.threshold and base else ZERO
    clear_bonus = (
        fen(programme.bonus_rate * clear_base)
        if clear_base >= programme.threshold and clear_base
        else ZERO
    )
    bonus_held = bonus - clear_bonus
    held = sum((x.commission + x.pending for x in held_lines), ZERO) + bonus_held
    flags = ("conflict_of_interest",) if any(x.flags for x in lines) else ()
    return Statement(
        start=start,
        end=end,
        lines=lines,
        earned=sum((x.commission for x in clear), ZERO),
        pending=sum((x.pending for x in clear), ZERO),
        held=held,
        volume_base=base,
        volume_bonus=bonus,
        bonus_held=bonus_held,
        flags=flags,
    )


def settle(payable: Decimal, paid: Decimal) -> Decimal:
    """What is still due for a period: its payable amount less what was paid out
    against it already. Never negative — a period paid beyond what is payable now
    (its money was corrected afterwards) is *overpaid*, shown as a flag, and nothing
    more is paid for it."""
    return max(ZERO, payable - paid)


# --- the programmes as configuration (models/partner_programmes.toml) -----------------


class ProgrammeConfig(BaseModel):
    """One programme as an administrator writes it: rates as decimals ("0.05")."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: Text
    period: Literal["half", "year"] = "half"  # the settlement period of the bonus
    direct_rate: Decimal = Field(ge=0, le=1)
    indirect_weight: Decimal = Field(ge=0, le=1)
    threshold: Decimal = Field(ge=0, lt=Decimal("1e14"))
    bonus_rate: Decimal = Field(ge=0, le=1)
    currency: str = Field("CNY", pattern=r"^[A-Z]{3}$")

    @field_validator("direct_rate", "indirect_weight", "threshold", "bonus_rate", mode="before")
    @classmethod
    def _not_a_float(cls, value: object) -> object:
        if isinstance(value, float):  # 0.1 in TOML is a binary float: rounding creeps in
            raise ValueError(f'write the number as text, e.g. "{value}"')
        return value

    def rules(self) -> Programme:
        return Programme(
            direct_rate=self.direct_rate,
            indirect_weight=self.indirect_weight,
            threshold=self.threshold,
            bonus_rate=self.bonus_rate,
        )


class ProgrammeModel(BaseModel):
    """The referral programmes on offer; each partner follows one (`default` for new
    partners)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    default: str
    programmes: dict[str, ProgrammeConfig] = Field(min_length=1)

    @field_validator("programmes")
    @classmethod
    def _keys(cls, value: dict[str, ProgrammeConfig]) -> dict[str, ProgrammeConfig]:
        bad = [k for k in value if not KEY_PATTERN.match(k)]
        if bad:
            raise ValueError(
                f"programme keys are lower-case letters, digits, - and _: {', '.join(bad)}"
            )
        return value

    @model_validator(mode="after")
    def _default_exists(self) -> ProgrammeModel:
        if self.default not in self.programmes:
            raise ValueError(
                f"default '{self.default}' is not a programme; use one of: "
                f"{', '.join(self.programmes)}"
            )
        return self
