"""Importing accounts, contacts, opportunities and revenue from a spreadsheet.

The rules are the services' own: a row that changes a record runs `account_update`,
`contact_update`, `opportunity_update` …, a row that adds one is checked by
`account_build`, `opportunity_bring_in_build` … (what `account_create` and
`opportunity_bring_in` run), so an imported record is checked exactly like one typed
in the UI, and each change is an event in its history. New records are written in
batches (kam.transfer.handlers). What the importer adds is the file around them:

- **All or nothing.** The whole file runs in one transaction. Each row is checked in
  full before anything of it is written, so one bad row is reported (sheet, row,
  column, message in the user's language) and the others still checked. `check` rolls
  everything back — the preview; `write` commits only when no row failed, so a killed
  or failed import leaves the database as it was. With `valid_only` the file is
  checked first and the rows that failed are skipped in the write.
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
from contextlib import nullcontext
from itertools import islice
from pathlib import Path
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from kam.core import drafts
from kam.core.db import bulk_cache, refresh_statistics
from kam.core.errors import ValidationFailed
from kam.transfer import columns as cols
from kam.transfer import handlers
from kam.transfer.files import Formula, Sheet, close_sheets, open_sheets
from kam.transfer.handlers import Context, Row
from kam.transfer.report import (  # noqa: F401  (the importer's interface)
    CREATED,
    MAX_PROBLEMS,
    PREVIEW_ROWS,
    UNCHANGED,
    UPDATED,
    Problem,
    Report,
    Tally,
)

# An import this large refreshes PostgreSQL's statistics before it commits.
BULK_ROWS = 1000


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
        with bulk_cache(), transaction.atomic():
            context = Context(actor=actor, report=report, skip=skip, progress=progress)
            with (
                drafts.WriteBehind(transaction.get_connection()) if context.fast else nullcontext()
            ) as behind:
                context.behind = behind
                for kind_key in cols.ORDER:
                    for found, sheet, headers, header_row in plan:
                        if found.key == kind_key:
                            _import_sheet(context, found, sheet, headers, header_row)
            context.behind = None
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


def _rows(
    kind: cols.Kind,
    sheet: Sheet,
    headers: list[tuple[int, str, str]],
    context: Context,
    *,
    start: int,
) -> Iterator[Row]:
    """The sheet's data rows (the first is row `start`) read into their columns' types;
    a row with a cell that cannot be read comes with its problems instead."""
    by_key = {key: written for _, key, written in headers}
    columns = [(i, key, written, kind.column(key)) for i, key, written in headers]
    read_cell = cols.read_cell
    skip = context.skip
    for number, raw in enumerate(sheet.rows, start=start):
        if all(v is None or (isinstance(v, str) and not v.strip()) for v in raw):
            continue
        if skip is not None and (kind.key, number) in skip:
            continue
        values: dict[str, Any] = {}
        problems: list[Problem] | None = None
        width = len(raw)
        for i, key, written, column in columns:
            cell = raw[i] if i < width else None
            if isinstance(cell, Formula):
                problems = problems or []
                problems.append(
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
                continue
            try:
                values[key] = read_cell(column, cell)
            except ValidationFailed as exc:
                problems = problems or []
                problems.append(Problem(sheet.title, number, written, str(exc.message)))
        yield Row(number=number, values=values, headers=by_key, problems=problems)


def _import_sheet(
    context: Context,
    kind: cols.Kind,
    sheet: Sheet,
    headers: list[tuple[int, str, str]],
    header_row: int,
) -> None:
    """The sheet's rows a chunk at a time: the chunk's lookups, each row checked (and
    written, or kept for the chunk's batch), the batch written."""
    report = context.report
    tally = Tally(kind=kind, sheet=sheet.title)
    report.tallies.append(tally)
    handler = handlers.HANDLERS[kind.key](context, kind, sheet.title)
    rows = _rows(kind, sheet, headers, context, start=header_row + 1)
    while chunk := list(islice(rows, handlers.CHUNK_ROWS)):
        handler.start_chunk([row for row in chunk if not row.problems])
        for row in chunk:
            if row.problems:
                for problem in row.problems:
                    report.add(problem)
                report.invalid_rows.add((kind.key, row.number))
                tally.invalid += 1
                tally.rows += 1
                continue
            tally.rows += 1
            if context.progress is not None and tally.rows % PROGRESS_EVERY == 0:
                context.progress(sheet.title, tally.rows)
            outcome = handler.take(row)
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
