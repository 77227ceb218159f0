"""The import page (issue 8): upload an .xlsx or .csv, see what it would do, then import.

1. `GET /import/` — the form (file, and what a CSV holds), the templates to download
   and a short explanation.
2. `POST /import/` — the file is checked before it is kept (`files.check_spreadsheet`:
   size, extension against content, the zip directory of an .xlsx); a refused file
   comes back on the form with the message at the file field. An accepted one is kept
   in `KAM_UPLOAD_DIR/imports/<token>.<ext>` with `<token>.json` beside it (who
   uploaded it, its name, the kind asked for, when), and the browser goes to:
3. `GET /import/<token>/` — the preview: `importer.check` runs the whole file as if
   importing it and rolls back; the page shows per sheet what would be new, updated,
   unchanged or refused, the first rows, and every problem with its sheet, row, column
   and message in the user's language. Its buttons say what happens next: import all
   the rows, or — after errors — explicitly only the valid ones.
4. `POST /import/<token>/` with `mode=all|valid` — `importer.write` on the kept file.
   When it commits, the file is deleted, the outcome is kept in the JSON and the
   browser goes back to `GET /import/<token>/`, which now shows the result (so a
   reload or a second click never imports twice). When the write finds errors after
   all (the data changed since the preview), nothing was written and the new preview
   says so.

A token belongs to the user who uploaded it: anyone else gets the 404 of an unknown
token. Kept files older than a day are deleted whenever a new one is kept. What each
role may create or change is the services' and the importer's business (a rep's
records are their own); the page only hands the file over."""

from __future__ import annotations

import json
import logging
import os
import re
import secrets
import time
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path, PurePath
from typing import Any
from urllib.parse import quote
from xml.etree.ElementTree import ParseError

from django import forms
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils.cache import patch_cache_control
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_safe

from kam.core import clock
from kam.core.errors import ValidationFailed
from kam.core.spreadsheet import XLSX, ascii_filename
from kam.transfer import importer
from kam.transfer.columns import KINDS, ORDER
from kam.transfer.files import check_spreadsheet
from kam.transfer.templates import (
    template_csv,
    template_filename,
    template_language,
    template_workbook,
)

log = logging.getLogger(__name__)

STAGING = "imports"
TOKEN = re.compile(r"[0-9a-f]{32}")
MAX_AGE_SECONDS = 24 * 3600
SHOWN_PROBLEMS = 200  # problems listed on the page; the rest are counted
CLAIM_WAIT_SECONDS = 120  # how long a second click waits for the first to finish
CHUNK = 1024 * 1024
# What a broken workbook can raise from deep inside openpyxl once its directory passed.
DAMAGED = (zipfile.BadZipFile, zlib.error, ParseError, KeyError, ValueError, EOFError, OSError)
URL_LANGUAGES = {"zh": "zh-hans", "en": "en"}
OUTCOMES = {
    importer.CREATED: gettext_lazy("New"),
    importer.UPDATED: gettext_lazy("Updated"),
    importer.UNCHANGED: gettext_lazy("Unchanged"),
    "invalid": gettext_lazy("Error"),
}


class ImportForm(forms.Form):
    # A plain field: the upload reaches check_spreadsheet as sent, and its messages
    # (the CLI's too) say what is wrong.
    file = forms.Field(
        label=gettext_lazy("File"),
        required=False,
        widget=forms.FileInput(attrs={"accept": ".xlsx,.csv", "data-testid": "import-file"}),
        help_text=gettext_lazy("An Excel workbook (.xlsx) or a CSV file (UTF-8 or GB18030)."),
    )
    kind = forms.ChoiceField(
        label=gettext_lazy("A CSV file holds"),
        required=False,
        help_text=gettext_lazy("Only for CSV: a workbook says it with its sheets' names."),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        lang = get_language()
        self.fields["kind"].choices = [
            ("", _("Automatic (told by its headers)")),
            *((key, KINDS[key].title(lang)) for key in ORDER),
        ]
        self.fields["kind"].widget.attrs["data-testid"] = "import-kind"


# --- the kept files ----------------------------------------------------------------------


@dataclass
class Staged:
    token: str
    folder: Path
    meta: dict[str, Any]

    @property
    def path(self) -> Path:
        return self.folder / f"{self.token}.{self.meta['ext']}"

    @property
    def meta_path(self) -> Path:
        return self.folder / f"{self.token}.json"

    @property
    def working_path(self) -> Path:
        # Ends in the extension too: openpyxl opens nothing whose name does not.
        return self.folder / f"{self.token}.working.{self.meta['ext']}"

    @property
    def name(self) -> str:
        return self.meta["name"]

    @property
    def kind(self) -> str | None:
        return self.meta.get("kind") or None

    @property
    def result(self) -> dict | None:
        return self.meta.get("result")

    def save_meta(self) -> None:
        _write_private(self.meta_path, json.dumps(self.meta, ensure_ascii=False).encode())

    def delete(self) -> None:
        for path in (self.path, self.working_path, self.meta_path):
            path.unlink(missing_ok=True)


def _folder() -> Path:
    folder = Path(settings.KAM_UPLOAD_DIR) / STAGING
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _write_private(path: Path, data: bytes) -> None:
    """Write `data` readable by the server's user only (the file holds customer data);
    the file appears complete or not at all."""
    part = path.with_name(f"{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(part, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    os.replace(part, path)


def _delete_old(folder: Path) -> None:
    """Kept uploads nobody imported within a day, and the results of old imports."""
    limit = time.time() - MAX_AGE_SECONDS
    for path in folder.iterdir():
        try:
            if path.is_file() and path.stat().st_mtime < limit:
                path.unlink(missing_ok=True)
        except OSError:  # another request deleted it meanwhile
            continue


def _stage(upload, *, user, kind: str) -> Staged:
    """Check the uploaded file and keep it for the preview and the import; a refused
    file is not kept (ValidationFailed naming the field `file`)."""
    if upload is None:
        raise ValidationFailed(
            _("Choose the file to import: an Excel workbook (.xlsx) or a CSV file."),
            field="file",
        )
    folder = _folder()
    _delete_old(folder)
    token = secrets.token_hex(16)
    part = folder / f"{token}.part"
    name = PurePath((upload.name or "").replace("\\", "/")).name[-200:] or "upload"
    # One byte past the limit is enough for check_spreadsheet to refuse a huge file.
    budget = settings.KAM_MAX_IMPORT_BYTES + 1
    try:
        fd = os.open(part, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as fh:
            for chunk in upload.chunks(CHUNK):
                fh.write(chunk[:budget])
                budget -= len(chunk)
                if budget <= 0:
                    break
        ext = check_spreadsheet(part, name=name, field="file")
        staged = Staged(
            token=token,
            folder=folder,
            meta={
                "user": user.pk,
                "name": name,
                "kind": kind or "",
                "ext": ext,
                "created": clock.now().isoformat(),
            },
        )
        os.replace(part, staged.path)
        staged.save_meta()
    finally:
        part.unlink(missing_ok=True)
    return staged


def _load(user, token: str) -> Staged:
    """The user's kept upload; anything else (unknown, expired, someone else's) is
    the same 404."""
    if not TOKEN.fullmatch(token):
        raise Http404
    folder = Path(settings.KAM_UPLOAD_DIR) / STAGING
    try:
        meta_path = folder / f"{token}.json"
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        fresh = meta_path.stat().st_mtime >= time.time() - MAX_AGE_SECONDS
    except (OSError, ValueError):
        raise Http404 from None
    if not isinstance(meta, dict) or meta.get("user") != user.pk or not fresh:
        raise Http404
    if meta.get("ext") not in ("xlsx", "csv"):
        raise Http404
    return Staged(token=token, folder=folder, meta=meta)


# --- the views ---------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def import_view(request):
    """The form; a POST keeps the checked file and goes to its preview."""
    if request.method != "POST":
        return _form_page(request, ImportForm())
    form = ImportForm(request.POST)
    if not form.is_valid():
        return _form_page(request, form, status=422)
    try:
        staged = _stage(
            request.FILES.get("file"), user=request.user, kind=form.cleaned_data["kind"]
        )
    except ValidationFailed as exc:
        form.add_error("file", str(exc.message))
        return _form_page(request, form, status=422)
    return redirect("import-preview", token=staged.token)


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def import_preview_view(request, token: str):
    """The preview of a kept upload (GET), or its import (POST); once imported, the
    result."""
    staged = _load(request.user, token)
    if staged.result is not None:
        if request.method == "POST":  # a second click, a reload: imported already
            return redirect("import-preview", token=token)
        return _result_page(request, staged)
    if request.method == "POST":
        return _confirm(request, staged)
    if not staged.path.is_file():
        if staged.working_path.is_file():  # another request is importing it right now
            return _result_page(request, staged, running=True)
        raise Http404
    report = _run(request, staged, lambda: _check(request, staged))
    if isinstance(report, HttpResponse):
        return report
    return _preview_page(request, staged, report)


def _check(request, staged: Staged) -> importer.Report:
    return importer.check(staged.path, actor=request.user, name=staged.name, kind=staged.kind)


def _confirm(request, staged: Staged) -> HttpResponse:
    valid_only = request.POST.get("mode") == "valid"
    try:
        os.rename(staged.path, staged.working_path)  # one request imports a file, once
    except FileNotFoundError:
        return _wait_for_other(staged)
    written = False
    try:
        report = _run(
            request,
            staged,
            lambda: importer.write(
                staged.working_path,
                actor=request.user,
                name=staged.name,
                kind=staged.kind,
                valid_only=valid_only,
            ),
        )
        if isinstance(report, HttpResponse):
            return report
        written = report.written
    finally:
        if not written and staged.working_path.exists():
            os.rename(staged.working_path, staged.path)
    if not written:
        if valid_only:  # the write's report skips the rows the check refused: show them all
            report = _run(request, staged, lambda: _check(request, staged))
            if isinstance(report, HttpResponse):
                return report
        return _preview_page(request, staged, report, stale=True)
    staged.meta["result"] = _result(report)
    staged.save_meta()
    staged.working_path.unlink(missing_ok=True)
    return redirect("import-preview", token=staged.token)


def _wait_for_other(staged: Staged) -> HttpResponse:
    """Another request (a double click) is importing this file: wait for it to end,
    then show what it did."""
    deadline = time.monotonic() + CLAIM_WAIT_SECONDS
    while time.monotonic() < deadline:
        if staged.path.exists() or not staged.working_path.exists():
            break
        time.sleep(0.25)
    return redirect("import-preview", token=staged.token)


def _run(request, staged: Staged, work):
    """`work()` (the check or the import); a file that turns out unreadable is deleted
    and the form says why, never a server error."""
    try:
        return work()
    except ValidationFailed as exc:
        message = str(exc.message)
    except DAMAGED:
        log.warning("import %s: unreadable file %r", staged.token, staged.name, exc_info=True)
        message = _(
            "The file could not be read to the end (damaged, or not saved by a spreadsheet "
            "program); open it in Excel and save it again."
        )
    staged.delete()
    form = ImportForm({"kind": staged.kind or ""})
    form.is_valid()
    form.add_error("file", message)
    return _form_page(request, form, status=422)


# --- pages -------------------------------------------------------------------------------


def _form_page(request, form: ImportForm, *, status: int = 200) -> HttpResponse:
    lang = get_language()
    kinds = [
        {
            "key": key,
            "title": KINDS[key].title(lang),
            "zh": KINDS[key].zh,
            "en": KINDS[key].en,
        }
        for key in ORDER
    ]
    return render(
        request,
        "web/imports/form.html",
        {"form": form, "kinds": kinds, "nav": "import"},
        status=status,
    )


def _preview_page(
    request, staged: Staged, report: importer.Report, *, stale: bool = False
) -> HttpResponse:
    errors = report.errors
    warnings = report.warnings
    invalid_rows = sum(t.invalid for t in report.tallies)
    kind_of_sheet = {t.sheet: t.kind.key for t in report.tallies}
    # Errors not on a data row (a missing column, a sheet not read): left out as a whole.
    sheet_errors = [
        p for p in errors if (kind_of_sheet.get(p.sheet), p.row) not in report.invalid_rows
    ]
    context = {
        "staged": staged,
        "report": report,
        "stale": stale,
        "tallies": [_tally(t) for t in report.tallies],
        "errors": errors[:SHOWN_PROBLEMS],
        "errors_more": max(0, len(errors) - SHOWN_PROBLEMS) + report.problems_left_out,
        "warnings": warnings[:SHOWN_PROBLEMS],
        "warnings_more": max(0, len(warnings) - SHOWN_PROBLEMS),
        "error_count": report.error_count,
        "invalid_rows": invalid_rows,
        "sheet_errors": bool(sheet_errors),
        "valid_rows": report.valid_rows,
        "nav": "import",
    }
    return render(request, "web/imports/preview.html", context)


def _tally(t: importer.Tally) -> dict[str, Any]:
    return {
        "sheet": t.sheet,
        "kind": t.kind.key,
        "kind_title": t.kind.title(get_language()),
        "rows": t.rows,
        "created": t.created,
        "updated": t.updated,
        "unchanged": t.unchanged,
        "invalid": t.invalid,
        "preview": [
            {"row": row, "outcome": outcome, "label": OUTCOMES.get(outcome, ""), "text": text}
            for row, outcome, text in t.preview
        ],
    }


def _result(report: importer.Report) -> dict[str, Any]:
    """What the result page shows, kept as JSON beside the (deleted) file."""
    return {
        "written_at": clock.now().isoformat(),
        "valid_only": report.valid_only,
        "rows": report.valid_rows,
        "left_out": sum(t.invalid for t in report.tallies) if report.valid_only else 0,
        "sheets": [
            {
                "sheet": t.sheet,
                "kind": t.kind.key,
                "created": t.created,
                "updated": t.updated,
                "unchanged": t.unchanged,
                "invalid": t.invalid if report.valid_only else 0,
            }
            for t in report.tallies
        ],
        "errors": [
            {"sheet": p.sheet, "row": p.row, "column": p.column, "message": p.message}
            for p in (report.errors[:SHOWN_PROBLEMS] if report.valid_only else [])
        ],
        "errors_more": (
            max(0, len(report.errors) - SHOWN_PROBLEMS) + report.problems_left_out
            if report.valid_only
            else 0
        ),
    }


def _result_page(request, staged: Staged, *, running: bool = False) -> HttpResponse:
    """What the import wrote (kept with the token), or that it is still under way."""
    result = staged.result or {}
    lang = get_language()
    sheets = [
        {**s, "kind_title": KINDS[s["kind"]].title(lang)}
        for s in result.get("sheets", [])
        if s.get("kind") in KINDS
    ]
    kinds = {s["kind"] for s in sheets}
    context = {
        "staged": staged,
        "result": result,
        "sheets": sheets,
        "created": sum(s["created"] for s in sheets),
        "updated": sum(s["updated"] for s in sheets),
        "unchanged": sum(s["unchanged"] for s in sheets),
        "running": running,
        "show_accounts": bool(kinds & {"accounts", "contacts", "revenue"}),
        "show_opportunities": "opportunities" in kinds,
        "nav": "import",
    }
    return render(request, "web/imports/result.html", context)


# --- templates to download ---------------------------------------------------------------


def _download(data: bytes, filename: str, plain: str, content_type: str) -> HttpResponse:
    """`data` as an attachment named `filename` in any language (RFC 6266 `filename*`)
    with an ASCII `filename` beside it, as kam.core.spreadsheet.workbook_response."""
    response = HttpResponse(data, content_type=content_type)
    response["Content-Disposition"] = (
        f'attachment; filename="{ascii_filename(plain)}"; '
        f"filename*=UTF-8''{quote(filename, safe='')}"
    )
    patch_cache_control(response, private=True, no_store=True)
    return response


def _language(code: str) -> str:
    if code not in URL_LANGUAGES:
        raise Http404
    return template_language(URL_LANGUAGES[code])


@login_required
@require_safe
def import_template_view(request, language: str):
    """The workbook template: instructions, then one sheet per kind."""
    lang = _language(language)
    name, plain = template_filename(lang)
    return _download(template_workbook(lang), name, plain, XLSX)


@login_required
@require_safe
def import_template_csv_view(request, kind: str, language: str):
    """One kind's CSV template: its header line, UTF-8 with a BOM."""
    lang = _language(language)
    if kind not in KINDS:
        raise Http404
    name, plain = template_filename(lang, kind)
    return _download(template_csv(kind, lang), name, plain, "text/csv; charset=utf-8")
