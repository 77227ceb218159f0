"""Reading contacts: visible when their account is visible to the user."""

from __future__ import annotations

from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _

from kam.accounts.models import Account
from kam.accounts.selectors import accounts_editable_by, accounts_for_user
from kam.contacts.models import Contact
from kam.core.errors import NotFound, PermissionDenied, ValidationFailed


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


def accounts_for_contact_work(user) -> QuerySet[Account]:
    """Accounts whose people the user may add and edit: those they may edit, and those
    on which they may edit a deal (who works a deal maps its buying centre). A colleague
    given read access sees the people but does not change them."""
    from kam.opportunities.selectors import opportunities_editable_by

    return Account.objects.filter(
        Q(pk__in=accounts_editable_by(user).values("pk"))
        | Q(pk__in=opportunities_editable_by(user).values("account_id"))
    )


def may_work_contacts(user, account_id: int) -> bool:
    """Whether the user may add and edit the people of this account."""
    return accounts_for_contact_work(user).filter(pk=account_id).exists()


def _refuse_read_only() -> PermissionDenied:
    return PermissionDenied(
        _(
            "You can see this account's people but not change them: ask its account "
            "manager for edit rights on its team."
        )
    )


def account_for_contact_work(user, account_id: int, *, field: str | None = None) -> Account:
    """The account a new contact goes to: 404 out of sight, 403 when only readable."""
    account = accounts_for_user(user).filter(pk=account_id).first()
    if account is None:
        if field:
            raise ValidationFailed(
                _("No such account: %(id)s, or it is not shared with you.") % {"id": account_id},
                field=field,
            )
        raise NotFound(_("No such account, or it is not shared with you."))
    if not may_work_contacts(user, account.pk):
        error = _refuse_read_only()
        error.field = field
        raise error
    return account


def contact_get_for_edit(user, contact_id: int) -> Contact:
    contact = contact_get_for_user(user, contact_id)
    if not may_work_contacts(user, contact.account_id):
        raise _refuse_read_only()
    return contact


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
