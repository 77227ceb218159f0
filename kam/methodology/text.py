"""Messages from the pure rule modules, translated only when shown.

The rule modules decide *why* a gate is unmet or an alert fires without importing
Django. They build a `Msg` from an English template marked with `gettext_noop`
(so `makemessages` extracts it into the catalogues) and parameters; the caller
renders it in the user's language with Django's gettext."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any


def gettext_noop(message: str) -> str:
    """Marks a string for extraction; the translation happens in `Msg.render`."""
    return message


@dataclass(frozen=True)
class Msg:
    template: str
    params: Mapping[str, Any] = field(default_factory=dict)

    def render(self, translate: Callable[[str], str], language: str | None = None) -> str:
        """`translate` is gettext; parameters that are bilingual `Text` (stage names
        from the playbook files) are shown in `language`."""
        values = {k: _param_text(v, translate, language) for k, v in self.params.items()}
        text = translate(self.template)
        return text % values if values else text


class Clauses(tuple):
    """Parameter items that are clauses themselves (each may hold a list): shown
    joined by semicolons rather than commas."""


def _param_text(value: Any, translate: Callable[[str], str], language: str | None) -> Any:
    if hasattr(value, "zh_hans") and hasattr(value, "en"):
        return value.get(language)
    if isinstance(value, Msg):
        return value.render(translate, language)
    zh = (language or "").lower().startswith("zh")
    if isinstance(value, Clauses):
        return (";" if zh else "; ").join(str(_param_text(v, translate, language)) for v in value)
    if isinstance(value, list | tuple):
        sep = "、" if zh else ", "
        return sep.join(str(_param_text(v, translate, language)) for v in value)
    return value


def render(value: Any, translate: Callable[[str], str], language: str | None = None) -> str:
    """A `Msg`, a bilingual `Text` from a data file, or plain text, as a string."""
    if isinstance(value, Msg):
        return value.render(translate, language)
    return str(_param_text(value, translate, language))
