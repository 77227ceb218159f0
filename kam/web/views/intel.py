"""The opportunity page's intelligence card (情报, SPEC §4): what we learned and from
whom, whether it is verified (confirmed by enough different people), and the forms
to record an item, have someone else confirm it, or take it back.

Every POST loads the deal through `opportunity_get_for_edit` (another user's deal
is a 404), calls one kam.intel service, and redirects back to the card (PRG) or
renders the page again with the error next to its field — the same helpers the
rest of the page uses (views/process.py). That module imports `intel_context`
from here, so its helpers are looked up when a request comes, not at import."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from kam.core.errors import ValidationFailed
from kam.intel import selectors, services
from kam.intel.models import IntelItem, IntelSource, sources_to_verify
from kam.opportunities.models import Opportunity
from kam.opportunities.selectors import opportunity_get_for_edit
from kam.web.intel_forms import IntelConfirmForm, IntelForm, source_candidates
from kam.web.views.common import domain_errors


def _page():
    """views/process.py: `_submit`, `_back`, `render_detail`."""
    from kam.web.views import process

    return process


@dataclass
class IntelRow:
    item: IntelItem
    sources: list[IntelSource]
    count: int
    need: int
    verified: bool
    confirm_form: Any = None
    removable: bool = field(default=False)  # more than one source: one may be taken back


def intel_context(user, opp: Opportunity, forms: dict | None = None) -> dict:
    """The card's rows and forms. `forms` may hold a bound add form ("intel") or
    confirm form ("intel_confirm") carrying errors; the others are blank. Three
    queries: the items, their sources with contacts, the account's people."""
    forms = forms or {}
    need = sources_to_verify()
    contacts = source_candidates(user, opp)
    bound_confirm = forms.get("intel_confirm")
    rows = []
    for item in selectors.intel_for_opportunity(opp):
        item.opportunity = opp
        sources = list(item.sources.all())
        count = item.source_count
        confirm = None
        if bound_confirm is not None and bound_confirm.item.pk == item.pk:
            confirm = bound_confirm
        elif count < need:
            confirm = IntelConfirmForm(actor=user, opportunity=opp, item=item, contacts=contacts)
        rows.append(
            IntelRow(
                item=item,
                sources=sources,
                count=count,
                need=need,
                verified=count >= need,
                confirm_form=confirm,
                removable=len(sources) > 1,
            )
        )
    add_form = forms.get("intel")
    return {
        "intel_rows": rows,
        "intel_need": need,
        "intel_form": add_form
        if add_form is not None
        else IntelForm(actor=user, opportunity=opp, contacts=contacts),
        "intel_open": add_form is not None or not rows,
    }


def _added(item: IntelItem) -> str:
    if item.verified:
        return _("Intelligence recorded; confirmed by %(n)s people, it is verified.") % {
            "n": item.source_count
        }
    return _("Intelligence recorded. Have someone else confirm it to verify it.")


def _confirmed(source: IntelSource) -> str:
    item = source.item
    if item.verified:
        return _("%(name)s confirmed it: the item is verified.") % {"name": source.contact.name}
    return _("%(name)s confirmed it: %(n)s of %(need)s sources.") % {
        "name": source.contact.name,
        "n": item.source_count,
        "need": sources_to_verify(),
    }


@login_required
@require_POST
@domain_errors
def intel_add_view(request, opportunity_id: int):
    opp = opportunity_get_for_edit(request.user, opportunity_id)
    form = IntelForm(request.POST, actor=request.user, opportunity=opp)
    return _page()._submit(request, opp, form, key="intel", anchor="intel", success=_added)


@login_required
@require_POST
@domain_errors
def intel_confirm_view(request, opportunity_id: int, item_id: int):
    opp = opportunity_get_for_edit(request.user, opportunity_id)
    item = selectors.intel_item_get(opp, item_id)
    form = IntelConfirmForm(request.POST, actor=request.user, opportunity=opp, item=item)
    return _page()._submit(
        request, opp, form, key="intel_confirm", anchor=f"intel-{item.pk}", success=_confirmed
    )


@login_required
@require_POST
@domain_errors
def intel_source_remove_view(request, opportunity_id: int, item_id: int, source_id: int):
    opp = opportunity_get_for_edit(request.user, opportunity_id)
    item = selectors.intel_item_get(opp, item_id)
    source = selectors.intel_source_get(item, source_id)
    try:
        services.intel_source_remove(actor=request.user, item=item, source=source)
    except ValidationFailed as exc:
        messages.error(request, str(exc.message))
    else:
        messages.success(
            request, _("%(name)s removed from the sources.") % {"name": source.contact.name}
        )
    return _page()._back(opp, f"intel-{item.pk}")


@login_required
@require_POST
@domain_errors
def intel_delete_view(request, opportunity_id: int, item_id: int):
    opp = opportunity_get_for_edit(request.user, opportunity_id)
    item = selectors.intel_item_get(opp, item_id)
    services.intel_delete(actor=request.user, item=item)
    messages.success(request, _("Intelligence item deleted."))
    return _page()._back(opp, "intel")
