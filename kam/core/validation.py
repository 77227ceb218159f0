"""Field checks shared by services. Each raises ValidationFailed naming the field
and saying how to fix it, in the user's language."""

from __future__ import annotations

import datetime as dt
import functools
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import models
from django.utils.functional import Promise
from django.utils.translation import gettext as _

from kam.core.errors import ValidationFailed


def text(value: Any, *, field: str, max_length: int, required: bool = False) -> str:
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise ValidationFailed(_("Enter text."), field=field)
    value = value.strip()
    if required and not value:
        raise ValidationFailed(_("This field is required."), field=field)
    if len(value) > max_length:
        raise ValidationFailed(
            _("Use at most %(max)d characters (this has %(n)d).")
            % {"max": max_length, "n": len(value)},
            field=field,
        )
    return value


@functools.cache
def _values_of(choices: type[models.TextChoices]) -> frozenset[str]:
    # Django builds the list of values anew at each `.values` (an importer checks
    # thousands of rows).
    return frozenset(choices.values)


def choice(
    value: Any, *, field: str, choices: type[models.TextChoices], allow_blank: bool = True
) -> str:
    if value is None or value == "":
        if allow_blank:
            return ""
        raise ValidationFailed(_("This field is required."), field=field)
    if value not in _values_of(choices):
        raise ValidationFailed(
            _("“%(value)s” is not a valid choice; use one of: %(choices)s.")
            % {"value": value, "choices": ", ".join(choices.values)},
            field=field,
        )
    return value


def money(value: Any, *, field: str, required: bool = False) -> Decimal | None:
    if value is None or value == "":
        if required:
            raise ValidationFailed(_("This field is required."), field=field)
        return None
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise ValidationFailed(_("Enter a number, e.g. 1250000.00."), field=field) from None
    if not amount.is_finite():
        raise ValidationFailed(_("Enter a number, e.g. 1250000.00."), field=field)
    if amount < 0:
        raise ValidationFailed(_("The amount cannot be negative."), field=field)
    if amount >= Decimal("1e14"):
        raise ValidationFailed(_("The amount is too large."), field=field)
    if amount.as_tuple().exponent < -2:  # type: ignore[operator]
        raise ValidationFailed(_("Use at most two decimal places."), field=field)
    return amount


def whole_number(value: Any, *, field: str, minimum: int = 0, maximum: int = 100_000) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationFailed(_("Enter a whole number."), field=field)
    if value < minimum or value > maximum:
        raise ValidationFailed(
            _("Enter a number from %(min)d to %(max)d.") % {"min": minimum, "max": maximum},
            field=field,
        )
    return value


def date(value: Any, *, field: str, required: bool = False) -> dt.date | None:
    if value is None or value == "":
        if required:
            raise ValidationFailed(_("This field is required."), field=field)
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        if not (dt.date(1900, 1, 1) <= value <= dt.date(2200, 12, 31)):
            raise ValidationFailed(_("Enter a date between 1900 and 2200."), field=field)
        return value
    try:
        return date(dt.date.fromisoformat(str(value)), field=field)
    except ValueError:
        raise ValidationFailed(_("Enter a date as YYYY-MM-DD."), field=field) from None


def past_date(
    value: Any, *, field: str, required: bool = False, tz: dt.tzinfo | None = None
) -> dt.date | None:
    """A day that has happened (today at the latest, in `tz`: by default the current
    time zone); None when not given."""
    from kam.core import clock

    day = date(value, field=field, required=required)
    if day is not None and day > clock.today(tz):
        raise ValidationFailed(
            _("This date is in the future; enter the day it happened (today at the latest)."),
            field=field,
        )
    return day


def unique_code(
    value: Any,
    *,
    field: str,
    model: type[models.Model],
    instance=None,
    message: str | Promise,
    check: bool = True,
) -> str | None:
    """An optional external reference (ERP code, import key) that must stay unique.
    `check=False`: the caller has already looked the code up (the importer, for many
    rows in one query); the database's unique index still holds."""
    code = text(value, field=field, max_length=64) or None
    if (
        check
        and code
        and model._default_manager.filter(code=code)
        .exclude(pk=getattr(instance, "pk", None))
        .exists()
    ):
        raise ValidationFailed(message % {"code": code}, field=field)
    return code
