"""Qualification (SPEC §3): the weighted evaluation score with knock-outs, the
A/B/C/D priority matrix and the months until the expected close. Pure."""

from __future__ import annotations

import calendar
import datetime as dt
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from kam.methodology import registry
from kam.methodology.evaluation import (
    EvaluationModel,
    PriorityModel,
    months_until,
    priority_grade,
    score_evaluation,
)

SHIPPED = Path(registry.__file__).parent / "playbooks"
M = registry.build([SHIPPED])
EVALUATION = M.evaluation
PRIORITY = M.priority
TEXT = {"en": "x", "zh-Hans": "x"}
GRADE_ORDER = "ABCD"


def scores(**changes) -> dict[str, int]:
    return {**dict.fromkeys(EVALUATION.keys, 3), **changes}


def model(weights, pass_mark=60, knockouts=()) -> EvaluationModel:
    return EvaluationModel(
        pass_mark=pass_mark,
        factors=[{"key": f"f{i}", "name": TEXT, "weight": w} for i, w in enumerate(weights)],
        knockouts=[{"factor": f, "at_or_below": at, "reason": TEXT} for f, at in knockouts],
    )


def add_months(day: dt.date, months: int) -> dt.date:
    """The same day `months` later, on the month's last day when it is shorter."""
    year, month = divmod(day.month - 1 + months, 12)
    year += day.year
    last = calendar.monthrange(year, month + 1)[1]
    return dt.date(year, month + 1, min(day.day, last))


# --- the shipped evaluation model --------------------------------------------------


def test_shipped_model_matches_the_spec():
    assert EVALUATION.keys == [
        "project_grade",
        "funding",
        "technical_fit",
        "relationship",
        "credit",
        "product",
        "price",
        "solution",
        "service",
    ]
    assert EVALUATION.pass_mark == 60
    assert [(k.factor, k.at_or_below) for k in EVALUATION.knockouts] == [
        ("funding", 1),
        ("technical_fit", 1),
    ]
    assert sum(f.weight for f in EVALUATION.factors) == 100


def test_score_is_the_weighted_share_of_the_maximum():
    # given: Σ w·s = 75 + 45 + 60 + 30 + 30 + 40 + 20 + 25 + 5 = 330 of 500
    given_scores = {
        "project_grade": 5,
        "funding": 3,
        "technical_fit": 4,
        "relationship": 2,
        "credit": 3,
        "product": 4,
        "price": 2,
        "solution": 5,
        "service": 1,
    }
    # when
    result = score_evaluation(EVALUATION, given_scores)
    # then
    assert result.score == 66.0
    assert result.passed is True
    assert result.knocked_out == ()
    assert result.contributions == {
        "project_grade": 15.0,
        "funding": 9.0,
        "technical_fit": 12.0,
        "relationship": 6.0,
        "credit": 6.0,
        "product": 8.0,
        "price": 4.0,
        "solution": 5.0,
        "service": 1.0,
    }


def test_pass_mark_is_inclusive():
    assert score_evaluation(EVALUATION, scores()).score == 60.0
    assert score_evaluation(EVALUATION, scores()).passed is True
    below = score_evaluation(EVALUATION, scores(relationship=2))
    assert (below.score, below.passed) == (57.0, False)


@pytest.mark.parametrize(
    ("changes", "knocked"),
    [
        ({"funding": 1}, ("funding",)),
        ({"technical_fit": 1}, ("technical_fit",)),
        ({"funding": 1, "technical_fit": 1}, ("funding", "technical_fit")),
    ],
)
def test_knock_out_fails_whatever_the_total(changes, knocked):
    # given: everything else at the top
    given_scores = {**dict.fromkeys(EVALUATION.keys, 5), **changes}
    # when
    result = score_evaluation(EVALUATION, given_scores)
    # then
    assert result.score == 100 - 12 * len(knocked)  # a 1 instead of a 5 costs 15 × 4 / 5
    assert result.passed is False
    assert result.knocked_out == knocked


def test_score_rounds_half_up_to_one_decimal():
    # given: Σ w = 16, so a point is worth 1.25: 17 points are 21.25
    two = model([1, 15])
    # when
    result = score_evaluation(two, {"f0": 2, "f1": 1})
    # then
    assert result.score == 21.3


def test_score_rounds_half_up_when_the_factor_shares_do_not_terminate():
    # given: Σ w = 272; 731 × 100 / 1360 = 53.75 exactly, but each factor's share of it is
    # a repeating decimal
    odd = model([96, 95, 79, 2])
    # when
    result = score_evaluation(odd, {"f0": 1, "f1": 5, "f2": 2, "f3": 1})
    # then
    assert result.score == 53.8


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (
            {
                "pass_mark": 60,
                "factors": [
                    {"key": "a", "name": TEXT, "weight": 1},
                    {"key": "a", "name": TEXT, "weight": 2},
                ],
            },
            "factor keys must be unique; repeated: a",
        ),
        (
            {
                "pass_mark": 60,
                "factors": [{"key": "a", "name": TEXT, "weight": 1}],
                "knockouts": [{"factor": "b", "at_or_below": 1, "reason": TEXT}],
            },
            "knockouts[0].factor: unknown factor 'b'; known: a",
        ),
        ({"pass_mark": 60, "factors": [{"key": "a", "name": TEXT, "weight": 0}]}, "greater than 0"),
        (
            {"pass_mark": 101, "factors": [{"key": "a", "name": TEXT, "weight": 1}]},
            "less than or equal to 100",
        ),
        ({"pass_mark": 60, "factors": []}, "at least 1 item"),
        (
            {
                "pass_mark": 60,
                "factors": [{"key": "a", "name": TEXT, "weight": 1, "group": "rivals"}],
            },
            "use 'opportunity' or 'competition'",
        ),
        (
            {
                "pass_mark": 60,
                "factors": [{"key": "a", "name": TEXT, "weight": 1}],
                "knockouts": [{"factor": "a", "at_or_below": 6, "reason": TEXT}],
            },
            "less than or equal to 5",
        ),
    ],
)
def test_bad_evaluation_model_is_refused(data, expected):
    with pytest.raises(ValidationError) as err:
        EvaluationModel.model_validate(data)
    assert expected in str(err.value)


# --- evaluation properties ---------------------------------------------------------

weights = st.one_of(st.integers(1, 100), st.decimals("0.01", "50", places=2).map(float))


@st.composite
def models_and_scores(draw):
    ws = draw(st.lists(weights, min_size=1, max_size=9))
    n = len(ws)
    knockouts = draw(
        st.lists(
            st.tuples(st.integers(0, n - 1).map(lambda i: f"f{i}"), st.integers(1, 5)), max_size=2
        )
    )
    chosen = model(ws, pass_mark=draw(st.integers(0, 100)), knockouts=knockouts)
    given_scores = {f"f{i}": draw(st.integers(1, 5)) for i in range(n)}
    return chosen, given_scores


def exact_score(chosen: EvaluationModel, given_scores: dict[str, int]) -> float:
    """Σ w·s / (5 Σ w) × 100 in exact fractions, rounded half up to one decimal."""
    total_weight = sum(Fraction(str(f.weight)) for f in chosen.factors)
    value = sum(Fraction(str(f.weight)) * given_scores[f.key] for f in chosen.factors)
    value = value * 100 / (5 * total_weight)
    tenths = (value * 10 + Fraction(1, 2)).__floor__()
    return float(Decimal(tenths) / 10)


@settings(max_examples=150, deadline=None)
@given(case=models_and_scores())
def test_score_is_the_formula_within_0_and_100(case):
    # given
    chosen, given_scores = case
    # when
    result = score_evaluation(chosen, given_scores)
    # then
    assert 0 <= result.score <= 100
    assert result.score == exact_score(chosen, given_scores)
    knocked = tuple(k.factor for k in chosen.knockouts if given_scores[k.factor] <= k.at_or_below)
    assert result.knocked_out == knocked
    assert result.passed is (result.score >= chosen.pass_mark and not knocked)
    if knocked:
        assert result.passed is False


@settings(max_examples=200, deadline=None)
@given(case=models_and_scores(), data=st.data())
def test_score_is_monotone_in_each_factor(case, data):
    # given
    chosen, given_scores = case
    key = data.draw(st.sampled_from(chosen.keys))
    if given_scores[key] == 5:
        given_scores[key] = 4
    higher = {**given_scores, key: given_scores[key] + 1}
    # when
    low, high = score_evaluation(chosen, given_scores), score_evaluation(chosen, higher)
    # then
    assert high.score >= low.score
    assert high.contributions[key] >= low.contributions[key]


@settings(max_examples=100, deadline=None)
@given(ws=st.lists(weights, min_size=1, max_size=9), s=st.integers(1, 5))
def test_all_factors_at_s_score_20_times_s(ws, s):
    chosen = model(ws)
    assert score_evaluation(chosen, dict.fromkeys(chosen.keys, s)).score == 20 * s


# --- months until the expected close ------------------------------------------------


@pytest.mark.parametrize(
    ("today", "close", "months"),
    [
        (dt.date(2026, 5, 10), dt.date(2026, 5, 10), 0),
        (dt.date(2026, 5, 10), dt.date(2025, 1, 1), 0),
        (dt.date(2026, 5, 10), dt.date(2026, 5, 11), 1),
        (dt.date(2026, 5, 10), dt.date(2026, 6, 10), 1),
        (dt.date(2026, 5, 10), dt.date(2026, 6, 11), 2),
        (dt.date(2026, 1, 31), dt.date(2026, 2, 28), 1),
        (dt.date(2026, 1, 31), dt.date(2026, 3, 1), 2),
        (dt.date(2026, 5, 10), dt.date(2027, 5, 10), 12),
        (dt.date(2026, 5, 10), dt.date(2027, 5, 11), 13),
    ],
)
def test_months_until_examples(today, close, months):
    assert months_until(today, close) == months


days = st.dates(dt.date(2000, 1, 1), dt.date(2060, 12, 31))


@settings(max_examples=150, deadline=None)
@given(today=days, close=days)
def test_months_until_is_the_fewest_whole_months_that_reach_the_close(today, close):
    # when
    m = months_until(today, close)
    # then
    if close <= today:
        assert m == 0
    else:
        assert m >= 1
        assert close <= add_months(today, m)
        assert m == 1 or close > add_months(today, m - 1)


@settings(max_examples=200, deadline=None)
@given(today=days, k=st.integers(0, 240))
def test_months_until_the_same_day_k_months_later_is_k(today, k):
    assert months_until(today, add_months(today, k)) == k


@settings(max_examples=200, deadline=None)
@given(today=days, close=days, later=st.integers(0, 400))
def test_months_until_grows_with_the_close_and_shrinks_with_today(today, close, later):
    after = close + dt.timedelta(days=later)
    assert months_until(today, after) >= months_until(today, close)
    assert months_until(today + dt.timedelta(days=later), close) <= months_until(today, close)


# --- priority ----------------------------------------------------------------------

TODAY = dt.date(2026, 6, 15)


@pytest.mark.parametrize(
    ("score", "close", "grade"),
    [
        (75, dt.date(2026, 9, 15), "A"),  # high likelihood, ≤ 3 months
        (100, dt.date(2026, 6, 1), "A"),  # overdue counts as now
        (75, dt.date(2026, 9, 16), "A"),  # ≤ 6 months
        (75, dt.date(2027, 6, 15), "B"),  # ≤ 12 months
        (75, dt.date(2027, 6, 16), "C"),  # later
        (74.9, dt.date(2026, 9, 15), "A"),  # medium likelihood
        (60, dt.date(2026, 12, 15), "B"),
        (60, dt.date(2027, 6, 15), "C"),
        (60, dt.date(2027, 6, 16), "D"),
        (59.9, dt.date(2026, 7, 1), "C"),  # low likelihood
        (0, dt.date(2026, 12, 15), "C"),
        (20, dt.date(2027, 1, 1), "D"),
        (20, dt.date(2030, 1, 1), "D"),
    ],
)
def test_shipped_priority_matrix(score, close, grade):
    assert priority_grade(PRIORITY, score=score, expected_close=close, today=TODAY) == grade


scores_0_100 = st.decimals(0, 100, places=1).map(float)


@settings(max_examples=150, deadline=None)
@given(today=days, within=st.integers(0, 92), score=st.decimals(75, 100, places=1).map(float))
def test_closing_within_3_months_at_high_likelihood_is_a(today, within, score):
    # given: a close date on or before the same day three months on
    close = min(today + dt.timedelta(days=within), add_months(today, 3))
    # when / then
    assert priority_grade(PRIORITY, score=score, expected_close=close, today=today) == "A"


@settings(max_examples=150, deadline=None)
@given(today=days, beyond=st.integers(1, 2000), score=st.decimals(0, "59.9", places=1).map(float))
def test_over_a_year_away_at_low_likelihood_is_d(today, beyond, score):
    # given: a close date after the same day a year on
    close = add_months(today, 12) + dt.timedelta(days=beyond)
    # when / then
    assert priority_grade(PRIORITY, score=score, expected_close=close, today=today) == "D"


@settings(max_examples=150, deadline=None)
@given(
    today=days,
    close=days,
    sooner=st.integers(0, 500),
    score=scores_0_100,
    more=st.decimals(0, 100, places=1).map(float),
)
def test_closer_or_likelier_is_never_a_worse_grade(today, close, sooner, score, more):
    # given
    earlier = close - dt.timedelta(days=sooner)
    likelier = min(100.0, score + more)
    # when
    base = priority_grade(PRIORITY, score=score, expected_close=close, today=today)
    better = priority_grade(PRIORITY, score=likelier, expected_close=earlier, today=today)
    # then
    assert GRADE_ORDER.index(better) <= GRADE_ORDER.index(base)


def _priority_data(**changes) -> dict:
    data = {
        "close_within_months": [3, 6, 12],
        "likelihood": [
            {"key": "high", "name": TEXT, "min_score": 75},
            {"key": "low", "name": TEXT, "min_score": 0},
        ],
        "matrix": {"high": ["A", "A", "B", "C"], "low": ["C", "C", "D", "D"]},
        "grades": {g: {"name": TEXT, "action": TEXT} for g in GRADE_ORDER},
    }
    return {**data, **changes}


def test_a_priority_model_of_two_bands_is_accepted():
    chosen = PriorityModel.model_validate(_priority_data())
    assert priority_grade(chosen, score=74.9, expected_close=TODAY, today=TODAY) == "C"


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"close_within_months": [6, 3]}, "close_within_months: use increasing whole months"),
        ({"close_within_months": [0, 3]}, "close_within_months: use increasing whole months"),
        (
            {
                "likelihood": [
                    {"key": "low", "name": TEXT, "min_score": 0},
                    {"key": "high", "name": TEXT, "min_score": 75},
                ]
            },
            "likelihood: list the bands from the highest min_score down",
        ),
        (
            {
                "likelihood": [
                    {"key": "high", "name": TEXT, "min_score": 75},
                    {"key": "low", "name": TEXT, "min_score": 10},
                ]
            },
            "the last band needs min_score = 0",
        ),
        ({"matrix": {"high": ["A", "A", "B", "C"]}}, "matrix: give exactly one row per likelihood"),
        (
            {"matrix": {"high": ["A", "A", "B"], "low": ["C", "C", "D", "D"]}},
            "matrix.high: give 4 grades",
        ),
        (
            {"matrix": {"high": ["A", "A", "B", "E"], "low": ["C", "C", "D", "D"]}},
            "matrix.high: unknown grade(s) ['E']",
        ),
        (
            {"grades": {g: {"name": TEXT, "action": TEXT} for g in "ABC"}},
            "grades: describe each of A, B, C and D",
        ),
    ],
)
def test_bad_priority_model_is_refused(changes, expected):
    with pytest.raises(ValidationError) as err:
        PriorityModel.model_validate(_priority_data(**changes))
    assert expected in str(err.value)
