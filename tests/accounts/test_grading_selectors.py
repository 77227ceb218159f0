"""What the pyramid and the grade are computed from (kam/accounts/grading.py): revenue
and profit per account over a period, aggregated in the database in a fixed number
of queries, with the period's edges and the grade's inputs."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from kam.accounts import grading
from kam.accounts.models import Account
from kam.accounts.needs import needs_set
from kam.accounts.revenue import revenue_record_add
from kam.accounts.services import account_create
from kam.core import clock
from kam.core.errors import ValidationFailed
from kam.methodology import registry
from kam.methodology.grading import NUMBER_INPUTS
from kam.opportunities import process
from kam.opportunities.services import opportunity_create

D = Decimal


def win(rep, account, amount, at: dt.datetime, *, margins=(), name="Deal"):
    """A deal won at `at` (local time), with contract-signed milestones of `margins`."""
    with clock.freeze(at):
        opp = opportunity_create(
            actor=rep,
            account=account,
            name=name,
            amount=amount,
            expected_close=at.date(),
            stage="negotiation",
        )
        for i, margin in enumerate(margins or (None,)):
            process.milestone_record(
                actor=rep,
                opportunity=opp,
                kind="contract_signed",
                date=at.date() - dt.timedelta(days=len(margins) - i),
                margin=margin,
            )
        process.opportunity_close(actor=rep, opportunity=opp, outcome="won")
    return opp


def record(rep, account, day: dt.date, amount, profit=None):
    with clock.freeze(dt.datetime(2030, 1, 1, 12)):
        return revenue_record_add(
            actor=rep, account=account, date=day, amount=amount, profit=profit
        )


@pytest.fixture
def acme(world):
    return account_create(actor=world.rep_a, name="Acme")


PERIOD = grading.Period(start=dt.date(2025, 3, 16), end=dt.date(2026, 3, 15))


def test_deals_won_on_the_first_and_last_day_count_the_days_outside_do_not(world, acme):
    # given: four deals won around the period's edges (local time, Asia/Shanghai)
    win(world.rep_a, acme, 1, dt.datetime(2025, 3, 15, 23, 59, 30))  # the day before
    win(world.rep_a, acme, 10, dt.datetime(2025, 3, 16, 0, 0, 30))  # the start date
    win(world.rep_a, acme, 100, dt.datetime(2026, 3, 15, 23, 59, 30))  # the end date
    win(world.rep_a, acme, 1000, dt.datetime(2026, 3, 16, 0, 0, 30))  # the day after
    # when
    totals = grading.revenue_totals(PERIOD)
    # then
    assert (totals[acme.pk].revenue, totals[acme.pk].deals) == (D("110.00"), 2)


def test_revenue_records_count_by_their_date(world, acme):
    # given
    for day, amount in [
        ((2025, 3, 15), 1),
        ((2025, 3, 16), 20),
        ((2026, 3, 15), 300),
        ((2026, 3, 16), 4000),
    ]:
        record(world.rep_a, acme, dt.date(*day), amount)
    # when
    totals = grading.revenue_totals(PERIOD)
    # then
    assert (totals[acme.pk].revenue, totals[acme.pk].records) == (D("320.00"), 2)


def test_only_won_deals_count(world, acme):
    # given: an open deal and a lost one beside a won one
    win(world.rep_a, acme, 500, dt.datetime(2025, 6, 1, 12))
    opportunity_create(
        actor=world.rep_a,
        account=acme,
        name="open",
        amount=9000,
        expected_close=dt.date(2025, 7, 1),
    )
    lost = opportunity_create(
        actor=world.rep_a,
        account=acme,
        name="lost",
        amount=7000,
        expected_close=dt.date(2025, 7, 1),
    )
    with clock.freeze(dt.datetime(2025, 6, 2, 12)):
        process.opportunity_close(
            actor=world.rep_a, opportunity=lost, outcome="lost", reason="price"
        )
    # then
    assert grading.revenue_totals(PERIOD)[acme.pk].revenue == D("500.00")


def test_profit_from_the_latest_contract_margin_and_the_records(world, acme):
    # given: a deal with two contract-signed margins (10 %, then 20 %): the latest counts;
    # a deal without a margin; a record with a profit and one without
    win(world.rep_a, acme, 1000, dt.datetime(2025, 6, 1, 12), margins=("10", "20"))
    win(world.rep_a, acme, 400, dt.datetime(2025, 6, 2, 12))
    record(world.rep_a, acme, dt.date(2025, 7, 1), 300, profit="-30")
    record(world.rep_a, acme, dt.date(2025, 7, 2), 50)
    # when
    t = grading.revenue_totals(PERIOD)[acme.pk]
    # then: 1000 × 20 % − 30 = 170; 400 + 50 had no profit figure
    assert (t.revenue, t.profit, t.unprofited, t.deals, t.records, t.with_profit) == (
        D("1750.00"),
        D("170.00"),
        D("450.00"),
        2,
        2,
        2,
    )


def test_a_later_contract_milestone_without_margin_keeps_the_stated_one(world, acme):
    # given: contract signed with 15 %, then again without a margin
    win(world.rep_a, acme, 1000, dt.datetime(2025, 6, 1, 12), margins=("15", None))
    # then
    assert grading.revenue_totals(PERIOD)[acme.pk].profit == D("150.00")


def test_profit_keeps_its_cents_when_amount_and_margin_are_whole(world, acme):
    # given: 1,001 at 15 % and 333 at 12.5 % (SQLite holds 1001 and 15 as whole
    # numbers, and divided their product by 100 as whole numbers: 150, not 150.15)
    win(world.rep_a, acme, 1001, dt.datetime(2025, 6, 1, 12), margins=("15",))
    win(world.rep_a, acme, 333, dt.datetime(2025, 6, 2, 12), margins=("12.5",))
    # when
    t = grading.revenue_totals(PERIOD)[acme.pk]
    # then: 150.15 + 41.625 = 191.775, to the cent
    assert (t.profit, t.with_profit, t.unprofited) == (D("191.78"), 2, D("0.00"))


def test_all_time_totals_ignore_the_period(world, acme):
    win(world.rep_a, acme, 10, dt.datetime(2019, 1, 5, 12))
    record(world.rep_a, acme, dt.date(2015, 1, 1), 5)
    assert grading.revenue_totals(None)[acme.pk].revenue == D("15.00")
    assert acme.pk not in grading.revenue_totals(PERIOD)


# --- the period ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("today", "months", "start"),
    [
        ((2026, 3, 15), 12, (2025, 3, 16)),
        ((2026, 3, 31), 1, (2026, 3, 1)),  # 28 Feb + 1 day
        ((2024, 2, 29), 12, (2023, 3, 1)),  # no 29 Feb in 2023
        ((2026, 1, 10), 120, (2016, 1, 11)),
    ],
)
def test_trailing_period(today, months, start):
    found = grading.trailing_period(months, today=dt.date(*today))
    assert (found.start, found.end, found.months) == (dt.date(*start), dt.date(*today), months)


def test_the_default_period_is_the_last_12_months_to_today():
    with clock.freeze(dt.datetime(2026, 3, 15, 9)):
        found = grading.period_from()
    assert (found.start, found.end, found.months) == (
        dt.date(2025, 3, 16),
        dt.date(2026, 3, 15),
        12,
    )


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"months": 0}, "months"),
        ({"months": 121}, "months"),
        ({"months": 12, "start": "2025-01-01", "end": "2025-12-31"}, "months"),
        ({"start": "2025-01-01"}, "end"),
        ({"end": "2025-01-01"}, "start"),
        ({"start": "2025-02-01", "end": "2025-01-31"}, "end"),
        ({"start": "2025-02-30", "end": "2025-03-31"}, "start"),
    ],
)
def test_bad_periods_name_the_field(kwargs, field):
    with pytest.raises(ValidationFailed) as info:
        grading.period_from(**kwargs)
    assert info.value.field == field


def test_a_one_day_period():
    found = grading.period_from(start="2025-05-05", end="2025-05-05")
    assert (found.start, found.end, found.months) == (
        dt.date(2025, 5, 5),
        dt.date(2025, 5, 5),
        None,
    )


# --- the grade's inputs ------------------------------------------------------------------


def test_grade_values(world, acme):
    # given: 1000 from a deal with a 20 % margin and 500 from a record without profit
    win(world.rep_a, acme, 1000, dt.datetime(2025, 6, 1, 12), margins=("20",))
    record(world.rep_a, acme, dt.date(2025, 7, 1), 500)
    t = grading.revenue_totals(None)[acme.pk]
    # when
    values = grading.grade_values(
        {
            "industry": "汽车",
            "size": "",
            "nature": "soe",
            "collection_cycle_days": None,
            "receivables": D(0),
            "value_positioning": 4,
        },
        t,
        D("64.0"),
    )
    # then
    assert values == {
        "revenue_total": D("1500.00"),
        "profit_total": D("200.00"),
        "average_deal": D("750.00"),
        "collection_cycle": None,
        "receivables": D(0),
        "value_positioning": 4,
        "purchase_criteria": D("64.0"),
        "industry": "汽车",
        "size": None,
        "nature": "soe",
    }


def test_profit_is_missing_when_no_revenue_says_what_it_earned_and_zero_without_revenue():
    unknown = grading.Totals(revenue=D(100), unprofited=D(100), records=1)
    assert grading.grade_values({}, unknown, None)["profit_total"] is None
    nothing = grading.grade_values({}, grading.Totals(), None)
    assert (nothing["revenue_total"], nothing["profit_total"], nothing["average_deal"]) == (
        D("0.00"),
        D("0.00"),
        D("0.00"),
    )


def test_needs_match_is_importance_weighted_fit():
    # Σ importance × fit / (5 × Σ importance) × 100: (5·4 + 1·1) / (5·6) = 70 %
    assert grading.needs_match(5 * 4 + 1 * 1, 6) == D("70.0")
    assert grading.needs_match(None, None) is None


# --- a fixed number of queries --------------------------------------------------------


def _book(world, n: int) -> None:
    for i in range(n):
        account = account_create(actor=world.rep_a, name=f"A{i:02d}")
        record(world.rep_a, account, dt.date(2025, 6, 1), 100 + i, profit=10)
        if i % 3 == 0:
            win(world.rep_a, account, 1000 + i, dt.datetime(2025, 6, 1, 12), margins=("12",))


@pytest.mark.parametrize("n", [3, 30])
def test_the_report_costs_three_queries_and_the_grades_five(world, django_assert_num_queries, n):
    # given
    _book(world, n)
    # then
    with django_assert_num_queries(3):
        report = grading.grading_report(world.manager_east, PERIOD)
    assert report.visible == n
    with django_assert_num_queries(4):
        grades = grading.grades_for_book(report.book_rows)
    assert len(grades) == n
    with django_assert_num_queries(5):
        grading.grades_for_user(world.rep_a)
    account = Account.objects.get(name="A01")
    with django_assert_num_queries(6):
        found = grading.account_grade(account, PERIOD)
    assert found.book == n


@pytest.fixture
def all_relative(monkeypatch):
    """The shipped grading model with every number input graded against the book's
    maximum (`relative`), so each way of finding a maximum is used."""
    model = registry.current().grading
    data = model.model_dump()
    for group in data["groups"]:
        for i, indicator in enumerate(group["indicators"]):
            if indicator["key"] in NUMBER_INPUTS:
                group["indicators"][i] = {k: indicator[k] for k in ("key", "name", "weight")} | {
                    "method": "relative"
                }
    monkeypatch.setattr(registry.current(), "grading", type(model).model_validate(data))


def test_an_accounts_own_grade_and_place_are_those_of_the_whole_book(world, all_relative):
    """The account page grades one account from the book's totals (not its rows): the
    same grade, rank and tier as the dashboard gives each account, including one
    without revenue, one without needs and one that owes nothing."""
    # given
    accounts = []
    for i, (cycle, owed, rating) in enumerate([(60, 500, 3), (None, 0, None), (120, 9000, 5)]):
        account = account_create(
            actor=world.rep_a,
            name=f"B{i}",
            collection_cycle_days=cycle,
            receivables=owed,
            value_positioning=rating,
        )
        accounts.append(account)
    win(world.rep_a, accounts[0], 1000, dt.datetime(2025, 6, 1, 12), margins=("20",))
    record(world.rep_a, accounts[2], dt.date(2025, 7, 1), 400, profit=30)
    record(world.rep_a, accounts[2], dt.date(2024, 1, 1), 900)
    needs_set(
        actor=world.rep_a,
        account=accounts[0],
        needs=[{"dimension": "quality", "importance": 5, "our_fit": 2}],
    )
    needs_set(
        actor=world.rep_a,
        account=accounts[2],
        needs=[{"dimension": "price", "importance": 3, "our_fit": 5}],
    )
    # when
    report = grading.grading_report(world.manager_east, PERIOD)
    book = grading.grades_for_book(report.book_rows)
    # then
    assert {r.id for r in report.rows} == {a.pk for a in accounts}
    best_needs = [i for g in book[accounts[2].pk].groups for i in g.indicators]
    assert next(i.score for i in best_needs if i.key == "purchase_criteria") == 100
    for row in report.rows:
        found = grading.account_grade(Account.objects.get(pk=row.id), PERIOD)
        assert found.grade == book[row.id]
        assert (found.rank, found.pyramid_tier, found.book) == (row.rank, row.tier, 3)
