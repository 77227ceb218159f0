"""Pure methodology decisions about an opportunity (no Django imports).

This module grows with the process engine (gates, alignment, alerts); the
foundation holds the parts every page already needs."""

from __future__ import annotations

from dataclasses import dataclass

from kam.methodology.schema import BuyerProcess, Playbook

CLOSED_PROBABILITY = {"won": 100, "lost": 0, "abandoned": 0}


@dataclass(frozen=True)
class Factor:
    key: str
    effect: str  # human-readable, e.g. "base 40%" or "×0.5"
    value: float


def win_probability(*, playbook: Playbook, stage: str, status: str) -> tuple[int, list[Factor]]:
    """Win probability in whole percent with the factors that made it.

    Open deals are clamped to 1–99: nothing open is certain either way (SPEC §5)."""
    if status in CLOSED_PROBABILITY:
        value = CLOSED_PROBABILITY[status]
        return value, [Factor(key=f"status_{status}", effect=f"{value}%", value=value / 100)]
    base = playbook.stage(stage).base_probability
    value = round(base * 100)
    return max(1, min(99, value)), [Factor(key="stage_base", effect=f"{value}%", value=base)]


def initial_buyer_stage(*, playbook: Playbook, buyer: BuyerProcess) -> str:
    """A new deal's buyer stage: the first one its first seller stage maps to."""
    mapped = playbook.first_stage.buyer_stages
    return mapped[0] if mapped else buyer.keys[0]
