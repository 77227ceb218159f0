"""Showing the rule modules' messages (`Msg`) and the data files' bilingual
`Text` in the language of the current request."""

from __future__ import annotations

from typing import Any

from django.utils.translation import get_language, gettext

from kam.methodology.text import render


def language() -> str:
    return get_language() or "en"


def show(value: Any) -> str:
    """A Msg, a Text or plain text, as the current user reads it."""
    if value is None:
        return ""
    return render(value, gettext, language())
