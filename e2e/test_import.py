"""A sales manager brings her customers in from Excel (issue 8).

She works in Chinese. From the accounts list she opens 导入 (Import) and uploads a small
workbook with Chinese headers — two accounts, two contacts (one reports to the other),
two opportunities, one of which has an expected close that is not a date. The preview
shows what would be new and the one error on its row and column; she imports only the
valid rows and finds the new account in the accounts list. Then, in English, she uploads
the same file again: nothing would be new (the codes match), the same error reads in
English, and importing the valid rows changes nothing.
Screenshots: artifacts/screenshots/import-{form,preview,result}-{zh,en}.png."""

from __future__ import annotations

import io

import pytest
from playwright.sync_api import expect

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PASSWORD = "manager-pass-123"
NEW_ACCOUNT = "苏州新材料科技有限公司"


def customer_workbook() -> bytes:
    """What a manager keeps in Excel: Chinese headers, one sheet per kind; the second
    deal's expected close (销售机会, row 3) is not a date."""
    from openpyxl import Workbook

    book = Workbook()
    book.remove(book.active)
    sheets = {
        "客户": [
            ["客户编码", "客户名称*", "行业", "区域", "企业性质"],
            ["IMP-001", NEW_ACCOUNT, "新材料", "华东", "民营"],
            ["IMP-002", "无锡精工机械有限公司", "机械制造", "华东", "国有企业"],
        ],
        "联系人": [
            ["联系人编码", "客户*", "姓名*", "职务", "上级", "层级", "状态"],
            ["IMP-P1", "IMP-001", "周建华", "总经理", None, "决策层", "在职"],
            ["IMP-P2", "IMP-001", "陈立", "技术部长", "周建华", "管理层", "在职"],
        ],
        "销售机会": [
            ["机会编码", "客户*", "机会名称*", "金额*", "预计成交日期*", "销售阶段",
             "阶段进入日期"],
            ["IMP-O1", "IMP-001", "新产线自动化改造", 1250000, "2026-12-31", "提案阶段",
             "2026-01-05; 2026-02-10; 2026-04-01"],
            ["IMP-O2", "IMP-002", "数控机床备件年度采购", 300000, "2026-13-45", None, None],
        ],
    }  # fmt: skip
    for title, rows in sheets.items():
        sheet = book.create_sheet(title)
        for row in rows:
            sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def upload(page, data: bytes) -> None:
    page.get_by_test_id("import-file").set_input_files(
        files=[{"name": "客户导入.xlsx", "buffer": data,
                "mimeType": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}]
    )  # fmt: skip
    with page.expect_navigation():
        page.get_by_test_id("import-check").click()


def tally(page, kind: str):
    return page.locator(f'[data-testid="import-tally"][data-kind="{kind}"]')


def test_a_manager_imports_the_valid_rows_of_her_workbook(
    page, login_as, screenshot, switch_language, settings, tmp_path
):
    from kam.accounts.models import Account
    from kam.contacts.models import Contact
    from kam.opportunities.models import Opportunity
    from kam.users.services import user_create

    settings.KAM_UPLOAD_DIR = tmp_path / "uploads"
    manager = user_create(
        username="chen", role="manager", team="大客户一部", password=PASSWORD, display_name="陈经理"
    )
    data = customer_workbook()

    # given the manager, signed in, the UI in Chinese, on the accounts list
    login_as("chen", PASSWORD)
    switch_language("zh-hans")
    page.get_by_test_id("nav-accounts").click()

    # when she opens the import page from the list
    with page.expect_navigation():
        page.get_by_test_id("import-link").click()

    # then it offers the file, the templates in both languages and one CSV per kind
    expect(page.get_by_test_id("import-form")).to_be_visible()
    expect(page.get_by_test_id("template-xlsx-zh")).to_be_visible()
    expect(page.get_by_test_id("template-csv-opportunities-zh")).to_be_visible()
    screenshot("import-form-zh")

    # when she uploads her workbook
    upload(page, data)

    # then the preview shows what would be new and the one error on its row and column
    expect(page.get_by_test_id("import-summary")).to_have_attribute("data-errors", "1")
    expect(tally(page, "accounts").get_by_test_id("tally-created")).to_have_text("2")
    expect(tally(page, "contacts").get_by_test_id("tally-created")).to_have_text("2")
    expect(tally(page, "opportunities").get_by_test_id("tally-created")).to_have_text("1")
    expect(tally(page, "opportunities").get_by_test_id("tally-invalid")).to_have_text("1")
    error = page.get_by_test_id("import-error")
    expect(error).to_have_count(1)
    expect(error).to_have_attribute("data-sheet", "销售机会")
    expect(error).to_have_attribute("data-row", "3")
    expect(error).to_have_attribute("data-column", "预计成交日期*")
    expect(error).to_contain_text("2026-13-45")
    expect(page.get_by_test_id("import-all")).to_have_count(0)
    screenshot("import-preview-zh")
    # and nothing is written yet
    assert not Account.objects.filter(code__startswith="IMP-").exists()

    # when she imports only the valid rows
    with page.expect_navigation():
        page.get_by_test_id("import-valid").click()

    # then five rows are in, the bad one left out and listed
    expect(page.get_by_test_id("import-done")).to_have_attribute("data-rows", "5")
    expect(page.get_by_test_id("import-error")).to_have_attribute("data-row", "3")
    screenshot("import-result-zh")
    assert sorted(Account.objects.filter(owner=manager).values_list("code", flat=True)) == [
        "IMP-001",
        "IMP-002",
    ]
    assert Contact.objects.get(code="IMP-P2").reports_to.code == "IMP-P1"
    assert list(Opportunity.objects.values_list("code", "stage")) == [("IMP-O1", "proposal")]

    # when she opens the accounts from the result
    with page.expect_navigation():
        page.get_by_test_id("open-accounts").click()

    # then the new account is in the list
    expect(page.get_by_test_id("account-row").filter(has_text=NEW_ACCOUNT)).to_have_count(1)

    # when, in English, she uploads the same file again
    switch_language("en")
    with page.expect_navigation():
        page.get_by_test_id("import-link").click()
    screenshot("import-form-en")
    upload(page, data)

    # then nothing would be new, and the error reads in English
    expect(tally(page, "accounts").get_by_test_id("tally-unchanged")).to_have_text("2")
    expect(tally(page, "accounts").get_by_test_id("tally-created")).to_have_text("0")
    expect(page.get_by_test_id("import-error")).to_contain_text("is not a date")
    screenshot("import-preview-en")
    with page.expect_navigation():
        page.get_by_test_id("import-valid").click()
    expect(page.get_by_test_id("import-done")).to_be_visible()
    screenshot("import-result-en")
    assert Account.objects.filter(code__startswith="IMP-").count() == 2
    assert Opportunity.objects.count() == 1
    assert page.kam_errors == []
