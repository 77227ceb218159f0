"""`kam import FILE`: the importer's report as text on a terminal."""

from __future__ import annotations

from pathlib import Path
from typing import TextIO

from kam.transfer import importer


def run_import(
    file: str,
    *,
    actor,
    kind: str | None,
    valid_only: bool,
    dry_run: bool,
    out: TextIO,
) -> int:
    """0 when the file was imported (or, with --dry-run, would be); 2 when rows failed
    and nothing was written."""
    path = Path(file)
    if not path.is_file():
        from kam.core.errors import NotFound

        raise NotFound(f"No file {file!r}.")

    def progress(sheet: str, rows: int) -> None:
        print(f"  {sheet}: {rows} rows…", file=out, flush=True)

    verb = "Checking" if dry_run else "Importing"
    print(f"{verb} {path.name} as {actor.username}…", file=out, flush=True)
    if dry_run:
        report = importer.check(path, actor=actor, kind=kind, progress=progress)
    else:
        report = importer.write(
            path, actor=actor, kind=kind, valid_only=valid_only, progress=progress
        )
    print(render(report, dry_run=dry_run), file=out, flush=True)
    if report.written or (dry_run and not report.error_count):
        return 0
    return 2


def render(report: importer.Report, *, dry_run: bool = False) -> str:
    lines = []
    for t in report.tallies:
        lines.append(
            f"{t.sheet}: {t.rows} rows — {t.created} new, {t.updated} updated, "
            f"{t.unchanged} unchanged, {t.invalid} with errors"
        )
    for p in report.problems:
        where = f"{p.sheet} row {p.row}" + (f", {p.column}" if p.column else "")
        lines.append(f"  {'warning' if p.warning else 'error'}: {where}: {p.message}")
    if report.problems_left_out:
        lines.append(f"  … and {report.problems_left_out} more errors.")
    if report.written:
        skipped = f" ({report.error_count} rows with errors left out)" if report.valid_only else ""
        lines.append(f"Imported {report.valid_rows} rows{skipped}.")
    elif dry_run:
        lines.append(
            "The file can be imported (nothing written: --dry-run)."
            if not report.error_count
            else f"{report.error_count} errors; nothing written (--dry-run)."
        )
    else:
        lines.append(
            f"{report.error_count} errors: nothing was written. Fix the rows above and import "
            "again, or add --valid-only to import only the rows without errors."
        )
    return "\n".join(lines)
