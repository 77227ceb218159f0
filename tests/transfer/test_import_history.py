"""What an import leaves behind: re-importing a file does not duplicate (codes, names,
revenue's external keys), an edited file updates with one event per change, a
contact's boss is found by code or name wherever it is in the file, a user changes
only what is theirs, and an imported deal carries its past — the stage dates become
`created` and `advanced` events, so the stalled rule, the pipeline's progress and the
won day read it like a deal worked in KAM."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from kam.accounts.models import Account, RevenueRecord
from kam.accounts.services import account_create
from kam.contacts.models import Contact
from kam.core.i18n import show
from kam.core.models import Event
from kam.opportunities.assess import assess
from kam.opportunities.models import Opportunity
from kam.opportunities.pipeline import parse_filters, pipeline_report
from kam.opportunities.services import opportunity_create
from kam.partners.programmes import won_on
from kam.transfer import importer
from tests.transfer.conftest import (
    ACCOUNT_HEADERS,
    CONTACT_HEADERS,
    DEAL_HEADERS,
    REVENUE_HEADERS,
    account_row,
    deal_row,
    errors,
    fingerprint,
    problems,
    tallies,
    write_csv,
    write_xlsx,
)


def nine(day: dt.date) -> dt.datetime:
    """09:00 local time that day: when a day-dated fact is recorded."""
    return timezone.make_aware(dt.datetime.combine(day, dt.time(9, 0)))


def workbook(tmp_path, *, amount="100000", name="book.xlsx", revenue="80000"):
    """A workbook of every kind, referring across sheets; the boss 李总 comes after the
    people who report to him."""
    return write_xlsx(
        tmp_path / name,
        {
            "客户": [
                ACCOUNT_HEADERS,
                account_row("A1", "华东机械", owner="rep_a", nature="民营", revenue="5,000,000"),
                account_row("", "无编码客户", owner="rep_a"),
            ],
            "联系人": [
                CONTACT_HEADERS,
                ["C1", "A1", "王工", "采购经理", "C3"],
                ["", "华东机械", "赵工", "技术员", "李总"],
                ["C3", "A1", "李总", "副总经理", ""],
                ["", "无编码客户", "孙经理", "经理", ""],
            ],
            "销售机会": [
                DEAL_HEADERS,
                deal_row(
                    "D1",
                    "A1",
                    "三号线改造",
                    "rep_a",
                    amount,
                    "2026-12-31",
                    "proposal",
                    "2026-01-05; 2026-02-10; 2026-03-01",
                    "criteria",
                ),
                deal_row("", "无编码客户", "备件", "rep_a", "5000", "2026-09-30"),
            ],  # fmt: skip
            "历史收入": [
                REVENUE_HEADERS,
                ["R1", "A1", "2025-03-31", revenue, "12000"],
                ["", "无编码客户", "2025-06-30", "3000", ""],
            ],
        },
    )


@pytest.fixture
def imported(tmp_path, world, today):
    report = importer.write(workbook(tmp_path), actor=world.admin)
    assert errors(report) == []
    assert report.written is True
    return report


# --- re-importing ------------------------------------------------------------------------


def test_a_workbook_of_every_kind_imports_with_its_references(imported, world):
    assert tallies(imported) == [
        ("客户", 2, 2, 0, 0, 0),
        ("联系人", 4, 4, 0, 0, 0),
        ("销售机会", 2, 2, 0, 0, 0),
        ("历史收入", 2, 2, 0, 0, 0),
    ]
    bosses = dict(Contact.objects.values_list("name", "reports_to__name"))
    assert bosses == {"王工": "李总", "赵工": "李总", "李总": None, "孙经理": None}
    assert Contact.objects.get(name="王工").code == "C1"
    a1 = Account.objects.get(code="A1")
    assert (a1.owner, a1.nature, a1.annual_revenue) == (world.rep_a, "private", Decimal("5e6"))
    assert list(RevenueRecord.objects.order_by("date").values_list("external_key", "amount")) == [
        ("R1", Decimal("80000.00")),
        (None, Decimal("3000.00")),
    ]


def test_the_same_file_again_changes_nothing_and_records_no_event(tmp_path, imported, world):
    # given
    before = fingerprint()
    # when
    report = importer.write(workbook(tmp_path, name="again.xlsx"), actor=world.admin)
    # then
    assert (report.written, problems(report)) == (True, [])
    assert tallies(report) == [
        ("客户", 2, 0, 0, 2, 0),
        ("联系人", 4, 0, 0, 4, 0),
        ("销售机会", 2, 0, 0, 2, 0),
        ("历史收入", 2, 0, 0, 2, 0),
    ]
    assert fingerprint() == before


def test_an_edited_amount_updates_the_deal_with_one_updated_event(tmp_path, imported, world):
    # given
    deal = Opportunity.objects.get(code="D1")
    events = Event.objects.count()
    # when
    report = importer.write(workbook(tmp_path, amount="120000", name="v2.xlsx"), actor=world.admin)
    # then
    assert tallies(report)[2] == ("销售机会", 2, 0, 1, 1, 0)
    assert [row[:2] for row in report.tallies[2].preview] == [(2, "updated"), (3, "unchanged")]
    deal.refresh_from_db()
    assert deal.amount == Decimal("120000")
    new = list(Event.objects.filter(pk__gt=0).order_by("-id")[: Event.objects.count() - events])
    assert [(e.entity, e.entity_id, e.action, e.before, e.after) for e in new] == [
        ("opportunity", deal.pk, "updated", {"amount": "100000.00"}, {"amount": "120000"})
    ]


def test_revenue_with_a_known_key_and_other_figures_is_kept_with_a_warning(
    tmp_path, imported, world
):
    # given
    before = fingerprint()
    # when
    report = importer.write(workbook(tmp_path, revenue="90000", name="v2.xlsx"), actor=world.admin)
    # then
    assert problems(report) == [
        (
            "历史收入",
            2,
            "External key",
            "Revenue “R1” was imported before with other figures; the record in KAM is kept. "
            "Delete it on the account's page to import it again.",
            True,
        )
    ]
    assert tallies(report)[3] == ("历史收入", 2, 0, 0, 2, 0)
    assert fingerprint() == before


def test_a_deal_in_kam_keeps_its_stage_and_status_but_its_fields_update(tmp_path, imported, world):
    # given: the file now says bidding and won, and a new amount and buyer stage
    deal = Opportunity.objects.get(code="D1")
    path = write_csv(
        tmp_path / "deals.csv",
        [DEAL_HEADERS, deal_row("D1", "A1", "三号线改造（二期）", "rep_a", "150000", "2027-03-31",
                                "bidding", "", "evaluation", "won", "2026-06-01")],
    )  # fmt: skip
    # when
    report = importer.write(path, actor=world.admin)
    # then
    assert report.written is True
    assert problems(report) == [
        (
            "Opportunities",
            2,
            "Stage",
            "Kept at Proposal (Open) as in KAM: a deal moves through its key nodes on its "
            "page, not by import.",
            True,
        )
    ]
    deal.refresh_from_db()
    assert (deal.stage, deal.status, deal.closed_at) == ("proposal", "open", None)
    assert (deal.name, deal.amount, deal.expected_close, deal.buyer_stage) == (
        "三号线改造（二期）",
        Decimal("150000"),
        dt.date(2027, 3, 31),
        "evaluation",
    )
    actions = list(
        Event.objects.filter(opportunity_id=deal.pk, at__date=dt.date(2026, 6, 15))
        .order_by("id")
        .values_list("action", flat=True)
    )
    assert actions == ["updated", "buyer_stage_changed"]


def test_rows_without_codes_match_by_name(tmp_path, imported, world):
    # given: only the rows without codes, the deal's amount changed
    path = write_xlsx(
        tmp_path / "names.xlsx",
        {
            "Accounts": [["Name", "Account manager"], ["无编码客户", "rep_a"]],
            "Contacts": [["Account", "Name", "Title"], ["无编码客户", "孙经理", "总经理"]],
            "Opportunities": [
                ["Account", "Name", "Amount", "Expected close"],
                ["无编码客户", "备件", "6000", "2026-09-30"],
            ],
            "Revenue": [["Account", "Date", "Revenue"], ["无编码客户", "2025-06-30", "3000"]],
        },
    )
    counts = (Account.objects.count(), Contact.objects.count(), Opportunity.objects.count())
    # when
    report = importer.write(path, actor=world.admin)
    # then
    assert tallies(report) == [
        ("Accounts", 1, 0, 0, 1, 0),
        ("Contacts", 1, 0, 1, 0, 0),
        ("Opportunities", 1, 0, 1, 0, 0),
        ("Revenue", 1, 0, 0, 1, 0),
    ]
    assert (Account.objects.count(), Contact.objects.count(), Opportunity.objects.count()) == (
        counts
    )
    assert Contact.objects.get(name="孙经理").title == "总经理"
    assert Opportunity.objects.get(name="备件").amount == Decimal("6000")
    assert RevenueRecord.objects.count() == 2


# --- contacts' bosses ----------------------------------------------------------------------


def test_a_boss_is_found_by_code_or_name_later_in_the_file(tmp_path, world, today):
    # given
    account_create(actor=world.rep_a, name="华东机械", code="A1")
    path = write_csv(
        tmp_path / "c.csv",
        [
            CONTACT_HEADERS,
            ["", "A1", "员工甲", "", "部门经理"],
            ["M1", "A1", "部门经理", "", "G1"],
            ["G1", "A1", "总经理", "", ""],
        ],
    )
    # when
    report = importer.write(path, actor=world.rep_a)
    # then
    assert (report.written, errors(report)) == (True, [])
    bosses = dict(Contact.objects.values_list("name", "reports_to__name"))
    assert bosses == {"员工甲": "部门经理", "部门经理": "总经理", "总经理": None}


def test_a_reporting_circle_is_an_error_and_nothing_is_written(tmp_path, world, today):
    # given
    account_create(actor=world.rep_a, name="华东机械", code="A1")
    path = write_csv(
        tmp_path / "c.csv",
        [CONTACT_HEADERS, ["C1", "A1", "甲", "", "C2"], ["C2", "A1", "乙", "", "C1"]],
    )
    before = fingerprint()
    # when
    report = importer.write(path, actor=world.rep_a)
    # then
    assert errors(report) == [
        ("Contacts", 3, "上级", "乙 cannot report to 甲: that would make a reporting circle.")
    ]
    assert tallies(report) == [("Contacts", 2, 1, 0, 0, 1)]
    assert fingerprint() == before


def test_a_boss_nowhere_to_be_found_is_an_error(tmp_path, world, today):
    account_create(actor=world.rep_a, name="华东机械", code="A1")
    path = write_csv(tmp_path / "c.csv", [CONTACT_HEADERS, ["C1", "A1", "甲", "", "老板"]])
    before = fingerprint()
    report = importer.write(path, actor=world.rep_a)
    assert errors(report) == [
        ("Contacts", 2, "上级", "No contact “老板” at 华东机械 (by code or name) to report to.")
    ]
    assert fingerprint() == before


# --- whose records a user may change -------------------------------------------------------


@pytest.fixture
def rep_a_account(world, today):
    return account_create(actor=world.rep_a, name="华东机械", code="A1", industry="机械")


def renaming(tmp_path):
    return write_csv(tmp_path / "a.csv", [["Code", "Name", "Industry"], ["A1", "华东重工", "重工"]])


def test_a_rep_cannot_change_another_reps_account_by_its_code(tmp_path, world, rep_a_account):
    # given
    before = fingerprint()
    # when
    report = importer.write(renaming(tmp_path), actor=world.rep_b)
    # then
    assert errors(report) == [
        ("Accounts", 2, "Code", "The code “A1” belongs to an account you cannot change.")
    ]
    assert fingerprint() == before


@pytest.mark.parametrize("who", ["manager_east", "admin"])
def test_the_reps_manager_and_an_admin_can(tmp_path, world, rep_a_account, who):
    # when
    report = importer.write(renaming(tmp_path), actor=getattr(world, who))
    # then
    assert (report.written, tallies(report)) == (True, [("Accounts", 1, 0, 1, 0, 0)])
    rep_a_account.refresh_from_db()
    assert (rep_a_account.name, rep_a_account.industry) == ("华东重工", "重工")


def test_another_teams_manager_cannot(tmp_path, world, rep_a_account):
    before = fingerprint()
    report = importer.write(renaming(tmp_path), actor=world.manager_west)
    assert errors(report) == [
        ("Accounts", 2, "Code", "The code “A1” belongs to an account you cannot change.")
    ]
    assert fingerprint() == before


def test_a_rep_cannot_change_another_reps_deal_by_its_code(tmp_path, world, imported):
    # given: rep_b sells at A1 too (so sees the account), D1 is rep_a's
    a1 = Account.objects.get(code="A1")
    opportunity_create(
        actor=world.admin, account=a1, name="B's", amount="1", expected_close="2026-12-31",
        owner=world.rep_b,
    )  # fmt: skip
    path = write_csv(tmp_path / "d.csv", [DEAL_HEADERS, deal_row("D1", "A1", amount="1")])
    before = fingerprint()
    # when
    report = importer.write(path, actor=world.rep_b)
    # then
    assert errors(report) == [
        ("Opportunities", 2, "Code", "The code “D1” belongs to a deal you cannot change.")
    ]
    assert fingerprint() == before


def test_a_deal_is_not_imported_to_an_account_out_of_sight(tmp_path, world, imported):
    path = write_csv(tmp_path / "d.csv", [DEAL_HEADERS, deal_row("D9", "A1", amount="1")])
    before = fingerprint()
    report = importer.write(path, actor=world.manager_west)
    assert errors(report) == [
        (
            "Opportunities",
            2,
            "Account*",
            "No account “A1” among yours (by code or exact name); add it on the accounts sheet "
            "or check the spelling.",
        )
    ]
    assert fingerprint() == before


def test_revenue_goes_only_to_accounts_the_user_may_change(tmp_path, world, rep_a_account):
    path = write_csv(tmp_path / "r.csv", [REVENUE_HEADERS, ["R9", "A1", "2025-01-31", "10", ""]])
    before = fingerprint()
    report = importer.write(path, actor=world.rep_b)
    assert errors(report)[0][:3] == ("Revenue", 2, "Account*")
    assert fingerprint() == before


# --- the past of an imported deal ---------------------------------------------------------


def test_stage_dates_become_the_created_and_advanced_events_at_nine_on_those_days(imported):
    # given
    deal = Opportunity.objects.get(code="D1")
    # then
    history = Event.objects.filter(opportunity_id=deal.pk).order_by("at", "id")
    assert [(e.action, e.at, e.before.get("stage"), e.after.get("stage")) for e in history] == [
        ("created", nine(dt.date(2026, 1, 5)), None, "development"),
        ("advanced", nine(dt.date(2026, 2, 10)), "development", "entry"),
        ("advanced", nine(dt.date(2026, 3, 1)), "entry", "proposal"),
    ]
    assert (deal.stage, deal.stage_entered_at, deal.created_at) == (
        "proposal",
        nine(dt.date(2026, 3, 1)),
        nine(dt.date(2026, 1, 5)),
    )
    assert deal.buyer_stage == "criteria"


def test_a_deal_whose_stage_was_entered_long_ago_is_stalled(imported):
    # given: D1 entered Proposal (healthy: 60 days) on 1 March; today is 15 June
    deal = Opportunity.objects.get(code="D1")
    # when
    stalled = [a for a in assess(deal).alerts if a.code == "stalled"]
    # then
    assert [(a.severity, show(a.message)) for a in stalled] == [
        ("medium", "106 days in Proposal; a healthy deal moves on within 60 days.")
    ]


def test_the_pipeline_counts_the_imported_advances_in_their_period(imported, world):
    # when
    q1 = pipeline_report(world.admin, parse_filters(world.admin, period="2026Q1"))
    q2 = pipeline_report(world.admin, parse_filters(world.admin, period="2026Q2"))
    # then
    advanced = {(r.key, r.advanced, tuple(r.days.sorted())) for r in q1.conversion if r.advanced}
    assert advanced == {("development", 1, (36,)), ("entry", 1, (19,))}
    assert {r.user: r.seller_advances for r in q1.reps if r.seller_advances} == {world.rep_a: 2}
    assert [r for r in q2.conversion if r.advanced] == []


def test_a_won_deal_counts_as_won_on_its_closing_day(tmp_path, world, today):
    # given
    account_create(actor=world.rep_a, name="华东机械", code="A1")
    path = write_csv(
        tmp_path / "won.csv",
        [DEAL_HEADERS, deal_row("W1", "A1", "一期", "rep_a", "300000", "2026-04-30", "商务谈判",
                                "2026-04-20", "", "赢单", "2026-04-28", "")],
    )  # fmt: skip
    # when
    report = importer.write(path, actor=world.admin)
    # then
    assert (report.written, errors(report)) == (True, [])
    deal = Opportunity.objects.get(code="W1")
    assert (deal.status, deal.stage, deal.closed_at) == (
        "won",
        "negotiation",
        nine(dt.date(2026, 4, 28)),
    )
    assert won_on(deal) == dt.date(2026, 4, 28)
    history = Event.objects.filter(opportunity_id=deal.pk).order_by("at", "id")
    assert [(e.action, e.at) for e in history] == [
        ("created", nine(dt.date(2026, 4, 20))),
        ("closed", nine(dt.date(2026, 4, 28))),
    ]
    q2 = pipeline_report(world.admin, parse_filters(world.admin, period="2026Q2"))
    assert (q2.outcomes.won, q2.outcomes.won_amount) == (1, Decimal("300000"))
    assert q2.cycle.days.sorted() == [8]


def test_a_lost_deal_without_stage_dates_is_dated_by_its_closing_day_and_keeps_its_reason(
    tmp_path, world, today
):
    account_create(actor=world.rep_a, name="华东机械", code="A1")
    path = write_csv(
        tmp_path / "lost.csv",
        [DEAL_HEADERS, deal_row("L1", "A1", "二期", "rep_a", "1", "2026-04-30", "bidding", "",
                                "", "lost", "2026-05-02", "价格")],
    )  # fmt: skip
    report = importer.write(path, actor=world.admin)
    assert (report.written, errors(report)) == (True, [])
    deal = Opportunity.objects.get(code="L1")
    assert (deal.status, deal.close_reason, deal.stage_entered_at, deal.closed_at) == (
        "lost",
        "价格",
        nine(dt.date(2026, 5, 2)),
        nine(dt.date(2026, 5, 2)),
    )
    history = Event.objects.filter(opportunity_id=deal.pk).order_by("at", "id")
    assert [(e.action, e.at, e.note) for e in history] == [
        ("created", nine(dt.date(2026, 5, 2)), ""),
        ("closed", nine(dt.date(2026, 5, 2)), "价格"),
    ]
