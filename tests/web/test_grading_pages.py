"""The account-grading dashboard (/accounts/grading/) and the account page's grade
card: what they show with their chart data, the empty state, the period form, who
sees what, the revenue-record form, and a page cost independent of the book's size."""

from __future__ import annotations

import datetime as dt
import json
import re

import pytest
from django.urls import reverse

from kam.accounts.models import RevenueRecord
from kam.accounts.revenue import revenue_record_add
from kam.accounts.services import account_create
from kam.core import clock
from kam.core.models import Event
from kam.opportunities.services import opportunity_create

TODAY = dt.datetime(2026, 3, 15, 10)


@pytest.fixture(autouse=True)
def _today():
    with clock.freeze(TODAY):
        yield


def chart(html: str) -> dict:
    found = re.search(
        r'<script id="grading-data" type="application/json">(.*?)</script>', html, re.S
    )
    assert found, "no grading JSON block"
    return json.loads(found.group(1))


def rows(html: str) -> list[tuple[str, str]]:
    """(account id, pyramid tier) of each table row, in order."""
    return re.findall(r'data-testid="grading-row" data-account="(\d+)" data-tier="(\w+)"', html)


def earn(account, amount, day=dt.date(2025, 12, 1), profit=None):
    revenue_record_add(actor=account.owner, account=account, date=day, amount=amount, profit=profit)


@pytest.fixture
def paid(people, books):
    """Alpha (rep_a) 600, Bravo (rep_b) 300, Charlie (rep_c, West) 100."""
    for tag, amount in (("rep_a", 600), ("rep_b", 300), ("rep_c", 100)):
        earn(books[tag].account, amount, profit=amount // 10)
    return books


def test_the_nav_links_the_dashboard(client_for, people):
    html = client_for(people.rep_a).get(reverse("home")).content.decode()
    assert f'href="{reverse("account-grading")}" data-testid="nav-grading"' in html


def test_the_dashboard_for_the_admin(client_for, people, paid):
    # when
    response = client_for(people.admin).get(reverse("account-grading"))
    # then
    assert response.status_code == 200
    html = response.content.decode()
    assert 'aria-current="page">Account grading' in html
    # 3 accounts: ⌈20 % × 3⌉ = 1 account brings 600 of 1000
    assert "The top 20% of accounts (1 account) bring 60.0% of the revenue." in html
    data = chart(html)
    assert [(t["key"], t["count"], t["revenue"], t["share"]) for t in data["pyramid"]] == [
        ("vip", 1, 600.0, 60.0),
        ("key", 0, 0.0, 0.0),
        ("general", 1, 300.0, 30.0),
        ("small", 1, 100.0, 10.0),
    ]
    assert data["pareto"] == {
        "names": ["Alpha Steel Works", "Bravo Steel Works", "Charlie Steel Works"],
        "revenue": [600.0, 300.0, 100.0],
        "cumulative": [60.0, 90.0, 100.0],
        "top": 1,
        "accounts_per_bar": 1,
        "top_share": 20.0,
        "ratio": 60.0,
    }
    assert rows(html) == [
        (str(paid["rep_a"].account.pk), "vip"),
        (str(paid["rep_b"].account.pk), "general"),
        (str(paid["rep_c"].account.pk), "small"),
    ]
    assert f'href="{reverse("account-detail", args=[paid["rep_a"].account.pk])}#grade"' in html
    assert 'data-testid="pyramid-chart"' in html and 'data-testid="pareto-chart"' in html
    assert "kam/grading.js" in html and "vendor/echarts.min.js" in html


@pytest.mark.usefixtures("linear_grading")
def test_each_row_carries_the_grade(client_for, people, paid):
    html = client_for(people.rep_a).get(reverse("account-grading")).content.decode()
    # Alpha: transaction 100 everywhere (the book's highest), industry "Steel" → 60;
    # (0.4·100 + 0.2·60) / 0.6 = 86.7, on 48 % of the weights
    row = html[html.index('data-testid="grading-row"') :]
    row = row[: row.index("</tr>")]
    assert '<td class="num" data-testid="grading-total">86.7</td>' in row
    assert '<span class="badge tier-vip">VIP</span>' in row
    assert "48.0%" in row



def test_a_page_grades_its_own_rows_only(client_for, people, paid, monkeypatch):
    # given: pages of 2 rows, and every grade worked out counted
    from kam.accounts import grading as account_grading
    from kam.web.views import grading as views

    graded = []
    real = account_grading.rules.grade

    def counted(model, values, maxima=None):
        graded.append(values["revenue_total"])
        return real(model, values, maxima)

    monkeypatch.setattr(views, "TABLE_PAGE_SIZE", 2)
    monkeypatch.setattr(account_grading.rules, "grade", counted)
    client = client_for(people.admin)
    # when: the first page, then the second
    first = client.get(reverse("account-grading")).content.decode()
    on_first, graded[:] = list(graded), []
    second = client.get(reverse("account-grading") + "?page=2").content.decode()
    # then: each page graded its own rows, and each row shows its grade
    assert sorted(on_first) == [300, 600] and graded == [100]
    assert first.count('data-testid="grading-total">') == 2
    assert second.count('data-testid="grading-total">') == 1
    assert rows(second) == [(str(paid["rep_c"].account.pk), "small")]


def test_a_large_book_draws_runs_of_accounts_as_bars(client_for, people, paid, monkeypatch):
    # given: at most 2 bars
    from kam.web.views import grading as views

    monkeypatch.setattr(views, "PARETO_BARS", 2)
    # when
    html = client_for(people.admin).get(reverse("account-grading")).content.decode()
    # then: 3 accounts in runs of 2: 600 + 300, then 100; the top account is in bar 1
    data = chart(html)["pareto"]
    assert data == {
        "names": ["Accounts ranked 1–2", "Account ranked 3"],
        "revenue": [900.0, 100.0],
        "cumulative": [90.0, 100.0],
        "top": 1,
        "accounts_per_bar": 2,
        "top_share": 20.0,
        "ratio": 60.0,
    }
    assert "Each bar adds up 2 accounts in a row, highest revenue first." in html
    assert 'data-testid="pareto-runs"' not in client_for(people.rep_b).get(
        reverse("account-grading")
    ).content.decode()

def test_a_rep_sees_their_accounts_at_the_tiers_of_the_whole_book(client_for, people, paid):
    # when
    html = client_for(people.rep_b).get(reverse("account-grading")).content.decode()
    # then: Bravo alone, still "general" (rank 2 of 3)
    assert rows(html) == [(str(paid["rep_b"].account.pk), "general")]
    assert "1 of 3 — tiers are ranked over all 3" in html
    assert chart(html)["pareto"]["ratio"] == 100.0


def test_the_empty_state(client_for, people, books):
    html = client_for(people.manager_east).get(reverse("account-grading")).content.decode()
    assert 'data-testid="grading-empty"' in html
    assert "grading-data" not in html and 'data-testid="pareto-headline"' not in html
    # the accounts are still listed, all small, with their grades
    assert [tier for _, tier in rows(html)] == ["small", "small"]


def test_a_period_of_ones_own(client_for, people, paid):
    # given: Charlie also earned 900 in 2024
    earn(paid["rep_c"].account, 900, day=dt.date(2024, 5, 1))
    client = client_for(people.admin)
    # when
    html = client.get(
        reverse("account-grading"), {"months": "", "start": "2024-01-01", "end": "2024-12-31"}
    ).content.decode()
    # then
    assert "Revenue from 2024-01-01 to 2024-12-31" in html
    assert rows(html)[0] == (str(paid["rep_c"].account.pk), "vip")
    longer = client.get(reverse("account-grading"), {"months": "24"}).content.decode()
    assert chart(longer)["pareto"]["revenue"] == [1000.0, 600.0, 300.0]


def test_a_bad_period_says_so_and_shows_the_last_12_months(client_for, people, paid):
    html = (
        client_for(people.admin)
        .get(reverse("account-grading"), {"start": "2025-06-01", "end": "2025-01-01"})
        .content.decode()
    )
    assert 'data-testid="grading-period-errors"' in html
    assert "The end of the period is before its start." in html
    assert "Revenue from 2025-03-16 to 2026-03-15" in html


def test_the_dashboard_in_chinese(client_for, people, paid):
    html = client_for(people.admin, "zh-Hans").get(reverse("account-grading")).content.decode()
    assert [t["name"] for t in chart(html)["pyramid"]] == [
        "VIP客户",
        "大客户",
        "一般客户",
        "小型客户",
    ]


def test_the_dashboard_costs_the_same_for_3_and_30_accounts(
    client_for, people, django_assert_num_queries
):
    client = client_for(people.manager_east)

    def grow(n):
        for i in range(n):
            account = account_create(actor=people.rep_a, name=f"N{i:02d}")
            earn(account, 100 + i)

    grow(3)
    client.get(reverse("account-grading"))
    # the session, the user and their team, the report (3) and the grades (4)
    with django_assert_num_queries(10):
        client.get(reverse("account-grading"))
    grow(27)
    with django_assert_num_queries(10):
        html = client.get(reverse("account-grading")).content.decode()
    assert len(rows(html)) == 30


# --- the account page's card ----------------------------------------------------------------


def card(html: str) -> str:
    start = html.index('data-testid="grade-card"')
    return html[start : html.index("</section>", start)]


@pytest.mark.usefixtures("linear_grading")
def test_the_card_shows_the_grade_and_the_place(client_for, people, paid):
    account = paid["rep_a"].account
    # when
    response = client_for(people.rep_a).get(reverse("account-detail", args=[account.pk]))
    # then
    assert response.status_code == 200
    html = card(response.content.decode())
    assert '<span class="big-number" data-testid="grade-total">86.7</span>' in html
    assert 'data-testid="grade-tier">VIP</span>' in html
    assert "Based on 48.0% of the weights." in html
    assert "6 indicators have no data." in html
    assert 'data-testid="grade-pyramid-tier">VIP</span>' in html
    assert "rank 1 of 3" in html
    assert "Revenue 2025-03-16 – 2026-03-15" in html
    assert re.findall(r'data-indicator="(\w+)" data-missing="(\w+)"', html) == [
        ("revenue_total", "false"),
        ("profit_total", "false"),
        ("average_deal", "false"),
        ("collection_cycle", "true"),
        ("receivables", "true"),
        ("industry", "false"),
        ("size", "true"),
        ("nature", "true"),
        ("value_positioning", "true"),
        ("purchase_criteria", "true"),
    ]
    assert "Enter the collection cycle (days) on the account." in html
    assert f'href="{reverse("account-edit", args=[account.pk])}"' in html
    assert f'href="{reverse("account-grading")}"' in html
    assert html.count('data-testid="revenue-record"') == 1
    assert 'data-testid="revenue-form"' in html and 'data-testid="revenue-delete"' in html


def test_the_card_in_chinese(client_for, people, paid):
    html = card(
        client_for(people.rep_a, "zh-Hans")
        .get(reverse("account-detail", args=[paid["rep_a"].account.pk]))
        .content.decode()
    )
    assert "交易类" in html and "累计交易额" in html and "VIP客户" in html


def test_who_sees_the_form(client_for, people, paid):
    # given: rep_b sells on Alpha's account, which rep_a owns
    account = paid["rep_a"].account
    opportunity_create(
        actor=people.rep_b,
        account=account,
        name="B's deal",
        amount=1,
        expected_close=dt.date(2026, 12, 31),
    )
    url = reverse("account-detail", args=[account.pk])
    # then
    for user, editor in ((people.rep_b, False), (people.manager_east, True), (people.admin, True)):
        html = card(client_for(user).get(url).content.decode())
        assert ('data-testid="revenue-form"' in html) is editor
        assert ('data-testid="revenue-delete"' in html) is editor


def _post(client, account, **fields):
    data = {f"revenue-{k}": v for k, v in fields.items()}
    return client.post(reverse("account-revenue-add", args=[account.pk]), data)


def test_adding_a_record(client_for, people, books):
    account = books["rep_a"].account
    client = client_for(people.rep_a)
    # when
    response = _post(
        client, account, date="2025-10-01", amount="12000", profit="1500", source="ERP", note=""
    )
    # then
    assert response.status_code == 302
    assert response["Location"] == reverse("account-detail", args=[account.pk]) + "#grade"
    record = RevenueRecord.objects.get()
    assert (record.account_id, str(record.amount), str(record.profit), record.source) == (
        account.pk,
        "12000.00",
        "1500.00",
        "ERP",
    )
    page = client.get(response["Location"]).content.decode()
    assert "Revenue of 12,000.00 on 2025-10-01 recorded." in page
    assert 'data-testid="grade-period-revenue">12,000.00</span>' in card(page)


def test_a_refused_record_shows_the_error_on_its_field(client_for, people, books):
    account = books["rep_a"].account
    events = Event.objects.count()
    # when
    response = _post(client_for(people.rep_a), account, date="2025-10-01", amount="-3")
    # then
    assert response.status_code == 422
    html = card(response.content.decode())
    assert "The amount cannot be negative." in html
    assert '<details class="inline-form" open>' in html
    assert (RevenueRecord.objects.count(), Event.objects.count()) == (0, events)


@pytest.mark.parametrize(
    ("user", "status"),
    [("rep_b", 404), ("rep_c", 404), ("manager_west", 404), ("manager_east", 302), ("admin", 302)],
)
def test_who_may_add_on_the_page(client_for, people, books, user, status):
    response = _post(
        client_for(getattr(people, user)), books["rep_a"].account, date="2025-10-01", amount="10"
    )
    assert response.status_code == status
    assert RevenueRecord.objects.count() == (1 if status == 302 else 0)


def test_a_seller_on_the_account_cannot_add(client_for, people, books):
    account = books["rep_a"].account
    opportunity_create(
        actor=people.rep_b,
        account=account,
        name="B's deal",
        amount=1,
        expected_close=dt.date(2026, 12, 31),
    )
    response = _post(client_for(people.rep_b), account, date="2025-10-01", amount="10")
    assert response.status_code == 403
    assert not RevenueRecord.objects.exists()


def test_deleting_a_record(client_for, people, paid):
    account = paid["rep_a"].account
    record = RevenueRecord.objects.get(account=account)
    url = reverse("account-revenue-delete", args=[account.pk, record.pk])
    # a rep of the other team: as if it did not exist
    assert client_for(people.rep_c).post(url).status_code == 404
    assert RevenueRecord.objects.filter(pk=record.pk).exists()
    # the owner
    response = client_for(people.rep_a).post(url)
    assert response.status_code == 302
    assert not RevenueRecord.objects.filter(pk=record.pk).exists()
    # GET is not allowed
    assert client_for(people.rep_a).get(url).status_code == 405
