"""Accounts, contacts, opportunities and revenue as Excel sheets in the columns of
`kam.transfer.columns` — the list exports and `kam export FILE.xlsx`.

A sheet exported here can be edited in Excel and imported back: its title is the
kind's (客户 / Accounts …), its headers the columns' (with the `*` of a required
column) in the language active when it is written, and every value in a form the
column's kind reads (`columns.read_cell`):

- choices by their name in that language (国有 / State-owned), yes/no as 是/否 or
  yes/no;
- the owner by login name; an account by its code, or its name when it has none;
  `reports_to` likewise (the contact's code, else name); the playbook by its key, the
  stage and buyer stage by their names in the language;
- `stage_dates`: the day each stage was entered, first to current, `2026-01-05;
  2026-02-10`, from the deal's created event and its `advanced`/`force_advanced`
  events — one query for all the deals of the export (`stage_dates_many`); only the
  day the current stage was entered when the history does not reach back to the
  playbook's first stage (the two forms `opportunity_bring_in` takes);
- amounts money cells, dates date cells, `closed_on` the local day of `closed_at`.

Read-only columns may follow the importable ones (an account's open deals, a deal's
priority). Every cell goes through `kam.core.spreadsheet`, so text a spreadsheet could
run (`=HYPERLINK(…)`, `+1`, `@SUM(…)`) is written as quoted text.

`write_workbook(path, user=None)` writes the four kinds, one sheet each in
`columns.ORDER`, streamed (write-only: the memory does not grow with the book), with
what `user` sees (everything without a user). Queries: one per sheet, two for the
opportunities (the deals, their stage events)."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import QuerySet
from django.utils import timezone, translation
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from kam.accounts.models import Account, AccountType, Nature, RevenueRecord, Size
from kam.accounts.selectors import account_list, accounts_for_user, open_deals_count
from kam.contacts.models import Contact, ContactStatus, Disc, Layer
from kam.contacts.selectors import contact_list
from kam.core.errors import ValidationFailed
from kam.core.i18n import buyer_stage_name, stage_name
from kam.core.models import Event
from kam.core.spreadsheet import DATE, MONEY, add_sheet, new_workbook, write_table
from kam.methodology import registry
from kam.opportunities.models import Opportunity, Priority, Status
from kam.opportunities.selectors import opportunity_list
from kam.transfer.columns import ACCOUNTS, CONTACTS, KINDS, OPPORTUNITIES, ORDER, REVENUE, Kind

DATES_SEPARATOR = "; "
# The events that move a deal into a stage: where it started, and each step forward.
STAGE_ACTIONS = ("created", "advanced", "force_advanced")
CHUNK = 2000  # rows fetched at a time when streaming a sheet


@dataclass(frozen=True)
class Sheet:
    """One table ready for `write_table`: the kind's title, the headers, the rows (a
    generator: read once) and the number formats by column."""

    title: str
    headers: list[str]
    rows: Iterable[list[Any]]
    number_formats: dict[int, str]


def language() -> str:
    return translation.get_language() or settings.LANGUAGE_CODE


def is_chinese(lang: str | None = None) -> bool:
    return (lang or language()).lower().startswith("zh")


# --- cells ------------------------------------------------------------------------------


def choice_name(choices: type[models.TextChoices], value: str) -> str:
    """A stored choice as its name in the active language (`soe` -> 国有 / State-owned);
    a value the choices no longer know stays as stored."""
    if not value:
        return ""
    return str(dict(choices.choices).get(value, value))


def yes_no(value: bool) -> str:
    """What a yes/no column reads: 是/否 in Chinese, yes/no otherwise."""
    if is_chinese():
        return "是" if value else "否"
    return "yes" if value else "no"


def local_day(value: dt.datetime | None) -> dt.date | None:
    if value is None:
        return None
    return timezone.localtime(value).date() if timezone.is_aware(value) else value.date()


def account_ref(account: Account) -> str:
    """An account as a `ref` column reads it: its code, or its name without one."""
    return account.code or account.name


def contact_ref(contact: Contact | None) -> str:
    if contact is None:
        return ""
    return contact.code or contact.name


def username(user: Any) -> str:
    return user.username if user is not None else ""


def dates_text(days: Iterable[dt.date]) -> str:
    return DATES_SEPARATOR.join(d.isoformat() for d in days)


def headers(kind: Kind, lang: str | None = None) -> list[str]:
    lang = lang or language()
    return [c.header(lang) for c in kind.columns]


def number_formats(kind: Kind) -> dict[int, str]:
    by_kind = {"money": MONEY, "date": DATE}
    return {i: by_kind[c.kind] for i, c in enumerate(kind.columns) if c.kind in by_kind}


# --- stage history ------------------------------------------------------------------------


def _day(value: Any, fallback: dt.datetime) -> dt.date:
    when = parse_datetime(value) if isinstance(value, str) else None
    return local_day(when or fallback)  # type: ignore[return-value]


def stage_dates_many(
    opportunities: QuerySet[Opportunity] | None = None,
) -> dict[int, list[tuple[str, dt.date]]]:
    """For each deal (all of them, or those of `opportunities`), (stage, day entered)
    for the stage it was created at — on the day its created event says it entered it,
    earlier than the event for a deal brought in under way — and for each advance to
    another stage, oldest first. One query for all the deals. A deal without a
    created event is left out."""
    events = Event.objects.filter(entity="opportunity", action__in=STAGE_ACTIONS)
    if opportunities is not None:
        events = events.filter(entity_id__in=opportunities.values("pk"))
    rows = events.order_by("entity_id", "at", "id").values_list(
        "entity_id", "action", "after__stage", "after__stage_entered_at", "at"
    )
    out: dict[int, list[tuple[str, dt.date]]] = {}
    for pk, action, stage, entered, at in rows.iterator(chunk_size=CHUNK):
        if action == "created":
            out[pk] = [(stage, _day(entered, at))]
        elif pk in out and stage and stage != out[pk][-1][0]:
            out[pk].append((stage, _day(entered, at)))
    return out


def stage_dates(opp: Opportunity, known: Mapping[int, list[tuple[str, dt.date]]]) -> list[dt.date]:
    """What the `stage_dates` column holds for `opp`, in the form the import takes:
    the day each stage was entered from the playbook's first stage to the current
    one when the history has them all (a deal started in KAM, or brought in with its
    dates), else only the day the current stage was entered (a deal brought in under
    way, a history that skips a stage)."""
    current = [local_day(opp.stage_entered_at)]
    history = known.get(opp.pk)
    if not history:
        return current  # type: ignore[return-value]
    try:
        keys = registry.playbook(opp.playbook).stage_keys
    except KeyError:
        return current  # type: ignore[return-value]
    stages = [stage for stage, _day in history]
    if opp.stage not in keys or stages != list(keys[: keys.index(opp.stage) + 1]):
        return current  # type: ignore[return-value]
    return [day for _stage, day in history]


# --- rows -------------------------------------------------------------------------------


def account_rows(accounts: Iterable[Account]) -> Iterator[list[Any]]:
    """Accounts (with `owner` selected and `open_opportunities` annotated) as rows of
    ACCOUNTS' columns, then the number of open deals."""
    for a in accounts:
        yield [
            a.code or "",
            a.name,
            username(a.owner),
            a.industry,
            a.region,
            choice_name(Size, a.size),
            choice_name(Nature, a.nature),
            choice_name(AccountType, a.account_type),
            a.annual_revenue,
            a.collection_cycle_days,
            a.receivables,
            a.credit_limit,
            a.value_positioning,
            a.notes,
            getattr(a, "open_opportunities", None),
        ]


def contact_rows(contacts: Iterable[Contact]) -> Iterator[list[Any]]:
    """Contacts (with `account` and `reports_to` selected) as rows of CONTACTS'"""
    for c in contacts:
        yield [
            c.code or "",
            account_ref(c.account),
            c.name,
            c.title,
            c.department,
            contact_ref(c.reports_to),
            choice_name(Layer, c.layer),
            choice_name(Disc, c.disc),
            choice_name(ContactStatus, c.status),
            yes_no(c.is_external),
            c.joined_at,
            c.left_at,
            c.phone,
            c.email,
            c.notes,
        ]


def opportunity_rows(
    opportunities: Iterable[Opportunity], dates: Mapping[int, list[tuple[str, dt.date]]]
) -> Iterator[list[Any]]:
    """Deals (with `account` and `owner` selected) as rows of OPPORTUNITIES' columns,
    then the priority; `dates` from `stage_dates_many`."""
    for o in opportunities:
        yield [
            o.code or "",
            account_ref(o.account),
            o.name,
            username(o.owner),
            o.amount,
            o.currency,
            o.expected_close,
            o.playbook,
            stage_name(o.playbook, o.stage),
            dates_text(stage_dates(o, dates)),
            buyer_stage_name(o.buyer_stage) if o.buyer_stage else "",
            choice_name(Status, o.status),
            local_day(o.closed_at),
            o.close_reason,
            o.description,
            choice_name(Priority, o.priority),
        ]


def revenue_rows(records: Iterable[RevenueRecord]) -> Iterator[list[Any]]:
    """Revenue records (with `account` selected) as rows of REVENUE's"""
    for r in records:
        yield [
            r.external_key or "",
            account_ref(r.account),
            r.date,
            r.amount,
            r.profit,
            r.source,
            r.note,
        ]


# --- sheets -----------------------------------------------------------------------------


def _stream(queryset: QuerySet) -> Iterator[Any]:
    return queryset.iterator(chunk_size=CHUNK)


def accounts_sheet(accounts: QuerySet[Account]) -> Sheet:
    """`accounts` as from `account_list` (owner selected, open deals counted)."""
    formats = number_formats(ACCOUNTS)
    return Sheet(
        title=ACCOUNTS.title(language()),
        headers=[*headers(ACCOUNTS), _("Open opportunities")],
        rows=account_rows(_stream(accounts)),
        number_formats=formats,
    )


def contacts_sheet(contacts: QuerySet[Contact]) -> Sheet:
    return Sheet(
        title=CONTACTS.title(language()),
        headers=headers(CONTACTS),
        rows=contact_rows(_stream(contacts.select_related("account", "reports_to"))),
        number_formats=number_formats(CONTACTS),
    )


def opportunities_sheet(opportunities: QuerySet[Opportunity]) -> Sheet:
    """`opportunities` as from `opportunity_list`; their stage events are read first
    (one query), then the deals are streamed."""
    dates = stage_dates_many(opportunities)
    return Sheet(
        title=OPPORTUNITIES.title(language()),
        headers=[*headers(OPPORTUNITIES), _("Priority")],
        rows=opportunity_rows(_stream(opportunities.select_related("account", "owner")), dates),
        number_formats=number_formats(OPPORTUNITIES),
    )


def revenue_sheet(records: QuerySet[RevenueRecord]) -> Sheet:
    return Sheet(
        title=REVENUE.title(language()),
        headers=headers(REVENUE),
        rows=revenue_rows(_stream(records.select_related("account"))),
        number_formats=number_formats(REVENUE),
    )


def _all_accounts() -> QuerySet[Account]:
    return (
        Account.objects.select_related("owner")
        .annotate(open_opportunities=open_deals_count())
        .order_by("name", "id")
    )


def dataset_sheets(user=None) -> dict[str, Sheet]:
    """The four sheets of the whole book, or of what `user` sees (the lists' own
    selectors), keyed by kind."""
    if user is None:
        accounts = _all_accounts()
        contacts = Contact.objects.order_by("account_id", "name", "id")
        opportunities = Opportunity.objects.order_by("expected_close", "id")
        records = RevenueRecord.objects.all()
    else:
        accounts = account_list(user)
        contacts = contact_list(user)
        opportunities = opportunity_list(user)
        records = RevenueRecord.objects.filter(account__in=accounts_for_user(user).values("pk"))
    records = records.order_by("account__name", "account_id", "date", "id")
    builders = {
        "accounts": lambda: accounts_sheet(accounts),
        "contacts": lambda: contacts_sheet(contacts),
        "opportunities": lambda: opportunities_sheet(opportunities),
        "revenue": lambda: revenue_sheet(records),
    }
    return {key: builders[key]() for key in ORDER}


def write_sheets(wb, sheets: Iterable[Sheet]) -> list[int]:
    """Each sheet into `wb` (made by `new_workbook`), empty texts as empty cells; the
    rows written per sheet."""
    return [
        write_table(
            add_sheet(wb, s.title),
            s.headers,
            ([None if v == "" else v for v in row] for row in s.rows),
            number_formats=s.number_formats,
        )
        for s in sheets
    ]


def write_workbook(path: str | os.PathLike[str], user=None) -> str:
    """The whole book (or what `user` sees) as one workbook at `path`, one sheet per
    kind in `columns.ORDER`, titles and headers in the instance's language
    (LANGUAGE_CODE). Written to a temporary file beside `path` and moved into place,
    so a failed export never leaves half a file. Returns a one-line summary."""
    target = Path(path)
    if not target.parent.is_dir():
        raise ValidationFailed(
            f"There is no folder {str(target.parent)!r} to write into.", field="file"
        )
    partial = target.with_name(f".{target.name}.partial")
    try:
        with translation.override(settings.LANGUAGE_CODE):
            wb = new_workbook(write_only=True)
            counts = dict(zip(ORDER, write_sheets(wb, dataset_sheets(user).values()), strict=True))
            wb.save(partial)
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    assert set(counts) == set(KINDS)
    return (
        f"Wrote {counts['accounts']} accounts, {counts['contacts']} contacts, "
        f"{counts['opportunities']} opportunities, {counts['revenue']} revenue records "
        f"to {target}."
    )
