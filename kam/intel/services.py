"""Recording intelligence (情报) on a deal: what we learned, from whom, and who
confirmed it since. Every change is an event on the deal (entity "intel", the
item's id), so the deal's history tells when an item was learned, confirmed,
verified and by whom.

Verification (交叉验证, SPEC §4): an item is verified once
`buying_centre.sources_to_verify` different people confirm it. A source is a
contact of the deal's account (external people who sway the team are recorded at
the account too, so they qualify); the same person cannot confirm an item twice."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from kam.core import audit, clock, validation
from kam.core.errors import ValidationFailed
from kam.intel.models import NOTE_MAX, TEXT_MAX, IntelItem, IntelSource, sources_to_verify

ITEM_FIELDS = ("text", "learned_on", "critical")
SOURCE_FIELDS = ("contact", "confirmed_on", "note")


# --- checks --------------------------------------------------------------------------


def _day(value: Any, *, field: str) -> dt.date:
    """A date that has happened: today when not given, never in the future."""
    return validation.past_date(value, field=field) or clock.today()


def _flag(value: Any, *, field: str) -> bool:
    if not isinstance(value, bool):
        raise ValidationFailed(_("Enter true or false."), field=field)
    return value


def _clean_item(data: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, value in data.items():
        if name == "text":
            out[name] = validation.text(value, field=name, max_length=TEXT_MAX, required=True)
        elif name == "learned_on":
            if value is None:
                raise ValidationFailed(_("This field is required."), field=name)
            out[name] = _day(value, field=name)
        elif name == "critical":
            out[name] = _flag(value, field=name)
        else:
            raise ValueError(f"not an intelligence field: {name}")
    return out


def _check_source(opportunity, contact, *, field: str) -> None:
    if contact.account_id != opportunity.account_id:
        raise ValidationFailed(
            _("%(name)s does not belong to this deal's account; a source must be someone there.")
            % {"name": contact.name},
            field=field,
        )


def _already(contact) -> ValidationFailed:
    return ValidationFailed(
        _(
            "%(name)s already confirmed this item; a confirmation counts only from someone "
            "who has not told us yet."
        )
        % {"name": contact.name},
        field="contact_id",
    )


# --- audit ---------------------------------------------------------------------------


def _common(opportunity, item_id: int) -> dict:
    return {
        "entity": "intel",
        "entity_id": item_id,
        "opportunity_id": opportunity.pk,
        "account_id": opportunity.account_id,
    }


def _lock(item: IntelItem) -> IntelItem:
    """Re-read the item under a row lock, so two confirmations arriving together
    count each other's source."""
    return IntelItem.objects.select_for_update().select_related("opportunity").get(pk=item.pk)


def _count(item: IntelItem) -> int:
    return IntelSource.objects.filter(item=item).values("contact").distinct().count()


# --- services ------------------------------------------------------------------------


@transaction.atomic
def intel_add(
    *,
    actor,
    opportunity,
    text: str,
    sources: Iterable,
    learned_on: dt.date | str | None = None,
    critical: bool = False,
    note: str = "",
) -> IntelItem:
    """Record an item with the people it came from (at least one; the same person
    listed twice counts once). Each source is recorded as confirming it on the day
    it was learned; `note` goes on every initial source."""
    data = _clean_item({"text": text, "critical": critical})
    data["learned_on"] = _day(learned_on, field="learned_on")
    note = validation.text(note, field="note", max_length=NOTE_MAX)
    people: list = []
    for contact in sources or ():
        if all(contact.pk != p.pk for p in people):
            people.append(contact)
    if not people:
        raise ValidationFailed(
            _("Name at least one person who told us this."), field="source_contact_ids"
        )
    for contact in people:
        _check_source(opportunity, contact, field="source_contact_ids")
    item = IntelItem.objects.create(opportunity=opportunity, created_by=actor, **data)
    IntelSource.objects.bulk_create(
        IntelSource(item=item, contact=c, confirmed_on=data["learned_on"], note=note)
        for c in people
    )
    audit.record(
        actor=actor,
        action="created",
        after={
            **audit.snapshot(item, ITEM_FIELDS),
            "sources": [c.pk for c in people],
            "verified": len(people) >= sources_to_verify(),
            # the note each initial source carries (left out when none was given)
            **({"note": note} if note else {}),
        },
        **_common(opportunity, item.pk),
    )
    return item


@transaction.atomic
def intel_update(*, actor, item: IntelItem, **changes: Any) -> IntelItem:
    """Change what an item says, when it was learned, or whether it is critical.
    Its sources change only through `intel_confirm` / `intel_source_remove`."""
    data = _clean_item(changes)
    before, after = audit.apply_changes(item, data)
    if after:
        item.updated_at = clock.now()
        item.save(update_fields=[*after, "updated_at"])
        audit.record(
            actor=actor,
            action="updated",
            before=before,
            after=after,
            **_common(item.opportunity, item.pk),
        )
    return item


@transaction.atomic
def intel_confirm(
    *,
    actor,
    item: IntelItem,
    contact,
    confirmed_on: dt.date | str | None = None,
    note: str = "",
) -> IntelSource:
    """Another person confirms the item. The event is "verified" when this
    confirmation is the one that makes the item verified, "confirmed" otherwise."""
    locked = _lock(item)
    opportunity = locked.opportunity
    _check_source(opportunity, contact, field="contact_id")
    day = _day(confirmed_on, field="confirmed_on")
    note = validation.text(note, field="note", max_length=NOTE_MAX)
    if IntelSource.objects.filter(item=locked, contact=contact).exists():
        raise _already(contact)
    had = _count(locked)
    try:
        with transaction.atomic():
            source = IntelSource.objects.create(
                item=locked, contact=contact, confirmed_on=day, note=note
            )
    except IntegrityError:  # the same person added meanwhile by someone else
        raise _already(contact) from None
    need = sources_to_verify()
    now = had + 1
    audit.record(
        actor=actor,
        action="verified" if had < need <= now else "confirmed",
        before={"source_count": had, "verified": had >= need},
        after={
            **audit.snapshot(source, SOURCE_FIELDS),
            "source_count": now,
            "verified": now >= need,
        },
        **_common(opportunity, locked.pk),
    )
    locked.updated_at = clock.now()
    locked.save(update_fields=["updated_at"])
    item.updated_at = locked.updated_at
    return source


@transaction.atomic
def intel_source_remove(*, actor, item: IntelItem, source: IntelSource) -> None:
    """Take back a confirmation (e.g. recorded against the wrong person). An item
    keeps at least one source: to drop the last, delete the item."""
    locked = _lock(item)
    if source.item_id != locked.pk:
        raise ValueError("the source belongs to another item")
    had = _count(locked)
    if had <= 1:
        raise ValidationFailed(
            _("An item needs at least one source. Delete the item instead if nobody told us."),
            field="source_id",
        )
    need = sources_to_verify()
    audit.record(
        actor=actor,
        action="source_removed",
        before={
            **audit.snapshot(source, SOURCE_FIELDS),
            "source_count": had,
            "verified": had >= need,
        },
        after={"source_count": had - 1, "verified": had - 1 >= need},
        **_common(locked.opportunity, locked.pk),
    )
    source.delete()
    locked.updated_at = clock.now()
    locked.save(update_fields=["updated_at"])
    item.updated_at = locked.updated_at


@transaction.atomic
def intel_delete(*, actor, item: IntelItem) -> None:
    locked = _lock(item)
    contacts = list(
        IntelSource.objects.filter(item=locked)
        .order_by("confirmed_on", "id")
        .values_list("contact_id", flat=True)
    )
    audit.record(
        actor=actor,
        action="deleted",
        before={**audit.snapshot(locked, ITEM_FIELDS), "sources": contacts},
        **_common(locked.opportunity, locked.pk),
    )
    locked.delete()
