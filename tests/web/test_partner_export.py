"""GET /partners/<id>/statement.xlsx: the partner's statement as a workbook — the page's
figures as number cells, the lines and payouts, deals the viewer may not see without
their names, nothing a spreadsheet could run, and a file named after the partner."""

from __future__ import annotations

import datetime as dt
import io
from urllib.parse import quote

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from openpyxl import load_workbook

from kam.accounts.services import account_create
from kam.core import clock
from kam.partners import services
from tests.partners.conftest import TODAY, at, won_deal
from tests.web.test_partner_pages import build_lisi

PDF = b"%PDF-1.4\n% disclosure\n"


@pytest.fixture
def lisi(world):
    with clock.freeze(TODAY):
        yield build_lisi(world)


def _export(client, partner, query: str = "?period=2026H1"):
    with clock.freeze(TODAY):
        return client.get(reverse("partner-statement-export", args=[partner.pk]) + query)


def _workbook(response):
    assert response.status_code == 200, response.content[:500]
    return load_workbook(io.BytesIO(response.content))


def _pairs(ws) -> dict:
    return {row[0].value: row[1] for row in ws.iter_rows(min_row=2)}


def test_the_workbook_holds_the_statement_lines_and_payouts(world, lisi, client):
    # given 李四's first commission released and the period paid
    with clock.freeze(TODAY):
        services.referral_release(
            actor=world.admin,
            referral=lisi["referrals"]["d40"],
            note="书面同意",
            document=SimpleUploadedFile("ok.pdf", PDF, "application/pdf"),
        )
        services.payout_record(
            actor=world.admin,
            partner=lisi["partner"],
            period="2026H1",
            paid_on=dt.date(2026, 8, 3),
            reference="TT-9",
        )
    client.force_login(world.rep_a)
    # when
    wb = _workbook(_export(client, lisi["partner"]))
    # then
    assert wb.sheetnames == ["Statement", "Lines", "Payouts"]
    figures = _pairs(wb["Statement"])
    assert figures["Partner"].value == "李四"
    assert figures["Period"].value == "2026H1"
    assert figures["Programme"].value == "Standard referral programme"
    expected = {
        "Earned": 2000,
        "Pending": 0,
        "Held": 4020,
        "Volume base": 102000,
        "Volume bonus": 1020,
        "Bonus held": 1020,
        "Payable": 2000,
        "Paid": 2000,
        "Due": 0,
    }
    for label, value in expected.items():
        cell = figures[label]
        assert (cell.data_type, cell.value, cell.number_format) == ("n", value, "#,##0.00"), label
    assert figures["Period start"].value == dt.datetime(2026, 1, 1)
    assert figures["Held — conflict of interest"].value.startswith(
        "李四 is employed by 苏州博远精密机械"
    )
    lines = [[c.value for c in row] for row in wb["Lines"].iter_rows()]
    assert lines[0] == [
        "Deal",
        "Account",
        "Kind",
        "Contract amount",
        "Won on",
        "Collected in the period",
        "Collected to date",
        "Commission",
        "Pending",
        "Volume base",
        "Conflict of interest",
    ]
    assert lines[1:] == [
        ["虎钳及夹具", "苏州博远精密机械", "Direct referral", 40000, dt.datetime(2026, 2, 10),
         40000, 40000, 2000, 0, 40000, "Released"],
        ["数控转台配件", "苏州博远精密机械", "Direct referral", 60000, dt.datetime(2026, 3, 15),
         50000, 50000, 2500, 500, 50000, "Held"],
        ["三坐标测量仪配件", "无锡启航自动化", "Indirect referral", 30000, dt.datetime(2026, 4, 20),
         0, 0, 0, 0, 12000, None],
    ]  # fmt: skip
    assert wb["Lines"]["D2"].number_format == "#,##0.00"
    assert wb["Lines"]["E2"].number_format == "yyyy-mm-dd"
    payouts = [[c.value for c in row] for row in wb["Payouts"].iter_rows()]
    assert payouts == [
        ["Paid on", "Period", "Amount", "Reference", "Recorded by"],
        [dt.datetime(2026, 8, 3), "2026H1", 2000, "TT-9", "admin"],
    ]
    assert wb["Payouts"]["C2"].data_type == "n"


def test_the_file_is_named_after_the_partner_and_the_period(world, lisi, client):
    # given
    client.force_login(world.rep_a)
    # when
    response = _export(client, lisi["partner"], "")
    # then the page's default period
    disposition = response["Content-Disposition"]
    assert f"filename*=UTF-8''{quote('李四-2026H1.xlsx')}" in disposition
    assert f'filename="partner-{lisi["partner"].pk}-2026H1.xlsx"' in disposition
    assert "no-store" in response["Cache-Control"]


def test_nothing_in_the_file_can_run(world, frozen_partner_named_formula, client):
    # given
    partner = frozen_partner_named_formula
    client.force_login(world.rep_a)
    # when
    response = _export(client, partner)
    wb = _workbook(response)
    # then
    cells = [c for ws in wb.worksheets for row in ws.iter_rows() for c in row]
    assert [c.coordinate for c in cells if c.data_type == "f"] == []
    values = _pairs(wb["Statement"])
    assert values["Partner"].value == '\'=HYPERLINK("x")'
    assert wb["Lines"]["A2"].value == "'=1+2"
    assert wb["Lines"]["B2"].value == "'@SUM(A1)"
    assert "filename*=UTF-8''" in response["Content-Disposition"]
    assert "%22" not in response["Content-Disposition"]  # no quote from the name


@pytest.fixture
def frozen_partner_named_formula(world):
    rep = world.rep_a
    with clock.freeze(at(2026, 1, 2)):
        account = account_create(actor=rep, name="@SUM(A1)")
        partner = services.partner_create(
            actor=rep, name='=HYPERLINK("x")', agreement_date=dt.date(2026, 1, 1)
        )
    deal = won_deal(rep, account, "=1+2", "10000", at(2026, 2, 1))
    with clock.freeze(at(2026, 1, 5)):
        services.referral_add(actor=rep, partner=partner, opportunity=deal, kind="direct")
    return partner


def test_a_deal_the_viewer_cannot_see_has_no_name_in_the_file(world, lisi, client):
    # given rep_b's deal referred for rep_a's partner by their manager
    with clock.freeze(at(2026, 1, 2)):
        account = account_create(actor=world.rep_b, name="扬州远航")
    hidden = won_deal(world.rep_b, account, "秘密项目", "20000", at(2026, 5, 5))
    with clock.freeze(at(2026, 5, 1)):
        services.referral_add(
            actor=world.manager_east, partner=lisi["partner"], opportunity=hidden, kind="indirect"
        )
    client.force_login(world.rep_a)
    # when
    wb = _workbook(_export(client, lisi["partner"]))
    # then
    last = [c.value for c in list(wb["Lines"].iter_rows())[-1]]
    assert last[:3] == ["(a deal not shared with you)", None, "Indirect referral"]
    assert last[9] == 8000
    texts = [c.value for ws in wb.worksheets for row in ws.iter_rows() for c in row]
    assert "秘密项目" not in texts and "扬州远航" not in texts


@pytest.mark.parametrize("viewer", ["rep_b", "rep_c", "manager_west"])
def test_other_peoples_partners_are_not_found(world, lisi, client, viewer):
    # given
    client.force_login(getattr(world, viewer))
    # when
    response = _export(client, lisi["partner"])
    # then
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


def test_a_bad_period_answers_422_with_the_message(world, lisi, client):
    # given
    client.force_login(world.rep_a)
    # when
    response = _export(client, lisi["partner"], "?period=2026")
    # then
    assert response.status_code == 422
    assert response.content.decode() == (
        "period: Standard referral programme settles by half-year; ask for 2026H1, 2026H2.\n"
    )


def test_the_figures_are_decimals_in_the_users_language(world, lisi, client):
    # given
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "zh-Hans"
    client.force_login(world.rep_a)
    # when
    wb = _workbook(_export(client, lisi["partner"]))
    # then the programme's own name is in Chinese; the figures stay numbers
    rows = list(wb.worksheets[0].iter_rows(min_row=2))
    assert rows[4][1].value == "标准推荐方案"  # Programme
    assert (rows[8][1].data_type, rows[8][1].value) == ("n", 6020)  # Held
