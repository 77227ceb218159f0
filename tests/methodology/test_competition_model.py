"""The competitor scoring table's model (竞争对手分析表, SPEC §6): the shipped criteria
and weights, the weighted total over what is scored, the gap per criterion and the
comparison of us with one rival over the criteria both are scored on. Pure."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kam.methodology import registry
from kam.methodology.competition import (
    CompetitionModel,
    Gap,
    compare,
    gaps,
    is_complete,
    weighted_total,
)
from kam.methodology.registry import MethodologyError, parse_file

SHIPPED = Path(registry.__file__).parent / "playbooks"
M = registry.build([SHIPPED]).competition
TEXT = {"en": "x", "zh-Hans": "x"}
KEYS = [
    "purchase_share",
    "profit",
    "cooperation_history",
    "relationship",
    "technical_barriers",
    "satisfaction",
    "brand",
    "production_scale",
    "technical_level",
    "financial_strength",
    "quality",
    "service",
    "price",
]


def model(weights) -> CompetitionModel:
    return CompetitionModel(
        criteria=[
            {"key": f"c{i}", "name": TEXT, "guide": TEXT, "weight": w}
            for i, w in enumerate(weights)
        ]
    )


# --- the shipped model ---------------------------------------------------------------------


def test_shipped_model_has_the_thirteen_criteria_of_the_spec():
    assert M.keys == KEYS
    assert [c.name.zh_hans for c in M.criteria] == [
        "采购份额",
        "利润",
        "合作历史",
        "客户关系",
        "技术壁垒",
        "客户满意度",
        "品牌",
        "生产规模",
        "技术水平",
        "资金实力",
        "产品质量",
        "服务",
        "价格",
    ]
    assert sum(c.weight for c in M.criteria) == 100
    assert all(c.guide.en.startswith("1 = ") and " · 5 = " in c.guide.en for c in M.criteria)
    assert all(
        c.guide.zh_hans.startswith("1 = ") and " · 5 = " in c.guide.zh_hans for c in M.criteria
    )


def test_repeated_keys_and_non_positive_weights_are_refused_naming_the_field(tmp_path):
    # given
    twice = tmp_path / "competition.toml"
    row = (
        'key = "{k}"\nname = {{ en = "A", zh-Hans = "甲" }}\n'
        'guide = {{ en = "g", zh-Hans = "g" }}\n'
    )
    twice.write_text(
        "[[criteria]]\n" + row.format(k="price") + "weight = 5\n"
        "[[criteria]]\n" + row.format(k="price") + "weight = 5\n",
        encoding="utf-8",
    )
    zero = tmp_path / "zero.toml"
    zero.write_text("[[criteria]]\n" + row.format(k="price") + "weight = 0\n", encoding="utf-8")
    # when / then
    with pytest.raises(MethodologyError, match=r"competition.toml: .*repeated: price"):
        parse_file(twice, CompetitionModel)
    with pytest.raises(
        MethodologyError, match=r"zero.toml: criteria\[0\].weight: Input should be greater than 0"
    ):
        parse_file(zero, CompetitionModel)


def test_an_override_file_replaces_the_shipped_model(tmp_path):
    # given
    (tmp_path / "competition.toml").write_text(
        '[[criteria]]\nkey = "price"\nname = { en = "Price", zh-Hans = "价格" }\n'
        'guide = { en = "1 = dear · 5 = cheap", zh-Hans = "1 = 贵 · 5 = 便宜" }\nweight = 1\n',
        encoding="utf-8",
    )
    # when
    m = registry.build([SHIPPED], model_override_dir=tmp_path).competition
    # then
    assert m.keys == ["price"]


# --- totals ----------------------------------------------------------------------------------


def test_total_of_a_hand_computed_column():
    # given: relationship 12×4, quality 12×3, price 8×5, service 7×2 = 48 + 36 + 40 + 14 = 138
    scores = {"relationship": 4, "quality": 3, "price": 5, "service": 2}
    # when / then: 138 / (5 × 39) × 100 = 70.769…
    assert weighted_total(M, scores) == 70.8
    assert is_complete(M, scores) is False


def test_a_full_column_is_complete_and_weighs_every_criterion():
    scores = dict.fromkeys(KEYS, 3) | {"relationship": 5, "price": 1}
    # (300 - 36 + 60 - 24 + 8) / 500: 3 everywhere = 60, relationship +2×12, price −2×8
    assert weighted_total(M, scores) == 61.6
    assert is_complete(M, scores) is True


def test_nothing_scored_has_no_total():
    assert weighted_total(M, {}) is None
    assert weighted_total(M, {"price": 3}, only=["service"]) is None


def test_halves_round_up():
    # 3 and 4 on equal weights: 7 / 10 = 70; 1, 1, 2: 4 / 15 = 26.666… → 26.7
    assert weighted_total(model([1, 1]), {"c0": 3, "c1": 4}) == 70.0
    assert weighted_total(model([1, 1, 1]), {"c0": 1, "c1": 1, "c2": 2}) == 26.7
    # 3×1 + 5×2 = 13 of 40 = 32.5 exactly; 1 + 28 = 29 of 40 = 72.5; 25 of 40 = 62.5
    assert weighted_total(model([3, 5]), {"c0": 1, "c1": 2}) == 32.5
    assert weighted_total(model([1, 7]), {"c0": 1, "c1": 4}) == 72.5
    assert (
        weighted_total(model([1, 1, 1, 1, 1, 1, 1, 1]), {f"c{i}": 3 for i in range(7)} | {"c7": 4})
        == 62.5
    )


scores_strategy = st.dictionaries(st.sampled_from(KEYS), st.integers(1, 5), min_size=1)


@settings(max_examples=300, deadline=None)
@given(scores=scores_strategy)
def test_totals_stay_between_20_and_100(scores):
    total = weighted_total(M, scores)
    assert 20 <= total <= 100


def test_all_fives_make_100_and_all_ones_20():
    assert weighted_total(M, dict.fromkeys(KEYS, 5)) == 100
    assert weighted_total(M, dict.fromkeys(KEYS, 1)) == 20


@settings(max_examples=300, deadline=None)
@given(
    scores=st.fixed_dictionaries({k: st.integers(1, 5) for k in KEYS}), key=st.sampled_from(KEYS)
)
def test_the_total_never_falls_when_one_score_rises(scores, key):
    if scores[key] == 5:
        return
    higher = {**scores, key: scores[key] + 1}
    assert weighted_total(M, higher) >= weighted_total(M, scores)


@settings(max_examples=300, deadline=None)
@given(
    weights=st.lists(st.integers(1, 20), min_size=1, max_size=13),
    factor=st.integers(2, 50),
    data=st.data(),
)
def test_scaling_every_weight_changes_nothing(weights, factor, data):
    scores = {f"c{i}": data.draw(st.integers(1, 5)) for i in range(len(weights))}
    assert weighted_total(model(weights), scores) == weighted_total(
        model([w * factor for w in weights]), scores
    )


# --- gaps and comparison -------------------------------------------------------------------


def test_gap_per_criterion_is_us_minus_the_best_rival():
    # given
    us = {"price": 5, "quality": 3, "brand": 2}
    rivals = [(7, {"price": 3, "quality": 4}), (9, {"price": 2, "quality": 4, "service": 5})]
    # when
    rows = {g.criterion: g for g in gaps(M, us, rivals)}
    # then: ties go to the first rival given
    assert [g.criterion for g in gaps(M, us, rivals)] == KEYS
    assert rows["price"] == Gap("price", 5, 3, 7, 2)
    assert rows["quality"] == Gap("quality", 3, 4, 7, -1)
    assert rows["brand"] == Gap("brand", 2, None, None, None)
    assert rows["service"] == Gap("service", None, 5, 9, None)
    assert rows["profit"] == Gap("profit", None, None, None, None)


def test_a_half_filled_rival_is_compared_on_the_criteria_both_have():
    # given: we are scored everywhere, weak on price; the rival only on price and service
    us = dict.fromkeys(KEYS, 4) | {"price": 2}
    rival = {"price": 5, "service": 3}
    # when
    found = compare(M, us, rival)
    # then: over price (8) and service (7): us (16 + 28) / 75 = 58.7, rival (40 + 21) / 75 = 81.3
    assert found.criteria == ("service", "price")
    assert (found.us, found.rival, found.gap) == (58.7, 81.3, 22.6)
    assert found.leads == (("price", 3),)
    assert found.behind == (("service", 1),)
    assert found.rival_ahead is True
    # over our whole column ((4 × 92) + 2 × 8) / 500 we would look better than the rival
    assert weighted_total(M, us) == 76.8


def test_leads_are_ranked_widest_first_then_by_weight():
    us = {"brand": 1, "quality": 2, "price": 3, "service": 1}
    rival = {"brand": 3, "quality": 4, "price": 5, "service": 2}
    assert compare(M, us, rival).leads == (
        ("quality", 2),
        ("price", 2),
        ("brand", 2),
        ("service", 1),
    )


def test_nothing_in_common_compares_nothing():
    found = compare(M, {"price": 3}, {"service": 4})
    assert (found.criteria, found.us, found.rival, found.gap) == ((), None, None, None)
    assert found.rival_ahead is False


def test_a_tie_is_not_a_lead():
    # 8×3 + 12×4 = 72 against 8×4 + 12×3 = 68, of 100: we lead by 4 / 100 × 100 = 4 points
    found = compare(M, {"price": 3, "quality": 4}, {"price": 4, "quality": 3})
    assert (found.us, found.rival, found.gap) == (72.0, 68.0, -4.0)
    same = compare(M, {"price": 3}, {"price": 3})
    assert same.gap == 0 and same.rival_ahead is False
