"""Account page: the account's multi-indicator grade card and the grading dashboard.

Stub: filled in by that work."""

from __future__ import annotations


def account_grade_context(request, account, forms: dict | None = None) -> dict:
    return {}
