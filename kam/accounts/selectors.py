"""Reading accounts, always through the user's visibility."""

from __future__ import annotations

from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.utils.translation import gettext as _

from kam.accounts.models import Account, AccountMember
from kam.core.errors import NotFound, PermissionDenied
from kam.core.permissions import owner_scope
from kam.core.sharing import Access
from kam.opportunities.models import Opportunity


def _is_admin(user) -> bool:
    return getattr(user, "is_authenticated", False) and user.is_active and user.role == "admin"


def _shared_accounts(user, *, edit: bool = False):
    """Ids of the accounts whose team the user is on (with edit rights, if asked)."""
    members = AccountMember.objects.filter(user_id=user.pk)
    if edit:
        members = members.filter(access=Access.EDIT)
    return members.values("account_id")


def accounts_for_user(user) -> QuerySet[Account]:
    """Accounts the user owns (or their team owns, for a manager; all, for an admin),
    the accounts whose team they are on, and the accounts of the deals they may see —
    they must see whom they sell to."""
    scope = owner_scope(user)
    if not scope:  # an admin: everything (an empty Q would vanish from the OR below)
        return Account.objects.all()
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return Account.objects.none()
    from kam.opportunities.selectors import _shared_deals

    own_deal = Opportunity.objects.filter(scope, account_id=OuterRef("pk"))
    return Account.objects.filter(
        scope
        | Q(Exists(own_deal))
        | Q(pk__in=_shared_accounts(user))
        | Q(pk__in=Opportunity.objects.filter(pk__in=_shared_deals(user)).values("account_id"))
    )


def accounts_editable_by(user) -> QuerySet[Account]:
    """Accounts the user holds by ownership, or whose team they are on with edit rights."""
    scope = owner_scope(user)
    if _is_admin(user):
        return Account.objects.all()
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return Account.objects.none()
    return Account.objects.filter(scope | Q(pk__in=_shared_accounts(user, edit=True)))


def account_get_for_user(user, account_id: int) -> Account:
    account = accounts_for_user(user).select_related("owner").filter(pk=account_id).first()
    if account is None:
        raise NotFound(_("No such account, or it is not shared with you."))
    return account


def account_get_for_edit(user, account_id: int) -> Account:
    account = account_get_for_user(user, account_id)
    if not accounts_editable_by(user).filter(pk=account.pk).exists():
        raise PermissionDenied(
            _(
                "You can see this account but not change it: ask its account manager for "
                "edit rights on its team."
            )
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
