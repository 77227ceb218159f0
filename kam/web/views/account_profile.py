"""Account page: the account type questionnaire, needs radar and satisfaction records.

Stub: filled in by that work."""

from __future__ import annotations


def account_profile_context(request, account, forms: dict | None = None) -> dict:
    return {}
