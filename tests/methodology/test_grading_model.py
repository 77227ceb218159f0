"""The value pyramid, the Pareto ratio and the multi-indicator grade as pure
arithmetic (kam/methodology/grading.py) over the shipped models/grading.toml, and the
checks that refuse a broken grading file at start-up."""

from __future__ import annotations

import re
import tomllib
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from kam.methodology import grading as g
from kam.methodology.registry import MODELS_DIR, MethodologyError, build, parse_file

SHIPPED = parse_file(MODELS_DIR / "grading.toml", g.GradingModel)
# The shipped model with the transaction indicators on a linear scale, so the
# arithmetic of the grade can be checked by hand; `log` is tested on its own below.
LINEAR = g.GradingModel.model_validate(
    tomllib.loads(
        re.sub(
            r'method = "log"\nfloor = \d+[^\n]*',
            'method = "relative"',
            (MODELS_DIR / "grading.toml").read_text(encoding="utf-8"),
        )
    )
)
PLAYBOOKS = Path(g.__file__).resolve().parent / "playbooks"
D = Decimal


def tiers_of(revenues: list) -> list[str]:
    places = g.pyramid(SHIPPED, {i: D(v) for i, v in enumerate(revenues)})
    return [places[i].tier for i in range(len(revenues))]


def ranks_of(revenues: list) -> list[int]:
    places = g.pyramid(SHIPPED, {i: D(v) for i, v in enumerate(revenues)})
    return [places[i].rank for i in range(len(revenues))]


# --- the shipped model ---------------------------------------------------------------


def test_shipped_tiers_follow_the_spec():
    assert [(t.key, t.share, t.rest, t.min_score) for t in SHIPPED.tiers] == [
        ("vip", 5, False, 80),
        ("key", 15, False, 60),
        ("general", 30, False, 40),
        ("small", None, True, 0),
    ]
    assert [t.name.zh_hans for t in SHIPPED.tiers] == ["VIP客户", "大客户", "一般客户", "小型客户"]
    assert (SHIPPED.period_months, SHIPPED.pareto_top_share) == (12, 20)


def test_shipped_groups_and_indicators():
    assert {grp.key: [i.key for i in grp.indicators] for grp in SHIPPED.groups} == {
        "transaction": ["revenue_total", "profit_total", "average_deal"],
        "financial": ["collection_cycle", "receivables"],
        "characteristics": ["industry", "size", "nature"],
        "needs": ["value_positioning", "purchase_criteria"],
    }


def test_shipped_lookup_keys_are_account_choices():
    from kam.accounts.models import Nature, Size

    by_key = {i.key: i for i in SHIPPED.indicators}
    assert set(by_key["size"].table) <= set(Size.values)
    assert set(by_key["nature"].table) <= set(Nature.values)


# --- pyramid: tiers by rank ------------------------------------------------------------


def test_a_book_of_twenty_splits_1_3_6_10():
    # given: twenty accounts with different revenue
    revenues = list(range(2000, 0, -100))
    # when
    tiers = tiers_of(revenues)
    # then
    assert [tiers.count(k) for k in ("vip", "key", "general", "small")] == [1, 3, 6, 10]
    assert tiers[:5] == ["vip", "key", "key", "key", "general"]


@pytest.mark.parametrize(
    ("revenues", "expected"),
    [
        ([100], ["vip"]),
        ([100, 50], ["vip", "small"]),  # rank 2 of 2: 1/2 = 50 %, not below 50 %
        ([100, 50, 10], ["vip", "general", "small"]),
        ([0], ["small"]),
        ([0, 0, 0], ["small", "small", "small"]),
    ],
)
def test_small_books(revenues, expected):
    assert tiers_of(revenues) == expected


def test_exact_boundaries_at_5_20_and_50_percent():
    # given: a book of 100; (rank − 1) / 100 against 5 %, 20 %, 50 %
    tiers = tiers_of(list(range(100, 0, -1)))
    # then: rank 5 → 4 % vip, rank 6 → 5 % key; rank 20 → 19 % key, 21 → general;
    # rank 50 → 49 % general, 51 → 50 % small
    assert (tiers[4], tiers[5]) == ("vip", "key")
    assert (tiers[19], tiers[20]) == ("key", "general")
    assert (tiers[49], tiers[50]) == ("general", "small")


def test_ties_share_the_better_rank_across_a_boundary():
    # given: twenty accounts; the 1st and 2nd earn the same (the vip cut is one account)
    revenues = [500, 500] + list(range(300, 120, -10))[:18]
    # when
    places = g.pyramid(SHIPPED, {i: D(v) for i, v in enumerate(revenues)})
    # then: both rank 1 and both vip; the next is rank 3
    assert [places[i].rank for i in range(3)] == [1, 1, 3]
    assert [places[i].tier for i in range(3)] == ["vip", "vip", "key"]


def test_competition_ranking():
    assert ranks_of([100, 100, 50, 50, 10]) == [1, 1, 3, 3, 5]


def test_zero_revenue_is_small_among_paying_accounts():
    # given: one paying account and two without revenue: ranks 1, 2, 2
    # when
    places = g.pyramid(SHIPPED, {"a": D(10), "b": D(0), "c": D(0)})
    # then: rank 2 of 3 would be general by rank, but no revenue is always small
    assert [(places[k].rank, places[k].tier) for k in "abc"] == [
        (1, "vip"),
        (2, "small"),
        (2, "small"),
    ]


@given(st.lists(st.integers(min_value=0, max_value=10**6), min_size=1, max_size=60))
@settings(max_examples=150, deadline=None)
def test_pyramid_properties(values):
    places = g.pyramid(SHIPPED, {i: D(v) for i, v in enumerate(values)})
    order = [t.key for t in SHIPPED.tiers]
    for i, v in enumerate(values):
        for j, w in enumerate(values):
            if v == w:  # equal revenue, same tier
                assert places[i].tier == places[j].tier
            if v > w:  # more revenue, never a worse tier
                assert order.index(places[i].tier) <= order.index(places[j].tier)
        if v == 0:
            assert places[i].tier == "small"


@given(
    st.lists(
        st.tuples(st.integers(min_value=-50, max_value=10**4), st.booleans()),
        min_size=1,
        max_size=60,
    )
)
@example([(-5, False), (0, False), (3, False)])  # a negative total ranks below the zeros
@settings(max_examples=200, deadline=None)
def test_one_accounts_place_is_its_place_in_the_pyramid(book):
    """`place` (an account's page) ranks one account without ranking the book: the
    accounts with revenue in the period are listed (a flag says whether one with 0
    is, as a revenue record of 0 would list it), the others count as 0."""
    revenues = {i: D(v) for i, (v, _) in enumerate(book)}
    listed = [D(v) for v, flagged in book if v != 0 or flagged]
    whole = g.pyramid(SHIPPED, revenues)
    for i, revenue in revenues.items():
        assert g.place(SHIPPED, revenue, listed, book_size=len(book)) == whole[i]


# --- Pareto ------------------------------------------------------------------------------


def test_pareto_on_a_small_book_is_exact():
    # given: ten accounts, the top two (20 %) earn 600 + 200 of 1000
    revenues = [D(600), D(200)] + [D(25)] * 8
    # when
    found = g.pareto(revenues, 20)
    # then
    assert (found.accounts, found.ratio) == (2, 80.0)
    assert found.curve[:3] == ((0.0, 0.0), (10.0, 60.0), (20.0, 80.0))
    assert found.curve[-1] == (100.0, 100.0)
    assert len(found.curve) == 11


def test_pareto_takes_the_ceiling_of_the_top_share():
    # given: three accounts: ⌈20 % × 3⌉ = 1
    found = g.pareto([D(50), D(30), D(20)], 20)
    assert (found.accounts, found.ratio) == (1, 50.0)
    assert found.curve == ((0.0, 0.0), (33.33, 50.0), (66.67, 80.0), (100.0, 100.0))


def test_pareto_without_revenue_is_null():
    found = g.pareto([D(0), D(0)], 20)
    assert (found.accounts, found.ratio) == (1, None)
    assert found.curve == ((0.0, 0.0), (50.0, 0.0), (100.0, 0.0))
    empty = g.pareto([], 20)
    assert (empty.accounts, empty.ratio, empty.curve) == (0, None, ((0.0, 0.0),))


# --- normalisation --------------------------------------------------------------------------


def indicator(key: str, model: g.GradingModel = LINEAR) -> g.Indicator:
    return next(i for i in model.indicators if i.key == key)


@pytest.mark.parametrize(
    ("value", "book_max", "expected"),
    [
        (D(50), D(200), 25),
        (D(0), D(200), 0),  # zero revenue is data: 0, not missing
        (D(0), D(0), 0),  # the book's maximum is 0: everyone 0
        (D(300), D(200), 100),  # never above 100
        (D(-50), D(200), 0),  # a loss never below 0
        (D(10), D(-5), 0),
    ],
)
def test_relative(value, book_max, expected):
    assert g.normalise(indicator("revenue_total"), value, book_max) == expected


@pytest.mark.parametrize(
    ("value", "book_max", "expected"),
    [
        (D(30_000_000), D(30_000_000), 100.0),  # the book's top
        (D(1_000_000), D(30_000_000), 40.4),  # ln 10 / ln 300
        (D(5_000_000), D(30_000_000), 68.6),  # ln 50 / ln 300
        (D(100_000), D(30_000_000), 0.0),  # at the floor
        (D(0), D(30_000_000), 0.0),  # zero revenue is data: 0
        (D(-5), D(30_000_000), 0.0),
        (D(90_000), D(90_000), 0.0),  # a book whose top is below the floor
        (D(500_000), D(0), 0.0),
    ],
)
def test_log_scale_spreads_a_heavy_tailed_book(value, book_max, expected):
    # the shipped revenue indicator: log scale from 100 000 (0) to the book's top (100)
    revenue = indicator("revenue_total", SHIPPED)
    assert (revenue.method, revenue.floor) == ("log", 100_000)
    assert g.round1(g.normalise(revenue, value, book_max)) == expected


def test_log_needs_a_floor_and_only_log_takes_one():
    base = {"key": "revenue_total", "name": {"en": "R", "zh-Hans": "R"}, "weight": 1}
    with pytest.raises(ValueError, match="needs a floor"):
        g.Indicator.model_validate({**base, "method": "log"})
    with pytest.raises(ValueError, match="floor belongs to method 'log' only"):
        g.Indicator.model_validate({**base, "method": "relative", "floor": 10})


@pytest.mark.parametrize(
    ("days", "expected"),
    [(30, 100), (15, 100), (105, 50), (180, 0), (365, 0), (0, 100)],
)
def test_range_shorter_is_better_clamped_both_ways(days, expected):
    # collection cycle: best 30, worst 180
    assert g.normalise(indicator("collection_cycle"), days) == expected


def test_range_higher_is_better():
    ind = g.Indicator.model_validate(
        {
            "key": "receivables",
            "name": {"en": "x", "zh-Hans": "x"},
            "weight": 1,
            "method": "range",
            "best": 200,
            "worst": 100,
        }
    )
    assert [g.normalise(ind, v) for v in (50, 100, 150, 200, 250)] == [0, 0, 50, 100, 100]


def test_receivables_lower_is_better():
    ind = indicator("receivables")
    assert [g.normalise(ind, D(v)) for v in (0, 500000, 2000000, 9000000)] == [100, 75, 0, 0]


@pytest.mark.parametrize(
    ("industry", "expected"),
    [
        ("汽车零部件", 90),  # substring
        ("Automotive parts", 90),  # case-insensitive
        ("数控机床", 80),
        ("烟草", 50),  # no key found: the default
        ("  ", None),  # blank: missing
        (None, None),
    ],
)
def test_industry_lookup_by_substring(industry, expected):
    assert g.normalise(indicator("industry"), industry) == expected


def test_exact_lookup_and_its_default():
    assert g.normalise(indicator("size"), "large") == 80
    assert g.normalise(indicator("size"), "Large") == 50  # exact keys: not "large"
    assert g.normalise(indicator("nature"), "soe") == 80


@pytest.mark.parametrize(("rating", "expected"), [(1, 0), (2, 25), (3, 50), (5, 100)])
def test_score5(rating, expected):
    assert g.normalise(indicator("value_positioning"), rating) == expected


# --- the grade ------------------------------------------------------------------------------

FULL = {
    "revenue_total": D(1000),
    "profit_total": D(100),
    "average_deal": D(500),
    "collection_cycle": 105,
    "receivables": D(500000),
    "industry": "汽车",
    "size": "large",
    "nature": "soe",
    "value_positioning": 4,
    "purchase_criteria": D(80),
}
MAXIMA = {"revenue_total": D(2000), "profit_total": D(100), "average_deal": D(1000)}


def test_a_full_grade_with_its_breakdown():
    # when
    found = g.grade(LINEAR, FULL, MAXIMA)
    # then: transaction (50·50 + 30·100 + 20·50)/100 = 65; financial (50 + 75)/2 = 62.5;
    # characteristics (40·90 + 35·80 + 25·80)/100 = 84; needs (75 + 80)/2 = 77.5
    assert [(x.key, x.score, x.weight) for x in found.groups] == [
        ("transaction", 65.0, 40.0),
        ("financial", 62.5, 20.0),
        ("characteristics", 84.0, 20.0),
        ("needs", 77.5, 20.0),
    ]
    # 0.4·65 + 0.2·62.5 + 0.2·84 + 0.2·77.5 = 70.8
    assert (found.total, found.tier, found.coverage) == (70.8, "key", 100.0)
    revenue = found.groups[0].indicators[0]
    assert (revenue.key, revenue.score, revenue.weight, revenue.effective_weight) == (
        "revenue_total",
        50.0,
        50.0,
        20.0,
    )


def test_missing_financials_share_the_weight_among_present_groups():
    # given: no collection cycle, no receivables
    values = {**FULL, "collection_cycle": None, "receivables": None}
    # when
    found = g.grade(LINEAR, values, MAXIMA)
    # then: (0.4·65 + 0.2·84 + 0.2·77.5) / 0.8 = 72.875 → 72.9; 80 % of the weight had data
    financial = found.groups[1]
    assert (financial.score, financial.effective_weight) == (None, 0.0)
    assert all(i.missing and i.score is None for i in financial.indicators)
    assert (found.total, found.coverage) == (72.9, 80.0)


def test_a_missing_indicator_shares_its_weight_within_its_group():
    # given: receivables unknown; collection cycle 105 days → 50
    found = g.grade(LINEAR, {**FULL, "receivables": None}, MAXIMA)
    # then: the financial group is 50 (collection cycle alone); coverage 100 − 20 × 50 % = 90
    assert found.groups[1].score == 50.0
    assert [i.effective_weight for i in found.groups[1].indicators] == [20.0, 0.0]
    assert found.coverage == 90.0
    assert found.total == 68.3  # 0.4·65 + 0.2·50 + 0.2·84 + 0.2·77.5 = 68.3


def test_zero_revenue_is_data_and_no_data_at_all_is_zero():
    # given: a new account: no revenue, nothing else known
    values = {"revenue_total": D(0), "profit_total": D(0), "average_deal": D(0)}
    # when
    found = g.grade(SHIPPED, values, {"revenue_total": D(0)})
    # then: only the transaction group counts (40 % of the weight), all zero
    assert (found.total, found.tier, found.coverage) == (0.0, "small", 40.0)
    nothing = g.grade(SHIPPED, {}, {})
    assert (nothing.total, nothing.tier, nothing.coverage) == (0.0, "small", 0.0)


def test_grade_tier_thresholds():
    assert [g.grade_tier(SHIPPED, t) for t in (100, 80, 79.9, 60, 59.9, 40, 39.9, 0)] == [
        "vip",
        "vip",
        "key",
        "key",
        "general",
        "general",
        "small",
        "small",
    ]


def test_book_maxima_skip_missing_values():
    rows = [
        {"revenue_total": D(5), "profit_total": None, "average_deal": D(5)},
        {"revenue_total": D(9), "profit_total": D(2), "average_deal": D(3)},
    ]
    assert g.book_maxima(SHIPPED, rows) == {
        "revenue_total": D(9),
        "profit_total": D(2),
        "average_deal": D(5),
    }


number = st.decimals(min_value=0, max_value=10**9, places=2, allow_nan=False)
maybe = lambda s: st.one_of(st.none(), s)  # noqa: E731
inputs = st.fixed_dictionaries(
    {
        "revenue_total": number,
        "profit_total": maybe(st.decimals(min_value=-(10**8), max_value=10**8, places=2)),
        "average_deal": number,
        "collection_cycle": maybe(st.integers(min_value=0, max_value=3650)),
        "receivables": maybe(number),
        "industry": maybe(st.sampled_from(["汽车零部件", "服装", "食品", "Electronics", ""])),
        "size": maybe(st.sampled_from(["small", "medium", "large", "very_large", "odd"])),
        "nature": maybe(st.sampled_from(["soe", "private", "foreign", "jv", "odd"])),
        "value_positioning": maybe(st.integers(min_value=1, max_value=5)),
        "purchase_criteria": maybe(st.decimals(min_value=20, max_value=100, places=1)),
    }
)
maxima = st.fixed_dictionaries(
    {"revenue_total": number, "profit_total": number, "average_deal": number}
)


@given(inputs, maxima)
@settings(max_examples=300, deadline=None)
def test_total_and_coverage_stay_within_0_and_100(values, book):
    found = g.grade(SHIPPED, values, book)
    assert 0 <= found.total <= 100
    assert 0 <= found.coverage <= 100
    for grp in found.groups:
        assert grp.score is None or 0 <= grp.score <= 100
    present = sum(grp.effective_weight for grp in found.groups if grp.score is not None)
    assert present == pytest.approx(100, abs=0.2)  # the missing weight went somewhere


@given(inputs, maxima, number, number)
@settings(max_examples=300, deadline=None)
def test_more_revenue_never_lowers_the_grade(values, book, a, b):
    low, high = sorted((a, b))

    def total(revenue):
        top = max(book["revenue_total"], revenue)  # the account is part of the book
        return g.grade(
            SHIPPED, {**values, "revenue_total": revenue}, {**book, "revenue_total": top}
        ).total

    assert total(low) <= total(high)


def _scaled(model: g.GradingModel, k: int) -> g.GradingModel:
    data = model.model_dump(by_alias=True)
    for grp in data["groups"]:
        grp["weight"] *= k
        for ind in grp["indicators"]:
            ind["weight"] *= k
            for key in [x for x, v in ind.items() if v is None]:
                del ind[key]
    for tier in data["tiers"]:
        if tier["share"] is None:
            del tier["share"]
    return g.GradingModel.model_validate(data)


@given(inputs, maxima, st.integers(min_value=2, max_value=9))
@settings(max_examples=150, deadline=None)
def test_weights_only_count_by_their_ratios(values, book, k):
    assert g.grade(_scaled(SHIPPED, k), values, book) == g.grade(SHIPPED, values, book)


# --- a broken file is refused at start-up -------------------------------------------------

GRADING_TOML = (MODELS_DIR / "grading.toml").read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("share = 30", "share = 85", "tiers: the shares add up to 105; keep them below 100"),
        ("share = 5\n", "share = 0\n", "tiers[0].share: Input should be greater than 0"),
        ("rest = true\nmin_score = 0", "share = 10\nmin_score = 0", "exactly one tier has rest"),
        (
            'key = "general"\nname = { en = "General account", zh-Hans = "一般客户" }\nshare = 30',
            'key = "general"\nname = { en = "General account", zh-Hans = "一般客户" }\nrest = true',
            "exactly one tier has rest = true",
        ),
        ("min_score = 60", "min_score = 90", "min_score must fall"),
        ('method = "score5"', 'method = "lookup"', "needs a text input"),
        ("best = 30 ", "best = 180 ", "best and worst must differ"),
        ('key = "receivables"', 'key = "debts"', "unknown indicator 'debts'"),
        ("default = 50\ntable = { very_large", "table = { very_large", "needs a default score"),
        ('key = "nature"', 'key = "size"', "each indicator appears once; repeated: size"),
        (
            "weight = 40\n\n[[groups.indicators]]",
            "weight = 0\n\n[[groups.indicators]]",
            "groups[0].weight: Input should be greater than 0",
        ),
    ],
)
def test_a_broken_grading_file_names_file_and_field(tmp_path, old, new, expected):
    # given
    assert old in GRADING_TOML
    folder = tmp_path / "models"
    folder.mkdir()
    (folder / "grading.toml").write_text(GRADING_TOML.replace(old, new, 1), encoding="utf-8")
    # when
    with pytest.raises(MethodologyError) as info:
        build([PLAYBOOKS], model_override_dir=folder)
    # then
    assert str(folder / "grading.toml") in str(info.value)
    assert expected in str(info.value)


def test_an_override_with_other_shares_is_used(tmp_path):
    folder = tmp_path / "models"
    folder.mkdir()
    (folder / "grading.toml").write_text(
        GRADING_TOML.replace("share = 5\n", "share = 10\n", 1), encoding="utf-8"
    )
    m = build([PLAYBOOKS], model_override_dir=folder)
    places = g.pyramid(m.grading, {i: D(20 - i) for i in range(20)})
    assert [places[i].tier for i in range(3)] == ["vip", "vip", "key"]
