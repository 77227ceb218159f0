"""/api/v1/partners: the referral programme (SPEC §7, §10) — partners, their
referrals, statements per settlement period, the compliance release and payouts;
and /api/v1/opportunities/{id}/payments: the money collected on a won deal (回款).

Partners are read through `partner_get_for_user` (outside the user's scope: 404).
Releasing a held commission and recording a payout are for administrators (403
for anyone else who sees the partner)."""

from __future__ import annotations

import datetime as dt
import mimetypes
from decimal import Decimal
from typing import Annotated

from django.http import FileResponse
from django.utils.translation import gettext as _
from ninja import Field, File, Form, Query, Router, Schema, Status, UploadedFile

from kam.accounts.selectors import account_get_for_user
from kam.core.api_support import (
    ERRORS,
    Money,
    PageQuery,
    checked,
    paginate,
    refuse_nulls,
    take_owner,
)
from kam.core.errors import NotFound
from kam.opportunities import api as opportunity_api
from kam.opportunities.selectors import opportunities_for_user
from kam.partners import present, programmes, selectors, services
from kam.partners.models import NOTE_MAX, Partner, Payment, Payout

router = Router(tags=["partners"])
opportunity_router = Router(tags=["partners"])
MAX_ID = 2**63 - 1


# --- schemas -------------------------------------------------------------------------


class PartnerIn(Schema):
    name: str = Field(max_length=120)
    employer_account_id: int | None = Field(
        None, ge=1, le=MAX_ID, description="The customer that employs the partner, if any."
    )
    owner_id: int | None = Field(None, ge=1, le=MAX_ID, description="Who manages the partner.")
    position: str | None = Field(None, max_length=120)
    phone: str | None = Field(None, max_length=40)
    agreement_date: dt.date | None = Field(
        None, description="When the written agreement was signed."
    )
    agreement_terms: str | None = Field(None, max_length=4000)
    programme: str | None = Field(None, max_length=40, description="Default programme if left out.")
    notes: str | None = Field(None, max_length=2000)


class PartnerPatch(Schema):
    name: str | None = Field(None, max_length=120)
    employer_account_id: int | None = Field(None, ge=1, le=MAX_ID)
    owner_id: int | None = Field(None, ge=1, le=MAX_ID)
    position: str | None = Field(None, max_length=120)
    phone: str | None = Field(None, max_length=40)
    agreement_date: dt.date | None = None
    agreement_terms: str | None = Field(None, max_length=4000)
    programme: str | None = Field(None, max_length=40)
    notes: str | None = Field(None, max_length=2000)


class PartnerOut(Schema):
    id: int
    name: str
    owner_id: int
    owner_name: str
    employer_account_id: int | None
    employer_account_name: str | None
    position: str
    phone: str
    agreement_date: dt.date | None
    agreement_terms: str
    programme: str
    programme_name: str
    notes: str
    created_at: dt.datetime
    updated_at: dt.datetime

    @staticmethod
    def resolve_owner_name(obj) -> str:
        return str(obj.owner)

    @staticmethod
    def resolve_employer_account_name(obj) -> str | None:
        return obj.employer_account.name if obj.employer_account_id else None

    @staticmethod
    def resolve_programme_name(obj) -> str:
        return programmes.programme_name(obj.programme)


class PartnerRow(PartnerOut):
    referral_count: int
    held_count: int = Field(description="Referrals whose commission is held (not released).")


class PartnerPage(Schema):
    items: list[PartnerRow]
    count: int
    page: int
    page_size: int


class PartnerFilters(PageQuery):
    q: str = Field("", max_length=120)


class ReferralIn(Schema):
    opportunity_id: int = Field(ge=1, le=MAX_ID)
    kind: str = Field(max_length=10, description="direct | indirect")
    referred_on: dt.date | None = Field(None, description="YYYY-MM-DD; today when left out.")
    note: str | None = Field(None, max_length=2000)


class ReferralOut(Schema):
    id: int
    partner_id: int
    partner_name: str
    opportunity_id: int
    opportunity_name: str | None = Field(description="null when the deal is not shared with you.")
    account_name: str | None
    kind: str
    referred_on: dt.date
    note: str
    conflict: bool = Field(description="The buying account employs the partner.")
    held: bool = Field(description="A conflict not released: its commission is not payable.")
    released_at: dt.datetime | None
    released_by: str | None
    disclosure_note: str
    disclosure_file: str | None = Field(description="The disclosure document's file name.")


class LineOut(Schema):
    referral_id: int
    opportunity_id: int
    opportunity_name: str | None = Field(description="null when the deal is not shared with you.")
    account_name: str | None
    kind: str
    contract_amount: Decimal
    won_on: dt.date | None
    collected: Decimal = Field(description="Collected in the period (direct).")
    collected_to_date: Decimal = Field(description="Collected up to the period's end (direct).")
    commission: Decimal
    pending: Decimal = Field(description="Commission on what was not collected by the period end.")
    base: Decimal = Field(description="What the line adds to the volume base.")
    held: bool
    conflict: bool
    released: bool
    flags: list[str]


class FlagOut(Schema):
    code: str = Field(description="conflict_of_interest | no_agreement | overpaid | period_open")
    opportunity_id: int | None
    referral_id: int | None
    message: str


class PayoutOut(Schema):
    id: int
    partner_id: int
    period: str
    amount: Decimal
    paid_on: dt.date
    reference: str
    recorded_by: str | None
    created_at: dt.datetime

    @staticmethod
    def resolve_recorded_by(obj) -> str | None:
        return str(obj.recorded_by) if obj.recorded_by_id else None


class StatementOut(Schema):
    partner_id: int
    partner_name: str
    period: str
    start: dt.date
    end: dt.date
    ended: bool
    programme: str
    currency: str
    earned: Decimal = Field(description="Commission earned in the period and payable (not held).")
    pending: Decimal = Field(description="Commission on money not collected yet (not held).")
    held: Decimal = Field(description="Commission, pending and bonus held for a conflict.")
    volume_base: Decimal
    volume_bonus: Decimal = Field(description="The whole bonus of the period.")
    bonus_held: Decimal
    payable: Decimal = Field(description="earned + the bonus not held.")
    paid: Decimal = Field(description="Paid out for this period so far.")
    due: Decimal = Field(description="payable − paid, never below zero.")
    lines: list[LineOut]
    flags: list[FlagOut]
    payouts: list[PayoutOut]


class StatementQuery(Schema):
    period: str | None = Field(
        None, description="2026H1 (half-year programmes) or 2026 (yearly); the latest active "
        "period when left out."
    )  # fmt: skip


class PayoutIn(Schema):
    period: str = Field(
        description="The settlement period, e.g. 2026H1; it must have ended.",
        json_schema_extra=checked(maxLength=8),
    )
    paid_on: dt.date | None = Field(None, description="YYYY-MM-DD; today when left out.")
    reference: str | None = Field(None, max_length=120, description="e.g. the bank transfer no.")
    amount: Money | None = Field(
        None, description="If given, must equal the amount due (guards against a stale screen)."
    )


class PaymentIn(Schema):
    amount: Money
    date: dt.date | None = Field(None, description="YYYY-MM-DD; today when left out.")
    reference: str | None = Field(None, max_length=120)


class PaymentOut(Schema):
    id: int
    opportunity_id: int
    date: dt.date
    amount: Decimal
    reference: str
    recorded_by: str | None
    created_at: dt.datetime

    @staticmethod
    def resolve_recorded_by(obj) -> str | None:
        return str(obj.recorded_by) if obj.recorded_by_id else None


class PaymentsOut(Schema):
    contract_amount: Decimal
    collected: Decimal
    outstanding: Decimal
    items: list[PaymentOut]


# --- helpers -------------------------------------------------------------------------


def _partner(request, partner_id: int) -> Partner:
    return selectors.partner_get_for_user(request.auth, partner_id)


def _fields(request, payload: Schema, *, partial: bool) -> dict:
    data = payload.model_dump(exclude_unset=partial)
    take_owner(data, partial=partial, required_message=_("A partner always has an owner."))
    if partial:
        refuse_nulls(data, ("name", "programme"))
    else:
        for key in ("position", "phone", "agreement_terms", "notes"):
            if data.get(key) is None:
                data.pop(key, None)
    if "employer_account_id" in data:
        account_id = data.pop("employer_account_id")
        data["employer_account"] = None if account_id is None else _employer(request, account_id)
    for key in ("position", "phone", "agreement_terms", "notes"):
        if key in data and data[key] is None:
            data[key] = ""
    return data


def _employer(request, account_id: int):
    try:
        return account_get_for_user(request.auth, account_id)
    except NotFound as exc:
        exc.field = "employer_account_id"
        raise


def _referral_out(referral, visible: set[int]) -> dict:
    opp = referral.opportunity
    shown = opp.pk in visible
    return {
        "id": referral.pk,
        "partner_id": referral.partner_id,
        "partner_name": referral.partner.name,
        "opportunity_id": opp.pk,
        "opportunity_name": opp.name if shown else None,
        "account_name": opp.account.name if shown else None,
        "kind": referral.kind,
        "referred_on": referral.referred_on,
        "note": referral.note,
        "conflict": referral.conflict,
        "held": referral.held,
        "released_at": referral.released_at,
        "released_by": str(referral.released_by) if referral.released_by_id else None,
        "disclosure_note": referral.disclosure_note,
        "disclosure_file": referral.disclosure_file_name or None,
    }


def _visible(request, opportunity_ids) -> set[int]:
    return set(
        opportunities_for_user(request.auth)
        .filter(pk__in=list(opportunity_ids))
        .values_list("pk", flat=True)
    )


def statement_body(report: selectors.PartnerStatement) -> dict:
    """The statement as the API answers it (also what the web page reads)."""
    f = report.figures
    lines = []
    for x in report.lines:
        opp = x.referral.opportunity
        lines.append(
            {
                "referral_id": x.referral.pk,
                "opportunity_id": opp.pk,
                "opportunity_name": opp.name if x.visible else None,
                "account_name": opp.account.name if x.visible else None,
                "kind": x.line.kind,
                "contract_amount": x.line.contract_amount,
                "won_on": programmes.won_on(opp),
                "collected": x.line.collected,
                "collected_to_date": x.line.collected_to_date,
                "commission": x.line.commission,
                "pending": x.line.pending,
                "base": x.line.base,
                "held": x.line.held,
                "conflict": x.referral.conflict,
                "released": x.referral.released,
                "flags": list(x.line.flags),
            }
        )
    return {
        "partner_id": report.partner.pk,
        "partner_name": report.partner.name,
        "period": report.period.key,
        "start": report.period.start,
        "end": report.period.end,
        "ended": report.ended,
        "programme": report.partner.programme,
        "currency": report.programme.currency,
        "earned": f.earned,
        "pending": f.pending,
        "held": f.held,
        "volume_base": f.volume_base,
        "volume_bonus": f.volume_bonus,
        "bonus_held": f.bonus_held,
        "payable": report.payable,
        "paid": report.paid,
        "due": report.due,
        "lines": lines,
        "flags": [
            {
                "code": flag.code,
                "opportunity_id": flag.opportunity_id,
                "referral_id": flag.referral_id,
                "message": present.flag_message(flag, report),
            }
            for flag in report.flags
        ],
        "payouts": list(report.payouts),
    }


def period_for(partner: Partner, key: str | None, *, field: str = "period"):
    if key is None or key == "":
        return selectors.default_period(partner)
    return programmes.settlement_period(partner, key, field=field)


# --- partners ------------------------------------------------------------------------


@router.get("", response={200: PartnerPage, **ERRORS})
def list_partners(request, filters: Query[PartnerFilters]):
    """The partners you manage (your team's for a manager, all for an admin)."""
    qs = selectors.partner_list(request.auth, q=filters.q.strip())
    return paginate(qs, page=filters.page, page_size=filters.page_size)


@router.post("", response={201: PartnerOut, **ERRORS})
def create_partner(request, payload: PartnerIn):
    data = _fields(request, payload, partial=False)
    partner = services.partner_create(actor=request.auth, **data)
    return Status(201, _partner(request, partner.pk))


@router.get("/{int:partner_id}", response={200: PartnerOut, **ERRORS})
def get_partner(request, partner_id: int):
    return _partner(request, partner_id)


@router.patch("/{int:partner_id}", response={200: PartnerOut, **ERRORS})
def update_partner(request, partner_id: int, payload: PartnerPatch):
    """Only the fields sent change. Setting the employer to an account whose deals the
    partner referred flags those referrals as conflicts of interest (held)."""
    partner = _partner(request, partner_id)
    services.partner_update(
        actor=request.auth, partner=partner, **_fields(request, payload, partial=True)
    )
    return _partner(request, partner_id)


# --- referrals -----------------------------------------------------------------------


@router.get("/{int:partner_id}/referrals", response={200: list[ReferralOut], **ERRORS})
def list_referrals(request, partner_id: int):
    partner = _partner(request, partner_id)
    referrals = list(selectors.referrals_of_partner(partner))
    visible = _visible(request, (r.opportunity_id for r in referrals))
    for r in referrals:
        r.partner = partner
    return [_referral_out(r, visible) for r in referrals]


@router.post("/{int:partner_id}/referrals", response={201: ReferralOut, **ERRORS})
def add_referral(request, partner_id: int, payload: ReferralIn):
    """Record that the partner referred a deal you may change. A deal at the
    partner's employer is recorded as a conflict of interest: its commission is held."""
    partner = _partner(request, partner_id)
    try:
        opp = opportunity_api._deal(request, payload.opportunity_id, edit=True)
    except NotFound as exc:
        exc.field = "opportunity_id"
        raise
    referral = services.referral_add(
        actor=request.auth,
        partner=partner,
        opportunity=opp,
        kind=payload.kind,
        referred_on=payload.referred_on,
        note=payload.note or "",
    )
    referral = selectors.referral_get(partner, referral.pk)
    return Status(201, _referral_out(referral, {opp.pk}))


@router.delete("/{int:partner_id}/referrals/{int:referral_id}", response={204: None, **ERRORS})
def remove_referral(request, partner_id: int, referral_id: int):
    """A referral recorded by mistake; refused once money was paid on it or a
    disclosure was recorded."""
    partner = _partner(request, partner_id)
    referral = selectors.referral_get(partner, referral_id)
    opportunity_api._deal(request, referral.opportunity_id, edit=True)
    services.referral_remove(actor=request.auth, referral=referral)
    return Status(204, None)


@router.post(
    "/{int:partner_id}/referrals/{int:referral_id}/release",
    response={200: ReferralOut, **ERRORS},
)
def release_referral(
    request,
    partner_id: int,
    referral_id: int,
    note: Form[Annotated[str, Field(json_schema_extra=checked(maxLength=NOTE_MAX))]],
    file: File[UploadedFile],
):
    """Administrators only (multipart form): release a commission held for a conflict
    of interest, recording the customer's written disclosure — `note` (what the
    customer approved, who signed, when) and `file` (the signed document: PDF, PNG or
    JPEG)."""
    partner = _partner(request, partner_id)
    referral = selectors.referral_get(partner, referral_id)
    services.referral_release(actor=request.auth, referral=referral, note=note, document=file)
    referral = selectors.referral_get(partner, referral_id)
    return _referral_out(referral, _visible(request, [referral.opportunity_id]))


@router.get("/{int:partner_id}/referrals/{int:referral_id}/disclosure", response={**ERRORS})
def download_disclosure(request, partner_id: int, referral_id: int):
    """The customer's disclosure document recorded at the release."""
    partner = _partner(request, partner_id)
    referral = selectors.referral_get(partner, referral_id)
    return disclosure_response(referral)


def disclosure_response(referral) -> FileResponse:
    if not referral.disclosure_file:
        raise NotFound(_("No disclosure document was recorded for this referral."))
    try:
        handle = referral.disclosure_file.open("rb")
    except FileNotFoundError:
        raise NotFound(_("The disclosure document is missing from the data folder.")) from None
    name = referral.disclosure_file_name or referral.disclosure_file.name
    kind = mimetypes.guess_type(name)[0] or "application/octet-stream"
    return FileResponse(handle, as_attachment=True, filename=name, content_type=kind)


# --- statements and payouts ----------------------------------------------------------


@router.get("/{int:partner_id}/statement", response={200: StatementOut, **ERRORS})
def statement(request, partner_id: int, query: Query[StatementQuery]):
    """The partner's statement for a settlement period: earned, pending, held,
    volume base and bonus, paid and due, one line per referral that moved money in
    the period, and the flags (conflict_of_interest, no_agreement, overpaid,
    period_open) with their reason in your language."""
    partner = _partner(request, partner_id)
    period = period_for(partner, query.period)
    report = selectors.partner_statement(partner, period, viewer=request.auth)
    return statement_body(report)


@router.get("/{int:partner_id}/payouts", response={200: list[PayoutOut], **ERRORS})
def list_payouts(request, partner_id: int):
    partner = _partner(request, partner_id)
    return list(selectors.payouts_of_partner(partner).order_by("-paid_on", "-id"))


@router.post("/{int:partner_id}/payouts", response={201: PayoutOut, **ERRORS})
def record_payout(request, partner_id: int, payload: PayoutIn):
    """Administrators only: pay what is due for an ended settlement period. The
    amount is the statement's due amount (payable less earlier payouts); held money is
    never in it and nothing is paid twice (409 when nothing is due)."""
    partner = _partner(request, partner_id)
    payout: Payout = services.payout_record(
        actor=request.auth,
        partner=partner,
        period=payload.period,
        paid_on=payload.paid_on,
        reference=payload.reference or "",
        amount=payload.amount,
    )
    return Status(201, payout)


# --- payments collected on a deal (/opportunities/{id}/payments) -----------------------


def payments_body(opp) -> dict:
    items = list(selectors.payments_of_opportunity(opp))
    collected = sum((p.amount for p in items), Decimal("0.00"))
    return {
        "contract_amount": opp.amount,
        "collected": collected,
        "outstanding": max(Decimal("0.00"), opp.amount - collected),
        "items": items,
    }


@opportunity_router.get("/{int:opportunity_id}/payments", response={200: PaymentsOut, **ERRORS})
def list_payments(request, opportunity_id: int):
    """The money collected on the deal (回款), oldest first, against its amount."""
    return payments_body(opportunity_api._deal(request, opportunity_id))


@opportunity_router.post("/{int:opportunity_id}/payments", response={201: PaymentOut, **ERRORS})
def record_payment(request, opportunity_id: int, payload: PaymentIn):
    """Money collected on a won deal, on its date; the payments never exceed the
    deal's amount. Direct referral commissions are earned in the period of the date."""
    opp = opportunity_api._deal(request, opportunity_id, edit=True)
    payment: Payment = services.payment_record(
        actor=request.auth,
        opportunity=opp,
        amount=payload.amount,
        date=payload.date,
        reference=payload.reference or "",
    )
    return Status(201, payment)


@opportunity_router.delete(
    "/{int:opportunity_id}/payments/{int:payment_id}", response={204: None, **ERRORS}
)
def delete_payment(request, opportunity_id: int, payment_id: int):
    """A payment entered by mistake; refused once commission on it was paid out."""
    opp = opportunity_api._deal(request, opportunity_id, edit=True)
    services.payment_delete(actor=request.auth, payment=selectors.payment_get(opp, payment_id))
    return Status(204, None)


@opportunity_router.get(
    "/{int:opportunity_id}/referrals", response={200: list[ReferralOut], **ERRORS}
)
def list_deal_referrals(request, opportunity_id: int):
    """Who referred the deal, and whether a commission on it is held."""
    opp = opportunity_api._deal(request, opportunity_id)
    referrals = list(selectors.referrals_of_opportunity(opp))
    for r in referrals:
        r.opportunity = opp
    return [_referral_out(r, {opp.pk}) for r in referrals]
