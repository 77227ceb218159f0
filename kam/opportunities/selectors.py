"""Reading opportunities, always through the user's visibility."""

from __future__ import annotations

import datetime as dt

from django.db.models import Count, Q, QuerySet
from django.utils.translation import gettext as _

from kam.core.errors import NotFound, PermissionDenied
from kam.core.permissions import owner_scope
from kam.core.sharing import Access
from kam.opportunities.models import Opportunity, OpportunityMember


def _shared_deals(user, *, edit: bool = False):
    """Ids of the deals whose team the user is on (with edit rights, if asked)."""
    members = OpportunityMember.objects.filter(user_id=user.pk)
    if edit:
        members = members.filter(access=Access.EDIT)
    return members.values("opportunity_id")


def _visible(user, *, edit: bool) -> QuerySet[Opportunity]:
    scope = owner_scope(user)
    if not scope:  # an admin (an empty Q would vanish from the OR below)
        return Opportunity.objects.all()
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return Opportunity.objects.none()
    from kam.accounts.selectors import _shared_accounts

    return Opportunity.objects.filter(
        scope
        | Q(pk__in=_shared_deals(user, edit=edit))
        | Q(account_id__in=_shared_accounts(user, edit=edit))
    )


def opportunities_for_user(user) -> QuerySet[Opportunity]:
    """Deals the user owns (their team's, for a manager; all, for an admin), plus the
    deals whose team they are on and the deals of the accounts whose team they are on."""
    return _visible(user, edit=False)


def opportunities_editable_by(user) -> QuerySet[Opportunity]:
    """The same, counting only teams that gave the user edit rights."""
    return _visible(user, edit=True)


def opportunity_get_for_user(user, opportunity_id: int) -> Opportunity:
    opp = (
        opportunities_for_user(user)
        .select_related("account", "owner")
        .filter(pk=opportunity_id)
        .first()
    )
    if opp is None:
        raise NotFound(_("No such opportunity, or it is not shared with you."))
    return opp


def opportunity_get_for_edit(user, opportunity_id: int) -> Opportunity:
    """404 when the deal is out of sight; 403 when it is shared with the user to read."""
    opp = opportunity_get_for_user(user, opportunity_id)
    if not opportunities_editable_by(user).filter(pk=opp.pk).exists():
        raise PermissionDenied(
            _(
                "You can see this opportunity but not change it: ask its owner for edit "
                "rights on its team."
            )
        )
    return opp


def opportunity_list(
    user,
    *,
    q: str = "",
    account_id: int | None = None,
    owner_id: int | None = None,
    status: str = "",
    stage: str = "",
    playbook: str = "",
    buyer_stage: str = "",
    priority: str = "",
    close_from: dt.date | None = None,
    close_to: dt.date | None = None,
) -> QuerySet[Opportunity]:
    qs = opportunities_for_user(user).select_related("account", "owner")
    if q:
        qs = qs.filter(Q(name__icontains=q) | Q(account__name__icontains=q) | Q(code__iexact=q))
    if account_id:
        qs = qs.filter(account_id=account_id)
    if owner_id:
        qs = qs.filter(owner_id=owner_id)
    if status:
        qs = qs.filter(status=status)
    if stage:
        qs = qs.filter(stage=stage)
    if playbook:
        qs = qs.filter(playbook=playbook)
    if buyer_stage:
        qs = qs.filter(buyer_stage=buyer_stage)
    if priority:
        qs = qs.filter(priority=priority)
    if close_from:
        qs = qs.filter(expected_close__gte=close_from)
    if close_to:
        qs = qs.filter(expected_close__lte=close_to)
    return qs.order_by("expected_close", "id")


def opportunity_history(opportunity: Opportunity):
    from kam.core.models import Event

    return Event.objects.filter(opportunity_id=opportunity.pk).select_related("actor")


def stages_missing_from_methodology() -> list[tuple[str, str, int]]:
    """(playbook, stage, deals) for deals whose playbook or stage is not among the
    loaded methodology files — e.g. after an admin removed or renamed a playbook.
    One grouped query; `kam serve` refuses to start while any exist."""
    from kam.methodology import registry

    books = registry.current().playbooks
    rows = Opportunity.objects.values_list("playbook", "stage").annotate(n=Count("id"))
    return sorted(
        (book, stage, n)
        for book, stage, n in rows
        if book not in books or stage not in books[book].stage_keys
    )
