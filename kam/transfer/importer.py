"""Importing accounts, contacts, opportunities and revenue from a spreadsheet.

The rules are the services' own: every row is written through `account_create`,
`contact_update`, `opportunity_bring_in`, `revenue_record_add` … so an imported record
is checked exactly like one typed in the UI, and each change is an event in its
history. What the importer adds is the file around them:

- **All or nothing.** The whole file runs in one transaction; each row in a savepoint
  of its own, so one bad row is reported (sheet, row, column, message in the user's
  language) and the others still checked. `check` rolls everything back — the
  preview; `write` commits only when no row failed, so a killed or failed import
  leaves the database as it was. With `valid_only` the file is checked first and the
  rows that failed are skipped in the write.
- **Re-importing does not duplicate.** A row whose key (code, or the revenue's external
  key) names an existing record updates it; a row without one matches by name (an
  account's name; a contact's or deal's name at its account; a revenue line's account,
  date and amount). Two rows of a file with the same key are an error.
- **References** by code or name: an account in the same file or in KAM; a contact's
  `reports_to` in the same account (set after all contacts are in, so a boss may come
  later in the file); owners by login or display name.
- **History.** A new deal gets its past from `stage_dates` (see opportunity_bring_in);
  an existing deal keeps its stage (moves go through key nodes): a differing stage in
  the file is a warning, not a change."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from kam.accounts import revenue as revenue_services
from kam.accounts import services as account_services
from kam.accounts.models import Account, RevenueRecord
from kam.accounts.selectors import accounts_editable_by, accounts_for_user
from kam.contacts import services as contact_services
from kam.contacts.models import Contact
from kam.contacts.selectors import contacts_for_user
from kam.core import audit
from kam.core.db import refresh_statistics
from kam.core.errors import DomainError, ValidationFailed
from kam.core.i18n import show
from kam.methodology import registry
from kam.opportunities import services as opportunity_services
from kam.opportunities.models import Opportunity, Status
from kam.opportunities.selectors import opportunities_for_user
from kam.transfer import columns as cols
from kam.transfer.files import Formula, Sheet, close_sheets, open_sheets
from kam.users.models import User

MAX_PROBLEMS = 500
# An import this large refreshes PostgreSQL's statistics before it commits.
BULK_ROWS = 1000
PREVIEW_ROWS = 20
# Service field names that are not the column's key.
FIELD_TO_COLUMN = {
    "owner_id": "owner",
    "reports_to_id": "reports_to",
    "account_id": "account",
    "stage_entered_at": "stage_dates",
    "reason": "close_reason",
    "outcome": "status",
}
CREATED, UPDATED, UNCHANGED = "created", "updated", "unchanged"


@dataclass
class Problem:
    sheet: str
    row: int  # the spreadsheet's row number (1 = the first line)
    column: str  # the header as in the file ("" for the whole row)
    message: str
    warning: bool = False


@dataclass
class Tally:
    kind: cols.Kind
    sheet: str
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    invalid: int = 0
    # The first rows, for the preview: (row number, outcome or "invalid", label).
    preview: list[tuple[int, str, str]] = field(default_factory=list)


@dataclass
class Report:
    file_name: str
    tallies: list[Tally] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    problems_left_out: int = 0
    written: bool = False
    valid_only: bool = False
    # (kind key, row) of every row that failed: what `valid_only` skips.
    invalid_rows: set[tuple[str, int]] = field(default_factory=set)

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if not p.warning]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.warning]

    @property
    def error_count(self) -> int:
        return len(self.errors) + self.problems_left_out

    @property
    def valid_rows(self) -> int:
        return sum(t.created + t.updated + t.unchanged for t in self.tallies)

    def add(self, problem: Problem) -> None:
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(problem)
        elif not problem.warning:
            self.problems_left_out += 1


class _Rollback(Exception):
    """Raised inside the import's transaction to undo it (check, or a failed write)."""


Progress = Callable[[str, int], None]
PROGRESS_EVERY = 500


def check(
    path: Path,
    *,
    actor,
    name: str | None = None,
    kind: str | None = None,
    progress: Progress | None = None,
) -> Report:
    """Read and check the whole file as if importing it; write nothing."""
    return _run_file(
        path, actor=actor, name=name, kind=kind, valid_only=False, commit=False, progress=progress
    )


def write(
    path: Path,
    *,
    actor,
    name: str | None = None,
    kind: str | None = None,
    valid_only: bool = False,
    progress: Progress | None = None,
) -> Report:
    """Import the file: everything, or nothing when a row fails. With `valid_only`,
    the rows that fail the check are left out and the rest imported."""
    return _run_file(
        path,
        actor=actor,
        name=name,
        kind=kind,
        valid_only=valid_only,
        commit=True,
        progress=progress,
    )


Sheets = list[Sheet] | Callable[[], list[Sheet]]


def check_sheets(
    sheets: Sheets,
    *,
    actor,
    name: str = "generated",
    kind: str | None = None,
    progress: Progress | None = None,
) -> Report:
    """`check` for sheets built in memory (a generator's, a test's): each `Sheet` holds
    its title ("Accounts", "客户", … or "" with `kind`) and its rows as a file would,
    the header row first, cells as text, numbers and dates."""
    return _run_sheets(
        sheets,
        actor=actor,
        name=name,
        kind=kind,
        valid_only=False,
        commit=False,
        progress=progress,
    )


def write_sheets(
    sheets: Sheets,
    *,
    actor,
    name: str = "generated",
    kind: str | None = None,
    valid_only: bool = False,
    progress: Progress | None = None,
) -> Report:
    """`write` for sheets built in memory, with the same result as a file holding them.

    `valid_only` reads the rows twice (check, then write): pass a function that returns
    fresh sheets, or sheets whose rows are lists (re-iterable); one-shot iterators are
    refused with ValueError rather than imported half."""
    return _run_sheets(
        sheets,
        actor=actor,
        name=name,
        kind=kind,
        valid_only=valid_only,
        commit=True,
        progress=progress,
    )


def _run_file(
    path: Path,
    *,
    actor,
    name: str | None,
    kind: str | None,
    valid_only: bool,
    commit: bool,
    progress: Progress | None,
) -> Report:
    def opened() -> list[Sheet]:
        return open_sheets(path, name=name)

    return _run_twice_if_valid_only(
        opened,
        close=close_sheets,
        actor=actor,
        name=name or path.name,
        kind=kind,
        valid_only=valid_only,
        commit=commit,
        progress=progress,
    )


def _run_sheets(
    sheets: Sheets,
    *,
    actor,
    name: str,
    kind: str | None,
    valid_only: bool,
    commit: bool,
    progress: Progress | None,
) -> Report:
    if callable(sheets):
        factory = sheets
    else:
        given = list(sheets)
        if valid_only and any(iter(s.rows) is s.rows for s in given):
            raise ValueError(
                "valid_only reads the sheets twice: give a function returning fresh sheets, "
                "or rows as lists"
            )

        def factory() -> list[Sheet]:
            return given

    return _run_twice_if_valid_only(
        factory,
        close=lambda _sheets: None,
        actor=actor,
        name=name,
        kind=kind,
        valid_only=valid_only,
        commit=commit,
        progress=progress,
    )


def _run_twice_if_valid_only(
    open_: Callable[[], list[Sheet]],
    *,
    close: Callable[[list[Sheet]], None],
    actor,
    name: str,
    kind: str | None,
    valid_only: bool,
    commit: bool,
    progress: Progress | None,
) -> Report:
    """One run; with `valid_only`, a check first and then a write that skips the rows
    the check found failing."""

    def run(*, commit: bool, skip: set[tuple[str, int]] | None) -> Report:
        sheets = open_()
        try:
            return _run(
                sheets,
                actor=actor,
                name=name,
                kind=kind,
                commit=commit,
                skip=skip,
                progress=progress,
            )
        finally:
            close(sheets)

    if not valid_only:
        return run(commit=commit, skip=None)
    first = run(commit=False, skip=None)
    report = run(commit=commit, skip=first.invalid_rows)
    report.valid_only = True
    if report.written:
        # What was skipped, as the check found it, so the user sees why.
        report.problems = first.problems
        report.problems_left_out = first.problems_left_out
        for mine, checked in zip(report.tallies, first.tallies, strict=False):
            mine.invalid = checked.invalid
            mine.rows = checked.rows  # the skipped rows are rows of the file too
    return report


# --- the run ---------------------------------------------------------------------------


def _run(
    sheets: list[Sheet],
    *,
    actor,
    name: str,
    kind: str | None,
    commit: bool,
    skip: set[tuple[str, int]] | None,
    progress: Progress | None = None,
) -> Report:
    report = Report(file_name=name)
    # Copies reading each sheet once from its first row (rows given as lists too): the
    # plan reads the header, the import goes on from the row after it, and the run
    # names untitled sheets without changing the caller's.
    sheets = [Sheet(s.title, iter(s.rows), s.header_row, s.meta) for s in sheets]
    plan = _plan(sheets, kind=kind, report=report)
    try:
        with transaction.atomic():
            context = _Context(actor=actor, report=report, skip=skip, progress=progress)
            for kind_key in cols.ORDER:
                for found, sheet, headers, header_row in plan:
                    if found.key == kind_key:
                        _import_sheet(context, found, sheet, headers, header_row)
            # With valid_only (skip), only a row the check did not see fail stops the write.
            failed = bool(report.error_count if skip is None else report.invalid_rows - skip)
            if not commit or failed:
                raise _Rollback
            if report.valid_rows >= BULK_ROWS:
                refresh_statistics()
            report.written = True
    except _Rollback:
        pass
    return report


def _plan(
    sheets: list[Sheet], *, kind: str | None, report: Report
) -> list[tuple[cols.Kind, Sheet, list[tuple[int, str, str]], int]]:
    """Which kind each sheet holds and how its headers map to columns."""
    plan = []
    for sheet in sheets:
        header_row, header = 0, None
        for number, row in enumerate(sheet.rows, start=1):
            if any(not cols.is_blank(v) for v in row):
                header_row, header = number, row
                break
        if header is None:
            continue  # an empty sheet
        found = cols.KINDS.get(kind or "") if not sheet.title else None
        found = (
            found
            or cols.kind_for_title(sheet.title)
            or cols.guess_kind(header, partial=not sheet.title)
        )
        title = sheet.title or (found.title(_lang()) if found else report.file_name)
        if found is None:
            if sheet.title and _is_instructions(sheet.title):
                continue
            report.add(
                Problem(
                    title,
                    header_row,
                    "",
                    _(
                        "This sheet was not read: its name and headers match none of %(kinds)s. "
                        "Start from the template: its headers tell what goes where."
                    )
                    % {"kinds": ", ".join(k.title(_lang()) for k in cols.KINDS.values())},
                    warning=bool(sheet.title),
                )
            )
            continue
        sheet.title = title
        headers = _headers(found, header, title, header_row, report)
        if headers is not None:
            plan.append((found, sheet, headers, header_row))
    if not plan and not report.errors:
        report.add(
            Problem(
                report.file_name,
                1,
                "",
                _("The file holds no rows to import. Download the template and fill it in."),
            )
        )
    return plan


def _is_instructions(title: str) -> bool:
    return cols.normalise(title) in {cols.normalise(t) for t in ("说明", "Instructions")}


def _headers(
    kind: cols.Kind, header: tuple, title: str, header_row: int, report: Report
) -> list[tuple[int, str, str]] | None:
    """(cell index, column key, header as written) for each known header; unknown
    headers are a warning, missing required ones an error."""
    index = cols.header_index(kind)
    out: list[tuple[int, str, str]] = []
    seen: dict[str, str] = {}
    ok = True
    for i, raw in enumerate(header):
        if cols.is_blank(raw):
            continue
        written = cols.as_text(raw)
        key = index.get(cols.normalise(written))
        if key is None:
            report.add(
                Problem(
                    title,
                    header_row,
                    written,
                    _("Column not imported: no field is called “%(name)s”.") % {"name": written},
                    warning=True,
                )
            )
            continue
        if key in seen:
            report.add(
                Problem(
                    title,
                    header_row,
                    written,
                    _("Two columns hold %(name)s (“%(a)s” and “%(b)s”); keep one.")
                    % {
                        "name": kind.column(key).header(_lang()).rstrip("*"),
                        "a": seen[key],
                        "b": written,
                    },
                )
            )
            ok = False
            continue
        seen[key] = written
        out.append((i, key, written))
    for column in kind.columns:
        if column.required and column.key not in seen:
            report.add(
                Problem(
                    title,
                    header_row,
                    column.header(_lang()).rstrip("*"),
                    _("The column “%(name)s” is missing; every row needs it (see the template).")
                    % {"name": column.header(_lang()).rstrip("*")},
                )
            )
            ok = False
    return out if ok else None


def _lang() -> str:
    from django.utils.translation import get_language

    return get_language() or "en"


@dataclass
class _Row:
    number: int
    values: dict[str, Any]  # column key -> value read (only the file's columns)
    headers: dict[str, str]  # column key -> header as written


class _Context:
    def __init__(
        self,
        *,
        actor,
        report: Report,
        skip: set[tuple[str, int]] | None,
        progress: Progress | None = None,
    ):
        self.progress = progress
        self.actor = actor
        self.report = report
        self.skip = skip
        self._users: dict[str, User | None] = {}

    def user(self, ref: str) -> User | None:
        if ref not in self._users:
            self._users[ref] = (
                User.objects.filter(username__iexact=ref).first()
                or User.objects.filter(display_name=ref).first()
            )
        return self._users[ref]


def _rows(
    kind: cols.Kind,
    sheet: Sheet,
    headers: list[tuple[int, str, str]],
    context: _Context,
    *,
    tally: Tally,
    start: int,
) -> Iterator[_Row]:
    """The sheet's data rows (the first is row `start`) read into their columns' types;
    a row with a cell that cannot be read is reported and counted here, not yielded."""
    report = context.report
    by_key = {key: written for _, key, written in headers}
    for number, raw in enumerate(sheet.rows, start=start):
        if all(cols.is_blank(v) for v in raw):
            continue
        if context.skip is not None and (kind.key, number) in context.skip:
            continue
        values: dict[str, Any] = {}
        bad = False
        for i, key, written in headers:
            cell = raw[i] if i < len(raw) else None
            if isinstance(cell, Formula):
                report.add(
                    Problem(
                        sheet.title,
                        number,
                        written,
                        _(
                            "The cell holds a formula (%(formula)s); the import takes values "
                            "only. Copy the column and paste it as values."
                        )
                        % {"formula": str(cell)[:40]},
                    )
                )
                bad = True
                continue
            try:
                values[key] = cols.read_cell(kind.column(key), cell)
            except ValidationFailed as exc:
                report.add(Problem(sheet.title, number, written, str(exc.message)))
                bad = True
        if bad:
            report.invalid_rows.add((kind.key, number))
            tally.invalid += 1
            tally.rows += 1
            continue
        yield _Row(number=number, values=values, headers=by_key)


def _import_sheet(
    context: _Context,
    kind: cols.Kind,
    sheet: Sheet,
    headers: list[tuple[int, str, str]],
    header_row: int,
) -> None:
    tally = Tally(kind=kind, sheet=sheet.title)
    context.report.tallies.append(tally)
    handler = HANDLERS[kind.key](context, kind, sheet.title)
    for row in _rows(kind, sheet, headers, context, tally=tally, start=header_row + 1):
        tally.rows += 1
        if context.progress is not None and tally.rows % PROGRESS_EVERY == 0:
            context.progress(sheet.title, tally.rows)
        outcome = _in_savepoint(context, kind, sheet.title, row, handler.row)
        handler.outcomes[row.number] = outcome
        if outcome and len(tally.preview) < PREVIEW_ROWS:
            tally.preview.append((row.number, outcome, handler.label(row)))
    handler.finish()
    for outcome in handler.outcomes.values():
        if outcome is None:
            tally.invalid += 1
        else:
            setattr(tally, outcome, getattr(tally, outcome) + 1)
    tally.preview = [
        (n, handler.outcomes.get(n) or "invalid", label) for n, _o, label in tally.preview
    ]


def _in_savepoint(
    context: _Context, kind: cols.Kind, title: str, row: _Row, work: Callable[[_Row], str]
) -> str | None:
    try:
        with transaction.atomic():
            return work(row)
    except DomainError as exc:
        _fail(context, kind, title, row, exc)
        return None


def _fail(context: _Context, kind: cols.Kind, title: str, row: _Row, exc: DomainError) -> None:
    key = FIELD_TO_COLUMN.get(exc.field or "", exc.field or "")
    column = row.headers.get(key, "")
    if not column and key in {c.key for c in kind.columns}:
        column = kind.column(key).header(_lang()).rstrip("*")
    context.report.add(Problem(title, row.number, column, str(exc.message)))
    context.report.invalid_rows.add((kind.key, row.number))


def _changed(instance, fields, update: Callable[[], Any]) -> str:
    before = audit.snapshot(instance, fields)
    update()
    instance.refresh_from_db()
    return UPDATED if audit.snapshot(instance, fields) != before else UNCHANGED


# --- one handler per kind ---------------------------------------------------------------


class _Handler:
    def __init__(self, context: _Context, kind: cols.Kind, title: str):
        self.context = context
        self.kind = kind
        self.title = title
        self.actor = context.actor
        self.outcomes: dict[int, str | None] = {}
        self._keys: dict[Any, int] = {}  # the file's keys -> the row that had them first

    def label(self, row: _Row) -> str:
        return str(row.values.get("name") or row.values.get(self.kind.key_column) or "")

    def finish(self) -> None:
        """Work that needs every row in (contacts' reports_to)."""

    def once(self, row: _Row, key: Any, column: str, shown: str) -> None:
        """Refuse a key that an earlier row of this sheet already used."""
        if key is None:
            return
        first = self._keys.setdefault(key, row.number)
        if first != row.number:
            raise ValidationFailed(
                _("“%(key)s” is also on row %(row)d; each row needs its own.")
                % {"key": shown, "row": first},
                field=column,
            )

    def owner(self, row: _Row) -> User | None:
        ref = row.values.get("owner")
        if not ref:
            return None
        user = self.context.user(ref)
        if user is None:
            raise ValidationFailed(
                _("No user “%(name)s”; write a login name, e.g. %(me)s.")
                % {"name": ref, "me": self.actor.username},
                field="owner",
            )
        return user

    def account(self, row: _Row, *, editable: bool = False) -> Account:
        ref = row.values.get("account") or ""
        if not ref:
            raise ValidationFailed(_("This field is required."), field="account")
        pool = accounts_editable_by(self.actor) if editable else accounts_for_user(self.actor)
        found = pool.filter(code=ref).first() if ref else None
        if found is None and ref:
            found = _the_one(
                pool.filter(name=ref),
                _("Several accounts are named “%(name)s”; write the account's code.")
                % {"name": ref},
                field="account",
            )
        if found is None:
            raise ValidationFailed(
                _(
                    "No account “%(ref)s” among yours (by code or exact name); add it on the "
                    "accounts sheet or check the spelling."
                )
                % {"ref": ref},
                field="account",
            )
        return found

    def fields(self, row: _Row, allowed: tuple[str, ...]) -> dict[str, Any]:
        return {k: v for k, v in row.values.items() if k in allowed}


class _Accounts(_Handler):
    def row(self, row: _Row) -> str:
        values = row.values
        code = values.get("code") or None
        name = values.get("name") or ""
        self.once(row, ("code", code) if code else None, "code", code or "")
        self.once(row, ("name", name) if not code else None, "name", name)
        fields = self.fields(row, account_services.EDITABLE_FIELDS)
        owner = self.owner(row)
        fields.pop("owner", None)
        existing = self._existing(code, name)
        if existing is None:
            fields.pop("name", None)
            account_services.account_create(actor=self.actor, name=name, owner=owner, **fields)
            return CREATED
        if owner is not None:
            fields["owner"] = owner
        return _changed(
            existing,
            account_services.EDITABLE_FIELDS,
            lambda: account_services.account_update(actor=self.actor, account=existing, **fields),
        )

    def _existing(self, code: str | None, name: str) -> Account | None:
        editable = accounts_editable_by(self.actor)
        if code:
            return _by_code(
                Account.objects.filter(code=code),
                editable,
                _("The code “%(code)s” belongs to an account you cannot change.") % {"code": code},
            )
        return _the_one(
            editable.filter(name=name),
            _("Several of your accounts are named “%(name)s”; give this row their code.")
            % {"name": name},
            field="name",
        )


class _Contacts(_Handler):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.bosses: list[tuple[_Row, Contact, str]] = []

    def row(self, row: _Row) -> str:
        values = row.values
        account = self.account(row)
        code = values.get("code") or None
        name = values.get("name") or ""
        self.once(row, ("code", code) if code else None, "code", code or "")
        self.once(row, (account.pk, name) if not code else None, "name", name)
        fields = self.fields(row, contact_services.EDITABLE_FIELDS)
        fields.pop("reports_to", None)
        if fields.get("status") == "":
            fields.pop("status")  # a blank status: active for a new contact, kept otherwise
        existing = self._existing(code, account, name)
        if existing is None:
            fields.pop("name", None)
            contact = contact_services.contact_create(
                actor=self.actor, account=account, name=name, **fields
            )
            outcome = CREATED
        else:
            if existing.account_id != account.pk:
                raise ValidationFailed(
                    _(
                        "The contact “%(code)s” works at %(account)s; a contact cannot move to "
                        "another account (add a new one)."
                    )
                    % {"code": code, "account": existing.account.name},
                    field="account",
                )
            contact = existing
            outcome = _changed(
                existing,
                contact_services.EDITABLE_FIELDS,
                lambda: contact_services.contact_update(
                    actor=self.actor, contact=existing, **fields
                ),
            )
        if "reports_to" in values:
            self.bosses.append((row, contact, values["reports_to"]))
        return outcome

    def _existing(self, code: str | None, account: Account, name: str) -> Contact | None:
        if code:
            return _by_code(
                Contact.objects.select_related("account").filter(code=code),
                contacts_for_user(self.actor),
                _("The code “%(code)s” belongs to a contact you cannot change.") % {"code": code},
            )
        return _the_one(
            Contact.objects.filter(account=account, name=name),
            _("Several contacts at %(account)s are named “%(name)s”; give this row their code.")
            % {"account": account.name, "name": name},
            field="name",
        )

    def finish(self) -> None:
        """Set each reports_to once every contact of the sheet exists."""
        for row, contact, ref in self.bosses:
            if self.outcomes.get(row.number) is None:
                continue

            def link(row: _Row, contact=contact, ref=ref) -> str:
                boss = self._boss(contact, ref) if ref else None
                before = contact.reports_to_id
                contact_services.contact_update(actor=self.actor, contact=contact, reports_to=boss)
                return UPDATED if contact.reports_to_id != before else UNCHANGED

            linked = _in_savepoint(self.context, self.kind, self.title, row, link)
            previous = self.outcomes[row.number]
            if linked is None:
                self.outcomes[row.number] = None
            elif linked == UPDATED and previous == UNCHANGED:
                self.outcomes[row.number] = UPDATED

    def _boss(self, contact: Contact, ref: str) -> Contact:
        found = Contact.objects.filter(account_id=contact.account_id, code=ref).first()
        if found is None:
            found = _the_one(
                Contact.objects.filter(account_id=contact.account_id, name=ref),
                _("Several contacts here are named “%(name)s”; write the boss's code.")
                % {"name": ref},
                field="reports_to",
            )
        if found is None:
            raise ValidationFailed(
                _("No contact “%(ref)s” at %(account)s (by code or name) to report to.")
                % {"ref": ref, "account": contact.account.name},
                field="reports_to",
            )
        return found


class _Opportunities(_Handler):
    UPDATABLE = (
        "name",
        "code",
        "amount",
        "currency",
        "expected_close",
        "buyer_stage",
        "description",
    )

    def row(self, row: _Row) -> str:
        values = row.values
        account = self.account(row)
        code = values.get("code") or None
        name = values.get("name") or ""
        self.once(row, ("code", code) if code else None, "code", code or "")
        self.once(row, (account.pk, name) if not code else None, "name", name)
        owner = self.owner(row)
        existing = self._existing(code, account, name)
        playbook = self._playbook(values.get("playbook"), existing)
        fields = self.fields(row, self.UPDATABLE)
        if "buyer_stage" in fields:
            fields["buyer_stage"] = self._buyer_stage(fields["buyer_stage"])
            if not fields["buyer_stage"]:
                fields.pop("buyer_stage")
        if fields.get("currency") == "":
            fields.pop("currency")
        stage = self._stage(playbook, values.get("stage"))
        if existing is None:
            fields.pop("name", None)
            opportunity_services.opportunity_bring_in(
                actor=self.actor,
                account=account,
                name=name,
                playbook=playbook,
                owner=owner,
                stage=stage or None,
                stage_dates=values.get("stage_dates") or [],
                status=values.get("status") or Status.OPEN,
                closed_on=values.get("closed_on"),
                close_reason=values.get("close_reason") or "",
                **{k: v for k, v in fields.items() if k not in ("name",)},
            )
            return CREATED
        self._kept(row, existing, stage, values.get("status"))
        if owner is not None:
            fields["owner"] = owner
        return _changed(
            existing,
            opportunity_services.EDITABLE_FIELDS,
            lambda: opportunity_services.opportunity_update(
                actor=self.actor, opportunity=existing, **fields
            ),
        )

    def _existing(self, code: str | None, account: Account, name: str) -> Opportunity | None:
        mine = opportunities_for_user(self.actor)
        if code:
            return _by_code(
                Opportunity.objects.filter(code=code),
                mine,
                _("The code “%(code)s” belongs to a deal you cannot change.") % {"code": code},
            )
        return _the_one(
            mine.filter(account=account, name=name),
            _("Several deals at %(account)s are named “%(name)s”; give this row their code.")
            % {"account": account.name, "name": name},
            field="name",
        )

    def _playbook(self, ref: str | None, existing: Opportunity | None) -> str:
        if existing is not None:
            return existing.playbook
        if not ref:
            return registry.default_playbook_key()
        for key in registry.playbook_keys():
            book = registry.playbook(key)
            if cols.normalise(ref) in {cols.normalise(s) for s in (key, *_names(book.name))}:
                return key
        raise ValidationFailed(
            _("Unknown playbook “%(value)s”; use one of: %(keys)s.")
            % {"value": ref, "keys": ", ".join(registry.playbook_keys())},
            field="playbook",
        )

    def _stage(self, playbook: str, ref: str | None) -> str:
        if not ref:
            return ""
        book = registry.playbook(playbook)
        for stage in book.stages:
            if cols.normalise(ref) in {cols.normalise(s) for s in (stage.key, *_names(stage.name))}:
                return stage.key
        raise ValidationFailed(
            _("Unknown stage “%(value)s” in %(book)s; use one of: %(names)s.")
            % {
                "value": ref,
                "book": show(book.name),
                "names": ", ".join(show(s.name) for s in book.stages),
            },
            field="stage",
        )

    def _buyer_stage(self, ref: str) -> str:
        if not ref:
            return ""
        process = registry.buyer_process()
        for stage in process.stages:
            if cols.normalise(ref) in {cols.normalise(s) for s in (stage.key, *_names(stage.name))}:
                return stage.key
        raise ValidationFailed(
            _("Unknown buyer stage “%(value)s”; use one of: %(names)s.")
            % {"value": ref, "names": ", ".join(show(s.name) for s in process.stages)},
            field="buyer_stage",
        )

    def _kept(self, row: _Row, opp: Opportunity, stage: str, status: str | None) -> None:
        """A deal in KAM keeps its stage and status: they move through key nodes."""
        differs = (stage and stage != opp.stage) or (status and status != opp.status)
        if differs:
            self.context.report.add(
                Problem(
                    self.title,
                    row.number,
                    row.headers.get("stage", "") or row.headers.get("status", ""),
                    _(
                        "Kept at %(stage)s (%(status)s) as in KAM: a deal moves through its "
                        "key nodes on its page, not by import."
                    )
                    % {
                        "stage": show(registry.playbook(opp.playbook).stage(opp.stage).name)
                        if opp.stage in registry.playbook(opp.playbook).stage_keys
                        else opp.stage,
                        "status": opp.get_status_display(),
                    },
                    warning=True,
                )
            )


class _Revenue(_Handler):
    def label(self, row: _Row) -> str:
        return f"{row.values.get('account', '')} {row.values.get('date') or ''}".strip()

    def row(self, row: _Row) -> str:
        values = row.values
        account = self.account(row, editable=True)
        key = values.get("external_key") or None
        self.once(row, key, "external_key", key or "")
        if key:
            found = RevenueRecord.objects.filter(external_key=key).first()
            if found is not None:
                if not accounts_editable_by(self.actor).filter(pk=found.account_id).exists():
                    raise ValidationFailed(
                        _("The external key “%(key)s” belongs to revenue you cannot change.")
                        % {"key": key},
                        field="external_key",
                    )
                self._same(row, found, account)
                return UNCHANGED
        else:
            found = RevenueRecord.objects.filter(
                account=account, date=values.get("date"), amount=values.get("amount")
            ).first()
            if found is not None:
                return UNCHANGED
        revenue_services.revenue_record_add(
            actor=self.actor,
            account=account,
            date=values.get("date"),
            amount=values.get("amount"),
            profit=values.get("profit"),
            source=values.get("source") or "",
            note=values.get("note") or "",
            external_key=key,
        )
        return CREATED

    def _same(self, row: _Row, found: RevenueRecord, account: Account) -> None:
        differs = found.account_id != account.pk or any(
            k in row.values and row.values[k] != getattr(found, k)
            for k in ("date", "amount", "profit")
        )
        if differs:
            self.context.report.add(
                Problem(
                    self.title,
                    row.number,
                    row.headers.get("external_key", ""),
                    _(
                        "Revenue “%(key)s” was imported before with other figures; the record "
                        "in KAM is kept. Delete it on the account's page to import it again."
                    )
                    % {"key": found.external_key},
                    warning=True,
                )
            )


def _by_code(queryset, mine, message: str):
    """The record a code names (codes are unique), refused when it is not one the
    user may change."""
    found = queryset.first()
    if found is not None and not mine.filter(pk=found.pk).exists():
        raise ValidationFailed(message, field="code")
    return found


def _the_one(queryset, message: str, *, field: str):
    """The one record a name matches, None when none does; several are an error asking
    for the code (names are not unique, codes are)."""
    named = list(queryset[:2])
    if len(named) > 1:
        raise ValidationFailed(message, field=field)
    return named[0] if named else None


def _names(text) -> tuple[str, ...]:
    """A stage's names in both languages, also without the suffix 阶段 (提案 = 提案阶段)."""
    return (text.en, text.zh_hans, text.zh_hans.removesuffix("阶段"))


HANDLERS: dict[str, type[_Handler]] = {
    "accounts": _Accounts,
    "contacts": _Contacts,
    "opportunities": _Opportunities,
    "revenue": _Revenue,
}
