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

from kam.core.i18n import buyer_stage_name, show, stage_name  # noqa: F401  (the pages' names)
from kam.methodology import checks, registry
from kam.opportunities.models import Evaluation, Milestone, Opportunity, PurchaseCriterion


def language() -> str:
    return get_language() or "en"


def playbook_name(key: str) -> str:
    try:
        return registry.playbook(key).name.get(language())
    except KeyError:
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


ACTION_LABELS = {
    "created": _("Created"),
    "updated": _("Changed"),
    "deleted": _("Deleted"),
    "recorded": _("Recorded"),
    "buyer_stage_changed": _("Buyer stage changed"),
    "advanced": _("Moved to the next stage"),
    "force_advanced": _("Forced into the next stage"),
    "closed": _("Closed"),
    "evaluated": _("Evaluated"),
    "priority_changed": _("Priority changed"),
    "completed": _("Project completed"),
    "left": _("Left the account"),
    "confirmed": _("Confirmed by another person"),
    "verified": _("Verified (confirmed by enough people)"),
    "source_removed": _("Source taken back"),
    "competition_scored": _("Competition table scored"),
    "conflict_found": _("Conflict of interest found: commission held"),
    "released": _("Held commission released"),
    "member_added": _("Colleague added to the team"),
    "member_changed": _("Team member's access changed"),
    "member_removed": _("Colleague taken off the team"),
}

ENTITY_LABELS = {
    "opportunity": _("Opportunity"),
    "account": _("Account"),
    "contact": _("Contact"),
    "criterion": _("Purchase criterion"),
    "milestone": _("Milestone"),
    "stakeholder": _("Buying centre"),
    "evaluation": _("Evaluation"),
    "intel": _("Intelligence"),
    "payment": _("Payment collected"),
    "referral": _("Referral"),
}

# Labels of event payload keys that are not model fields.
EXTRA_FIELD_LABELS = {
    "unmet": _("Unmet when forced"),
    "knocked_out": _("Knocked out by"),
    "contact": _("Contact"),
    "roles": _("Roles"),
    "stance": _("Stance"),
    "is_coach": _("Coach"),
    "sources": _("Sources"),
    "source_count": _("Sources"),
    "verified": _("Verified"),
    "confirmed_on": _("Confirmed on"),
    "note": _("Note"),
    "held": _("Commission held"),
    "user": _("Colleague"),
    "access": _("Access"),
}

# Payload keys that say nothing a person reads (the timeline already has the time).
# Recorded for the audit trail (kam.core.replay) but shown otherwise: the moment is
# the row's time, the reasons are its note.
HIDDEN_FIELDS = {
    "stage_entered_at",
    "opportunity",
    "closed_at",
    "close_reason",
    "priority_reason",
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
    # For an entity created, recorded or deleted: what it said, as (label, value).
    details: list[tuple[str, str]] = field(default_factory=list)
    code: str = ""  # the event action, for styling (e.g. force_advanced)


def _entity_model(entity: str):
    from kam.intel.models import IntelItem
    from kam.partners.models import Payment, Referral
    from kam.stakeholders.models import Stakeholder

    return {
        "opportunity": Opportunity,
        "criterion": PurchaseCriterion,
        "milestone": Milestone,
        "stakeholder": Stakeholder,
        "evaluation": Evaluation,
        "intel": IntelItem,
        "payment": Payment,
        "referral": Referral,
    }.get(entity, Opportunity)


def _field_label(name: str, entity: str = "opportunity") -> str:
    if name in EXTRA_FIELD_LABELS and entity != "opportunity":
        return capfirst(str(EXTRA_FIELD_LABELS[name]))
    try:
        return capfirst(_entity_model(entity)._meta.get_field(name).verbose_name)
    except FieldDoesNotExist:
        return capfirst(str(EXTRA_FIELD_LABELS.get(name, name)))


def yes_no(value: Any) -> str:
    if value is None:
        return str(_("Unknown"))
    return str(_("Yes") if value else _("No"))


def role_names(roles) -> str:
    from kam.stakeholders.models import Role

    names = dict(Role.choices)
    return list_text(str(names.get(r, r)) for r in roles)


def stance_name(key: str) -> str:
    from kam.stakeholders.models import Stance

    return str(dict(Stance.choices).get(key, key))


def milestone_name(key: str) -> str:
    kind = registry.current().milestones.get(key)
    return kind.name.get(language()) if kind else key


def factor_name(key: str) -> str:
    try:
        return registry.current().evaluation.factor(key).name.get(language())
    except StopIteration:
        return key


def list_text(items) -> str:
    sep = "、" if language().lower().startswith("zh") else ", "
    return sep.join(items)


def format_margin(value: Any) -> str:
    if value is None or value == "":
        return "—"
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return str(value)
    return f"{number.normalize():f}%"


def criterion_labels(playbook_key: str, stage_key: str | None = None) -> dict[str, str]:
    """Gate criterion key → its label in the user's language, for a stage's gate (or
    every stage of the playbook): the history names unmet criteria by these."""
    try:
        book = registry.playbook(playbook_key)
    except KeyError:
        return {}
    ctx = registry.current().check_context
    out: dict[str, str] = {}
    for stage in book.stages:
        if stage_key is not None and stage.key != stage_key:
            continue
        for criterion in stage.gate:
            out.setdefault(criterion.key, show(checks.criterion_label(criterion, ctx)))
    return out


def _value_text(
    name: str,
    value: Any,
    opportunity: Opportunity,
    users: dict[int, str],
    entity: str = "opportunity",
    contacts: dict[int, str] | None = None,
    unmet_labels: dict[str, str] | None = None,
    partners: dict[int, str] | None = None,
) -> str:
    if value is None or value == "":
        if name == "favourable":
            return yes_no(None)
        return "—"
    if isinstance(value, bool):
        return yes_no(value)
    if name == "buyer_stage":
        return buyer_stage_name(str(value))
    if name == "stage":
        return stage_name(opportunity.playbook, str(value))
    if name == "playbook":
        return playbook_name(str(value))
    if name in ("owner", "user"):
        return users.get(value, str(value))
    if name == "access":
        from kam.core.sharing import Access

        return str(dict(Access.choices).get(value, value))
    if name in ("amount", "price"):
        return format_money(value)
    if name == "margin":
        return format_margin(value)
    if name == "status":
        return str(dict(Opportunity._meta.get_field("status").choices).get(value, value))
    if name == "contact":
        return (contacts or {}).get(value, str(value))
    if name == "sources" and entity == "intel" and isinstance(value, list):
        return list_text((contacts or {}).get(v, str(v)) for v in value) or "—"
    if name == "roles" and isinstance(value, list):
        return role_names(value) or "—"
    if name == "stance":
        return stance_name(str(value))
    if name == "kind" and entity == "milestone":
        return milestone_name(str(value))
    if entity == "referral" and name == "partner":
        return (partners or {}).get(value, str(value))
    if entity == "referral" and name == "kind":
        from kam.partners.models import Kind

        return str(dict(Kind.choices).get(value, value))
    if name == "unmet" and isinstance(value, list):
        labels = unmet_labels or {}
        return list_text(labels.get(k, k) for k in value) or "—"
    if name == "knocked_out" and isinstance(value, list):
        return list_text(factor_name(k) for k in value) or "—"
    if name == "scores" and isinstance(value, dict):
        return list_text(f"{factor_name(k)} {v}" for k, v in value.items())
    if isinstance(value, list):
        return list_text(str(v) for v in value) or "—"
    return str(value)


def _score_changes(before: dict, after: dict) -> list[Change]:
    """An evaluation's factors that changed, each as its own line."""
    out = []
    for key, new in after.items():
        old = before.get(key)
        if old != new:
            out.append(
                Change(
                    label=factor_name(key), before="—" if old is None else str(old), after=str(new)
                )
            )
    return out


def history_rows(opportunity: Opportunity, events) -> list[HistoryRow]:
    """The deal's events, newest first, with each changed field as before → after,
    and for a new or deleted entry (criterion, milestone, stakeholder) what it said."""
    from kam.contacts.models import Contact
    from kam.users.models import User

    events = list(events)
    payloads = [(e, payload) for e in events for payload in (e.before, e.after)]
    owner_ids = {
        v
        for _e, payload in payloads
        for k, v in payload.items()
        if k in ("owner", "user") and isinstance(v, int)
    }
    contact_ids = {
        v
        for e, payload in payloads
        for k, v in payload.items()
        if e.entity == "stakeholder" and k == "contact" and isinstance(v, int)
    } | {
        c
        for e, payload in payloads
        if e.entity == "intel"
        for k, v in payload.items()
        for c in (v if k == "sources" and isinstance(v, list) else [v] if k == "contact" else [])
        if isinstance(c, int)
    }
    users = {u.pk: str(u) for u in User.objects.filter(pk__in=owner_ids)} if owner_ids else {}
    contacts = (
        dict(Contact.objects.filter(pk__in=contact_ids).values_list("pk", "name"))
        if contact_ids
        else {}
    )
    partner_ids = {
        v
        for e, payload in payloads
        if e.entity == "referral"
        for k, v in payload.items()
        if k == "partner" and isinstance(v, int)
    }
    partners = {}
    if partner_ids:
        from kam.partners.models import Partner

        partners = dict(Partner.objects.filter(pk__in=partner_ids).values_list("pk", "name"))
    unmet_labels = criterion_labels(opportunity.playbook)
    rows = []
    for event in reversed(events):
        entity = event.entity

        def text(name, value, entity=entity):
            return _value_text(
                name, value, opportunity, users, entity, contacts, unmet_labels, partners
            )

        changes: list[Change] = []
        details: list[tuple[str, str]] = []
        first_evaluation = event.action == "evaluated" and not event.before
        if event.action == "competition_scored":
            from kam.competition.scoring import history_lines

            changes.extend(Change(*line) for line in history_lines(event.before, event.after))
        elif (
            first_evaluation
            or event.action in ("member_added", "member_removed")
            or (event.action in ("created", "recorded", "deleted") and entity != "opportunity")
        ):
            payload = event.before if event.action in ("deleted", "member_removed") else event.after
            for name, value in payload.items():
                if name in HIDDEN_FIELDS or value is None or value in ("", [], {}):
                    continue
                details.append((_field_label(name, entity), text(name, value)))
        elif event.action != "created":
            for name, after in event.after.items():
                if name in HIDDEN_FIELDS:
                    continue
                if name == "scores" and isinstance(after, dict):
                    changes.extend(_score_changes(event.before.get("scores") or {}, after))
                    continue
                if name == "unmet":
                    details.append((_field_label(name, entity), text(name, after)))
                    continue
                before = event.before.get(name)
                if (
                    event.action == "evaluated"
                    and name == "knocked_out"
                    and not after
                    and (not before)
                ):
                    continue
                changes.append(
                    Change(
                        label=_field_label(name, entity),
                        before=text(name, before),
                        after=text(name, after),
                    )
                )
        rows.append(
            HistoryRow(
                at=event.at,
                actor=str(event.actor) if event.actor else "",
                action=str(ACTION_LABELS.get(event.action, event.action.replace("_", " "))),
                entity="" if entity == "opportunity" else str(ENTITY_LABELS.get(entity, entity)),
                note=event.note,
                changes=changes,
                details=details,
                code=event.action,
            )
        )
    return rows


def factor_rows(factors) -> list[tuple[str, str]]:
    """Each win-probability factor as (label, effect), in the user's language."""
    return [(show(f.label), f.effect) for f in factors]
