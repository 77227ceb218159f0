"""Revenue booked with a customer outside KAM's won deals (RevenueRecord) — typically
history from the ERP, counted in the value pyramid by its date and in the grade's
transaction indicators (SPEC §6: "plus imported historical revenue").

A record is a fact: its date cannot be in the future; the amount is above zero; the
profit, when known, may be negative (a loss) but not above the amount. An
`external_key` (the source system's id) is unique, so importing the same file twice
adds nothing: a second record with the same key is a Conflict (409). Every change is
an event on the account (entity "revenue_record"). Who may write is decided by the
caller through `account_get_for_edit`."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils.translation import gettext as _

from kam.accounts.models import Account, RevenueRecord
from kam.core import audit, clock, drafts, validation
from kam.core.errors import Conflict, NotFound, ValidationFailed

FIELDS = ("date", "amount", "profit", "source", "note", "external_key")
CENT = Decimal("0.01")


def _profit(value: Any, *, amount: Decimal) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        profit = Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise ValidationFailed(_("Enter a number, e.g. 1250000.00."), field="profit") from None
    if not profit.is_finite():
        raise ValidationFailed(_("Enter a number, e.g. 1250000.00."), field="profit")
    if profit.as_tuple().exponent < -2:  # type: ignore[operator]
        raise ValidationFailed(_("Use at most two decimal places."), field="profit")
    if abs(profit) >= Decimal("1e14"):
        raise ValidationFailed(_("The amount is too large."), field="profit")
    if profit > amount:
        raise ValidationFailed(_("The profit cannot be more than the revenue."), field="profit")
    return profit.quantize(CENT)


def _clean(data: dict[str, Any]) -> dict[str, Any]:
    day = validation.date(data.get("date"), field="date", required=True)
    assert day is not None
    if day > clock.today():
        raise ValidationFailed(
            _("Revenue is booked when it happens: the date cannot be in the future."),
            field="date",
        )
    amount = validation.money(data.get("amount"), field="amount", required=True)
    assert amount is not None
    if amount <= 0:
        raise ValidationFailed(_("Enter an amount above zero."), field="amount")
    key = validation.text(data.get("external_key"), field="external_key", max_length=100)
    return {
        "date": day,
        "amount": amount.quantize(CENT),
        "profit": _profit(data.get("profit"), amount=amount),
        "source": validation.text(data.get("source"), field="source", max_length=100),
        "note": validation.text(data.get("note"), field="note", max_length=500),
        "external_key": key or None,
    }


def _duplicate(key: str) -> Conflict:
    return Conflict(
        _("A revenue record with the external key “%(key)s” already exists.") % {"key": key},
        field="external_key",
    )


@transaction.atomic
def revenue_record_add(
    *,
    actor,
    account: Account,
    date: dt.date | str | None,
    amount: Any,
    profit: Any = None,
    source: str = "",
    note: str = "",
    external_key: str | None = None,
) -> RevenueRecord:
    """Record revenue booked with `account` on `date` (a past or today's date)."""
    draft = revenue_record_build(
        actor=actor,
        account=account,
        date=date,
        amount=amount,
        profit=profit,
        source=source,
        note=note,
        external_key=external_key,
    )
    key = draft.record.external_key
    if key and RevenueRecord.objects.filter(external_key=key).exists():
        raise _duplicate(key)
    try:
        with transaction.atomic():
            return drafts.save_one(draft)
    except IntegrityError:  # the same key, written by someone else meanwhile
        raise _duplicate(key or "") from None


def revenue_record_build(
    *,
    actor,
    account: Account,
    date: dt.date | str | None,
    amount: Any,
    profit: Any = None,
    source: str = "",
    note: str = "",
    external_key: str | None = None,
) -> drafts.Draft[RevenueRecord]:
    """A new record checked, unsaved, with its created event, for a caller that has
    looked the external key up itself (the importer, many rows in one query)."""
    data = _clean(
        {
            "date": date,
            "amount": amount,
            "profit": profit,
            "source": source,
            "note": note,
            "external_key": external_key,
        }
    )
    record = RevenueRecord(account=account, **data)
    created = audit.event(
        actor=actor,
        entity="revenue_record",
        action="created",
        after=audit.snapshot(record, FIELDS),
        account_id=account.pk,
    )
    return drafts.Draft(record, [created])


@transaction.atomic
def revenue_record_delete(*, actor, record: RevenueRecord) -> None:
    """For a record entered by mistake; the event keeps what it said."""
    audit.record(
        actor=actor,
        entity="revenue_record",
        entity_id=record.pk,
        action="deleted",
        before=audit.snapshot(record, FIELDS),
        account_id=record.account_id,
    )
    record.delete()


def revenue_records_for(account: Account) -> QuerySet[RevenueRecord]:
    """The account's records, newest first."""
    return RevenueRecord.objects.filter(account=account).order_by("-date", "-id")


def revenue_record_get(account: Account, record_id: int) -> RevenueRecord:
    record = RevenueRecord.objects.filter(account=account, pk=record_id).first()
    if record is None:
        raise NotFound(_("No such revenue record at this account."))
    return record
