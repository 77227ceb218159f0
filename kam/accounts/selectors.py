"""Reading accounts, always through the user's visibility."""

from __future__ import annotations

from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.utils.translation import gettext as _

from kam.accounts.models import Account
from kam.core.errors import NotFound, PermissionDenied
from kam.core.permissions import owner_scope
from kam.opportunities.models import Opportunity


def accounts_for_user(user) -> QuerySet[Account]:
    """Accounts the user owns (or their team owns, for a manager; all, for an admin),
    plus the accounts on which they own an opportunity — they must see whom they sell to."""
    scope = owner_scope(user)
    if not scope:  # an admin: everything (an empty Q would vanish from the OR below)
        return Account.objects.all()
    own_deal = Opportunity.objects.filter(scope, account_id=OuterRef("pk"))
    return Account.objects.filter(scope | Q(Exists(own_deal)))


def accounts_editable_by(user) -> QuerySet[Account]:
    return Account.objects.filter(owner_scope(user))


def account_get_for_user(user, account_id: int) -> Account:
    account = accounts_for_user(user).select_related("owner").filter(pk=account_id).first()
    if account is None:
        raise NotFound(_("No such account, or it is not shared with you."))
    return account


def account_get_for_edit(user, account_id: int) -> Account:
    account = account_get_for_user(user, account_id)
    if not accounts_editable_by(user).filter(pk=account.pk).exists():
        raise PermissionDenied(
            _("You can see this account but not change it: it belongs to another account manager.")
        )
    return account


def account_list(
    user,
    *,
    q: str = "",
    industry: str = "",
    region: str = "",
    account_type: str = "",
    owner_id: int | None = None,
) -> QuerySet[Account]:
    qs = (
        accounts_for_user(user)
        .select_related("owner")
        .annotate(open_opportunities=Count("opportunities", filter=Q(opportunities__status="open")))
    )
    if q:
        qs = qs.filter(Q(name__icontains=q) | Q(code__iexact=q))
    if industry:
        qs = qs.filter(industry__iexact=industry)
    if region:
        qs = qs.filter(region__icontains=region)
    if account_type:
        qs = qs.filter(account_type=account_type)
    if owner_id:
        qs = qs.filter(owner_id=owner_id)
    return qs.order_by("name", "id")
