"""The opportunity page's payments card (回款, SPEC §7) and the partners who referred
the deal. On a won deal: the contract amount, what was collected and what is still
outstanding, the payments one by one, and the form to record one; on any other deal
a line saying payments come once it is won. Beside it, who referred the deal and
whether a commission on it is held for a conflict of interest, with the legal
reason in the user's language. Referrals are recorded on the partner's page, not
here.

Every POST loads the deal through `opportunity_get_for_edit` (another user's deal
is a 404), calls one kam.partners service, and redirects back to the card (PRG) or
renders the page again with the error next to its field. views/process.py imports
`payments_context` from here, so its helpers are looked up when a request comes."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from kam.core.errors import Conflict
from kam.opportunities.models import Opportunity, Status
from kam.opportunities.selectors import opportunity_get_for_edit
from kam.partners import present, selectors, services
from kam.partners.api import payments_body
from kam.partners.models import Payment, Referral
from kam.web import presenters
from kam.web.payment_forms import PaymentForm
from kam.web.views.common import domain_errors

ANCHOR = "payments"


def _page():
    """views/process.py: `_back`, `render_detail`."""
    from kam.web.views import process

    return process


@dataclass
class ReferralRow:
    referral: Referral
    partner_url: str  # empty when the user may not see the partner (or no partner page)
    kind: str
    held: bool
    reason: str  # the legal reason a held commission waits for
    released: str  # who released it and when, after the customer's disclosure


def partner_url(partner_id: int) -> str:
    """The partner page, when the URL exists: the page comes from another part of the
    app, and this card must not break while it is missing."""
    try:
        return reverse("partner-detail", args=[partner_id])
    except NoReverseMatch:
        return ""


def referral_rows(user, opp: Opportunity) -> list[ReferralRow]:
    """Who referred the deal; the partner links only for those the user may see. Two
    queries: the referrals with their partners, and which of those the user sees."""
    referrals = list(
        selectors.referrals_of_opportunity(opp).select_related("partner__employer_account")
    )
    if not referrals:
        return []
    visible = set(
        selectors.partners_for_user(user)
        .filter(pk__in={r.partner_id for r in referrals})
        .values_list("pk", flat=True)
    )
    rows = []
    for r in referrals:
        r.opportunity = opp
        rows.append(
            ReferralRow(
                referral=r,
                partner_url=partner_url(r.partner_id) if r.partner_id in visible else "",
                kind=r.get_kind_display(),
                held=r.held,
                reason=present.legal_reason(r.partner) if r.held else "",
                released=present.released_text(r) if r.conflict and r.released else "",
            )
        )
    return rows


def _percent(collected: Decimal, contract: Decimal) -> int:
    """Collected as a whole percentage of the contract, rounded down: 100 only when
    everything is in."""
    if contract <= 0:
        return 100 if collected >= contract else 0
    return min(100, int(collected * 100 // contract))


def payments_context(user, opp: Opportunity, forms: dict | None = None) -> dict:
    """The card's figures, payments, form and referrals. `forms` may hold a bound
    payment form ("payment") carrying errors."""
    forms = forms or {}
    won = opp.status == Status.WON
    body = payments_body(opp)
    bound = forms.get("payment")
    form = None
    if won and (bound is not None or body["outstanding"] > 0):
        form = bound if bound is not None else PaymentForm(actor=user, opportunity=opp)
    return {
        "payments_won": won,
        "payments": body,
        "payments_percent": _percent(body["collected"], body["contract_amount"]),
        "payment_form": form,
        "payments_open": bound is not None or not body["items"],
        "referral_rows": referral_rows(user, opp),
    }


def _money(opp: Opportunity, value) -> str:
    return presenters.format_money(value, opp.currency)


def _recorded(opp: Opportunity, payment: Payment) -> str:
    left = payments_body(opp)["outstanding"]
    if left <= 0:
        return _("Payment of %(amount)s on %(day)s recorded: the contract amount is collected.") % {
            "amount": _money(opp, payment.amount),
            "day": payment.date.isoformat(),
        }
    return _("Payment of %(amount)s on %(day)s recorded; %(left)s is still to collect.") % {
        "amount": _money(opp, payment.amount),
        "day": payment.date.isoformat(),
        "left": _money(opp, left),
    }


@login_required
@require_POST
@domain_errors
def payment_add_view(request, opportunity_id: int):
    opp = opportunity_get_for_edit(request.user, opportunity_id)
    form = PaymentForm(request.POST, actor=request.user, opportunity=opp)
    if form.is_valid():
        payment = form.save()
        if payment is not None:
            messages.success(request, _recorded(opp, payment))
            return _page()._back(opp, ANCHOR)
        if form.refusal:
            # e.g. the deal is not won: no field is at fault and the card has no form
            messages.error(request, form.refusal)
            return _page()._back(opp, ANCHOR)
    return _page().render_detail(request, opp, forms={"payment": form})


@login_required
@require_POST
@domain_errors
def payment_delete_view(request, opportunity_id: int, payment_id: int):
    opp = opportunity_get_for_edit(request.user, opportunity_id)
    payment = selectors.payment_get(opp, payment_id)
    try:
        services.payment_delete(actor=request.user, payment=payment)
    except Conflict as exc:  # commission on it was paid out: it is history now
        messages.error(request, str(exc.message))
    else:
        messages.success(
            request,
            _("Payment of %(amount)s on %(day)s removed.")
            % {"amount": _money(opp, payment.amount), "day": payment.date.isoformat()},
        )
    return _page()._back(opp, ANCHOR)
