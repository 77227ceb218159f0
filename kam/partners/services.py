"""Writes of the referral programme (SPEC §7). Each service is one transaction that
writes its audit event; who may call it is checked here for the admin-only acts
(release, payout) and by the caller's `*_get_for_edit` selectors for the rest.

The compliance guard lives here: a referral whose buying account employs the
partner is recorded with `conflict` set — and an existing referral gets it when the
partner's employer is set to its account — so its commission is computed but held
until `referral_release` records the customer's written disclosure."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import Sum
from django.utils.translation import gettext as _

from kam.core import audit, clock, validation
from kam.core.errors import Conflict, PermissionDenied, ValidationFailed
from kam.core.permissions import check_assignable
from kam.core.uploads import check_document
from kam.opportunities.models import Status
from kam.partners import programmes as rules
from kam.partners.models import (
    NAME_MAX,
    NOTE_MAX,
    REFERENCE_MAX,
    TERMS_MAX,
    Kind,
    Partner,
    Payment,
    Payout,
    Referral,
)
from kam.users.models import Role

PARTNER_FIELDS = (
    "name",
    "owner",
    "employer_account",
    "position",
    "phone",
    "agreement_date",
    "agreement_terms",
    "programme",
    "notes",
)
REFERRAL_FIELDS = (
    "partner",
    "opportunity",
    "kind",
    "referred_on",
    "note",
    "conflict",
    "released_at",
)
PAYMENT_FIELDS = ("date", "amount", "reference")


# --- checks --------------------------------------------------------------------------


def _clean_partner(data: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, value in data.items():
        if name == "name":
            out[name] = validation.text(value, field=name, max_length=NAME_MAX, required=True)
        elif name in ("position",):
            out[name] = validation.text(value, field=name, max_length=NAME_MAX)
        elif name == "phone":
            out[name] = validation.text(value, field=name, max_length=40)
        elif name == "agreement_terms":
            out[name] = validation.text(value, field=name, max_length=TERMS_MAX)
        elif name == "notes":
            out[name] = validation.text(value, field=name, max_length=NOTE_MAX)
        elif name == "agreement_date":
            out[name] = validation.past_date(value, field=name)
        elif name == "programme":
            out[name] = rules.programme_key(value, field=name)
        elif name in ("owner", "employer_account"):
            out[name] = value
        else:
            raise ValueError(f"not a partner field: {name}")
    return out


def _require_admin(actor, message: str) -> None:
    if getattr(actor, "role", None) != Role.ADMIN:
        raise PermissionDenied(message)


def _delete_on_deal(actor, instance, entity: str, fields: tuple[str, ...]) -> None:
    """Delete a record of a deal (a referral, a payment) and write the event that keeps
    what it was in the deal's history."""
    before = audit.snapshot(instance, fields)
    pk, opp_id = instance.pk, instance.opportunity_id
    account_id = instance.opportunity.account_id
    instance.delete()
    audit.record(
        actor=actor,
        entity=entity,
        entity_id=pk,
        action="deleted",
        before=before,
        opportunity_id=opp_id,
        account_id=account_id,
    )


# --- partners ------------------------------------------------------------------------


@transaction.atomic
def partner_create(*, actor, name: str, owner=None, **fields: Any) -> Partner:
    """A partner managed by `owner` (the actor by default), following the default
    programme unless another is named."""
    fields.setdefault("programme", None)
    data = _clean_partner({"name": name, **fields})
    owner = owner or actor
    check_assignable(actor, owner)
    partner = Partner(**data, owner=owner)
    partner.save()
    audit.record(
        actor=actor,
        entity="partner",
        entity_id=partner.pk,
        action="created",
        after=audit.snapshot(partner, PARTNER_FIELDS),
    )
    return partner


@transaction.atomic
def partner_update(*, actor, partner: Partner, **changes: Any) -> Partner:
    """Only the fields given change. Setting the employer to an account whose deals
    the partner referred flags those referrals as conflicts of interest."""
    data = _clean_partner(changes)
    if "name" in changes and not data.get("name"):
        raise ValidationFailed(_("This field is required."), field="name")
    if "owner" in data:
        if data["owner"] is None:
            raise ValidationFailed(_("Choose an owner."), field="owner_id")
        if data["owner"].pk != partner.owner_id:
            check_assignable(actor, data["owner"])
    before, after = audit.apply_changes(partner, data)
    if not after:
        return partner
    partner.updated_at = clock.now()
    partner.save(update_fields=[*after.keys(), "updated_at"])
    audit.record(
        actor=actor,
        entity="partner",
        entity_id=partner.pk,
        action="updated",
        before=before,
        after=after,
    )
    if "employer_account" in after and partner.employer_account_id is not None:
        found = partner.referrals.filter(
            opportunity__account_id=partner.employer_account_id, conflict=False
        ).select_related("opportunity")
        for referral in found:
            referral.conflict = True
            referral.updated_at = clock.now()
            referral.save(update_fields=["conflict", "updated_at"])
            audit.record(
                actor=actor,
                entity="referral",
                entity_id=referral.pk,
                action="conflict_found",
                before={"conflict": False},
                after={"conflict": True},
                opportunity_id=referral.opportunity_id,
                account_id=referral.opportunity.account_id,
            )
    return partner


# --- referrals -----------------------------------------------------------------------


@transaction.atomic
def referral_add(
    *,
    actor,
    partner: Partner,
    opportunity,
    kind: str,
    referred_on: Any = None,
    note: str = "",
) -> Referral:
    """Record that `partner` referred `opportunity`. One referral per partner and
    deal, one direct referral per deal (two partners paid a direct commission on
    the same money would be paid twice), the deal in the programme's currency."""
    kind = validation.choice(kind, field="kind", choices=Kind, allow_blank=False)
    day = validation.past_date(referred_on, field="referred_on") or clock.today()
    note = validation.text(note, field="note", max_length=NOTE_MAX)
    programme = rules.programme(partner.programme)
    if opportunity.currency != programme.currency:
        raise ValidationFailed(
            _("This deal is in %(deal)s; the partner's programme pays in %(programme)s.")
            % {"deal": opportunity.currency, "programme": programme.currency},
            field="opportunity_id",
        )
    if Referral.objects.filter(partner=partner, opportunity=opportunity).exists():
        raise Conflict(
            _("%(partner)s's referral of this deal is already recorded.")
            % {"partner": partner.name},
            field="opportunity_id",
        )
    if (
        kind == Kind.DIRECT
        and Referral.objects.filter(opportunity=opportunity, kind=Kind.DIRECT).exists()
    ):
        raise Conflict(
            _(
                "This deal already has a direct referral; a deal pays one direct commission. "
                "Record this partner's referral as indirect, or correct the other one."
            ),
            field="kind",
        )
    referral = Referral(
        partner=partner,
        opportunity=opportunity,
        kind=kind,
        referred_on=day,
        note=note,
        conflict=rules.employs(partner, opportunity),
    )
    referral.save()
    audit.record(
        actor=actor,
        entity="referral",
        entity_id=referral.pk,
        action="created",
        after=audit.snapshot(referral, REFERRAL_FIELDS),
        opportunity_id=opportunity.pk,
        account_id=opportunity.account_id,
    )
    return referral


def _paid_lines(partner: Partner, opportunity_id: int) -> list[str]:
    """The periods whose payouts to `partner` included something of this deal."""
    periods = []
    for payout in Payout.objects.filter(partner=partner).only("period", "statement"):
        for line in payout.statement.get("lines", []):
            if line.get("opportunity_id") == opportunity_id and (
                Decimal(line.get("commission", "0")) or Decimal(line.get("base", "0"))
            ):
                periods.append(payout.period)
    return sorted(set(periods))


@transaction.atomic
def referral_remove(*, actor, referral: Referral) -> None:
    """A referral recorded by mistake can go until money was paid on it or a
    disclosure was recorded for it; after that it is history."""
    if referral.released:
        raise Conflict(
            _("This referral carries the customer's recorded disclosure; it cannot be removed.")
        )
    paid = _paid_lines(referral.partner, referral.opportunity_id)
    if paid:
        raise Conflict(
            _("Money was already paid out on this referral (%(periods)s); it cannot be removed.")
            % {"periods": ", ".join(paid)}
        )
    _delete_on_deal(actor, referral, "referral", REFERRAL_FIELDS)


@transaction.atomic
def referral_release(*, actor, referral: Referral, note: str, document) -> Referral:
    """An admin releases a held commission, recording the customer's written
    disclosure: what the customer approved (note) and the signed document (file)."""
    _require_admin(
        actor,
        _("Only an administrator can release a commission held for a conflict of interest."),
    )
    referral = (
        Referral.objects.select_for_update().select_related("opportunity").get(pk=referral.pk)
    )
    if not referral.conflict:
        raise Conflict(_("This referral is not held: there is nothing to release."))
    if referral.released:
        raise Conflict(_("This commission was already released."))
    note = validation.text(note, field="note", max_length=NOTE_MAX, required=True)
    file_name = check_document(document, field="file")
    now = clock.now()
    referral.released_at = now
    referral.released_by = actor
    referral.disclosure_note = note
    referral.disclosure_file_name = file_name
    extension = file_name.rsplit(".", 1)[-1].lower()
    referral.disclosure_file.save(f"referral-{referral.pk}.{extension}", document, save=False)
    referral.updated_at = now
    referral.save(
        update_fields=[
            "released_at",
            "released_by",
            "disclosure_note",
            "disclosure_file",
            "disclosure_file_name",
            "updated_at",
        ]
    )
    audit.record(
        actor=actor,
        entity="referral",
        entity_id=referral.pk,
        action="released",
        before={"held": True, "released_at": None},
        after={"held": False, "released_at": audit.jsonable(now), "disclosure_file": file_name},
        opportunity_id=referral.opportunity_id,
        account_id=referral.opportunity.account_id,
        note=note,
    )
    return referral


# --- payments collected (回款) ---------------------------------------------------------


@transaction.atomic
def payment_record(
    *, actor, opportunity, amount: Any, date: Any = None, reference: str = ""
) -> Payment:
    """Money collected on a won deal, on the day it came in. The payments of a deal
    never add up to more than its contract amount (the deal's amount)."""
    from kam.opportunities.models import Opportunity

    opp = Opportunity.objects.select_for_update().get(pk=opportunity.pk)
    if opp.status != Status.WON:
        raise Conflict(
            _("Payments are recorded on won deals; this deal is %(status)s.")
            % {"status": Status(opp.status).label},
            field="opportunity_id",
        )
    value = validation.money(amount, field="amount", required=True)
    if value is None or value <= 0:
        raise ValidationFailed(_("Enter an amount above zero."), field="amount")
    day = validation.past_date(date, field="date") or clock.today()
    won_on = rules.won_on(opp)
    if won_on is not None and day < won_on:
        raise ValidationFailed(
            _("The deal was won on %(day)s; money cannot be collected on it before that.")
            % {"day": won_on.isoformat()},
            field="date",
        )
    reference = validation.text(reference, field="reference", max_length=REFERENCE_MAX)
    so_far = Payment.objects.filter(opportunity=opp).aggregate(s=Sum("amount"))["s"] or Decimal(0)
    if so_far + value > opp.amount:
        raise ValidationFailed(
            _(
                "Collections would reach %(total)s, above the contract amount %(amount)s "
                "(%(left)s is still to collect). Check the amount, or correct the deal's amount."
            )
            % {
                "total": f"{so_far + value:,.2f}",
                "amount": f"{opp.amount:,.2f}",
                "left": f"{opp.amount - so_far:,.2f}",
            },
            field="amount",
        )
    payment = Payment.objects.create(
        opportunity=opp, date=day, amount=value, reference=reference, recorded_by=actor
    )
    audit.record(
        actor=actor,
        entity="payment",
        entity_id=payment.pk,
        action="created",
        after=audit.snapshot(payment, PAYMENT_FIELDS),
        opportunity_id=opp.pk,
        account_id=opp.account_id,
    )
    return payment


@transaction.atomic
def payment_delete(*, actor, payment: Payment) -> None:
    """A payment entered by mistake can be removed until a partner was paid
    commission on it (a payout for a period containing its date, to a partner with a
    direct referral on the deal)."""
    for referral in Referral.objects.filter(
        opportunity_id=payment.opportunity_id, kind=Kind.DIRECT
    ).select_related("partner"):
        for payout in Payout.objects.filter(partner=referral.partner):
            period = rules.period_of_key(payout.period)
            if period.contains(payment.date):
                raise Conflict(
                    _(
                        "Commission on this payment was paid out to %(partner)s for %(period)s; "
                        "it cannot be removed."
                    )
                    % {"partner": referral.partner.name, "period": payout.period}
                )
    _delete_on_deal(actor, payment, "payment", PAYMENT_FIELDS)


# --- payouts ---------------------------------------------------------------------------


@transaction.atomic
def payout_record(
    *,
    actor,
    partner: Partner,
    period: str,
    paid_on: Any = None,
    reference: str = "",
    amount: Any = None,
) -> Payout:
    """Pay what is due for a settlement period that has ended: the statement's
    payable amount (earned commission and the bonus not held) less the period's
    earlier payouts. Held amounts are never in it; paying the same money twice is
    impossible because the due amount is computed under a lock on the partner. An
    `amount`, when given, must equal the amount due (a stale screen is refused)."""
    from kam.partners.selectors import partner_statement

    _require_admin(actor, _("Only an administrator can record a payout."))
    partner = Partner.objects.select_for_update().get(pk=partner.pk)
    span = rules.settlement_period(partner, period, field="period")
    if partner.agreement_date is None:
        raise Conflict(
            _(
                "There is no written agreement on record for %(partner)s; record the date it "
                "was signed before paying anything."
            )
            % {"partner": partner.name},
            field="period",
        )
    if span.end >= clock.today():
        raise Conflict(
            _("%(period)s has not ended yet; pay it from %(day)s on.")
            % {"period": span.key, "day": (span.end + dt.timedelta(days=1)).isoformat()},
            field="period",
        )
    day = validation.past_date(paid_on, field="paid_on") or clock.today()
    if day <= span.end:
        raise ValidationFailed(
            _("A payout for %(period)s is paid after the period ends; enter a day from %(day)s on.")
            % {"period": span.key, "day": (span.end + dt.timedelta(days=1)).isoformat()},
            field="paid_on",
        )
    reference = validation.text(reference, field="reference", max_length=REFERENCE_MAX)
    report = partner_statement(partner, span)
    if report.due <= 0:
        raise Conflict(
            _("Nothing is due for %(period)s: %(paid)s paid already, %(held)s held.")
            % {"period": span.key, "paid": f"{report.paid:,.2f}", "held": f"{report.held:,.2f}"},
            field="period",
        )
    if amount is not None and amount != "":
        asked = validation.money(amount, field="amount")
        if asked != report.due:
            raise Conflict(
                _(
                    "The amount due for %(period)s is %(due)s now; reload the statement and "
                    "pay that."
                )
                % {"period": span.key, "due": f"{report.due:,.2f}"},
                field="amount",
            )
    payout = Payout.objects.create(
        partner=partner,
        period=span.key,
        amount=report.due,
        paid_on=day,
        reference=reference,
        recorded_by=actor,
        statement=report.snapshot(),
    )
    audit.record(
        actor=actor,
        entity="payout",
        entity_id=payout.pk,
        action="created",
        after={
            "partner": partner.pk,
            "period": span.key,
            "amount": str(payout.amount),
            "paid_on": day.isoformat(),
            "reference": reference,
        },
    )
    return payout
