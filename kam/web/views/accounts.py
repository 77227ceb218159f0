from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_safe

from kam.accounts.selectors import (
    account_get_for_edit,
    account_get_for_user,
    account_list,
    accounts_editable_by,
    accounts_for_user,
)
from kam.contacts.selectors import contact_list, may_work_contacts, org_chart
from kam.opportunities.selectors import opportunity_list
from kam.web.forms import AccountFilterForm, AccountForm
from kam.web.views.account_competition import account_competition_context
from kam.web.views.account_profile import account_profile_context
from kam.web.views.common import domain_errors, paginate, render_list
from kam.web.views.grading import account_grade_context
from kam.web.views.segments import account_segments_context
from kam.web.views.team import ACCOUNT, team_context


def _industries(user) -> list[str]:
    return list(
        accounts_for_user(user)
        .exclude(industry="")
        .order_by("industry")
        .values_list("industry", flat=True)
        .distinct()
    )


def account_filters(request) -> tuple[AccountFilterForm, dict[str, str]]:
    """The list's filters from the query string (a value the form does not know is
    ignored): the list and its Excel export both read them here."""
    form = AccountFilterForm(request.GET or None, industries=_industries(request.user))
    return form, form.filters()


@login_required
@require_safe
def account_list_view(request):
    form, filters = account_filters(request)
    page = paginate(request, account_list(request.user, **filters))
    context = {
        "form": form,
        "page": page,
        "filtered": any(filters.values()),
        "nav": "accounts",
    }
    return render_list(
        request,
        page_template="web/accounts/list.html",
        partial_template="web/accounts/_results.html",
        context=context,
    )


@login_required
@require_safe
@domain_errors
def account_detail(request, account_id: int):
    account = account_get_for_user(request.user, account_id)
    return render_account(request, account)


def render_account(request, account, *, forms: dict | None = None, status: int = 200):
    """The account page; `forms` carries a card's bound form with its errors when a
    POST to that card failed (each card's view renders the page again through here)."""
    contacts = list(contact_list(request.user, account_id=account.pk))
    context = {
        "account": account,
        # a colleague on the account's team with read access sees it all, changes nothing
        "can_edit": accounts_editable_by(request.user).filter(pk=account.pk).exists(),
        # … people too, unless they may edit one of its deals (who works a deal maps
        # its buying centre)
        "can_add_contacts": may_work_contacts(request.user, account.pk),
        "chart": org_chart(contacts),
        "opportunities": list(opportunity_list(request.user, account_id=account.pk)),
        "attributes": _attributes(account),
        "nav": "accounts",
    }
    for card in (
        account_grade_context,
        account_competition_context,
        account_profile_context,
        account_segments_context,
    ):
        context.update(card(request, account, forms))
    context.update(team_context(request.user, account, ACCOUNT, forms))
    return render(request, "web/accounts/detail.html", context, status=status)


def _attributes(account) -> list[tuple[str, object, str]]:
    """(label, value, kind) for the account's SPEC §6 attributes, labels from the model."""
    meta = account._meta

    def label(name: str) -> str:
        return str(meta.get_field(name).verbose_name)

    return [
        (label("code"), account.code or "", "text"),
        (label("owner"), account.owner, "text"),
        (label("industry"), account.industry, "text"),
        (label("region"), account.region, "text"),
        (label("account_type"), account.get_account_type_display(), "text"),
        (label("nature"), account.get_nature_display(), "text"),
        (label("size"), account.get_size_display(), "text"),
        (label("annual_revenue"), account.annual_revenue, "money"),
        (label("collection_cycle_days"), account.collection_cycle_days, "text"),
        (label("receivables"), account.receivables, "money"),
        (label("credit_limit"), account.credit_limit, "money"),
    ]


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def account_create_view(request):
    form = AccountForm(request.POST if request.method == "POST" else None, actor=request.user)
    if request.method == "POST" and form.is_valid():
        account = form.save()
        if account is not None:
            messages.success(request, _("Account “%(name)s” created.") % {"name": account.name})
            return redirect("account-detail", account_id=account.pk)
    return render(
        request, "web/accounts/form.html", {"form": form, "account": None, "nav": "accounts"}
    )


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
@domain_errors
def account_edit_view(request, account_id: int):
    account = account_get_for_edit(request.user, account_id)
    form = AccountForm(
        request.POST if request.method == "POST" else None, actor=request.user, instance=account
    )
    if request.method == "POST" and form.is_valid():
        saved = form.save()
        if saved is not None:
            messages.success(request, _("Account “%(name)s” saved.") % {"name": saved.name})
            return redirect("account-detail", account_id=saved.pk)
    return render(
        request, "web/accounts/form.html", {"form": form, "account": account, "nav": "accounts"}
    )
