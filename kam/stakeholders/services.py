"""Changing a deal's buying centre. Every change is an event on the deal, with the
roles and stance before and after: the history later rules read (who lost a role,
who is new)."""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from kam.core import audit, clock, validation
from kam.core.concurrency import lock_for_change
from kam.core.errors import ValidationFailed
from kam.stakeholders.models import Role, Stakeholder, Stance

FIELDS = ("contact", "roles", "stance", "is_coach", "influence", "relationship", "disc", "notes")
EDITABLE = ("roles", "stance", "is_coach", "influence", "relationship", "disc", "notes")


def _clean(data: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, value in data.items():
        if name == "roles":
            if not isinstance(value, list | tuple):
                raise ValidationFailed(_("Send the roles as a list."), field="roles")
            bad = [r for r in value if r not in Role.values]
            if bad:
                raise ValidationFailed(
                    _("Unknown role “%(value)s”; use any of: %(keys)s.")
                    % {"value": bad[0], "keys": ", ".join(Role.values)},
                    field="roles",
                )
            out[name] = [r for r in Role.values if r in value]  # canonical order, no repeats
        elif name == "stance":
            out[name] = validation.choice(value, field=name, choices=Stance, allow_blank=False)
        elif name == "is_coach":
            if not isinstance(value, bool):
                raise ValidationFailed(_("Enter true or false."), field=name)
            out[name] = value
        elif name == "influence":
            out[name] = validation.whole_number(value, field=name, minimum=1, maximum=5)
        elif name == "relationship":
            out[name] = validation.whole_number(value, field=name, minimum=0, maximum=4)
        elif name == "disc":
            if value not in (None, "", "D", "I", "S", "C"):
                raise ValidationFailed(_("Use D, I, S or C."), field=name)
            out[name] = value or ""
        elif name == "notes":
            out[name] = validation.text(value, field=name, max_length=10_000)
        else:
            raise ValueError(f"not a stakeholder field: {name}")
    return out


def _common(opp, stakeholder_id: int) -> dict:
    return {
        "entity": "stakeholder",
        "entity_id": stakeholder_id,
        "opportunity_id": opp.pk,
        "account_id": opp.account_id,
    }


@transaction.atomic
def stakeholder_add(*, actor, opportunity, contact, **fields: Any) -> Stakeholder:
    if contact.account_id != opportunity.account_id:
        raise ValidationFailed(
            _("%(name)s does not belong to this deal's account.") % {"name": contact.name},
            field="contact_id",
        )
    if Stakeholder.objects.filter(opportunity=opportunity, contact=contact).exists():
        raise ValidationFailed(
            _("%(name)s is already in this deal's buying centre; edit their entry.")
            % {"name": contact.name},
            field="contact_id",
        )
    data = _clean({"roles": [], "stance": Stance.UNKNOWN, **fields})
    try:
        with transaction.atomic():
            stakeholder = Stakeholder.objects.create(
                opportunity=opportunity, contact=contact, **data
            )
    except IntegrityError:  # added by someone else between the check and the insert
        raise ValidationFailed(
            _("%(name)s is already in this deal's buying centre; edit their entry.")
            % {"name": contact.name},
            field="contact_id",
        ) from None
    audit.record(
        actor=actor,
        action="created",
        after=audit.snapshot(stakeholder, FIELDS),
        **_common(opportunity, stakeholder.pk),
    )
    return stakeholder


@transaction.atomic
def stakeholder_update(
    *, actor, stakeholder: Stakeholder, expected_version: int | None = None, **changes: Any
) -> Stakeholder:
    """`expected_version`: the version the change was based on (412 when stale)."""
    lock_for_change(stakeholder, expected_version)
    data = _clean(changes)
    before, after = audit.apply_changes(stakeholder, data)
    if after:
        stakeholder.updated_at = clock.now()
        stakeholder.save(update_fields=[*after, "updated_at"])
        audit.record(
            actor=actor,
            action="updated",
            before=before,
            after=after,
            **_common(stakeholder.opportunity, stakeholder.pk),
        )
    return stakeholder


@transaction.atomic
def stakeholder_remove(
    *, actor, stakeholder: Stakeholder, expected_version: int | None = None
) -> None:
    lock_for_change(stakeholder, expected_version)
    audit.record(
        actor=actor,
        action="deleted",
        # the name too: the history and key_person_changed still name who was removed
        before={**audit.snapshot(stakeholder, FIELDS), "name": stakeholder.contact.name},
        **_common(stakeholder.opportunity, stakeholder.pk),
    )
    stakeholder.delete()
