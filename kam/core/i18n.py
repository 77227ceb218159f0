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


def stage_name(playbook: str, stage: str) -> str:
    """A seller stage named by its playbook in the user's language (the key when the
    playbook or stage is no longer loaded)."""
    from kam.methodology import registry

    try:
        return show(registry.playbook(playbook).stage(stage).name)
    except KeyError:
        return stage


def buyer_stage_name(key: str) -> str:
    """A stage of the customer's buying process in the user's language."""
    from kam.methodology import registry

    for stage in registry.buyer_process().stages:
        if stage.key == key:
            return show(stage.name)
    return key
