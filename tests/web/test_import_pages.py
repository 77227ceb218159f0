"""The import page (/import/, issue 8): upload → preview → import, per role; errors
listed with sheet, row, column and a message in the user's language and nothing written;
"only the valid rows" on request; tokens private to their uploader; refused files back
on the form (never a 500); the templates to download. Data is built through the
services; "nothing written" is a fingerprint of the whole database."""

from __future__ import annotations

import datetime as dt
import io
import json
import os
import time
import zipfile
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import quote

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import translation
from openpyxl import Workbook, load_workbook

from kam.accounts.models import Account
from kam.accounts.services import account_create
from kam.contacts.models import Contact
from kam.core import clock
from kam.core.models import Event
from kam.core.spreadsheet import XLSX
from kam.opportunities.models import Opportunity
from tests.transfer.conftest import fingerprint

NOW = dt.datetime(2026, 6, 15, 10, 0)
ROLES = ("rep_a", "manager_east", "admin")
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 64
NOT_A_DATE = "“%(value)s” is not a date; write it as YYYY-MM-DD, e.g. 2026-03-05."


@pytest.fixture(autouse=True)
def frozen():
    with clock.freeze(NOW):
        yield


@pytest.fixture(autouse=True)
def _own_upload_folder(settings, tmp_path):
    """A folder per test, so each sees only the files it kept."""
    settings.KAM_UPLOAD_DIR = tmp_path / "uploads"


# --- building files and reading pages ---------------------------------------------------


def xlsx(sheets: dict[str, list[list]]) -> bytes:
    book = Workbook()
    book.remove(book.active)
    for title, rows in sheets.items():
        sheet = book.create_sheet(title)
        for row in rows:
            sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def customer_book(code: str, *, bad_date: bool = False) -> bytes:
    """An account with two contacts (the second reports to the first) and a deal at the
    third stage with its stage dates, in Chinese headers; with `bad_date` a second deal
    whose expected close is not a date (销售机会 row 3)."""
    deals = [
        ["机会编码", "客户*", "机会名称*", "金额*", "预计成交日期*", "销售阶段", "阶段进入日期"],
        [f"{code}-O1", code, "新产线改造", 1250000, "2026-12-31", "提案阶段",
         "2026-01-05; 2026-02-10; 2026-04-01"],
    ]  # fmt: skip
    if bad_date:
        deals.append([f"{code}-O2", code, "备件年度采购", 300000, "2026-13-45", None, None])
    return xlsx(
        {
            "客户": [["客户编码", "客户名称*", "行业"], [code, f"{code} 精密机械", "机械"]],
            "联系人": [
                ["联系人编码", "客户*", "姓名*", "职务", "上级", "状态"],
                [f"{code}-P1", code, "周建华", "总经理", None, "在职"],
                [f"{code}-P2", code, "陈立", "技术部长", "周建华", "在职"],
            ],
            "销售机会": deals,
        }
    )


def upload(client: Client, data: bytes, name: str = "客户.xlsx", kind: str = ""):
    return client.post(
        "/import/", {"file": SimpleUploadedFile(name, data), "kind": kind}, follow=False
    )


def token_of(response) -> str:
    assert response.status_code == 302, response.content.decode()[:2000]
    location = response["Location"]
    assert location.startswith("/import/") and location.endswith("/")
    return location.split("/")[2]


def staged_files() -> list[str]:
    folder = Path(settings.KAM_UPLOAD_DIR) / "imports"
    return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []


class _Elements(HTMLParser):
    """Every element with a data-testid: its attributes, its text and the text of each
    of its <td> cells."""

    def __init__(self):
        super().__init__()
        self.found: list[dict] = []
        self.open: list[tuple[str, dict | None]] = []

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        element = None
        if "data-testid" in attributes:
            element = {"attrs": attributes, "text": [], "cells": []}
            self.found.append(element)
        if tag == "td":
            inner = self._innermost()
            if inner is not None:
                inner["cells"].append([])
        if tag not in ("input", "br", "img", "meta", "link"):
            self.open.append((tag, element))

    def handle_endtag(self, tag):
        while self.open:
            if self.open.pop()[0] == tag:
                break

    def handle_data(self, data):
        for _tag, element in self.open:
            if element is not None:
                element["text"].append(data)
        inner = self._innermost()
        if inner is not None and inner["cells"] and any(t == "td" for t, _e in self.open):
            inner["cells"][-1].append(data)

    def _innermost(self) -> dict | None:
        for _tag, element in reversed(self.open):
            if element is not None:
                return element
        return None


def _parse(response, testid: str) -> list[dict]:
    parser = _Elements()
    parser.feed(response.content.decode())
    return [e for e in parser.found if e["attrs"]["data-testid"] == testid]


def _clean(texts: list[str]) -> str:
    return " ".join("".join(texts).split())


def elements(response, testid: str) -> list[tuple[dict, str]]:
    """(attributes, text) of each element marked `testid`."""
    return [(e["attrs"], _clean(e["text"])) for e in _parse(response, testid)]


def cells(response, testid: str) -> list[list[str]]:
    """The text of each <td> of the rows marked `testid`."""
    return [[_clean(c) for c in e["cells"]] for e in _parse(response, testid)]


# --- who may use it ---------------------------------------------------------------------


def test_anonymous_users_are_sent_to_sign_in(client_for, people):
    # given
    client = client_for()

    # when / then
    for url in ("/import/", "/import/template-zh.xlsx", "/import/template-accounts-en.csv"):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith("/login/")
    response = client.post(f"/import/{'a' * 32}/", {"mode": "all"})
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


@pytest.mark.parametrize("role", ROLES)
def test_each_role_uploads_sees_the_preview_and_imports_exactly_the_rows(client_for, people, role):
    # given
    user = getattr(people, role)
    client = client_for(user, "en")
    before = fingerprint()

    # when the file is uploaded
    token = token_of(upload(client, customer_book(f"{role}-1")))
    preview = client.get(f"/import/{token}/")

    # then the preview says what would happen, and nothing is written yet
    assert preview.status_code == 200
    tallies = {a["data-kind"]: t for a, t in elements(preview, "import-tally")}
    assert [(a["data-kind"]) for a, _t in elements(preview, "import-tally")] == [
        "accounts",
        "contacts",
        "opportunities",
    ]
    assert tallies["accounts"] == "客户 (Accounts) 1 1 0 0 0"
    assert tallies["contacts"] == "联系人 (Contacts) 2 2 0 0 0"
    assert tallies["opportunities"] == "销售机会 (Opportunities) 1 1 0 0 0"
    assert [t for _a, t in elements(preview, "import-all")] == ["Import 4 rows"]
    assert elements(preview, "import-valid") == []
    assert fingerprint() == before

    # when the user confirms
    done = client.post(f"/import/{token}/", {"mode": "all"})

    # then exactly these rows are written, as the user's
    assert done.status_code == 302
    assert done["Location"] == f"/import/{token}/"
    account = Account.objects.get(code=f"{role}-1")
    assert account.owner == user
    assert Account.objects.count() == before["counts"]["accounts.Account"] + 1
    contacts = Contact.objects.filter(account=account).order_by("code")
    assert [(c.code, c.name, c.reports_to and c.reports_to.code) for c in contacts] == [
        (f"{role}-1-P1", "周建华", None),
        (f"{role}-1-P2", "陈立", f"{role}-1-P1"),
    ]
    deal = Opportunity.objects.get(account=account)
    assert (deal.code, deal.stage, deal.owner, deal.amount) == (
        f"{role}-1-O1",
        "proposal",
        user,
        1250000,
    )
    assert Opportunity.objects.count() == before["counts"]["opportunities.Opportunity"] + 1
    assert Event.objects.filter(entity="account", entity_id=account.pk).get().actor == user

    # and the result page says so, with the lists to open; the file itself is gone
    result = client.get(f"/import/{token}/")
    assert result.status_code == 200
    assert [a["data-rows"] for a, _t in elements(result, "import-done")] == ["4"]
    assert len(elements(result, "open-accounts")) == 1
    assert len(elements(result, "open-opportunities")) == 1
    assert staged_files() == [f"{token}.json"]


def test_a_reload_or_second_click_after_the_import_writes_nothing_more(client_for, people):
    # given an imported file
    client = client_for(people.manager_east, "en")
    token = token_of(upload(client, customer_book("TWICE")))
    client.post(f"/import/{token}/", {"mode": "all"})
    after = fingerprint()

    # when the confirmation is sent again
    again = client.post(f"/import/{token}/", {"mode": "all"})

    # then it shows the result, and nothing more is written
    assert again.status_code == 302
    assert again["Location"] == f"/import/{token}/"
    assert fingerprint() == after


def test_a_second_click_during_the_import_waits_and_writes_nothing_itself(
    client_for, people, monkeypatch
):
    # given a file another request is importing right now (it has claimed the file)
    from kam.web.views import imports

    monkeypatch.setattr(imports, "CLAIM_WAIT_SECONDS", 0.3)
    client = client_for(people.rep_a, "en")
    token = token_of(upload(client, customer_book("BUSY")))
    folder = Path(settings.KAM_UPLOAD_DIR) / "imports"
    (folder / f"{token}.xlsx").rename(folder / f"{token}.working.xlsx")
    before = fingerprint()

    # when the confirmation comes a second time
    again = client.post(f"/import/{token}/", {"mode": "all"})
    page = client.get(f"/import/{token}/")

    # then it waits, writes nothing, and the page says the import is under way
    assert again.status_code == 302
    assert page.status_code == 200
    assert len(elements(page, "import-running")) == 1
    assert fingerprint() == before


# --- errors -------------------------------------------------------------------------------


@pytest.mark.parametrize("language", ("zh-hans", "en"))
def test_a_file_with_errors_is_previewed_with_row_column_and_message_and_writes_nothing(
    client_for, people, language
):
    # given
    client = client_for(people.rep_a, language)
    before = fingerprint()

    # when a file with a bad date is uploaded and previewed
    token = token_of(upload(client, customer_book("ERR", bad_date=True)))
    preview = client.get(f"/import/{token}/")

    # then the error names its sheet, row and column, in the user's language
    assert preview.status_code == 200
    with translation.override(language):
        message = translation.gettext(NOT_A_DATE) % {"value": "2026-13-45"}
    errors = elements(preview, "import-error")
    assert [(a["data-sheet"], a["data-row"], a["data-column"]) for a, _t in errors] == [
        ("销售机会", "3", "预计成交日期*")
    ]
    assert cells(preview, "import-error") == [["销售机会", "3", "预计成交日期*", message]]
    assert [a["data-errors"] for a, _t in elements(preview, "import-summary")] == ["1"]
    # the choice: a corrected file, or explicitly only the 4 valid rows
    assert elements(preview, "import-all") == []
    assert len(elements(preview, "import-valid")) == 1
    with translation.override(language):
        assert (
            translation.ngettext(
                "The %(counter)s row with errors will be left out.",
                "The %(counter)s rows with errors will be left out.",
                1,
            )
            % {"counter": 1}
            in elements(preview, "valid-only-note")[0][1]
        )

    # when "import all" is sent anyway (a crafted request)
    response = client.post(f"/import/{token}/", {"mode": "all"})

    # then nothing is written, the preview comes back saying so, and the file is kept
    assert response.status_code == 200
    assert len(elements(response, "import-stale")) == 1
    assert fingerprint() == before
    assert f"{token}.xlsx" in staged_files()


def test_only_the_valid_rows_are_imported_when_the_user_asks(client_for, people):
    # given a file whose second deal has a bad date
    client = client_for(people.rep_a, "en")
    token = token_of(upload(client, customer_book("VAL", bad_date=True)))
    client.get(f"/import/{token}/")

    # when the user imports only the valid rows
    response = client.post(f"/import/{token}/", {"mode": "valid"})

    # then the valid rows are written and the bad one left out
    assert response.status_code == 302
    assert Account.objects.filter(code="VAL").count() == 1
    assert Contact.objects.filter(account__code="VAL").count() == 2
    assert list(Opportunity.objects.filter(account__code="VAL").values_list("code", flat=True)) == [
        "VAL-O1"
    ]
    # and the result lists the row left out
    result = client.get(f"/import/{token}/")
    assert [a["data-rows"] for a, _t in elements(result, "import-done")] == ["4"]
    assert [(a["data-row"], a["data-column"]) for a, _t in elements(result, "import-error")] == [
        ("3", "预计成交日期*")
    ]
    tallies = [t for _a, t in elements(result, "import-tally")]
    assert tallies[-1] == "销售机会 (Opportunities) 1 0 0 1"


def test_when_the_data_changed_since_the_preview_nothing_is_written(client_for, people, books):
    # given a deal row naming rep_a's account by name, valid at the preview
    client = client_for(people.rep_a, "en")
    data = xlsx(
        {
            "Opportunities": [
                ["Account*", "Name*", "Amount*", "Expected close*"],
                ["Alpha Steel Works", "Second line", 500000, "2026-11-30"],
            ]
        }
    )
    token = token_of(upload(client, data, "deals.xlsx"))
    preview = client.get(f"/import/{token}/")
    assert [t for _a, t in elements(preview, "import-all")] == ["Import 1 row"]
    # when a second account of the same name appears before the import
    account_create(actor=people.rep_a, name="Alpha Steel Works")
    before = fingerprint()
    response = client.post(f"/import/{token}/", {"mode": "all"})

    # then nothing is written and the file, checked again, shows why
    assert response.status_code == 200
    assert len(elements(response, "import-stale")) == 1
    assert fingerprint() == before
    assert [(a["data-row"], a["data-column"]) for a, _t in elements(response, "import-error")] == [
        ("2", "Account*")
    ]
    assert f"{token}.xlsx" in staged_files()


# --- tokens -------------------------------------------------------------------------------


@pytest.mark.parametrize("other", ("rep_b", "manager_east", "admin"))
def test_another_users_token_is_not_found_and_writes_nothing(client_for, people, other):
    # given rep_a's upload
    token = token_of(upload(client_for(people.rep_a, "en"), customer_book("MINE")))
    client = client_for(getattr(people, other), "en")
    before = fingerprint()

    # when someone else opens or imports it
    seen = client.get(f"/import/{token}/")
    imported = client.post(f"/import/{token}/", {"mode": "all"})

    # then it is as if it did not exist, and nothing is written
    assert (seen.status_code, imported.status_code) == (404, 404)
    assert fingerprint() == before
    assert f"{token}.xlsx" in staged_files()


def test_unknown_and_malformed_tokens_are_not_found(client_for, people):
    client = client_for(people.admin, "en")
    for token in ("0" * 32, "../../secret_key", "ABC", "a" * 33):
        assert client.get(f"/import/{token}/").status_code == 404
        assert client.post(f"/import/{token}/", {"mode": "all"}).status_code == 404


def test_kept_files_older_than_a_day_are_deleted_when_another_is_kept(client_for, people):
    # given an upload from two days ago
    client = client_for(people.rep_a, "en")
    old = token_of(upload(client, customer_book("OLD")))
    two_days_ago = time.time() - 2 * 24 * 3600
    for name in staged_files():
        path = Path(settings.KAM_UPLOAD_DIR) / "imports" / name
        os.utime(path, (two_days_ago, two_days_ago))

    # when another file is uploaded
    new = token_of(upload(client, customer_book("NEW")))

    # then only the new one is kept, and the old token is gone
    assert staged_files() == [f"{new}.json", f"{new}.xlsx"]
    assert client.get(f"/import/{old}/").status_code == 404
    meta = json.loads((Path(settings.KAM_UPLOAD_DIR) / "imports" / f"{new}.json").read_text())
    assert meta == {
        "user": people.rep_a.pk,
        "name": "客户.xlsx",
        "kind": "",
        "ext": "xlsx",
        "created": clock.now().isoformat(),
    }


# --- refused files ------------------------------------------------------------------------


def _damaged_workbook() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("[Content_Types].xml", "<not xml")
        archive.writestr("xl/workbook.xml", "garbage")
    return out.getvalue()


@pytest.mark.parametrize(
    ("name", "data", "expected"),
    [
        ("客户.xlsx", EXE, "is not an Excel workbook although its name ends in .xlsx"),
        ("setup.exe", EXE, "“setup.exe” is not an .xlsx or .csv file."),
        ("客户.csv", b"", "The file is empty."),
        ("客户.csv", b"PK\x03\x04zip", "is not a text CSV file"),
    ],
)
def test_a_refused_file_comes_back_on_the_form_and_is_not_kept(
    client_for, people, name, data, expected
):
    # given
    client = client_for(people.manager_east, "en")
    before = fingerprint()

    # when
    response = upload(client, data, name)

    # then the form shows the message at the file field
    assert response.status_code == 422
    errors = elements(response, "field-errors")
    assert len(errors) == 1
    assert expected in errors[0][1]
    assert 'data-field="file"' in response.content.decode()
    assert staged_files() == []
    assert fingerprint() == before


def test_no_file_is_asked_for(client_for, people):
    response = client_for(people.rep_a, "en").post("/import/", {"kind": ""})
    assert response.status_code == 422
    assert [t for _a, t in elements(response, "field-errors")] == [
        "Choose the file to import: an Excel workbook (.xlsx) or a CSV file."
    ]


def test_a_file_over_the_size_limit_is_refused_without_keeping_it(client_for, people, settings):
    # given a limit of 2,000 bytes
    settings.KAM_MAX_IMPORT_BYTES = 2000
    data = ("客户名称*\n" + "华东机械\n" * 1000).encode()

    # when
    response = upload(client_for(people.rep_a, "en"), data, "big.csv")

    # then
    assert response.status_code == 422
    assert "The file is larger than 0.00190735 MB" in elements(response, "field-errors")[0][1]
    assert staged_files() == []


def _cut_workbook() -> bytes:
    """A workbook whose sheets are cut in half: the directory and magic bytes are fine."""
    data = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(customer_book("CUT"))) as source,
        zipfile.ZipFile(data, "w") as target,
    ):
        for item in source.infolist():
            content = source.read(item.filename)
            if item.filename.startswith("xl/worksheets/"):
                content = content[: len(content) // 2]
            target.writestr(item, content)
    return data.getvalue()


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (_damaged_workbook(), "The workbook is damaged (not a readable .xlsx)"),
        (_cut_workbook(), "The workbook is damaged (not a readable .xlsx)"),
    ],
)
def test_a_workbook_unreadable_past_its_directory_comes_back_on_the_form(
    client_for, people, data, expected
):
    # given a workbook whose directory passes the upload's check
    client = client_for(people.rep_a, "en")
    token = token_of(upload(client, data))
    before = fingerprint()

    # when its preview is asked for
    response = client.get(f"/import/{token}/")

    # then no server error: the form says the file could not be read, and it is gone
    assert response.status_code == 422
    errors = elements(response, "field-errors")
    assert len(errors) == 1
    assert expected in errors[0][1]
    assert staged_files() == []
    assert fingerprint() == before


def test_an_error_deep_in_the_reader_is_the_forms_message_not_a_server_error(
    client_for, people, monkeypatch
):
    # given a file that passes the checks but breaks the reader half-way (as a
    # malformed sheet could, in a way the importer does not foresee)
    from xml.etree.ElementTree import ParseError

    from kam.transfer import importer

    def broken(*args, **kwargs):
        raise ParseError("unclosed token: line 1, column 3202")

    client = client_for(people.rep_a, "en")
    token = token_of(upload(client, customer_book("DEEP")))
    monkeypatch.setattr(importer, "check", broken)

    # when
    response = client.get(f"/import/{token}/")

    # then
    assert response.status_code == 422
    assert [t for _a, t in elements(response, "field-errors")] == [
        "The file could not be read to the end (damaged, or not saved by a spreadsheet "
        "program); open it in Excel and save it again."
    ]
    assert staged_files() == []


def test_a_gb18030_csv_of_the_kind_chosen_is_previewed(client_for, people, books):
    # given contacts of rep_a's account in a CSV as Excel saves it on a Chinese Windows
    text = "客户*,姓名*,职务,状态\r\nAlpha Steel Works,刘海,采购经理,在职\r\n"
    client = client_for(people.rep_a, "zh-hans")

    # when
    token = token_of(upload(client, text.encode("gb18030"), "联系人.csv", kind="contacts"))
    preview = client.get(f"/import/{token}/")

    # then
    assert [a["data-kind"] for a, _t in elements(preview, "import-tally")] == ["contacts"]
    assert [a["data-outcome"] for a, _t in elements(preview, "preview-row")] == ["created"]
    assert "刘海" in preview.content.decode()


def test_the_upload_needs_the_csrf_token(people):
    # given a browser-like client that checks CSRF
    client = Client(enforce_csrf_checks=True, HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(people.rep_a)

    # when
    response = upload(client, customer_book("CSRF"))

    # then
    assert response.status_code == 403
    assert staged_files() == []


# --- the form and the templates -----------------------------------------------------------


@pytest.mark.parametrize("role", ROLES)
def test_the_form_offers_the_file_the_kind_and_the_templates(client_for, people, role):
    # when
    response = client_for(getattr(people, role), "zh-hans").get("/import/")

    # then
    assert response.status_code == 200
    html = response.content.decode()
    assert 'enctype="multipart/form-data"' in html
    assert 'accept=".xlsx,.csv"' in html
    assert len(elements(response, "import-kind")) == 1
    assert '<option value="contacts">联系人</option>' in html
    for testid in ("template-xlsx-zh", "template-xlsx-en", "template-csv-revenue-zh"):
        assert len(elements(response, testid)) == 1


def test_the_lists_link_to_the_import(client_for, people):
    client = client_for(people.rep_a, "en")
    for url in ("/accounts/", "/opportunities/"):
        links = elements(client.get(url), "import-link")
        assert [a["href"] for a, _t in links] == ["/import/"]


@pytest.mark.parametrize(
    ("code", "sheets", "filename"),
    [
        ("zh", ["说明", "客户", "联系人", "销售机会", "历史收入"], "KAM导入模板.xlsx"),
        ("en", ["Instructions", "Accounts", "Contacts", "Opportunities", "Revenue"],
         "kam-import-template.xlsx"),
    ],
)  # fmt: skip
def test_the_workbook_template_downloads_in_either_language(
    client_for, people, code, sheets, filename
):
    # when (the page's language does not matter: the link says which)
    response = client_for(people.rep_a, "en").get(f"/import/template-{code}.xlsx")

    # then
    assert response.status_code == 200
    assert response["Content-Type"] == XLSX
    assert response["Content-Disposition"] == (
        'attachment; filename="kam-import-template.xlsx"; '
        f"filename*=UTF-8''{quote(filename, safe='')}"
    )
    assert load_workbook(io.BytesIO(response.content)).sheetnames == sheets


def test_a_csv_template_downloads_with_its_chinese_name_and_a_bom(client_for, people):
    # when
    response = client_for(people.rep_a, "en").get("/import/template-contacts-zh.csv")

    # then
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == (
        'attachment; filename="kam-import-template-contacts.csv"; '
        "filename*=UTF-8''KAM%E5%AF%BC%E5%85%A5%E6%A8%A1%E6%9D%BF-%E8%81%94%E7%B3%BB%E4%BA%BA.csv"
    )
    assert response.content.startswith("\ufeff联系人编码,客户*,姓名*".encode())


def test_unknown_templates_are_not_found(client_for, people):
    client = client_for(people.rep_a, "en")
    for url in (
        "/import/template-fr.xlsx",
        "/import/template-zh-hans.xlsx",
        "/import/template-partners-zh.csv",
        "/import/template-accounts-de.csv",
    ):
        assert client.get(url).status_code == 404
