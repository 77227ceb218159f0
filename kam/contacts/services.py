"""Changing contacts. A contact who leaves is marked `left` (with the date), not
deleted, so later rules can see who held which post when."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from kam.contacts.models import Contact, ContactStatus, Disc, Layer
from kam.core import audit, clock, drafts, validation
from kam.core.errors import Conflict, ValidationFailed

EDITABLE_FIELDS = (
    "name",
    "code",
    "title",
    "department",
    "reports_to",
    "layer",
    "disc",
    "status",
    "is_external",
    "joined_at",
    "left_at",
    "phone",
    "email",
    "notes",
)


# Made once: the importer cleans thousands of rows and the message is rarely shown.
_CODE_TAKEN = gettext_lazy("Another contact already uses the code “%(code)s”.")


def _clean(
    data: dict[str, Any], *, instance: Contact | None = None, check_code: bool = True
) -> dict[str, Any]:
    unknown = set(data) - set(EDITABLE_FIELDS)
    if unknown:
        raise ValueError(f"not contact fields: {sorted(unknown)}")
    out: dict[str, Any] = {}
    for name, value in data.items():
        if name == "name":
            out[name] = validation.text(value, field=name, max_length=100, required=True)
        elif name == "code":
            out[name] = validation.unique_code(
                value,
                field=name,
                model=Contact,
                instance=instance,
                message=_CODE_TAKEN,
                check=check_code,
            )
        elif name in ("title", "department", "phone"):
            out[name] = validation.text(
                value, field=name, max_length=100 if name != "phone" else 50
            )
        elif name == "email":
            email = validation.text(value, field=name, max_length=200)
            if email and ("@" not in email or " " in email):
                raise ValidationFailed(_("Enter a valid e-mail address."), field=name)
            out[name] = email
        elif name == "notes":
            out[name] = validation.text(value, field=name, max_length=10_000)
        elif name == "layer":
            out[name] = validation.choice(value, field=name, choices=Layer)
        elif name == "disc":
            out[name] = validation.choice(value, field=name, choices=Disc)
        elif name == "status":
            out[name] = validation.choice(
                value, field=name, choices=ContactStatus, allow_blank=False
            )
        elif name in ("joined_at", "left_at"):
            out[name] = validation.date(value, field=name)
        elif name == "is_external":
            out[name] = bool(value)
        elif name == "reports_to":
            out[name] = value
    return out


def _boss_in_db(pk: int) -> int | None:
    return Contact.objects.filter(pk=pk).values_list("reports_to_id", flat=True).first()


def _check_consistency(
    contact: Contact, *, boss_of: Callable[[int], int | None] | None = None
) -> None:
    """`boss_of`: whom a contact reports to (by id), for the walk up the chart that
    finds a circle — by default the database's answer, or the importer's map of the
    accounts it links many contacts in."""
    boss = contact.reports_to
    if boss is not None:
        if boss_of is None:
            the_boss = boss

            def boss_of(pk: int) -> int | None:
                return the_boss.reports_to_id if pk == the_boss.pk else _boss_in_db(pk)

        if boss.account_id != contact.account_id:
            raise ValidationFailed(
                _("%(boss)s works at another account; choose a manager at the same account.")
                % {"boss": boss.name},
                field="reports_to_id",
            )
        seen = {contact.pk} if contact.pk else set()
        node: int | None = boss.pk
        above = boss_of(boss.pk)
        while node is not None:
            if node in seen:
                raise ValidationFailed(
                    _("%(name)s cannot report to %(boss)s: that would make a reporting circle.")
                    % {"name": contact.name, "boss": boss.name},
                    field="reports_to_id",
                )
            seen.add(node)
            node, above = above, None
            if node is not None and node not in seen:
                above = boss_of(node)
    if contact.status == ContactStatus.LEFT and contact.left_at is None:
        contact.left_at = clock.today()
    if contact.status == ContactStatus.ACTIVE and contact.left_at is not None:
        raise ValidationFailed(
            _("An active contact has no leaving date: clear it, or set the status to left."),
            field="left_at",
        )
    if contact.joined_at and contact.left_at and contact.left_at < contact.joined_at:
        raise ValidationFailed(
            _("The leaving date is before the date they took the post."), field="left_at"
        )


@transaction.atomic
def contact_create(*, actor, account, name: str, **fields: Any) -> Contact:
    return drafts.save_one(contact_build(actor=actor, account=account, name=name, **fields))


def contact_build(
    *, actor, account, name: str, check_code: bool = True, **fields: Any
) -> drafts.Draft[Contact]:
    """A new contact checked, unsaved, with its created event: `contact_create` writes
    one, the importer many (`check_code=False` when it has looked the code up)."""
    data = _clean({"name": name, **fields}, check_code=check_code)
    contact = Contact(account=account, **data)
    _check_consistency(contact)
    created = audit.event(
        actor=actor,
        entity="contact",
        action="created",
        after={"account": account.pk, **audit.snapshot(contact, EDITABLE_FIELDS)},
        account_id=account.pk,
    )
    return drafts.Draft(contact, [created])


@transaction.atomic
def contact_update(*, actor, contact: Contact, **changes: Any) -> Contact:
    built = contact_update_build(actor=actor, contact=contact, **changes)
    if built is not None:
        fields, event = built
        contact.save(update_fields=fields)
        event.instance().save(force_insert=True)
    return contact


def contact_update_build(
    *,
    actor,
    contact: Contact,
    boss_of: Callable[[int], int | None] | None = None,
    **changes: Any,
) -> tuple[list[str], audit.EventRow] | None:
    """`contact_update`'s checks, its changes made on the instance, nothing written:
    (the fields to save, the event), or None when nothing changes. A new boss given as
    an object with `boss_of` (the importer, linking many contacts at once) is taken as
    it is; otherwise it is read again from the database."""
    data = _clean(changes, instance=contact)
    if data.get("status") == ContactStatus.ACTIVE and "left_at" not in data:
        data["left_at"] = None  # coming back clears the old leaving date
    before, after = audit.apply_changes(contact, data)
    if not after:
        return None
    if "reports_to" in after:
        given = data.get("reports_to")
        if boss_of is not None and isinstance(given, Contact):
            contact.reports_to = given
        else:
            contact.reports_to = (
                Contact.objects.filter(pk=contact.reports_to_id).first()
                if contact.reports_to_id
                else None
            )
    left_before = contact.left_at
    _check_consistency(contact, boss_of=boss_of)  # may fill in the leaving date
    if contact.left_at != left_before:
        before.setdefault("left_at", audit.jsonable(left_before))
        after["left_at"] = audit.jsonable(contact.left_at)
    contact.updated_at = clock.now()
    action = "left" if after.get("status") == ContactStatus.LEFT else "updated"
    event = audit.event(
        actor=actor,
        entity="contact",
        entity_id=contact.pk,
        action=action,
        before=before,
        after=after,
        account_id=contact.account_id,
    )
    return [*after.keys(), "updated_at"], event


@transaction.atomic
def contact_delete(*, actor, contact: Contact) -> None:
    """For mistakes only: people who leave are marked left. Their reports move up to
    the deleted person's own manager so the chart stays connected. Someone in a deal's
    buying centre or named as a source of intelligence stays (409): that history
    would lose its person."""
    if contact.stakeholder_links.exists() or contact.intel_sources.exists():
        raise Conflict(
            _(
                "%(name)s is in a deal's buying centre or a source of intelligence: remove "
                "them there first, or mark the person as left."
            )
            % {"name": contact.name}
        )
    reports = list(contact.reports.all())
    for person in reports:
        contact_update(actor=actor, contact=person, reports_to=contact.reports_to)
    audit.record(
        actor=actor,
        entity="contact",
        entity_id=contact.pk,
        action="deleted",
        before={"account": contact.account_id, **audit.snapshot(contact, EDITABLE_FIELDS)},
        account_id=contact.account_id,
    )
    _record_told_by_cleared(actor=actor, contact=contact)
    contact.delete()


def _record_told_by_cleared(*, actor, contact: Contact) -> None:
    """Satisfaction records told by this person keep their score but lose the name
    (the database sets it to NULL): each such change is an event too."""
    from kam.accounts.models import SatisfactionRecord

    for record in SatisfactionRecord.objects.filter(contact=contact):
        audit.record(
            actor=actor,
            entity="satisfaction",
            entity_id=record.pk,
            action="updated",
            before={"contact": contact.pk},
            after={"contact": None},
            account_id=record.account_id,
            note=_("The contact who told us was deleted."),
        )
