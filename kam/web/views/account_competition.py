"""Account page: the account's competition map, SWOT and posture.

Stub: filled in by that work."""

from __future__ import annotations


def account_competition_context(request, account, forms: dict | None = None) -> dict:
    return {}
