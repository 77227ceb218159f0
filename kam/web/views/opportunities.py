from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_safe

from kam.accounts.selectors import account_get_for_user
from kam.core.db import IdsFirst
from kam.opportunities.selectors import (
    opportunity_get_for_edit,
    opportunity_get_for_user,
    opportunity_list,
)
from kam.web.forms import OpportunityFilterForm, OpportunityForm
from kam.web.views.common import domain_errors, int_param, paginate, render_list
from kam.web.views.process import render_detail


def opportunity_filters(request) -> tuple[OpportunityFilterForm, dict]:
    """The list's filters from the query string (a value the form does not know is
    ignored): the list and its Excel export both read them here."""
    form = OpportunityFilterForm(request.GET or None, actor=request.user)
    return form, form.filters()


@login_required
@require_safe
def opportunity_list_view(request):
    form, filters = opportunity_filters(request)
    page = paginate(request, IdsFirst(opportunity_list(request.user, **filters)))
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


@login_required
@require_safe
@domain_errors
def opportunity_detail(request, opportunity_id: int):
    opp = opportunity_get_for_user(request.user, opportunity_id)
    return render_detail(request, opp)


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
