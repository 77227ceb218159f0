"""`importer.check` / `importer.write` on files with wrong headers, bad values and bad
references: every problem is reported on its sheet, row (the spreadsheet's: the header
is row 1) and column (as written in the file), in the user's language, and nothing is
written — the whole database is as before (`fingerprint`). One bad row keeps the whole
file out unless the valid rows are asked for."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import translation

from kam.accounts.models import Account
from kam.accounts.services import account_create
from kam.core.models import Event
from kam.opportunities.models import Opportunity
from kam.transfer import importer
from tests.transfer.conftest import (
    ACCOUNT_HEADERS,
    DEAL_HEADERS,
    account_row,
    deal_row,
    errors,
    fingerprint,
    in_chinese,
    problems,
    tallies,
    write_csv,
    write_xlsx,
)


def refused(path, actor, **kwargs) -> importer.Report:
    """Check, then write: both find the same errors, and nothing is written."""
    before = fingerprint()
    checked = importer.check(path, actor=actor, **kwargs)
    report = importer.write(path, actor=actor, **kwargs)
    assert report.written is False
    assert errors(report) == errors(checked)
    assert fingerprint() == before
    return report


def accepted(path, actor, **kwargs) -> importer.Report:
    report = importer.write(path, actor=actor, **kwargs)
    assert errors(report) == []
    assert report.written is True
    return report


@pytest.fixture
def east(world, today):
    """Account A1 华东机械 of rep_a (East), on the pinned day."""
    return account_create(actor=world.rep_a, name="华东机械", code="A1")


# --- headers -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [
        ["客户编码", "客户名称", "客户经理", "企业性质"],
        ["Code", "Name*", "Account manager", "Ownership nature"],
        ["code", "name", "owner", "nature"],
        ["  CODE ", "客户名称 *", "ACCOUNT  MANAGER", "ownership NATURE"],
    ],
    ids=["chinese", "english", "keys", "case-and-spaces"],
)
def test_headers_in_chinese_english_or_keys_with_any_case_spaces_and_stars_are_read(
    tmp_path, world, headers
):
    # given
    path = write_csv(tmp_path / "a.csv", [headers, ["A7", "华北重工", "rep_a", "State-owned"]])
    # when
    report = accepted(path, world.admin)
    # then
    assert problems(report) == []
    account = Account.objects.get(code="A7")
    assert (account.name, account.owner, account.nature) == ("华北重工", world.rep_a, "soe")


@pytest.mark.parametrize(
    ("language", "sheet", "column", "message"),
    [
        (
            "en",
            "Opportunities",
            "Amount",
            "The column “Amount” is missing; every row needs it (see the template).",
        ),
        (
            "zh-hans",
            "销售机会",
            "金额",
            in_chinese(
                "The column “%(name)s” is missing; every row needs it (see the template).",
                name="金额",
            ),
        ),
    ],
)
def test_a_missing_required_column_is_named_in_the_users_language(
    tmp_path, east, world, language, sheet, column, message
):
    """The deals' CSV lacks its amount column: it is still read as deals (not as
    accounts, whose Code and Name it has) and the missing column is named."""
    # given
    headers = [h for h in DEAL_HEADERS if h != "Amount*"]
    row = [v for h, v in zip(DEAL_HEADERS, deal_row(), strict=True) if h != "Amount*"]
    path = write_csv(tmp_path / "deals.csv", [headers, row])
    # when
    with translation.override(language):
        report = refused(path, world.admin)
    # then
    assert problems(report) == [(sheet, 1, column, message, False)]
    assert report.tallies == []


def test_two_columns_for_one_field_are_an_error_naming_both(tmp_path, world):
    # given
    path = write_csv(tmp_path / "a.csv", [["Code", "客户名称", "Name*"], ["A1", "华东", "East"]])
    # when
    report = refused(path, world.admin)
    # then
    assert errors(report) == [
        ("Accounts", 1, "Name*", "Two columns hold Name (“客户名称” and “Name*”); keep one.")
    ]


def test_an_unknown_column_is_a_warning_and_the_rest_is_imported(tmp_path, world):
    # given
    path = write_csv(tmp_path / "a.csv", [["Code", "Name", "Colour"], ["A1", "Acme", "blue"]])
    # when
    report = accepted(path, world.admin)
    # then
    assert problems(report) == [
        ("Accounts", 1, "Colour", "Column not imported: no field is called “Colour”.", True)
    ]
    assert Account.objects.get(code="A1").name == "Acme"


def test_an_unknown_sheet_is_a_warning_and_the_instructions_sheet_is_passed_over(tmp_path, world):
    # given
    path = write_xlsx(
        tmp_path / "book.xlsx",
        {
            "说明": [["列", "必填", "示例"], ["客户名称", "是", "示例客户"]],
            "客户": [ACCOUNT_HEADERS, account_row("A1", "华东机械")],
            "Sheet2": [["Fruit", "Price"], ["apple", 3]],
            "Empty": [],
        },
    )
    # when
    report = accepted(path, world.admin)
    # then
    assert problems(report) == [
        (
            "Sheet2",
            1,
            "",
            "This sheet was not read: its name and headers match none of Accounts, Contacts, "
            "Opportunities, Revenue. Start from the template: its headers tell what goes "
            "where.",
            True,
        )
    ]
    assert tallies(report) == [("客户", 1, 1, 0, 0, 0)]
    assert list(Account.objects.values_list("code", "name")) == [("A1", "华东机械")]


def test_a_csv_whose_headers_match_no_kind_is_an_error(tmp_path, world):
    path = write_csv(tmp_path / "x.csv", [["Fruit", "Price"], ["apple", "3"]])
    report = refused(path, world.admin)
    assert errors(report) == [
        (
            "x.csv",
            1,
            "",
            "This sheet was not read: its name and headers match none of Accounts, Contacts, "
            "Opportunities, Revenue. Start from the template: its headers tell what goes "
            "where.",
        )
    ]


def test_a_file_with_headers_and_no_rows_imports_nothing_without_error(tmp_path, world):
    path = write_csv(tmp_path / "a.csv", [ACCOUNT_HEADERS])
    report = importer.write(path, actor=world.admin)
    assert (report.problems, tallies(report), report.written) == (
        [],
        [("Accounts", 0, 0, 0, 0, 0)],
        True,
    )


def test_a_header_below_blank_lines_counts_rows_as_the_spreadsheet_does(tmp_path, world):
    # given: two blank rows, the header on row 3, a blank row 5, a bad row 6
    path = write_xlsx(
        tmp_path / "book.xlsx",
        {
            "Accounts": [
                [],
                [],
                ACCOUNT_HEADERS,
                account_row("A1", "华东"),
                [],
                account_row("A2", "华南", nature="国营"),
            ]
        },
    )
    # when
    report = refused(path, world.admin)
    # then
    assert errors(report) == [
        (
            "Accounts",
            6,
            "企业性质",
            "“国营” is not one of: State-owned, Private, Foreign-owned, Joint venture, Public "
            "institution.",
        )
    ]


# --- values ------------------------------------------------------------------------------

DATE_HELP = "is not a date; write it as YYYY-MM-DD, e.g. 2026-03-05."
STAGES = "Development, Sales entry, Proposal, Bidding, Commercial negotiation, Implementation"
BUYER_STAGES = (
    "Problem and need, Information search, Project approval, buying team formed, Purchase "
    "criteria, Evaluation and comparison, Preferred supplier chosen, Commercial negotiation, "
    "Contract signed"
)
WON_TOO_EARLY = (
    "A won deal has passed Commercial negotiation (the contract is signed there); it is at "
    "Proposal."
)

DEAL_CASES = {
    "month 13": (
        {"close": "2026-13-01"},
        "Expected close*",
        f"“2026-13-01” {DATE_HELP}",
    ),
    "next week": ({"close": "next week"}, "Expected close*", f"“next week” {DATE_HELP}"),
    "no close": ({"close": ""}, "Expected close*", "This field is required."),
    "words for money": (
        {"amount": "a lot"},
        "Amount*",
        "“a lot” is not an amount; write a number such as 1250000.00.",
    ),
    "negative": ({"amount": "-5"}, "Amount*", "The amount cannot be negative."),
    "fen": ({"amount": "1.005"}, "Amount*", "Use at most two decimal places."),
    "no amount": ({"amount": ""}, "Amount*", "This field is required."),
    "no name": ({"name": ""}, "Name*", "This field is required."),
    "unknown status": (
        {"status": "maybe"},
        "Status",
        "“maybe” is not one of: Open, Won, Lost, Abandoned.",
    ),
    "unknown stage": (
        {"stage": "closing"},
        "Stage",
        f"Unknown stage “closing” in Standard process (6 stages); use one of: {STAGES}.",
    ),
    "unknown buyer stage": (
        {"buyer": "dreaming"},
        "Buyer stage",
        f"Unknown buyer stage “dreaming”; use one of: {BUYER_STAGES}.",
    ),
    "unknown owner": (
        {"owner": "nobody"},
        "Owner",
        "No user “nobody”; write a login name, e.g. admin.",
    ),
    "unknown account": (
        {"account": "Z9"},
        "Account*",
        "No account “Z9” among yours (by code or exact name); add it on the accounts sheet "
        "or check the spelling.",
    ),
    "no account": ({"account": ""}, "Account*", "This field is required."),
    "too few stage dates": (
        {"stage": "proposal", "dates": "2026-01-05; 2026-02-10"},
        "Stage entry dates",
        "Give one date (the day the current stage was entered) or one per stage from "
        "Development to Proposal: 3 dates, not 2.",
    ),
    "stage dates going back": (
        {"stage": "proposal", "dates": "2026-03-01; 2026-02-10; 2026-04-01"},
        "Stage entry dates",
        "The stage dates go back in time; list them from the first stage to the current.",
    ),
    "stage entered tomorrow": (
        {"stage": "entry", "dates": "2026-06-16"},
        "Stage entry dates",
        "The stage cannot have been entered in the future.",
    ),
    "a stage date that is not one": (
        {"stage": "entry", "dates": "2026-01-05、soon"},
        "Stage entry dates",
        f"“soon” {DATE_HELP}",
    ),
    "won before the winning stage": (
        {"stage": "proposal", "status": "won", "closed_on": "2026-05-01"},
        "Stage",
        WON_TOO_EARLY,
    ),
    "lost without a reason": (
        {"stage": "bidding", "status": "lost", "closed_on": "2026-05-01"},
        "Close reason",
        "This field is required.",
    ),
    "closed without a day": (
        {"status": "丢单", "reason": "price"},
        "Closed on",
        "This field is required.",
    ),
    "closed tomorrow": (
        {"status": "lost", "reason": "price", "closed_on": "2026-06-16"},
        "Closed on",
        "This date is in the future; enter the day it happened (today at the latest).",
    ),
    "closed before the stage was entered": (
        {
            "stage": "bidding",
            "dates": "2026-05-01",
            "status": "lost",
            "reason": "price",
            "closed_on": "2026-04-30",
        },
        "Closed on",
        "The deal closed before it entered its current stage; check the dates.",
    ),  # fmt: skip
    "open with a closing day": (
        {"closed_on": "2026-05-01"},
        "Closed on",
        "An open deal has no closing date; clear it or set the status.",
    ),
    "open with a close reason": (
        {"reason": "price"},
        "Close reason",
        "An open deal has no close reason; clear it or set the status.",
    ),
}


@pytest.mark.parametrize("case", list(DEAL_CASES), ids=list(DEAL_CASES))
def test_a_bad_deal_row_is_reported_on_its_row_and_column_and_nothing_is_written(
    tmp_path, world, east, case
):
    # given: a good row 2, the bad row 3
    change, column, message = DEAL_CASES[case]
    path = write_csv(
        tmp_path / "deals.csv",
        [DEAL_HEADERS, deal_row("D1"), deal_row("D2", **{"name": "Second line", **change})],
    )
    # when
    report = refused(path, world.admin)
    # then
    assert problems(report) == [("Opportunities", 3, column, message, False)]
    assert tallies(report) == [("Opportunities", 2, 1, 0, 0, 1)]


def test_an_unknown_playbook_is_named_with_the_known_ones(tmp_path, world, east):
    path = write_csv(
        tmp_path / "deals.csv",
        [
            ["Account", "Name", "Amount", "Expected close", "销售流程"],
            ["A1", "X", "1", "2027-01-01", "agile"],
        ],
    )
    report = refused(path, world.admin)
    assert errors(report) == [
        (
            "Opportunities",
            2,
            "销售流程",
            "Unknown playbook “agile”; use one of: milestones-5, standard-6.",
        )
    ]


def test_amounts_are_read_with_thousands_separators_and_the_yuan_sign(tmp_path, world, east):
    # given
    rows = [DEAL_HEADERS]
    for i, amount in enumerate(["1,250,000.50", "¥3,000", "￥ 12", "8，000"], start=1):
        rows.append(deal_row(f"D{i}", name=f"Deal {i}", amount=amount))
    path = write_csv(tmp_path / "deals.csv", rows)
    # when
    accepted(path, world.admin)
    # then
    amounts = Opportunity.objects.order_by("code").values_list("amount", flat=True)
    assert [str(a) for a in amounts] == ["1250000.50", "3000.00", "12.00", "8000.00"]


def test_a_rep_cannot_give_a_deal_to_a_rep_of_another_team(tmp_path, world, east):
    # given
    path = write_csv(tmp_path / "deals.csv", [DEAL_HEADERS, deal_row(owner="rep_c")])
    # when
    with translation.override("zh-hans"):
        report = refused(path, world.rep_a)
    # then
    assert problems(report) == [
        ("销售机会", 2, "Owner", "不能将记录分配给 rep_c:对方不在您的团队中。", False)
    ]


def test_a_rep_may_give_a_deal_to_themselves_and_a_manager_to_their_team(tmp_path, world, east):
    # given
    path = write_csv(
        tmp_path / "deals.csv",
        [DEAL_HEADERS, deal_row("D1", owner="rep_a"), deal_row("D2", name="B", owner="rep_b")],
    )
    # when
    refused(path, world.rep_a)  # rep_b is not rep_a's to give to
    accepted(path, world.manager_east)
    # then
    assert dict(Opportunity.objects.values_list("code", "owner__username")) == {
        "D1": "rep_a",
        "D2": "rep_b",
    }


def test_an_account_named_twice_must_be_given_by_code(tmp_path, world, today):
    # given
    account_create(actor=world.admin, name="重名客户")
    account_create(actor=world.admin, name="重名客户", code="K2")
    path = write_csv(
        tmp_path / "deals.csv",
        [DEAL_HEADERS, deal_row("D1", account="K2"), deal_row("D2", account="重名客户")],
    )
    # when
    report = refused(path, world.admin)
    # then
    assert errors(report) == [
        (
            "Opportunities",
            3,
            "Account*",
            "Several accounts are named “重名客户”; write the account's code.",
        )
    ]


def test_a_rep_does_not_find_an_account_they_cannot_see(tmp_path, world, east):
    path = write_csv(tmp_path / "deals.csv", [DEAL_HEADERS, deal_row(account="华东机械")])
    report = refused(path, world.rep_c)
    assert errors(report) == [
        (
            "Opportunities",
            2,
            "Account*",
            "No account “华东机械” among yours (by code or exact name); add it on the accounts "
            "sheet or check the spelling.",
        )
    ]


def test_a_code_used_twice_in_a_file_is_an_error_on_the_second_row_naming_the_first(
    tmp_path, world, east
):
    # given
    path = write_csv(
        tmp_path / "deals.csv",
        [DEAL_HEADERS, deal_row("D1"), deal_row("D2", name="B"), deal_row("D1", name="C")],
    )
    # when
    report = refused(path, world.admin)
    # then
    assert errors(report) == [
        ("Opportunities", 4, "Code", "“D1” is also on row 2; each row needs its own.")
    ]


def test_a_name_used_twice_at_one_account_without_codes_is_an_error(tmp_path, world, east):
    rows = [DEAL_HEADERS, deal_row("", name="Line 3"), deal_row("", name="Line 3")]
    report = refused(write_csv(tmp_path / "deals.csv", rows), world.admin)
    assert errors(report) == [
        ("Opportunities", 3, "Name*", "“Line 3” is also on row 2; each row needs its own.")
    ]


def test_an_account_code_used_twice_is_an_error(tmp_path, world):
    rows = [ACCOUNT_HEADERS, account_row("A1", "一"), account_row("A1", "二")]
    report = refused(write_csv(tmp_path / "a.csv", rows), world.admin)
    assert errors(report) == [
        ("Accounts", 3, "客户编码", "“A1” is also on row 2; each row needs its own.")
    ]


def test_values_read_in_chinese_and_english_and_shorthand(tmp_path, world):
    # given
    path = write_csv(
        tmp_path / "a.csv",
        [
            ["Code", "Name", "Ownership nature", "Size", "Collection cycle (days)", "备注"],
            ["A1", "一", "国企", "", "90", ""],
            ["A2", "二", "Private", "", "", ""],
            ["A3", "三", "jv", "", "", ""],
        ],
    )
    # when
    accepted(path, world.admin)
    # then
    assert dict(Account.objects.values_list("code", "nature")) == {
        "A1": "soe",
        "A2": "private",
        "A3": "jv",
    }
    assert Account.objects.get(code="A1").collection_cycle_days == 90


# --- every error in the user's language -----------------------------------------------------


def test_errors_are_in_chinese_for_a_chinese_user_with_the_headers_as_written(
    tmp_path, world, east
):
    # given
    path = write_csv(
        tmp_path / "deals.csv",
        [
            [
                "机会编码",
                "客户",
                "机会名称",
                "金额",
                "预计成交日期",
                "销售阶段",
                "状态",
                "结束日期",
            ],
            ["D1", "A1", "一号线", "10", "2026-12-31", "提案", "", ""],
            ["D2", "A1", "二号线", "十万", "2026-12-31", "", "", ""],
            ["D3", "A1", "三号线", "10", "下周", "", "", ""],
            ["D4", "A1", "四号线", "10", "2026-12-31", "收尾", "", ""],
            ["D5", "A1", "五号线", "10", "2026-12-31", "投标", "赢单", "2026年6月1日"],
            ["D1", "A1", "六号线", "10", "2026-12-31", "", "", ""],
        ],
        encoding="gb18030",
    )
    # when
    with translation.override("zh-hans"):
        report = refused(path, world.admin)
    # then
    date_help = "“%(value)s” is not a date; write it as YYYY-MM-DD, e.g. 2026-03-05."
    assert problems(report) == [
        (
            "销售机会",
            3,
            "金额",
            in_chinese(
                "“%(value)s” is not an amount; write a number such as 1250000.00.", value="十万"
            ),
            False,
        ),
        ("销售机会", 4, "预计成交日期", in_chinese(date_help, value="下周"), False),
        (
            "销售机会",
            5,
            "销售阶段",
            in_chinese(
                "Unknown stage “%(value)s” in %(book)s; use one of: %(names)s.",
                value="收尾",
                book="标准流程(六阶段)",
                names="开发阶段, 销售进入阶段, 提案阶段, 投标阶段, 商务谈判阶段, 工程实施阶段",
            ),
            False,
        ),
        (
            "销售机会",
            6,
            "销售阶段",
            in_chinese(
                "A won deal has passed %(stage)s (the contract is signed there); it is at "
                "%(current)s.",
                stage="商务谈判阶段",
                current="投标阶段",
            ),
            False,
        ),
        (
            "销售机会",
            7,
            "机会编码",
            in_chinese(
                "“%(key)s” is also on row %(row)d; each row needs its own.", key="D1", row=2
            ),
            False,
        ),
    ]


# --- all or nothing ----------------------------------------------------------------------------


def fifty_deals(tmp_path, bad_row: int | None = None):
    rows = [DEAL_HEADERS]
    for i in range(1, 51):
        close = "2026-02-30" if i + 1 == bad_row else "2026-12-31"
        rows.append(deal_row(f"D{i:02}", name=f"Deal {i:02}", close=close))
    return write_csv(tmp_path / "deals.csv", rows)


def test_one_bad_row_among_fifty_keeps_all_fifty_out(tmp_path, world, east):
    # given
    path = fifty_deals(tmp_path, bad_row=30)
    # when
    report = refused(path, world.admin)
    # then
    assert errors(report) == [("Opportunities", 30, "Expected close*", f"“2026-02-30” {DATE_HELP}")]
    assert tallies(report) == [("Opportunities", 50, 49, 0, 0, 1)]
    assert report.error_count == 1
    assert report.valid_rows == 49


def test_with_valid_only_the_49_good_rows_are_written_and_the_bad_one_reported(
    tmp_path, world, east
):
    # given
    path = fifty_deals(tmp_path, bad_row=30)
    events = Event.objects.count()
    # when
    report = importer.write(path, actor=world.admin, valid_only=True)
    # then
    assert report.written is True
    assert report.valid_only is True
    assert errors(report) == [("Opportunities", 30, "Expected close*", f"“2026-02-30” {DATE_HELP}")]
    assert tallies(report) == [("Opportunities", 50, 49, 0, 0, 1)]
    assert Opportunity.objects.count() == 49
    assert not Opportunity.objects.filter(code="D29").exists()
    assert Event.objects.count() == events + 49  # each deal's created event


def test_check_never_writes_even_when_every_row_is_valid(tmp_path, world, east):
    # given
    path = fifty_deals(tmp_path)
    before = fingerprint()
    # when
    report = importer.check(path, actor=world.admin)
    # then
    assert (report.written, errors(report), tallies(report)) == (
        False,
        [],
        [("Opportunities", 50, 50, 0, 0, 0)],
    )
    assert [row[:2] for row in report.tallies[0].preview[:3]] == [
        (2, "created"),
        (3, "created"),
        (4, "created"),
    ]
    assert len(report.tallies[0].preview) == importer.PREVIEW_ROWS
    assert fingerprint() == before


def test_more_errors_than_the_report_holds_are_counted(tmp_path, world, east):
    # given: 600 rows with a bad date
    rows = [DEAL_HEADERS, *(deal_row(f"D{i}", close="soon") for i in range(600))]
    path = write_csv(tmp_path / "deals.csv", rows)
    # when
    report = refused(path, world.admin)
    # then
    assert len(report.problems) == importer.MAX_PROBLEMS
    assert report.problems_left_out == 100
    assert report.error_count == 600


# --- typed cells of a workbook ----------------------------------------------------------------


def test_typed_cells_of_a_workbook_are_read_as_their_columns_types(tmp_path, world, east):
    # given: a numeric code, a float amount, date cells, a number as the stage dates
    path = write_xlsx(
        tmp_path / "deals.xlsx",
        {
            "Opportunities": [
                DEAL_HEADERS,
                [1001.0, "A1", "Line 1", None, 0.1 + 0.2, dt.datetime(2026, 12, 31), "entry",
                 dt.datetime(2026, 2, 10)],
                [1002, "A1", "Line 2", "rep_a", 1250000, dt.date(2027, 1, 31)],
            ]
        },
    )  # fmt: skip
    # when
    accepted(path, world.admin)
    # then
    deals = Opportunity.objects.order_by("code")
    assert [(d.code, str(d.amount), d.expected_close, d.stage) for d in deals] == [
        ("1001", "0.30", dt.date(2026, 12, 31), "entry"),
        ("1002", "1250000.00", dt.date(2027, 1, 31), "development"),
    ]
    assert deals[0].stage_entered_at.date() == dt.date(2026, 2, 10)


def test_a_number_too_large_for_an_amount_is_an_error_not_a_blank(tmp_path, world):
    # given: Excel holds 1e20 as a float; an optional money column
    path = write_xlsx(
        tmp_path / "a.xlsx",
        {"Accounts": [ACCOUNT_HEADERS, account_row("A1", "大客户", revenue=1e20)]},
    )
    # when
    report = refused(path, world.admin)
    # then
    assert errors(report) == [("Accounts", 2, "年营业额", "The amount is too large.")]
