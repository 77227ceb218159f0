"""The account types (三类大客户, SPEC §6) as data: the shipped file describes the three
types, the questionnaire suggests each of them, ties go to the less demanding type,
and a broken file is refused naming the file and the field."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kam.methodology.account_types import TYPE_KEYS, AccountTypeModel, AnswerError
from kam.methodology.registry import MODELS_DIR, MethodologyError, parse_file

SHIPPED = MODELS_DIR / "account_types.toml"
MODEL = parse_file(SHIPPED, AccountTypeModel)

# Answers that point each to one type only, per question.
PURE = {
    "transactional": {
        "offering": "standard",
        "switching": "easily",
        "decides": "price",
        "contacts": "purchasing",
        "horizon": "order_by_order",
        "sharing": "specification",
    },
    "value": {
        "offering": "tailored",
        "switching": "with_effort",
        "decides": "solution_fit",
        "contacts": "engineers",
        "horizon": "framework",
        "sharing": "problems",
    },
    "strategic": {
        "offering": "codeveloped",
        "switching": "hardly",
        "decides": "capability",
        "contacts": "management",
        "horizon": "joint_plans",
        "sharing": "strategy",
    },
}


def _tiny(**overrides) -> AccountTypeModel:
    """A two-question model for the arithmetic."""
    t = {"en": "x", "zh-Hans": "x"}
    profile = {"name": t, "buys": t, "decides": t, "relationship": t, "emphasis": [t]}
    data = {
        "types": dict.fromkeys(TYPE_KEYS, profile),
        "questions": [
            {
                "key": "q1",
                "text": t,
                "answers": [
                    {"key": "t", "text": t, "points": {"transactional": 2}, "reason": t},
                    {"key": "v", "text": t, "points": {"value": 2}, "reason": t},
                ],
            },
            {
                "key": "q2",
                "text": t,
                "answers": [
                    {"key": "s", "text": t, "points": {"strategic": 2}, "reason": t},
                    {"key": "vs", "text": t, "points": {"value": 1, "strategic": 1}, "reason": t},
                ],
            },
        ],
    }
    data.update(overrides)
    return AccountTypeModel.model_validate(data)


# --- the shipped file -------------------------------------------------------------------


def test_the_shipped_file_describes_the_three_types_in_both_languages():
    assert list(MODEL.types) == ["transactional", "value", "strategic"]
    assert [MODEL.type(k).name.get("zh-Hans") for k in TYPE_KEYS] == ["交易型", "价值型", "战略型"]
    assert [MODEL.type(k).name.get("en") for k in TYPE_KEYS] == [
        "Transactional",
        "Value",
        "Strategic",
    ]
    for key in TYPE_KEYS:
        profile = MODEL.type(key)
        assert 2 <= len(profile.emphasis) <= 3
        for text in (profile.buys, profile.decides, profile.relationship, *profile.emphasis):
            assert text.en and text.zh_hans and text.en != text.zh_hans


def test_the_shipped_questionnaire_has_five_to_seven_questions():
    assert 5 <= len(MODEL.questions) <= 7
    assert [q.key for q in MODEL.questions] == list(PURE["value"])
    for q in MODEL.questions:
        assert len(q.answers) >= 2
        for a in q.answers:
            assert a.reason.en and a.reason.zh_hans


@pytest.mark.parametrize("kind", TYPE_KEYS)
def test_each_type_is_reached_by_its_own_answers(kind):
    # when
    result = MODEL.suggest(PURE[kind])
    # then
    assert result.type == kind
    assert result.tie is False
    assert result.tied == ()
    assert result.answered == result.questions == 6
    assert len(result.reasons) == 6
    assert result.reasons[0] == MODEL.question("offering").answer(PURE[kind]["offering"]).reason


def test_points_reasons_and_confidence_of_a_mixed_set():
    # given: two value answers, and the strategic answer that also gives value a point
    answers = {"offering": "tailored", "decides": "solution_fit", "switching": "hardly"}
    # when
    result = MODEL.suggest(answers)
    # then
    assert result.type == "value"
    assert result.points == {"transactional": 0, "value": 5, "strategic": 2}
    assert [r.en for r in result.reasons] == [
        "Buys products tailored to the application — value beyond the product.",
        "Our technology is built into their products or processes.",
        "Solution fit and price–performance decide.",
    ]
    assert result.confidence == round(5 / 7, 2)
    assert (result.answered, result.questions) == (3, 6)


def test_a_tie_goes_to_the_less_demanding_type_and_is_reported():
    # given: one strategic, one transactional answer
    answers = {"offering": "codeveloped", "decides": "price"}
    # when
    result = MODEL.suggest(answers)
    # then
    assert result.type == "transactional"
    assert result.tie is True
    assert result.tied == ("transactional", "strategic")
    assert result.confidence == 0.5
    assert [r.en for r in result.reasons] == ["Price and ease of buying decide."]


def test_nothing_answered_suggests_nothing():
    for answers in ({}, {"offering": None, "decides": ""}):
        result = MODEL.suggest(answers)
        assert result.type is None
        assert result.points == {"transactional": 0, "value": 0, "strategic": 0}
        assert (result.reasons, result.tie, result.confidence, result.answered) == ((), False, 0, 0)


def test_an_unknown_question_is_named():
    with pytest.raises(AnswerError) as caught:
        MODEL.suggest({"offering": "standard", "colour": "red"})
    assert caught.value.question == "colour"
    assert str(caught.value) == (
        "answers.colour: There is no question “colour”; use one of: offering, switching, "
        "decides, contacts, horizon, sharing."
    )


def test_an_unknown_answer_is_named_with_the_known_ones():
    with pytest.raises(AnswerError) as caught:
        MODEL.suggest({"decides": "luck"})
    assert caught.value.question == "decides"
    assert str(caught.value) == (
        "answers.decides: “luck” is not an answer to this question; use one of: price, "
        "solution_fit, capability."
    )


def test_a_non_text_answer_is_refused():
    with pytest.raises(AnswerError) as caught:
        MODEL.suggest({"decides": 3})
    assert caught.value.question == "decides"


def test_the_tiny_models_tie_rule_across_all_orders():
    model = _tiny()
    assert model.suggest({"q1": "v", "q2": "s"}).type == "value"  # 2 v 2: value is less demanding
    assert model.suggest({"q1": "v", "q2": "s"}).tied == ("value", "strategic")
    assert model.suggest({"q2": "s", "q1": "v"}).type == "value"  # answer order does not matter
    assert model.suggest({"q1": "t", "q2": "vs"}).type == "transactional"


# --- properties -------------------------------------------------------------------------

ANSWER_SETS = st.fixed_dictionaries(
    {},
    optional={q.key: st.sampled_from([None, *[a.key for a in q.answers]]) for q in MODEL.questions},
)


@given(ANSWER_SETS)
def test_the_suggestion_is_a_top_scorer_and_ties_go_to_the_least_demanding(answers):
    result = MODEL.suggest(answers)
    answered = {k: v for k, v in answers.items() if v}
    assert result.answered == len(answered)
    assert sum(result.points.values()) == sum(
        sum(MODEL.question(q).answer(a).points.values()) for q, a in answered.items()
    )
    if not answered:
        assert result.type is None
        return
    best = max(result.points.values())
    top = [k for k in TYPE_KEYS if result.points[k] == best]
    assert result.type == top[0]
    assert result.tie == (len(top) > 1)
    assert 0 < result.confidence <= 1
    # every reason belongs to an answer that gave the winner points
    reasons = [
        MODEL.question(q).answer(a).reason
        for q, a in answered.items()
        if MODEL.question(q).answer(a).points.get(result.type)
    ]
    assert sorted(r.en for r in result.reasons) == sorted(r.en for r in reasons)


def test_every_type_wins_somewhere_in_the_full_answer_space():
    winners = {
        MODEL.suggest(dict(zip([q.key for q in MODEL.questions], combo, strict=True))).type
        for combo in itertools.product(*[[a.key for a in q.answers] for q in MODEL.questions])
    }
    assert winners == set(TYPE_KEYS)


# --- broken files -----------------------------------------------------------------------


def _broken(tmp_path: Path, old: str, new: str) -> str:
    text = SHIPPED.read_text(encoding="utf-8")
    assert old in text
    path = tmp_path / "account_types.toml"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    with pytest.raises(MethodologyError) as caught:
        parse_file(path, AccountTypeModel)
    return str(caught.value)


def test_an_answer_pointing_to_an_unknown_type_is_refused(tmp_path):
    message = _broken(tmp_path, "points = { transactional = 2 }", "points = { loyal = 2 }")
    assert "account_types.toml: questions[0].answers[0].points: Value error, points.loyal: " in (
        message
    )
    assert "use any of: transactional, value, strategic" in message


def test_a_repeated_question_key_is_refused(tmp_path):
    message = _broken(tmp_path, 'key = "switching"', 'key = "offering"')
    assert "question keys must be unique; repeated: offering" in message


def test_a_repeated_answer_key_is_refused(tmp_path):
    message = _broken(tmp_path, 'key = "tailored"', 'key = "standard"')
    assert "questions[0]: Value error, answer keys must be unique; repeated: standard" in message


def test_a_missing_type_is_refused(tmp_path):
    message = _broken(tmp_path, "[types.strategic]", "[types.partner]")
    assert "types: Value error, describe exactly the types transactional, value, strategic; " in (
        message
    )
    assert "missing strategic; unknown partner" in message


def test_a_question_with_one_answer_is_refused():
    t = {"en": "x", "zh-Hans": "x"}
    with pytest.raises(ValueError, match="at least 2 items"):
        _tiny(
            questions=[
                {
                    "key": "q1",
                    "text": t,
                    "answers": [
                        {"key": "t", "text": t, "points": {"transactional": 1}, "reason": t}
                    ],
                }
            ]
        )


def test_a_type_no_answer_reaches_is_refused():
    t = {"en": "x", "zh-Hans": "x"}
    with pytest.raises(ValueError, match="no answer gives points to strategic"):
        _tiny(
            questions=[
                {
                    "key": "q1",
                    "text": t,
                    "answers": [
                        {"key": "t", "text": t, "points": {"transactional": 1}, "reason": t},
                        {"key": "v", "text": t, "points": {"value": 1}, "reason": t},
                    ],
                }
            ]
        )


def test_points_out_of_range_are_refused(tmp_path):
    message = _broken(tmp_path, "points = { value = 2 }", "points = { value = 0 }")
    assert "points.value: give from 1 to 10 points" in message
