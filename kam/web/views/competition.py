"""The opportunity page's competition card (竞争对手分析表, SPEC §6). Stub: filled in
by the competition work."""

from __future__ import annotations


def competition_context(user, opp, forms: dict) -> dict:
    return {}
