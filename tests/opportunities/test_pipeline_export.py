"""The dashboard's current view as an Excel file (/pipeline/export.xlsx): the same
numbers as the report, user text that cannot run as a formula, a rep's file holding
only their deals, bad filters refused with 422, and a fixed number of queries."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from openpyxl import load_workbook

from kam.core import clock
from kam.core.spreadsheet import MONEY, XLSX
from kam.opportunities import process
from kam.opportunities.pipeline import parse_filters, pipeline_report
from kam.opportunities.services import opportunity_create, opportunity_update

NOW = dt.datetime(2026, 11, 10, 10, 0)
EVIL = '=HYPERLINK("http://x")'
SHEETS = [
    "Summary",
    "Funnel – our stages",
    "Funnel – buyer stages",
    "Forecast",
    "Progress by rep",
    "Progress by deal",
    "Stalled",
    "Forced moves",
    "A deals at risk",
    "Conversion",
    "Alerts by code",
]
GOOD = {
    "project_grade": 4,
    "funding": 4,
    "technical_fit": 4,
    "relationship": 4,
    "credit": 4,
    "product": 4,
    "price": 4,
    "solution": 4,
    "service": 4,
}
DEAL_SHEETS = ["Progress by deal", "Stalled", "Forced moves", "A deals at risk"]


@pytest.fixture
def frozen():
    with clock.freeze(NOW):
        yield


@pytest.fixture
def deals(frozen, world, book):
    """The book (one 100 000 deal per rep) plus, for rep_a, a stalled deal named like a
    formula, A priority, that the customer moved on, and for rep_c (West) a forced one."""
    a, c = book["rep_a"], book["rep_c"]
    evil = opportunity_create(
        actor=world.rep_a,
        account=a["account"],
        name=EVIL,
        amount="250000.50",
        expected_close=dt.date(2027, 1, 15),
        stage_entered_at=clock.now() - dt.timedelta(days=100),
    )
    opportunity_update(actor=world.rep_a, opportunity=evil, buyer_stage="criteria")
    process.evaluation_record(actor=world.rep_a, opportunity=evil, scores=GOOD)
    process.opportunity_advance(
        actor=world.manager_west,
        opportunity=c["opportunity"],
        force=True,
        reason="-1+2 said the boss",
    )
    return {"evil": evil, "rep_c": c["opportunity"]}


def _client(user=None, language="en") -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    if user is not None:
        client.force_login(user)
    return client


def _export(client, query=""):
    return client.get(reverse("pipeline-export") + (f"?{query}" if query else ""))


def _book(response):
    assert response.status_code == 200
    assert response["Content-Type"] == XLSX
    return load_workbook(io.BytesIO(response.content))


def _rows(sheet) -> list[list]:
    return [[c.value for c in row] for row in sheet.iter_rows(min_row=2)]


def _summary(wb) -> dict:
    return dict(_rows(wb["Summary"]))


def _report(user, **filters):
    return pipeline_report(user, parse_filters(user, **filters))


def _names(wb, sheets=DEAL_SHEETS) -> set[str]:
    return {row[0] for name in sheets for row in _rows(wb[name])}


# --- the numbers of the view ----------------------------------------------------------------


def test_the_file_shows_the_reports_numbers(world, deals):
    # given
    report = _report(world.manager_east, period="2026Q4")
    # when
    wb = _book(_export(_client(world.manager_east), "period=2026Q4"))
    # then
    assert wb.sheetnames == SHEETS
    summary = _summary(wb)
    assert summary["Period"] == "2026Q4"
    assert summary["Period start"] == dt.datetime(2026, 10, 1)
    assert summary["Owner"] == "All"
    assert summary["Open deals"] == report.total.count == 3
    assert Decimal(str(summary["Open amount"])) == report.total.amount == Decimal("450000.50")
    assert Decimal(str(summary["Weighted amount"])) == report.total.weighted
    assert summary["Buyer stages advanced"] == 3  # need → criteria
    amount_cell = next(r for r in wb["Summary"].iter_rows() if r[0].value == "Open amount")[1]
    assert (amount_cell.data_type, amount_cell.number_format) == ("n", MONEY)
    first = report.by_stage[0]
    assert _rows(wb["Funnel – our stages"])[0] == [
        "Standard process (6 stages)",
        "Development",
        first.open.count,
        float(first.open.amount),
        float(first.open.weighted),
    ]
    assert first.open.count == 3


def test_user_text_is_written_as_text_never_as_a_formula(world, deals):
    # when
    wb = _book(_export(_client(world.admin), "period=2026Q4"))
    # then
    assert _rows(wb["Progress by deal"]) == [
        ["'" + EVIL, "Account of rep_a", "rep_a", "Problem and need", "Purchase criteria"]
        + [3, 0, 3]  # forward, back, net
    ]
    assert [row[:2] for row in _rows(wb["Stalled"])] == [["'" + EVIL, "Account of rep_a"]]
    assert [row[:5] for row in _rows(wb["A deals at risk"])] == [
        ["'" + EVIL, "Account of rep_a", "rep_a", 250000.5, dt.datetime(2027, 1, 15)]
    ]
    assert _rows(wb["Forced moves"])[0][0] == "Deal of rep_c"
    assert _rows(wb["Forced moves"])[0][7] == "'-1+2 said the boss"
    cells = [c for ws in wb for row in ws.iter_rows() for c in row]
    assert [c.coordinate for c in cells if c.data_type == "f"] == []


def test_a_rep_exports_only_their_own_deals(world, deals):
    # when
    wb = _book(_export(_client(world.rep_a), "period=2026Q4"))
    # then
    summary = _summary(wb)
    assert summary["Open deals"] == 2
    assert Decimal(str(summary["Open amount"])) == Decimal("350000.50")
    assert _names(wb) == {"'" + EVIL}
    assert [row[0] for row in _rows(wb["Progress by rep"])] == ["rep_a"]
    assert _rows(wb["Forced moves"]) == []


def test_the_filters_narrow_the_file_and_name_it(world, deals):
    # when
    response = _export(
        _client(world.manager_east),
        f"start=2026-10-01&end=2026-12-31&owner={world.rep_b.pk}&playbook=standard-6&team=",
    )
    # then
    wb = _book(response)
    summary = _summary(wb)
    assert (summary["Owner"], summary["Open deals"]) == ("rep_b", 1)
    assert summary["Period"] == "2026-10-01 – 2026-12-31"
    assert response["Content-Disposition"] == (
        'attachment; filename="pipeline-2026-10-01_2026-12-31.xlsx"; '
        "filename*=UTF-8''pipeline-2026-10-01_2026-12-31.xlsx"
    )


def test_the_file_is_named_in_the_users_language(world, deals):
    # when
    response = _export(_client(world.manager_east, language="zh-hans"), "period=2026Q4")
    # then
    _book(response)
    assert response["Content-Disposition"] == (
        'attachment; filename="pipeline-2026Q4.xlsx"; '
        "filename*=UTF-8''%E8%B7%AF%E6%A0%87%E7%AE%A1%E7%90%86-2026Q4.xlsx"
    )


def test_without_filters_it_exports_this_quarter(world, deals):
    # when
    response = _export(_client(world.manager_east))
    # then
    assert _summary(_book(response))["Period"] == "2026Q4"
    assert 'filename="pipeline-2026Q4.xlsx"' in response["Content-Disposition"]


# --- refused -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("period=2026Q5", "period"),
        ("period=2026Q4&start=2026-10-01&end=2026-12-31", "period"),
        ("start=2026-10-01", "end"),
        ("start=2026-13-01&end=2026-12-31", "start"),
        ("owner=abc", "owner"),
        ("owner=-3", "owner"),
        ("owner=99999999999999999999", "owner"),
        ("team=1.5", "team"),
        ("playbook=nope", "playbook"),
        ("playbook=" + "x" * 41, "playbook"),
    ],
)
def test_bad_filters_are_refused_naming_the_field(world, deals, query, field):
    # when
    response = _export(_client(world.manager_east), query)
    # then
    assert response.status_code == 422
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    assert response.content.decode().startswith(f"{field}: ")
    assert not response.has_header("Content-Disposition")


def test_an_owner_or_team_out_of_view_is_refused(world, deals):
    # given
    west_team = world.rep_c.team_id
    client = _client(world.manager_east)
    # when
    owner = _export(client, f"owner={world.rep_c.pk}")
    team = _export(client, f"team={west_team}")
    # then
    assert (owner.status_code, owner.content.decode().split(":")[0]) == (422, "owner")
    assert (team.status_code, team.content.decode().split(":")[0]) == (422, "team")


def test_anonymous_is_sent_to_log_in(db):
    # when
    response = _export(_client(), "period=2026Q4")
    # then
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_post_is_not_allowed(world):
    assert _client(world.manager_east).post(reverse("pipeline-export")).status_code == 405


# --- cost ----------------------------------------------------------------------------------


def test_the_query_count_does_not_grow_with_the_book(world, deals):
    # given
    client = _client(world.admin)
    with CaptureQueriesContext(connection) as few:
        _book(_export(client, "period=2026Q4"))
    account = deals["evil"].account
    for i in range(6):
        more = opportunity_create(
            actor=world.rep_a,
            account=account,
            name=f"More {i}",
            amount=str(1000 * (i + 1)),
            expected_close=dt.date(2027, 2 + i, 1),
            stage_entered_at=clock.now() - dt.timedelta(days=90),
        )
        opportunity_update(actor=world.rep_a, opportunity=more, buyer_stage="search")
    # when
    with CaptureQueriesContext(connection) as many:
        wb = _book(_export(client, "period=2026Q4"))
    # then
    assert _summary(wb)["Open deals"] == 10
    assert len(many.captured_queries) == len(few.captured_queries)
