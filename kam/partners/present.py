"""How the programme's flags read, in the user's language — one wording for the
API, the partner page and the Excel statement."""

from __future__ import annotations

import datetime as dt

from django.utils.formats import date_format
from django.utils.translation import gettext as _

from kam.partners.selectors import Flag, PartnerStatement


def legal_reason(partner) -> str:
    """Why a commission is held: the law, not a KAM whim."""
    employer = partner.employer_account.name if partner.employer_account_id else ""
    return _(
        "%(partner)s is employed by %(account)s, the customer buying this deal. Paying an "
        "employee of the buying customer for his employer's purchase is commercial bribery in "
        "most jurisdictions (PRC Anti-Unfair Competition Law art. 7; US FCPA; UK Bribery Act). "
        "The commission is computed but held until an administrator records the customer's "
        "written disclosure and approval."
    ) % {"partner": partner.name, "account": employer or _("the buying customer")}


def released_text(referral) -> str:
    return _("Released by %(user)s on %(day)s after the customer's written disclosure.") % {
        "user": str(referral.released_by) if referral.released_by_id else "—",
        "day": date_format(referral.released_at, "DATE_FORMAT") if referral.released_at else "",
    }


def flag_message(flag: Flag, report: PartnerStatement) -> str:
    if flag.code == "conflict_of_interest":
        return legal_reason(report.partner)
    if flag.code == "no_agreement":
        return _(
            "No written agreement is on record; the programme pays by written agreement only. "
            "Record the date it was signed before any payout."
        )
    if flag.code == "overpaid":
        return _(
            "More was paid out for this period (%(paid)s) than is payable now (%(payable)s): its "
            "figures changed after the payout (a deal's amount, the partner's employer or the "
            "programme's rates). Settle the difference with the partner."
        ) % {"paid": f"{report.paid:,.2f}", "payable": f"{report.payable:,.2f}"}
    if flag.code == "period_open":
        return _(
            "The period has not ended: the figures can still change and it can be paid from "
            "%(day)s on."
        ) % {"day": date_format(report.period.end + dt.timedelta(days=1))}
    return flag.code
