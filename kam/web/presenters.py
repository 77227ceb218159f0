"""Turning methodology keys and event rows into text for the pages, in the user's
language. The methodology files carry both languages; event actions and fields
are labelled here through gettext."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import FieldDoesNotExist
from django.utils.text import capfirst
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from kam.methodology import registry
from kam.opportunities.models import Opportunity


def language() -> str:
    return get_language() or "en"


def playbook_name(key: str) -> str:
    try:
        return registry.playbook(key).name.get(language())
    except KeyError:
        return key


def stage_name(playbook_key: str, stage_key: str) -> str:
    try:
        return registry.playbook(playbook_key).stage(stage_key).name.get(language())
    except KeyError:
        return stage_key


def buyer_stage_name(key: str) -> str:
    for stage in registry.buyer_process().stages:
        if stage.key == key:
            return stage.name.get(language())
    return key


def buyer_stage_choices() -> list[tuple[str, str]]:
    lang = language()
    return [(s.key, s.name.get(lang)) for s in registry.buyer_process().stages]


def playbook_choices() -> list[tuple[str, str]]:
    lang = language()
    return [(key, registry.playbook(key).name.get(lang)) for key in registry.playbook_keys()]


def stage_filter_choices() -> list[tuple[str, list[tuple[str, str]]]]:
    """Stages grouped by playbook; a value is "<playbook>:<stage>" because two
    playbooks may use the same stage key."""
    lang = language()
    out = []
    for key in registry.playbook_keys():
        book = registry.playbook(key)
        out.append(
            (book.name.get(lang), [(f"{key}:{s.key}", s.name.get(lang)) for s in book.stages])
        )
    return out


def format_money(value: Any, currency: str = "") -> str:
    """1250000 → "1,250,000.00", with the currency code in front when given."""
    if value is None or value == "":
        return "—"
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return str(value)
    text = f"{number:,.2f}"
    return f"{currency}\u00a0{text}" if currency else text


@dataclass
class StageStep:
    key: str
    name: str
    state: str  # "done", "current" or "todo"
    probability: int


def stage_steps(opportunity: Opportunity) -> list[StageStep]:
    """The playbook's stages with where the deal stands, for the progress bar."""
    try:
        book = registry.playbook(opportunity.playbook)
    except KeyError:
        return []
    keys = book.stage_keys
    current = keys.index(opportunity.stage) if opportunity.stage in keys else -1
    lang = language()
    steps = []
    for i, stage in enumerate(book.stages):
        state = "done" if i < current else "current" if i == current else "todo"
        steps.append(
            StageStep(
                key=stage.key,
                name=stage.name.get(lang),
                state=state,
                probability=round(stage.base_probability * 100),
            )
        )
    return steps


FACTOR_LABELS = {
    "stage_base": _("Base probability of the stage"),
    "status_won": _("The opportunity is won"),
    "status_lost": _("The opportunity is lost"),
    "status_abandoned": _("The opportunity is abandoned"),
}

ACTION_LABELS = {
    "created": _("Created"),
    "updated": _("Changed"),
    "deleted": _("Deleted"),
    "buyer_stage_changed": _("Buyer stage changed"),
    "advanced": _("Moved to the next stage"),
    "force_advanced": _("Forced into the next stage"),
    "closed": _("Closed"),
    "left": _("Left the account"),
}

ENTITY_LABELS = {
    "opportunity": _("Opportunity"),
    "account": _("Account"),
    "contact": _("Contact"),
}


@dataclass
class Change:
    label: str
    before: str
    after: str


@dataclass
class HistoryRow:
    at: Any
    actor: str
    action: str
    entity: str
    note: str
    changes: list[Change] = field(default_factory=list)


def _field_label(name: str) -> str:
    try:
        return capfirst(Opportunity._meta.get_field(name).verbose_name)
    except FieldDoesNotExist:
        return name


def _value_text(name: str, value: Any, opportunity: Opportunity, users: dict[int, str]) -> str:
    if value is None or value == "":
        return "—"
    if name == "buyer_stage":
        return buyer_stage_name(str(value))
    if name == "stage":
        return stage_name(opportunity.playbook, str(value))
    if name == "playbook":
        return playbook_name(str(value))
    if name == "owner":
        return users.get(value, str(value))
    if name == "amount":
        return format_money(value)
    if name == "status":
        return str(dict(Opportunity._meta.get_field("status").choices).get(value, value))
    return str(value)


def history_rows(opportunity: Opportunity, events) -> list[HistoryRow]:
    """The deal's events, newest first, with each changed field as before → after."""
    from kam.users.models import User

    events = list(events)
    owner_ids = {
        v
        for e in events
        for payload in (e.before, e.after)
        for k, v in payload.items()
        if k == "owner" and isinstance(v, int)
    }
    users = {u.pk: str(u) for u in User.objects.filter(pk__in=owner_ids)}
    rows = []
    for event in reversed(events):
        changes = []
        if event.action != "created":
            for name, after in event.after.items():
                changes.append(
                    Change(
                        label=_field_label(name),
                        before=_value_text(name, event.before.get(name), opportunity, users),
                        after=_value_text(name, after, opportunity, users),
                    )
                )
        rows.append(
            HistoryRow(
                at=event.at,
                actor=str(event.actor) if event.actor else "",
                action=str(ACTION_LABELS.get(event.action, event.action.replace("_", " "))),
                entity=""
                if event.entity == "opportunity"
                else str(ENTITY_LABELS.get(event.entity, event.entity)),
                note=event.note,
                changes=changes,
            )
        )
    return rows


def factor_rows(factors) -> list[tuple[str, str]]:
    return [(str(FACTOR_LABELS.get(f.key, f.key)), f.effect) for f in factors]
