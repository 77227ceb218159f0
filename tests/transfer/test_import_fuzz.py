"""Properties of the importer over files nobody wrote by hand: arbitrary bytes named
.csv, and well-formed CSVs of each kind whose cells are random text or plausible values.
Whatever comes in, the importer answers with a DomainError or a report — never another
exception — and a report with errors means nothing was written.

Each example runs in a transaction rolled back at its end, so the examples share only
the users and the account A1 built before them."""

from __future__ import annotations

import itertools

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kam.accounts.services import account_create
from kam.core.errors import DomainError
from kam.transfer import importer
from tests.transfer.conftest import (
    ACCOUNT_HEADERS,
    CONTACT_HEADERS,
    DEAL_HEADERS,
    REVENUE_HEADERS,
    fingerprint,
    write_csv,
)

SETTINGS = settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
_names = itertools.count()

PLAUSIBLE = {
    "客户编码": ["A1", "A2", ""],
    "联系人编码": ["C1", "C2", ""],
    "Code": ["D1", "D2", ""],
    "External key": ["R1", "R2", ""],
    "客户名称*": ["华东机械", "Acme", ""],
    "客户*": ["A1", "华东机械", ""],
    "Account*": ["A1", "华东机械", "Z9", ""],
    "客户经理": ["admin", "rep_a", "rep_c", ""],
    "Owner": ["admin", "rep_a", "rep_c", "nobody", ""],
    "企业性质": ["国企", "private", "国营", ""],
    "年营业额": ["1,000", "¥5", "-1", "1e400", "NaN", ""],
    "Amount*": ["1000", "1,250.50", "-5", "0.001", "Infinity", ""],
    "Revenue*": ["1000", "-5", ""],
    "Profit": ["10", "x", ""],
    "Expected close*": ["2026-12-31", "2026/3/5", "2026年3月5日", "2026-13-01", ""],
    "Date*": ["2025-03-31", "2026-06-16", "0000-01-01", ""],
    "Stage": ["development", "proposal", "提案", "negotiation", "x", ""],
    "Stage entry dates": ["2026-01-05", "2026-01-05; 2026-02-10; 2026-03-01", "2027-01-01", ""],
    "Buyer stage": ["criteria", "签约", "x", ""],
    "Status": ["won", "lost", "赢单", "open", "x", ""],
    "Closed on": ["2026-05-01", "2027-01-01", ""],
    "Close reason": ["价格", ""],
    "姓名*": ["张三", "李四", ""],
    "上级": ["C1", "张三", "李四", "nobody", ""],
}
KINDS = {
    "accounts": ACCOUNT_HEADERS,
    "contacts": CONTACT_HEADERS,
    "opportunities": DEAL_HEADERS,
    "revenue": REVENUE_HEADERS,
}


def cell(header: str):
    return st.one_of(
        st.sampled_from(PLAUSIBLE.get(header, ["", "x"])),
        st.text(max_size=12),
    )


@st.composite
def sheets(draw):
    headers = KINDS[draw(st.sampled_from(sorted(KINDS)))]
    rows = draw(st.lists(st.tuples(*(cell(h) for h in headers)).map(list), min_size=1, max_size=4))
    return [headers, *rows]


class _Rollback(Exception):
    pass


@pytest.fixture
def a1(world, today):
    return account_create(actor=world.admin, name="华东机械", code="A1")


def outcome(path, actor) -> None:
    """Import the file in a transaction rolled back afterwards: a DomainError or a
    report; with errors, nothing written."""
    try:
        with transaction.atomic():
            before = fingerprint()
            try:
                checked = importer.check(path, actor=actor)
                assert fingerprint() == before  # check never writes
                report = importer.write(path, actor=actor)
            except DomainError:
                assert fingerprint() == before
                raise _Rollback from None
            assert report.error_count == checked.error_count
            if report.error_count:
                assert report.written is False
                assert fingerprint() == before
            raise _Rollback
    except _Rollback:
        pass


@SETTINGS
@given(data=st.binary(max_size=600))
def test_arbitrary_bytes_as_a_csv_never_crash_the_importer(tmp_path, world, a1, data):
    path = tmp_path / f"any{next(_names)}.csv"
    path.write_bytes(data)
    outcome(path, world.admin)


@SETTINGS
@given(rows=sheets(), as_rep=st.booleans())
def test_random_cells_in_a_well_formed_csv_never_crash_nor_half_write(
    tmp_path, world, a1, rows, as_rep
):
    path = write_csv(tmp_path / f"rows{next(_names)}.csv", rows)
    outcome(path, world.rep_a if as_rep else world.admin)
