"""The programme a partner follows and its settlement periods, read from the
methodology registry (models/partner_programmes.toml), plus the two facts about a
deal the commission needs: the day it was won and whether its buyer employs the
partner."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone
from django.utils.translation import gettext as _

from kam.core import clock
from kam.core.errors import ValidationFailed
from kam.core.i18n import show
from kam.core.periods import Period, named_period
from kam.methodology.commission import ProgrammeConfig, ProgrammeModel
from kam.opportunities.models import Status


def model() -> ProgrammeModel:
    from kam.methodology import registry

    return registry.current().partner_programmes


def programme_key(value, *, field: str = "programme") -> str:
    """A programme's key; the default one when none is named."""
    programmes = model()
    if value is None or value == "":
        return programmes.default
    if not isinstance(value, str) or value not in programmes.programmes:
        raise ValidationFailed(
            _("“%(value)s” is not a referral programme; use one of: %(choices)s.")
            % {"value": str(value)[:40], "choices": ", ".join(programmes.programmes)},
            field=field,
        )
    return value


def programme(key: str) -> ProgrammeConfig:
    """The partner's programme; one removed from the file falls back to the default
    (the registry refuses a file without it), so a statement can always be shown."""
    programmes = model()
    return programmes.programmes.get(key) or programmes.programmes[programmes.default]


def programme_name(key: str) -> str:
    """The partner's programme as the user reads it (zh-Hans or en)."""
    return show(programme(key).name)


def programme_choices() -> list[tuple[str, str]]:
    return [(key, show(p.name)) for key, p in model().programmes.items()]


def period_of_key(key: str) -> Period:
    return named_period(key)


def period_containing(config: ProgrammeConfig, day: dt.date) -> Period:
    if config.period == "year":
        return named_period(str(day.year))
    return named_period(f"{day.year}H{1 if day.month <= 6 else 2}")


def settlement_period(partner, key, *, field: str = "period") -> Period:
    """The programme settles by half-year or by year; a statement or a payout is for
    one such period (a quarter would split the volume bonus and let two payouts
    cover the same money)."""
    config = programme(partner.programme)
    period = named_period(key if isinstance(key, str) else "", field=field)
    wanted_half = config.period == "half"
    is_half = "H" in period.key
    is_year = period.key.isdigit()
    if (wanted_half and not is_half) or (not wanted_half and not is_year):
        year = period.start.year
        example = f"{year}H1, {year}H2" if wanted_half else str(year)
        raise ValidationFailed(
            _("%(programme)s settles by %(unit)s; ask for %(example)s.")
            % {
                "programme": show(config.name),
                "unit": _("half-year") if wanted_half else _("year"),
                "example": example,
            },
            field=field,
        )
    return period


def current_period(partner) -> Period:
    return period_containing(programme(partner.programme), clock.today())


def periods_between(partner, first: dt.date, last: dt.date) -> list[Period]:
    """The settlement periods from the one holding `first` to the one holding
    `last`, newest first."""
    config = programme(partner.programme)
    out = []
    period = period_containing(config, last)
    while True:
        out.append(period)
        if period.start <= first or len(out) >= 40:
            break
        period = period_containing(config, period.start - dt.timedelta(days=1))
    return out


def won_on(opportunity) -> dt.date | None:
    """The local day the deal was won, or None when it is not won."""
    if opportunity.status != Status.WON or opportunity.closed_at is None:
        return None
    return timezone.localdate(opportunity.closed_at)


def employs(partner, opportunity) -> bool:
    """The compliance test: the buying account employs the partner."""
    return partner.employer_account_id is not None and (
        partner.employer_account_id == opportunity.account_id
    )
