"""SPEC §6 market segmentation as data: the shipped variables and scoring criteria, a
broken file refused naming the file and the field, the score arithmetic and the
matching decision (pure, no database)."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from kam.methodology.registry import MODELS_DIR, MethodologyError, parse_file
from kam.methodology.segmentation import (
    ACCOUNT_FIELDS,
    SegmentationModel,
    account_matches,
    account_values,
    definition_parts,
    segment_score,
)

SHIPPED = MODELS_DIR / "segmentation.toml"


@pytest.fixture(scope="module")
def model() -> SegmentationModel:
    return parse_file(SHIPPED, SegmentationModel)


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "segmentation.toml"
    path.write_text(text, encoding="utf-8")
    return path


def _refusal(tmp_path: Path, text: str) -> str:
    path = _write(tmp_path, text)
    with pytest.raises(MethodologyError) as err:
        parse_file(path, SegmentationModel)
    message = str(err.value)
    assert message.startswith(f"{path}: ")
    return message.removeprefix(f"{path}: ")


# --- the shipped model ------------------------------------------------------------------


def test_the_five_groups_of_spec_6_with_their_variables(model):
    # given / when
    groups = {g.key: [v.key for v in g.variables] for g in model.groups}
    # then
    assert groups == {
        "demographic": ["industry", "size", "location", "nature"],
        "operating": ["technology", "user_status", "service_needs"],
        "purchasing": [
            "procurement",
            "power_structure",
            "relationship",
            "purchasing_policy",
            "buying_criteria",
        ],
        "situational": ["urgency", "application", "order_size"],
        "personal": ["similarity", "risk_attitude", "loyalty"],
    }


def test_demographic_variables_read_the_account_and_the_rest_the_profile(model):
    sources = {v.key: v.source for v in model.variables}
    assert sources["industry"] == "account.industry"
    assert sources["size"] == "account.size"
    assert sources["location"] == "account.region"
    assert sources["nature"] == "account.nature"
    assert [v.key for v in model.variables if not v.is_attribute] == [
        "industry",
        "size",
        "location",
        "nature",
    ]
    assert model.variable("technology").group == "operating"


def test_free_text_variables_are_industry_location_and_application(model):
    assert [v.key for v in model.variables if v.is_text] == ["industry", "location", "application"]


def test_the_purchasing_options_of_the_spec(model):
    def keys(variable: str) -> list[str]:
        return model.variable(variable).option_keys

    assert keys("procurement") == ["centralised", "decentralised"]
    assert keys("power_structure")[:2] == ["technical", "finance"]
    assert keys("purchasing_policy") == ["leasing", "contract", "system", "tender"]
    assert keys("buying_criteria") == ["quality", "service", "price"]
    assert keys("user_status") == ["non_user", "light", "medium", "heavy"]
    assert model.variable("procurement").option_name("centralised", "zh-Hans") == "集中采购"


def test_criteria_under_three_headings_with_weights(model):
    assert [(h.key, h.weight, [c.key for c in h.criteria]) for h in model.headings] == [
        ("size_growth", 30, ["market_size", "growth"]),
        (
            "attractiveness",
            40,
            ["rivalry", "new_entrants", "substitutes", "buyer_power", "supplier_power"],
        ),
        ("fit", 30, ["fit_goals", "fit_resources"]),
    ]


def test_every_guide_says_what_1_and_5_mean(model):
    for criterion in model.criteria:
        assert criterion.guide.en.startswith("1 = ") and " · 5 = " in criterion.guide.en
        assert criterion.guide.zh_hans.startswith("1 = ") and " · 5 = " in criterion.guide.zh_hans


def test_account_field_values_follow_the_account_model():
    from kam.accounts.models import Account

    for field, allowed in ACCOUNT_FIELDS.items():
        choices = Account._meta.get_field(field).choices
        if allowed is None:
            assert not choices
        else:
            assert tuple(value for value, _label in choices) == allowed


# --- broken files -------------------------------------------------------------------------

GOOD = SHIPPED.read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (
            'key = "technology"',
            'key = "industry"',
            "(file): Value error, groups[1].variables[0].key: variable 'industry' is already "
            "used at groups[0].variables[0].key; keys must be unique",
        ),
        (
            'source = "account.region"',
            'source = "account.colour"',
            "groups[0].variables[2].source: Value error, 'account.colour' is not a known source",
        ),
        (
            'source = "account.industry"',
            'source = "account.industry"\noptions = [{ key = "car", name = { en = "Car", '
            'zh-Hans = "汽车" } }]',
            "groups[0].variables[0]: Value error, options: account.industry is free text",
        ),
        (
            '{ key = "very_large", name = { en = "Very large", zh-Hans = "特大型" } },',
            '{ key = "huge", name = { en = "Huge", zh-Hans = "巨型" } },',
            "groups[0].variables[1]: Value error, options: 'huge' is not a value of account.size",
        ),
        (
            '{ key = "decentralised", name',
            '{ key = "centralised", name',
            "groups[2].variables[0]: Value error, option keys must be unique; repeated: "
            "centralised",
        ),
        (
            'key = "growth"',
            'key = "rivalry"',
            "(file): Value error, headings[1].criteria[0].key: criterion 'rivalry' is already "
            "used at headings[0].criteria[1].key; keys must be unique",
        ),
        (
            'name = { en = "Technology", zh-Hans = "技术" }',
            'name = { en = "Technology" }',
            "groups[1].variables[0].name.zh-Hans: Field required",
        ),
        ("weight = 40", "weight = 0", "headings[1].weight: Input should be greater than 0"),
        (
            'key = "personal"',
            'key = "personal"\ncolour = "red"',
            "groups[4].colour: Extra inputs are not permitted",
        ),
    ],
)
def test_a_broken_file_names_the_file_and_the_field(tmp_path, old, new, expected):
    # given
    assert old in GOOD
    text = GOOD.replace(old, new, 1)
    # when
    message = _refusal(tmp_path, text)
    # then
    assert message.startswith(expected), message


def test_the_shipped_text_is_valid_toml():
    assert tomllib.loads(GOOD)["headings"][0]["key"] == "size_growth"


# --- scores -------------------------------------------------------------------------------


def test_three_everywhere_scores_60(model):
    # given
    scores = dict.fromkeys(model.criterion_keys, 3)
    # when
    result = segment_score(model, scores)
    # then
    assert result.total == 60.0
    assert result.headings == {"size_growth": 60.0, "attractiveness": 60.0, "fit": 60.0}
    assert result.complete is True


def test_headings_are_weighted_30_40_30(model):
    # given: size and growth 5 and 4, five forces all 2, fit 5 and 5
    scores = {
        "market_size": 5,
        "growth": 4,
        "rivalry": 2,
        "new_entrants": 2,
        "substitutes": 2,
        "buyer_power": 2,
        "supplier_power": 2,
        "fit_goals": 5,
        "fit_resources": 5,
    }
    # when
    result = segment_score(model, scores)
    # then: (90 × 30 + 40 × 40 + 100 × 30) / 100
    assert result.headings == {"size_growth": 90.0, "attractiveness": 40.0, "fit": 100.0}
    assert result.total == 73.0
    assert result.complete is True


def test_unscored_criteria_are_left_out_and_flagged(model):
    # given
    scores = {"market_size": 5, "rivalry": 1}
    # when
    result = segment_score(model, scores)
    # then: (100 × 30 + 20 × 40) / 70 = 54.2857…
    assert result.headings == {"size_growth": 100.0, "attractiveness": 20.0, "fit": None}
    assert result.total == 54.3
    assert result.complete is False


def test_nothing_scored_has_no_total(model):
    result = segment_score(model, {})
    assert result.total is None
    assert result.headings == {"size_growth": None, "attractiveness": None, "fit": None}
    assert result.complete is False


def test_all_ones_and_all_fives_are_the_ends(model):
    assert segment_score(model, dict.fromkeys(model.criterion_keys, 1)).total == 20.0
    assert segment_score(model, dict.fromkeys(model.criterion_keys, 5)).total == 100.0


# --- matching -----------------------------------------------------------------------------


def _values(model, attributes=None, **fields):
    return account_values(model, fields, attributes or {})


def test_account_values_read_fields_and_attributes(model):
    values = _values(model, {"technology": "automated"}, industry="汽车零部件", size="large")
    assert values["industry"] == "汽车零部件"
    assert values["size"] == "large"
    assert values["location"] == ""
    assert values["technology"] == "automated"
    assert values["loyalty"] == ""


@pytest.mark.parametrize(
    ("definition", "expected"),
    [
        ({}, True),
        ({"industry": ["汽车"]}, True),
        ({"industry": ["AUTO"]}, True),  # substring, ignoring case
        ({"industry": ["电子", "汽车"]}, True),  # any of the texts
        ({"industry": ["电子"]}, False),
        ({"size": ["large", "very_large"]}, True),
        ({"size": ["small"]}, False),
        ({"technology": ["automated"]}, True),
        ({"technology": ["manual"]}, False),
        ({"loyalty": ["high"]}, False),  # not known: no match
        ({"size": ["large"], "technology": ["automated"]}, True),
        ({"size": ["large"], "technology": ["manual"]}, False),  # AND across variables
        ({"size": []}, True),  # an empty list does not restrict
        ({"gone": ["x"]}, True),  # a variable the model no longer has does not restrict
    ],
)
def test_account_matches(model, definition, expected):
    values = _values(
        model, {"technology": "automated"}, industry="汽车零部件 Auto parts", size="large"
    )
    assert account_matches(model, definition, values) is expected


def test_definition_in_words(model):
    definition = {"size": ["large", "very_large"], "industry": ["汽车"]}
    assert definition_parts(model, definition, "en") == [
        ("Industry", ["汽车"]),
        ("Company size", ["Large", "Very large"]),
    ]
    assert definition_parts(model, definition, "zh-Hans")[1] == ("公司规模", ["大型", "特大型"])
