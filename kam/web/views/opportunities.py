from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_safe

from kam.accounts.selectors import account_get_for_user
from kam.contacts.selectors import contact_list, org_chart
from kam.methodology import registry
from kam.opportunities.selectors import (
    opportunity_get_for_edit,
    opportunity_get_for_user,
    opportunity_history,
    opportunity_list,
)
from kam.opportunities.services import opportunity_win_probability
from kam.web import presenters
from kam.web.forms import OpportunityFilterForm, OpportunityForm
from kam.web.views.common import domain_errors, int_param, paginate, render_list


@login_required
@require_safe
def opportunity_list_view(request):
    form = OpportunityFilterForm(request.GET or None, actor=request.user)
    filters = form.filters()
    page = paginate(request, opportunity_list(request.user, **filters))
    context = {
        "form": form,
        "page": page,
        "filtered": any(filters.values()),
        "nav": "opportunities",
    }
    return render_list(
        request,
        page_template="web/opportunities/list.html",
        partial_template="web/opportunities/_results.html",
        context=context,
    )


def _stage_texts(opp) -> dict:
    """The current stage's main work and key node, and the buyer stage's seller work,
    from the methodology files in the user's language."""
    lang = presenters.language()
    out: dict = {}
    try:
        stage = registry.playbook(opp.playbook).stage(opp.stage)
    except KeyError:
        stage = None
    if stage is not None:
        out["main_work"] = stage.main_work.get(lang)
        out["key_node"] = stage.key_node.get(lang)
        out["healthy_dwell_days"] = stage.healthy_dwell_days
        out["mapped_buyer_stages"] = [presenters.buyer_stage_name(k) for k in stage.buyer_stages]
    for bstage in registry.buyer_process().stages:
        if bstage.key == opp.buyer_stage:
            out["buyer_work"] = bstage.seller_work.get(lang)
    return out


@login_required
@require_safe
@domain_errors
def opportunity_detail(request, opportunity_id: int):
    opp = opportunity_get_for_user(request.user, opportunity_id)
    probability, factors = opportunity_win_probability(opp)
    contacts = list(contact_list(request.user, account_id=opp.account_id))
    context = {
        "opp": opp,
        "win_probability": probability,
        "factors": presenters.factor_rows(factors),
        "steps": presenters.stage_steps(opp),
        "texts": _stage_texts(opp),
        "chart": org_chart(contacts),
        "history": presenters.history_rows(opp, opportunity_history(opp)),
        "nav": "opportunities",
    }
    return render(request, "web/opportunities/detail.html", context)


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
@domain_errors
def opportunity_create_view(request):
    account_id = int_param(request, "account")
    if account_id is None:
        messages.info(
            request,
            _("Open the customer's account and choose “New opportunity” there."),
        )
        return redirect("account-list")
    account = account_get_for_user(request.user, account_id)
    form = OpportunityForm(
        request.POST if request.method == "POST" else None, actor=request.user, account=account
    )
    if request.method == "POST" and form.is_valid():
        opp = form.save()
        if opp is not None:
            messages.success(request, _("Opportunity “%(name)s” created.") % {"name": opp.name})
            return redirect("opportunity-detail", opportunity_id=opp.pk)
    context = {"form": form, "account": account, "opp": None, "nav": "opportunities"}
    return render(request, "web/opportunities/form.html", context)


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
@domain_errors
def opportunity_edit_view(request, opportunity_id: int):
    opp = opportunity_get_for_edit(request.user, opportunity_id)
    form = OpportunityForm(
        request.POST if request.method == "POST" else None,
        actor=request.user,
        account=opp.account,
        instance=opp,
    )
    if request.method == "POST" and form.is_valid():
        saved = form.save()
        if saved is not None:
            messages.success(request, _("Opportunity “%(name)s” saved.") % {"name": saved.name})
            return redirect("opportunity-detail", opportunity_id=saved.pk)
    context = {"form": form, "account": opp.account, "opp": opp, "nav": "opportunities"}
    return render(request, "web/opportunities/form.html", context)
