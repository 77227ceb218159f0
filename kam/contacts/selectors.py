"""Reading contacts: visible when their account is visible to the user."""

from __future__ import annotations

from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _

from kam.accounts.selectors import accounts_for_user
from kam.contacts.models import Contact
from kam.core.errors import NotFound, ValidationFailed


def contacts_for_user(user) -> QuerySet[Contact]:
    return Contact.objects.filter(account__in=accounts_for_user(user).values("pk"))


def contact_get_for_user(user, contact_id: int) -> Contact:
    contact = (
        contacts_for_user(user)
        .select_related("account", "reports_to")
        .filter(pk=contact_id)
        .first()
    )
    if contact is None:
        raise NotFound(_("No such contact, or it is not shared with you."))
    return contact


# Whoever may see an account works its deals and so may map its people: editing a
# contact needs the same rights as seeing it.
contact_get_for_edit = contact_get_for_user


def contact_list(
    user, *, account_id: int | None = None, q: str = "", status: str = "", layer: str = ""
) -> QuerySet[Contact]:
    qs = contacts_for_user(user).select_related("account", "reports_to")
    if account_id:
        qs = qs.filter(account_id=account_id)
    if q:
        qs = qs.filter(Q(name__icontains=q) | Q(title__icontains=q) | Q(department__icontains=q))
    if status:
        qs = qs.filter(status=status)
    if layer:
        qs = qs.filter(layer=layer)
    return qs.order_by("account_id", "name", "id")


def org_chart(contacts: list[Contact]) -> list[tuple[int, Contact]]:
    """The account's contacts as (depth, contact) in reporting order: each person
    followed by the people who report to them. Pure: works on a loaded list."""
    by_boss: dict[int | None, list[Contact]] = {}
    ids = {c.pk for c in contacts}
    for c in contacts:
        boss = c.reports_to_id if c.reports_to_id in ids else None
        by_boss.setdefault(boss, []).append(c)
    layer_rank = {"decision": 0, "management": 1, "operation": 2, "": 3}
    for group in by_boss.values():
        group.sort(key=lambda c: (c.status != "active", layer_rank.get(c.layer, 3), c.name))
    out: list[tuple[int, Contact]] = []
    seen: set[int] = set()

    def walk(boss: int | None, depth: int) -> None:
        for c in by_boss.get(boss, []):
            if c.pk in seen:
                continue
            seen.add(c.pk)
            out.append((depth, c))
            walk(c.pk, depth + 1)

    walk(None, 0)
    for c in contacts:  # anything left sits in a cycle: show it rather than lose it
        if c.pk not in seen:
            seen.add(c.pk)
            out.append((0, c))
    return out


def contact_named_in_payload(user, contact_id: int, *, field: str) -> Contact:
    """A contact an API payload names by id, if the user may see it; otherwise a
    validation error on `field` that does not reveal whether it exists."""
    contact = (
        contacts_for_user(user).filter(pk=contact_id).first()
        if 0 < contact_id <= 2**63 - 1
        else None
    )
    if contact is None:
        raise ValidationFailed(
            _("No such contact: %(id)s, or it is not shared with you.") % {"id": contact_id},
            field=field,
        )
    return contact
