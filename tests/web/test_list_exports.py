"""GET /<list>/export.xlsx: every list page exports exactly the rows it shows with its
filters — all of them, not one page — within the user's scope, in their language;
accounts and deals in the import's columns; and each page links to its export with
the filters on screen (kam/web/views/list_export.py)."""

from __future__ import annotations

import datetime as dt
import io
from urllib.parse import quote

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from openpyxl import load_workbook

from kam.accounts.revenue import revenue_record_add
from kam.accounts.services import account_create
from kam.core import clock
from kam.core.spreadsheet import DATE, MONEY, PERCENT, XLSX
from kam.opportunities import process
from kam.opportunities.alerts import alert_scan
from kam.opportunities.services import opportunity_create
from kam.partners import services as partner_services
from kam.segments.services import segment_create
from kam.transfer.columns import ACCOUNTS, OPPORTUNITIES

TODAY = dt.datetime(2026, 11, 23, 10, 0)
LISTS = {
    "account-list": "account-export",
    "opportunity-list": "opportunity-export",
    "alert-list": "alert-export",
    "partner-list": "partner-export",
    "segment-list": "segment-export",
    "account-grading": "grading-export",
}


def _get(client, name: str, query: str = ""):
    with clock.freeze(TODAY):
        return client.get(reverse(name) + query)


def _sheet(response):
    assert response.status_code == 200, response.content[:300]
    assert response["Content-Type"] == XLSX
    wb = load_workbook(io.BytesIO(response.content))
    assert len(wb.sheetnames) == 1
    return wb[wb.sheetnames[0]]


def _table(ws) -> list[list]:
    return [[c.value for c in row] for row in ws.iter_rows()]


def _column(ws, header: str) -> list:
    rows = _table(ws)
    i = rows[0].index(header)
    return [r[i] for r in rows[1:]]


# --- the link -----------------------------------------------------------------------------


@pytest.mark.parametrize("page,export", LISTS.items())
def test_each_list_page_links_to_its_export_with_the_filters_on_screen(
    people, books, client_for, page, export
):
    # given
    client = client_for(people.admin)
    # when
    response = _get(client, page, "?q=Alpha&page=2")
    # then
    assert response.status_code == 200
    link = f'href="{reverse(export)}?q=Alpha"'
    assert link in response.content.decode()


@pytest.mark.parametrize("page,export", list(LISTS.items())[:4])
def test_a_list_refiltered_by_htmx_brings_its_export_link_along(
    people, books, client_for, page, export
):
    # given
    client = client_for(people.admin)
    # when
    with clock.freeze(TODAY):
        response = client.get(reverse(page) + "?q=Bravo", HTTP_HX_REQUEST="true")
    # then
    html = response.content.decode()
    assert "<html" not in html
    assert f'href="{reverse(export)}?q=Bravo"' in html
    assert 'id="export-link"' in html
    assert 'hx-swap-oob="true"' in html


def test_the_link_reads_export_to_excel_in_chinese(people, books, client_for):
    # when
    html = _get(client_for(people.rep_a, "zh-hans"), "account-list").content.decode()
    # then
    assert 'data-testid="list-export">导出 Excel</a>' in html


# --- accounts -----------------------------------------------------------------------------


def test_anonymous_is_sent_to_sign_in(db, client):
    for export in LISTS.values():
        # when
        response = _get(client, export)
        # then
        assert response.status_code == 302
        assert response["Location"].startswith("/login/?next=")


@pytest.mark.parametrize(
    "who,names",
    [
        ("rep_a", ["Alpha Steel Works"]),
        ("manager_east", ["Alpha Steel Works", "Bravo Steel Works"]),
        ("manager_west", ["Charlie Steel Works"]),
        ("admin", ["Alpha Steel Works", "Bravo Steel Works", "Charlie Steel Works"]),
    ],
)
def test_accounts_export_holds_the_accounts_the_user_sees(people, books, client_for, who, names):
    # when
    ws = _sheet(_get(client_for(getattr(people, who)), "account-export"))
    # then
    assert ws.title == "Accounts"
    assert _column(ws, "Name*") == names


def test_accounts_export_is_in_the_imports_columns(people, books, client_for):
    # when
    ws = _sheet(_get(client_for(people.rep_a), "account-export"))
    # then
    assert _table(ws) == [
        [c.header("en") for c in ACCOUNTS.columns] + ["Open opportunities"],
        [None, "Alpha Steel Works", "w_rep_a", "Steel"] + [None] * 10 + [1],
    ]


def test_accounts_export_honours_the_filters_and_holds_every_page(people, books, client_for):
    # given 60 more accounts: the list shows them 50 to a page
    for i in range(60):
        account_create(actor=people.rep_a, name=f"Zinc {i:02d}", industry="Zinc")
    client = client_for(people.rep_a)
    # when
    everything = _sheet(_get(client, "account-export", "?page=2"))
    zinc = _sheet(_get(client, "account-export", "?industry=Zinc&q=Zinc+1"))
    unknown = _sheet(_get(client, "account-export", "?industry=Nowhere"))
    # then
    assert len(_column(everything, "Name*")) == 61
    assert _column(zinc, "Name*") == [f"Zinc 1{i}" for i in range(10)]
    assert len(_column(unknown, "Name*")) == 61  # a value the list ignores, the export ignores


def test_the_export_is_in_the_users_language_and_named_after_the_list_and_day(
    people, books, client_for
):
    # when
    zh = _get(client_for(people.rep_a, "zh-hans"), "account-export")
    en = _get(client_for(people.rep_a, "en"), "opportunity-export")
    # then
    assert zh["Content-Disposition"] == (
        'attachment; filename="accounts-2026-11-23.xlsx"; '
        f"filename*=UTF-8''{quote('客户-2026-11-23.xlsx')}"
    )
    assert "filename*=UTF-8''opportunities-2026-11-23.xlsx" in en["Content-Disposition"]
    assert "no-store" in zh["Cache-Control"]
    ws = _sheet(zh)
    assert ws.title == "客户"
    assert _table(ws)[0][:3] == ["客户编码", "客户名称*", "客户经理"]
    assert _sheet(en).title == "Opportunities"


# --- opportunities ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "who,query,names",
    [
        ("rep_a", "", ["Alpha Press line"]),
        ("manager_east", "", ["Alpha Press line", "Bravo Press line"]),
        ("manager_east", "?owner={rep_b}", ["Bravo Press line"]),
        ("admin", "?q=Charlie", ["Charlie Press line"]),
        ("admin", "?status=won", []),
        ("admin", "?stage=standard-6:entry", ["Alpha Press line"]),
    ],
)
def test_opportunities_export_holds_the_deals_the_list_shows(
    people, books, client_for, who, query, names
):
    # given Alpha's deal moved on to the entry stage
    with clock.freeze(dt.datetime(2026, 11, 2, 9)):
        process.opportunity_advance(
            actor=people.manager_east,
            opportunity=books["rep_a"].opportunity,
            force=True,
            reason="customer asked",
        )
    query = query.format(rep_b=people.rep_b.pk)
    # when
    ws = _sheet(_get(client_for(getattr(people, who)), "opportunity-export", query))
    # then
    assert _column(ws, "Name*") == names


def test_opportunities_export_is_typed_and_in_the_imports_columns(people, books, client_for):
    # when
    ws = _sheet(_get(client_for(people.rep_a, "zh-hans"), "opportunity-export"))
    # then
    rows = list(ws.iter_rows())
    assert [c.value for c in rows[0]] == [c.header("zh-hans") for c in OPPORTUNITIES.columns] + [
        "优先级"
    ]
    deal = {h.value: c for h, c in zip(rows[0], rows[1], strict=True)}
    assert deal["客户*"].value == "Alpha Steel Works"
    assert deal["负责人"].value == "w_rep_a"
    assert (deal["金额*"].value, deal["金额*"].number_format) == (1250000, MONEY)
    close = deal["预计成交日期*"]
    assert (close.value, close.number_format) == (dt.datetime(2027, 6, 30), DATE)
    assert deal["销售阶段"].value == "开发阶段"
    assert deal["状态"].value == "进行中"


def test_a_deal_named_like_a_formula_is_exported_as_text(people, books, client_for):
    # given
    opportunity_create(
        actor=people.rep_a,
        account=books["rep_a"].account,
        name='=HYPERLINK("http://x")',
        amount="1",
        expected_close=dt.date(2027, 1, 1),
    )
    # when
    ws = _sheet(_get(client_for(people.rep_a), "opportunity-export"))
    # then
    cell = next(c for c in ws["C"] if c.value and "HYPERLINK" in c.value)
    assert (cell.data_type, cell.value) == ("s", '\'=HYPERLINK("http://x")')


def test_the_opportunities_export_costs_the_same_queries_for_3_or_30_deals(
    people, books, client_for
):
    # given
    client = client_for(people.manager_east)
    counts = []
    for n in (3, 30):
        for i in range(n):
            opportunity_create(
                actor=people.rep_b,
                account=books["rep_b"].account,
                name=f"More {n}-{i}",
                amount="5",
                expected_close=dt.date(2027, 1, 1),
            )
        # when
        with CaptureQueriesContext(connection) as queries:
            response = _get(client, "opportunity-export")
        counts.append(len(queries))
        assert len(_column(_sheet(response), "Name*")) == 2 + (3 if n == 3 else 33)
    # then: session, user, the owners of the filter, the deals, their stage events
    assert counts == [5, 5]


# --- alerts, partners, segments, grading --------------------------------------------------


def test_alerts_export_holds_the_alerts_of_the_deals_the_user_sees(people, books, client_for):
    # given
    expected = alert_scan(people.manager_east)
    high = alert_scan(people.manager_east, severity="high")
    client = client_for(people.manager_east)
    # when
    ws = _sheet(_get(client, "alert-export"))
    filtered = _sheet(_get(client, "alert-export", "?severity=high"))
    # then
    assert ws.title == "Alerts"
    assert _table(ws)[0] == [
        "Severity", "Alert", "Title", "Message", "What to do", "Opportunity", "Account",
        "Owner", "Stage", "Amount", "Currency", "Expected close",
    ]  # fmt: skip
    assert len(expected.rows) > 0
    assert _column(ws, "Opportunity") == [r.opportunity.name for r in expected.rows]
    assert set(_column(ws, "Opportunity")) == {"Alpha Press line", "Bravo Press line"}
    assert _column(filtered, "Opportunity") == [r.opportunity.name for r in high.rows]
    assert set(_column(filtered, "Severity")) <= {"High severity"}
    assert ws["J2"].number_format == MONEY


def test_partners_export_holds_the_partners_the_user_sees(people, books, client_for):
    # given
    partner_services.partner_create(
        actor=people.rep_a,
        name="李四",
        employer_account=books["rep_a"].account,
        agreement_date=dt.date(2026, 1, 5),
    )
    partner_services.partner_create(actor=people.rep_c, name="王五")
    # when
    mine = _sheet(_get(client_for(people.rep_a), "partner-export"))
    searched = _sheet(_get(client_for(people.admin), "partner-export", "?q=王"))
    everyone = _sheet(_get(client_for(people.admin), "partner-export"))
    # then
    assert _table(mine) == [
        ["Name", "Employed by", "Position", "Managed by", "Written agreement", "Programme",
         "Referrals", "Held"],
        ["李四", "Alpha Steel Works", None, "Alice Rep", dt.datetime(2026, 1, 5),
         "Standard referral programme", 0, 0],
    ]  # fmt: skip
    assert _column(searched, "Name") == ["王五"]
    assert _column(everyone, "Name") == ["李四", "王五"]


def test_segments_export_counts_the_accounts_the_user_sees(people, books, client_for):
    # given a segment of the steel accounts, scored in part
    segment_create(
        actor=people.admin,
        name="Steel",
        description="Steel makers",
        definition={"industry": ["Steel"]},
        scores={"market_size": 4},
    )
    # when
    by_rep = _sheet(_get(client_for(people.rep_a), "segment-export"))
    by_admin = _sheet(_get(client_for(people.admin), "segment-export"))
    # then
    assert by_rep.title == "Segments"
    header = _table(by_rep)[0]
    assert header[:4] == ["Segment", "Description", "Definition", "Attractiveness"]
    assert header[-2:] == ["Every criterion scored", "Accounts"]
    row = _table(by_rep)[1]
    assert row[:3] == ["Steel", "Steel makers", "Industry: Steel"]
    assert row[-2:] == ["no", 1]
    assert _table(by_admin)[1][-1] == 3


def test_grading_export_is_the_dashboards_table(people, books, client_for):
    # given revenue on Alpha and Charlie in the last 12 months
    with clock.freeze(TODAY):
        for book, amount in (("rep_a", "900000"), ("rep_c", "100000")):
            revenue_record_add(
                actor=people.admin,
                account=books[book].account,
                date=dt.date(2026, 6, 1),
                amount=amount,
            )
    # when
    by_admin = _sheet(_get(client_for(people.admin), "grading-export"))
    by_rep = _sheet(_get(client_for(people.rep_a), "grading-export"))
    # then
    rows = _table(by_admin)
    assert rows[0][0:2] == ["Rank", "Account"]
    assert rows[0][2].startswith("Revenue 2025-")
    assert [r[:3] for r in rows[1:]] == [
        [1, "Alpha Steel Works", 900000],
        [2, "Charlie Steel Works", 100000],
        [3, "Bravo Steel Works", 0],
    ]
    assert by_admin["C2"].number_format == MONEY
    assert by_admin["G2"].number_format == PERCENT
    assert 0 < by_admin["G2"].value <= 1
    assert _column(by_rep, "Account") == ["Alpha Steel Works"]
