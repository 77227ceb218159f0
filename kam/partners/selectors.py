"""Reading the referral programme, always through the user's visibility.

Partners follow the house rule (core.permissions): a rep sees the partners they
manage, a manager those of the team, an admin all. Seeing a partner is seeing
their statement; a statement line for a deal the viewer cannot see keeps its
figures but not the deal's name.

`partner_statement` gathers a period's inputs in four queries whatever the number
of referrals and payments (referrals with their deals, the payments of the direct
ones, the period's payouts, the deals the viewer may see) and hands them to the
pure arithmetic of `kam.methodology.commission`."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db.models import Count, Q, QuerySet
from django.utils.translation import gettext as _

from kam.core import clock
from kam.core.errors import NotFound
from kam.core.periods import Period
from kam.core.permissions import owner_scope
from kam.methodology import commission
from kam.opportunities.selectors import opportunities_for_user
from kam.partners import programmes
from kam.partners.models import Kind, Partner, Payment, Payout, Referral

MAX_ID = 2**63 - 1


def partners_for_user(user) -> QuerySet[Partner]:
    return Partner.objects.filter(owner_scope(user))


def partner_get_for_user(user, partner_id: int) -> Partner:
    partner = (
        partners_for_user(user)
        .select_related("owner", "employer_account")
        .filter(pk=partner_id)
        .first()
        if 0 < partner_id <= MAX_ID
        else None
    )
    if partner is None:
        raise NotFound(_("No such partner, or it is not shared with you."))
    return partner


# Seeing a partner and changing it are the same right (the manager of the
# relationship, their sales manager, admins); release and payout are admin-only.
partner_get_for_edit = partner_get_for_user


def partner_list(user, *, q: str = "") -> QuerySet[Partner]:
    qs = (
        partners_for_user(user)
        .select_related("owner", "employer_account")
        .annotate(
            referral_count=Count("referrals", distinct=True),
            held_count=Count(
                "referrals",
                filter=Q(referrals__conflict=True, referrals__released_at__isnull=True),
                distinct=True,
            ),
        )
    )
    if q:
        qs = qs.filter(Q(name__icontains=q) | Q(employer_account__name__icontains=q))
    return qs.order_by("name", "id")


def referrals_of_partner(partner: Partner) -> QuerySet[Referral]:
    return (
        Referral.objects.filter(partner=partner)
        .select_related("opportunity", "opportunity__account", "released_by")
        .order_by("referred_on", "id")
    )


def referral_get(partner: Partner, referral_id: int) -> Referral:
    referral = (
        referrals_of_partner(partner).filter(pk=referral_id).first()
        if 0 < referral_id <= MAX_ID
        else None
    )
    if referral is None:
        raise NotFound(_("No such referral of this partner."))
    referral.partner = partner
    return referral


def referrals_of_opportunity(opportunity) -> QuerySet[Referral]:
    return (
        Referral.objects.filter(opportunity=opportunity)
        .select_related("partner", "released_by")
        .order_by("referred_on", "id")
    )


def payments_of_opportunity(opportunity) -> QuerySet[Payment]:
    return Payment.objects.filter(opportunity=opportunity).select_related("recorded_by")


def payment_get(opportunity, payment_id: int) -> Payment:
    payment = (
        payments_of_opportunity(opportunity).filter(pk=payment_id).first()
        if 0 < payment_id <= MAX_ID
        else None
    )
    if payment is None:
        raise NotFound(_("No such payment on this opportunity."))
    payment.opportunity = opportunity
    return payment


def payouts_of_partner(partner: Partner) -> QuerySet[Payout]:
    return Payout.objects.filter(partner=partner).select_related("recorded_by")


# --- statements ----------------------------------------------------------------------


@dataclass(frozen=True)
class StatementLine:
    line: commission.Line
    referral: Referral
    visible: bool  # whether the viewer may see the deal (its name, a link)


@dataclass(frozen=True)
class Flag:
    code: str  # conflict_of_interest | no_agreement | overpaid | period_open
    opportunity_id: int | None = None
    referral_id: int | None = None


@dataclass(frozen=True)
class PartnerStatement:
    partner: Partner
    period: Period
    programme: commission.ProgrammeConfig
    figures: commission.Statement
    lines: tuple[StatementLine, ...]
    payouts: tuple[Payout, ...]
    flags: tuple[Flag, ...] = field(default_factory=tuple)

    @property
    def paid(self) -> Decimal:
        return sum((p.amount for p in self.payouts), commission.ZERO)

    @property
    def payable(self) -> Decimal:
        return self.figures.payable

    @property
    def due(self) -> Decimal:
        return commission.settle(self.payable, self.paid)

    @property
    def held(self) -> Decimal:
        return self.figures.held

    @property
    def ended(self) -> bool:
        return self.period.end < clock.today()

    def snapshot(self) -> dict[str, Any]:
        """The statement as JSON for a payout's record (money as text)."""
        f = self.figures
        return {
            "period": self.period.key,
            "programme": self.partner.programme,
            "earned": str(f.earned),
            "pending": str(f.pending),
            "held": str(f.held),
            "volume_base": str(f.volume_base),
            "volume_bonus": str(f.volume_bonus),
            "bonus_held": str(f.bonus_held),
            "payable": str(self.payable),
            "paid_before": str(self.paid),
            "lines": [
                {
                    "opportunity_id": x.line.opportunity_id,
                    "referral_id": x.referral.pk,
                    "kind": x.line.kind,
                    "collected": str(x.line.collected),
                    "commission": str(x.line.commission),
                    "pending": str(x.line.pending),
                    "base": str(x.line.base),
                    "held": x.line.held,
                }
                for x in self.lines
            ],
        }


def partner_statement(partner: Partner, period: Period, *, viewer=None) -> PartnerStatement:
    """The partner's statement for one settlement period (see
    `programmes.settlement_period`). With a `viewer`, lines of deals they cannot
    see are marked not visible."""
    config = programmes.programme(partner.programme)
    referrals = list(referrals_of_partner(partner))
    direct_ids = [r.opportunity_id for r in referrals if r.kind == Kind.DIRECT]
    payments: dict[int, list[commission.Payment]] = {}
    for opp_id, day, amount in Payment.objects.filter(
        opportunity_id__in=direct_ids, date__lte=period.end
    ).values_list("opportunity_id", "date", "amount"):
        payments.setdefault(opp_id, []).append(commission.Payment(day, amount))
    inputs = []
    for r in referrals:
        opp = r.opportunity
        inputs.append(
            commission.Referral(
                opportunity_id=opp.pk,
                kind=r.kind,
                contract_amount=opp.amount,
                won_on=programmes.won_on(opp),
                payments=tuple(payments.get(opp.pk, ())),
                conflict=r.conflict,
                released=r.released,
            )
        )
    figures = commission.statement(config.rules(), inputs, period.start, period.end)
    if viewer is None:
        visible = {r.opportunity_id for r in referrals}
    else:
        visible = set(
            opportunities_for_user(viewer)
            .filter(pk__in=[r.opportunity_id for r in referrals])
            .values_list("pk", flat=True)
        )
    lines = tuple(
        StatementLine(line=line, referral=r, visible=r.opportunity_id in visible)
        for line, r in zip(figures.lines, referrals, strict=True)
        if _counts(line, r, period)
    )
    payouts = tuple(payouts_of_partner(partner).filter(period=period.key).order_by("paid_on", "id"))
    report = PartnerStatement(
        partner=partner,
        period=period,
        programme=config,
        figures=figures,
        lines=lines,
        payouts=payouts,
    )
    return PartnerStatement(**{**report.__dict__, "flags": _flags(report)})


def _counts(line: commission.Line, referral: Referral, period: Period) -> bool:
    """A line belongs on the period's statement when it moves money in it, or the
    deal was referred in it (so a fresh referral shows before its deal is won)."""
    return bool(line.commission or line.pending or line.base) or period.contains(
        referral.referred_on
    )


def _flags(report: PartnerStatement) -> tuple[Flag, ...]:
    flags = [
        Flag("conflict_of_interest", x.referral.opportunity_id, x.referral.pk)
        for x in report.lines
        if x.referral.held
    ]
    if report.partner.agreement_date is None:
        flags.append(Flag("no_agreement"))
    if report.paid > report.payable:
        flags.append(Flag("overpaid"))
    if not report.ended:
        flags.append(Flag("period_open"))
    return tuple(flags)


def statement_periods(partner: Partner) -> list[Period]:
    """The settlement periods a statement can be asked for: from the one of the first
    referral to the current one, newest first."""
    first = (
        Referral.objects.filter(partner=partner)
        .order_by("referred_on")
        .values_list("referred_on", flat=True)
        .first()
    )
    today = clock.today()
    return programmes.periods_between(partner, first or today, today)


def default_period(partner: Partner) -> Period:
    """The period a partner page opens on: the latest one in which money moved (a
    payment on a direct referral, an indirect deal won), else the current one."""
    latest: dt.date | None = (
        Payment.objects.filter(
            opportunity__referrals__partner=partner,
            opportunity__referrals__kind=Kind.DIRECT,
            date__lte=clock.today(),
        )
        .order_by("-date")
        .values_list("date", flat=True)
        .first()
    )
    for r in referrals_of_partner(partner).filter(kind=Kind.INDIRECT):
        won = programmes.won_on(r.opportunity)
        if won is not None and (latest is None or won > latest):
            latest = won
    config = programmes.programme(partner.programme)
    return programmes.period_containing(config, latest or clock.today())
