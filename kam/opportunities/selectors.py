"""Reading opportunities, always through the user's visibility."""

from __future__ import annotations

import datetime as dt

from django.db.models import Count, Q, QuerySet
from django.utils.translation import gettext as _

from kam.core.errors import NotFound
from kam.core.permissions import owner_scope
from kam.opportunities.models import Opportunity


def opportunities_for_user(user) -> QuerySet[Opportunity]:
    return Opportunity.objects.filter(owner_scope(user))


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


# Seeing a deal and changing it are the same right (the owner, their manager, admins).
opportunity_get_for_edit = opportunity_get_for_user


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
