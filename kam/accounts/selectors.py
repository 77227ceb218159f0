"""Reading accounts, always through the user's visibility."""

from __future__ import annotations

from django.db.models import Count, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
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


def open_deals_count() -> Coalesce:
    """Each account's open deals, counted for the rows read (a page of 50), not for
    every account before the page is cut (a join and GROUP BY over 1,000,000 deals:
    1.3 s for the admin's first page)."""
    deals = (
        Opportunity.objects.filter(account_id=OuterRef("pk"), status="open")
        .order_by()
        .values("account_id")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Coalesce(Subquery(deals), 0)


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

    # The accounts of their deals as one set (an IN), not a test per account (EXISTS):
    # SQLite ran the EXISTS for each of 100,000 accounts (0.8 s to count a manager's
    # accounts; 34 ms as a set).
    return Account.objects.filter(
        scope
        | Q(pk__in=Opportunity.objects.filter(scope).values("account_id"))
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
        .annotate(open_opportunities=open_deals_count())
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
