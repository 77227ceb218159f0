"""Pure methodology decisions about an opportunity (no Django imports): its win
probability from the stage and the alerts, and a new deal's buyer stage."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from kam.methodology.schema import BuyerProcess, Playbook
from kam.methodology.text import Msg, gettext_noop

CLOSED_PROBABILITY = {"won": 100, "lost": 0, "abandoned": 0}
CLOSED_LABELS = {
    "won": gettext_noop("Won"),
    "lost": gettext_noop("Lost"),
    "abandoned": gettext_noop("Abandoned"),
}
OPEN_RANGE = (1, 99)


@dataclass(frozen=True)
class Factor:
    key: str  # "stage_base", "status_won", or the alert code that applied it
    effect: str  # human-readable, e.g. "40%" or "×0.5"
    value: float
    label: Any  # Msg or Text, shown in the user's language


def _times(value: float) -> str:
    return f"×{value:g}"


def win_probability(
    *, playbook: Playbook, stage: str, status: str, alerts: list | tuple = ()
) -> tuple[int, list[Factor]]:
    """Win probability in whole percent with every factor that made it (SPEC §5).

    Open deals: the stage's base probability, times the factor of each alert that
    carries one (a gate forced while unmet ×0.5, misalignment with the buyer, …),
    clamped to 1–99 because nothing open is certain either way. Closed deals are
    100 (won) or 0."""
    if status in CLOSED_PROBABILITY:
        value = CLOSED_PROBABILITY[status]
        label = Msg(CLOSED_LABELS[status])
        return value, [
            Factor(key=f"status_{status}", effect=f"{value}%", value=value / 100, label=label)
        ]
    base = playbook.stage(stage).base_probability
    factors = [
        Factor(
            key="stage_base",
            effect=f"{round(base * 100)}%",
            value=base,
            label=Msg(gettext_noop("Base probability of the stage")),
        )
    ]
    p = base
    for alert in alerts:
        if alert.probability_factor is None:
            continue
        p *= alert.probability_factor
        factors.append(
            Factor(
                key=alert.code,
                effect=_times(alert.probability_factor),
                value=alert.probability_factor,
                label=alert.title,
            )
        )
    value = int(Decimal(repr(p * 100)).quantize(Decimal(1), ROUND_HALF_UP))
    low, high = OPEN_RANGE
    if value > high or value < low:
        clamped = min(high, max(low, value))
        factors.append(
            Factor(
                key="open_range",
                effect=f"{clamped}%",
                value=clamped / 100,
                label=Msg(gettext_noop("An open deal stays between 1 and 99 per cent")),
            )
        )
        value = clamped
    return value, factors


def initial_buyer_stage(*, playbook: Playbook, buyer: BuyerProcess) -> str:
    """A new deal's buyer stage: the first one its first seller stage maps to."""
    mapped = playbook.first_stage.buyer_stages
    return mapped[0] if mapped else buyer.keys[0]
