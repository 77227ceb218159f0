"""The partner pages of the referral programme (交互式合作营销, SPEC §7, §9): the list,
the partner form, and the partner's page — who they are, the deals they referred
(with the conflict-of-interest hold and its legal reason), the statement of a
settlement period (the figures of `GET /api/v1/partners/{id}/statement`, read from
`kam.partners.api.statement_body` so the page and the API never disagree), the
payouts, and for administrators the release of a held commission and the payout.

Every view finds the partner through `partner_get_for_user` (outside the user's scope:
404). A deal the viewer cannot see keeps its figures and loses its name. Each POST
calls one service through a form and either redirects back to the page (PRG) or
renders the page again with the error at its field (422); a non-administrator's
release or payout is the 403 page and changes nothing."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as HttpForbidden
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from kam.accounts.selectors import accounts_for_user
from kam.core.errors import Conflict, NotFound, ValidationFailed
from kam.core.periods import Period
from kam.opportunities.models import Status
from kam.opportunities.selectors import opportunities_for_user, opportunity_get_for_edit
from kam.partners import api, present, programmes, selectors, services
from kam.partners.models import Kind, Partner
from kam.users.models import Role
from kam.web.partner_forms import (
    PartnerFilterForm,
    PartnerForm,
    PayoutForm,
    ReferralForm,
    ReleaseForm,
    programme_name,
)
from kam.web.views.common import domain_errors, paginate, render_list

PERIOD_KEY = re.compile(r"^\d{4}(H[12])?$", re.ASCII)


def _is_admin(user) -> bool:
    return getattr(user, "role", None) == Role.ADMIN


def _require_admin(user, message: str) -> None:
    """Release and payout are for administrators; anybody else gets the 403 page
    before any input is read (the services check it again)."""
    if not _is_admin(user):
        raise HttpForbidden(message)


def _back(partner: Partner, period: str | None = None, anchor: str = ""):
    url = reverse("partner-detail", args=[partner.pk])
    if period and PERIOD_KEY.match(period):
        url += "?" + urlencode({"period": period})
    return redirect(f"{url}#{anchor}" if anchor else url)


def _visible_accounts(user, ids: Iterable[int | None]) -> set[int]:
    wanted = {i for i in ids if i}
    if not wanted:
        return set()
    return set(accounts_for_user(user).filter(pk__in=wanted).values_list("pk", flat=True))


# --- the list ---------------------------------------------------------------------------


def partner_filters(request) -> tuple[PartnerFilterForm, dict[str, str]]:
    """The list's filters from the query string: the list and its Excel export both
    read them here."""
    form = PartnerFilterForm(request.GET or None)
    return form, form.filters()


@login_required
@require_safe
def partner_list_view(request):
    form, filters = partner_filters(request)
    page = paginate(request, selectors.partner_list(request.user, **filters))
    visible = _visible_accounts(request.user, (p.employer_account_id for p in page.object_list))
    rows = [
        {
            "partner": p,
            "employer_visible": p.employer_account_id in visible,
            "programme_name": programme_name(p.programme),
        }
        for p in page.object_list
    ]
    context = {
        "form": form,
        "page": page,
        "rows": rows,
        "filtered": bool(filters["q"]),
        "nav": "partners",
    }
    return render_list(
        request,
        page_template="web/partners/list.html",
        partial_template="web/partners/_results.html",
        context=context,
    )


# --- create and edit ----------------------------------------------------------------------


def _form_page(request, form, partner, status: int = 200):
    return render(
        request,
        "web/partners/form.html",
        {"form": form, "partner": partner, "nav": "partners"},
        status=status,
    )


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def partner_create_view(request):
    form = PartnerForm(request.POST if request.method == "POST" else None, actor=request.user)
    if request.method == "POST":
        partner = form.save() if form.is_valid() else None
        if partner is not None:
            messages.success(request, _("Partner “%(name)s” created.") % {"name": partner.name})
            return redirect("partner-detail", partner_id=partner.pk)
        return _form_page(request, form, None, status=422)
    return _form_page(request, form, None)


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
@domain_errors
def partner_edit_view(request, partner_id: int):
    partner = selectors.partner_get_for_edit(request.user, partner_id)
    form = PartnerForm(
        request.POST if request.method == "POST" else None, actor=request.user, instance=partner
    )
    if request.method == "POST":
        saved = form.save() if form.is_valid() else None
        if saved is not None:
            messages.success(request, _("Partner “%(name)s” saved.") % {"name": saved.name})
            return redirect("partner-detail", partner_id=saved.pk)
        return _form_page(request, form, partner, status=422)
    return _form_page(request, form, partner)


# --- the partner's page ---------------------------------------------------------------------


def _period(partner: Partner, key: str | None) -> tuple[Period, str]:
    """The period asked for, or the default one with the reason the asked one was
    refused."""
    try:
        return api.period_for(partner, (key or "").strip()[:40] or None), ""
    except ValidationFailed as exc:
        return selectors.default_period(partner), str(exc.message)


def period_label(period: Period) -> str:
    return _("%(key)s (%(start)s – %(end)s)") % {
        "key": period.key,
        "start": period.start.isoformat(),
        "end": period.end.isoformat(),
    }


def _period_choices(partner: Partner, period: Period) -> list[tuple[str, str]]:
    periods = {p.key: p for p in selectors.statement_periods(partner)}
    periods.setdefault(period.key, period)
    ordered = sorted(periods.values(), key=lambda p: p.start, reverse=True)
    return [(p.key, period_label(p)) for p in ordered]


def _figures(body: dict[str, Any]) -> list[dict[str, Any]]:
    """The statement's key figures, in the order a partner reads them."""
    bonus_note = (
        _("of which held: %(amount)s") % {"amount": f"{body['bonus_held']:,.2f}"}
        if body["bonus_held"] > 0
        else ""
    )
    return [
        {"key": "earned", "label": _("Earned"), "value": body["earned"],
         "help": _("Commission on the money collected in the period, not held.")},
        {"key": "pending", "label": _("Pending"), "value": body["pending"],
         "help": _("Commission on money not collected yet: earned when it comes in.")},
        {"key": "held", "label": _("Held"), "value": body["held"],
         "help": _("Commission and bonus held for a conflict of interest.")},
        {"key": "volume_base", "label": _("Volume base"), "value": body["volume_base"],
         "help": _("Direct money collected plus the weighted indirect sales.")},
        {"key": "volume_bonus", "label": _("Volume bonus"), "value": body["volume_bonus"],
         "help": bonus_note or _("Paid when the base reaches the programme's threshold.")},
        {"key": "payable", "label": _("Payable"), "value": body["payable"],
         "help": _("Earned plus the bonus not held.")},
        {"key": "paid", "label": _("Paid"), "value": body["paid"],
         "help": _("Paid out for this period so far.")},
        {"key": "due", "label": _("Due"), "value": body["due"],
         "help": _("Payable less what was paid.")},
    ]  # fmt: skip


def _flag_rows(body: dict[str, Any], names: dict[int, str]) -> list[dict[str, Any]]:
    """Each flag's message once, with the deals it concerns (a conflict flag per held
    deal would repeat the same legal reason)."""
    rows: list[dict[str, Any]] = []
    by_message: dict[tuple[str, str], dict[str, Any]] = {}
    for flag in body["flags"]:
        key = (flag["code"], flag["message"])
        row = by_message.get(key)
        if row is None:
            row = {"code": flag["code"], "message": flag["message"], "deals": []}
            by_message[key] = row
            rows.append(row)
        if flag["referral_id"] is not None:
            row["deals"].append(names.get(flag["referral_id"], ""))
    return rows


def _deal_text(visible: bool, name: str) -> str:
    return name if visible else _("a deal not shared with you")


def _referral_rows(user, partner: Partner) -> list[dict[str, Any]]:
    referrals = list(selectors.referrals_of_partner(partner))
    visible = set(
        opportunities_for_user(user)
        .filter(pk__in=[r.opportunity_id for r in referrals])
        .values_list("pk", flat=True)
    )
    rows = []
    for r in referrals:
        r.partner = partner
        opp = r.opportunity
        shown = opp.pk in visible
        rows.append(
            {
                "referral": r,
                "opp": opp,
                "visible": shown,
                "deal": _deal_text(shown, opp.name),
                "account": opp.account.name if shown else "",
                "kind_name": Kind(r.kind).label,
                "status_name": Status(opp.status).label,
                "won_on": programmes.won_on(opp),
                "released_text": present.released_text(r) if r.released else "",
            }
        )
    return rows


def detail_context(
    request,
    partner: Partner,
    *,
    period_key: str | None = None,
    forms: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Everything the partner page shows for one settlement period. `forms` carries a
    bound form with its errors when a POST to one of the page's forms failed."""
    user = request.user
    forms = forms or {}
    period, period_error = _period(partner, period_key)
    report = selectors.partner_statement(partner, period, viewer=user)
    body = api.statement_body(report)
    referrals = _referral_rows(user, partner)
    names = {row["referral"].pk: row["deal"] for row in referrals}
    kinds = dict(Kind.choices)
    lines = [
        dict(line, kind_name=kinds.get(line["kind"], line["kind"]),
             deal=_deal_text(line["opportunity_name"] is not None, line["opportunity_name"]))
        for line in body["lines"]
    ]  # fmt: skip
    admin = _is_admin(user)
    held = [row for row in referrals if row["referral"].held]
    release_form = forms.get("release")
    release_id = forms.get("release_id")
    for row in held:
        bound = release_form if row["referral"].pk == release_id else None
        row["release_form"] = bound or ReleaseForm(actor=user, referral=row["referral"])
        row["release_open"] = bound is not None
    payout_form = forms.get("payout") or PayoutForm(
        actor=user,
        partner=partner,
        initial={"period": period.key, "amount": body["due"]},
    )
    can_pay = admin and report.ended and body["due"] > 0 and partner.agreement_date is not None
    employer_visible = bool(
        partner.employer_account_id and _visible_accounts(user, [partner.employer_account_id])
    )
    return {
        "partner": partner,
        "programme_name": programme_name(partner.programme),
        "employer_visible": employer_visible,
        "legal_reason": present.legal_reason(partner),
        "period": period,
        "period_error": period_error,
        "period_choices": _period_choices(partner, period),
        "body": body,
        "currency": body["currency"],
        "figures": _figures(body),
        "lines": lines,
        "flags": _flag_rows(body, names),
        "payouts": body["payouts"],
        "referrals": referrals,
        "held_referrals": held,
        "any_held": bool(held),
        "is_admin": admin,
        "referral_form": forms.get("referral") or ReferralForm(actor=user, partner=partner),
        "referral_open": "referral" in forms,
        "payout_form": payout_form,
        "can_pay": can_pay,
        "ended": report.ended,
        "nav": "partners",
    }


def render_detail(request, partner: Partner, *, status: int = 200, **kwargs):
    return render(
        request,
        "web/partners/detail.html",
        detail_context(request, partner, **kwargs),
        status=status,
    )


@login_required
@require_safe
@domain_errors
def partner_detail_view(request, partner_id: int):
    partner = selectors.partner_get_for_user(request.user, partner_id)
    context = detail_context(request, partner, period_key=request.GET.get("period"))
    status = 422 if context["period_error"] else 200
    return render(request, "web/partners/detail.html", context, status=status)


# --- referrals ------------------------------------------------------------------------------


@login_required
@require_POST
@domain_errors
def referral_add_view(request, partner_id: int):
    partner = selectors.partner_get_for_edit(request.user, partner_id)
    period = request.POST.get("period")
    form = ReferralForm(request.POST, actor=request.user, partner=partner)
    referral = form.save() if form.is_valid() else None
    if referral is not None:
        messages.success(
            request,
            _("Referral of “%(deal)s” recorded.") % {"deal": referral.opportunity.name},
        )
        if referral.conflict:
            messages.warning(
                request,
                _(
                    "%(partner)s is employed by the customer buying this deal: the commission "
                    "is held until an administrator records the customer's written disclosure."
                )
                % {"partner": partner.name},
            )
        return _back(partner, period, "referrals")
    return render_detail(request, partner, period_key=period, forms={"referral": form}, status=422)


@login_required
@require_POST
@domain_errors
def referral_remove_view(request, partner_id: int, referral_id: int):
    partner = selectors.partner_get_for_edit(request.user, partner_id)
    referral = selectors.referral_get(partner, referral_id)
    period = request.POST.get("period")
    try:
        opportunity_get_for_edit(request.user, referral.opportunity_id)
    except NotFound:
        messages.error(
            request,
            _("This referral is on a deal not shared with you; ask its owner to remove it."),
        )
        return _back(partner, period, "referrals")
    try:
        services.referral_remove(actor=request.user, referral=referral)
    except (Conflict, ValidationFailed) as exc:
        messages.error(request, str(exc.message))
    else:
        messages.success(request, _("Referral removed."))
    return _back(partner, period, "referrals")


@login_required
@require_POST
@domain_errors
def referral_release_view(request, partner_id: int, referral_id: int):
    """An administrator releases a held commission with the customer's written
    disclosure (note and document). A missing note or a bad file comes back in the
    dialog, opened again, with the error at its field."""
    partner = selectors.partner_get_for_user(request.user, partner_id)
    _require_admin(
        request.user,
        _("Only an administrator can release a commission held for a conflict of interest."),
    )
    referral = selectors.referral_get(partner, referral_id)
    period = request.POST.get("period")
    form = ReleaseForm(request.POST, request.FILES, actor=request.user, referral=referral)
    released = form.save() if form.is_valid() else None
    if released is not None:
        messages.success(
            request,
            _("The commission on “%(deal)s” is released; the disclosure is on record.")
            % {"deal": referral.opportunity.name},
        )
        return _back(partner, period, "referrals")
    if not referral.held:  # nothing left to release: the dialog is gone, say why
        for error in form.non_field_errors():
            messages.error(request, error)
        return _back(partner, period, "referrals")
    return render_detail(
        request,
        partner,
        period_key=period,
        forms={"release": form, "release_id": referral.pk},
        status=422,
    )


@login_required
@require_safe
@domain_errors
def disclosure_view(request, partner_id: int, referral_id: int):
    """The customer's disclosure document recorded at the release, for whoever sees
    the partner."""
    partner = selectors.partner_get_for_user(request.user, partner_id)
    referral = selectors.referral_get(partner, referral_id)
    return api.disclosure_response(referral)


# --- payouts --------------------------------------------------------------------------------


@login_required
@require_POST
@domain_errors
def payout_view(request, partner_id: int):
    """An administrator pays what is due for an ended period. The amount the screen
    showed comes with it: if it changed meanwhile (another payout, a correction), the
    service refuses and the message says what is due now."""
    partner = selectors.partner_get_for_user(request.user, partner_id)
    _require_admin(request.user, _("Only an administrator can record a payout."))
    period = request.POST.get("period")
    form = PayoutForm(request.POST, actor=request.user, partner=partner)
    payout = form.save() if form.is_valid() else None
    if payout is not None:
        messages.success(
            request,
            _("Payout of %(amount)s for %(period)s recorded.")
            % {"amount": f"{payout.amount:,.2f}", "period": payout.period},
        )
        return _back(partner, payout.period, "payouts")
    if form.has_error("paid_on") or form.has_error("reference"):
        return render_detail(
            request, partner, period_key=period, forms={"payout": form}, status=422
        )
    for error in _all_errors(form):
        messages.error(request, error)
    return _back(partner, period, "payouts")


def _all_errors(form) -> list[str]:
    return [str(e) for errors in form.errors.values() for e in errors]
