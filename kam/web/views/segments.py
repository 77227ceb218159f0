"""Account page: the segments an account falls in, and the segment pages.

Stub: filled in by that work."""

from __future__ import annotations


def account_segments_context(request, account, forms: dict | None = None) -> dict:
    return {}
