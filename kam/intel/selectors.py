"""Reading a deal's intelligence. Visibility is the deal's: callers first find the
opportunity through `opportunity_get_for_user` / `_for_edit`, then read its items
here."""

from __future__ import annotations

from django.db.models import Prefetch, QuerySet
from django.utils.translation import gettext as _

from kam.core.errors import NotFound
from kam.intel.models import IntelItem, IntelSource

MAX_ID = 2**63 - 1


def intel_for_opportunity(opportunity) -> QuerySet[IntelItem]:
    """The deal's items, newest learned first, each with its sources and their
    contacts: two queries however many items and sources there are."""
    sources = IntelSource.objects.select_related("contact").order_by("confirmed_on", "id")
    return IntelItem.objects.filter(opportunity=opportunity).prefetch_related(
        Prefetch("sources", queryset=sources)
    )


def intel_item_get(opportunity, item_id: int) -> IntelItem:
    """One item of this deal; an item of another deal is not found."""
    item = (
        intel_for_opportunity(opportunity).filter(pk=item_id).first()
        if 0 < item_id <= MAX_ID
        else None
    )
    if item is None:
        raise NotFound(_("No such intelligence item on this opportunity."))
    item.opportunity = opportunity
    return item


def intel_source_get(item: IntelItem, source_id: int) -> IntelSource:
    found = (
        next((s for s in item.sources.all() if s.pk == source_id), None)
        if 0 < source_id <= MAX_ID
        else None
    )
    if found is None:
        raise NotFound(_("No such source of this intelligence item."))
    return found
