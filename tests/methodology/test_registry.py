"""The methodology files: the shipped ones are complete, broken ones are refused
with a message naming the file and the field."""

from __future__ import annotations

from pathlib import Path

import pytest

from kam.methodology import registry
from kam.methodology.registry import MethodologyError, build

SHIPPED = Path(registry.__file__).parent / "playbooks"

SPEC_STANDARD_6 = [
    ("development", 0.10, ["need", "search"]),
    ("entry", 0.20, ["approval"]),
    ("proposal", 0.40, ["criteria"]),
    ("bidding", 0.60, ["evaluation", "selection"]),
    ("negotiation", 0.80, ["negotiation", "contract"]),
    ("implementation", 1.00, []),
]


def test_buyer_process_has_the_eight_steps_in_order():
    assert registry.buyer_process().keys == [
        "need", "search", "approval", "criteria", "evaluation", "selection", "negotiation",
        "contract",
    ]


def test_standard_6_matches_the_spec():
    book = registry.playbook("standard-6")
    assert [(s.key, s.base_probability, s.buyer_stages) for s in book.stages] == SPEC_STANDARD_6
    assert registry.default_playbook_key() == "standard-6"
    for stage in book.stages:
        assert stage.name.en and stage.name.zh_hans
        assert stage.main_work.get("zh-hans") != stage.main_work.get("en")
        assert stage.healthy_dwell_days > 0


def test_milestones_5_has_its_five_stages():
    book = registry.playbook("milestones-5")
    assert book.stage_keys == ["lead_confirmation", "need_nurturing", "solution_evaluation",
                               "negotiation", "contract_signing"]
    assert book.stage("lead_confirmation").name.get("zh-hans") == "线索确认"


def _write(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def _with_stage_override(old: str, new: str) -> str:
    text = (SHIPPED / "standard-6.toml").read_text(encoding="utf-8")
    assert old in text
    return text.replace(old, new, 1)


def test_admin_playbook_in_data_folder_is_loaded(tmp_path):
    # given
    text = (SHIPPED / "milestones-5.toml").read_text(encoding="utf-8")
    _write(tmp_path / "extra", "projects-3.toml",
           text.replace('key = "milestones-5"', 'key = "projects-3"'))
    # when
    methodology = build([SHIPPED, tmp_path / "extra"])
    # then
    assert set(methodology.playbooks) == {"standard-6", "milestones-5", "projects-3"}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("key = [unclosed", "is not valid TOML"),
        (_with_stage_override("base_probability = 0.10", "base_probability = 1.5"),
         "stages[0].base_probability"),
        (_with_stage_override('buyer_stages = ["approval"]', 'buyer_stages = ["aproval"]'),
         "unknown buyer stage 'aproval'"),
        (_with_stage_override('key = "entry"', 'key = "development"'),
         "stage keys must be unique"),
        (_with_stage_override("healthy_dwell_days = 45", "healthy_dwell_days = 0"),
         "stages[0].healthy_dwell_days"),
        (_with_stage_override('name = { en = "Development", zh-Hans = "开发阶段" }',
                              'name = { en = "Development" }'),
         "stages[0].name.zh-Hans"),
        (_with_stage_override('buyer_stages = ["need", "search"]',
                              'buyer_stages = ["need", "search"]\ncolour = "red"'),
         "stages[0].colour"),
        (_with_stage_override('buyer_stages = ["criteria"]', 'buyer_stages = ["need"]'),
         "keep the mapping in the buyer's order"),
    ],
)
def test_broken_playbook_names_file_and_field(tmp_path, text, expected):
    # given
    path = _write(tmp_path / "books", "standard-6.toml", text)
    # when
    with pytest.raises(MethodologyError) as err:
        build([tmp_path / "books"])
    # then
    assert str(path) in str(err.value)
    assert expected in str(err.value)


def test_key_must_match_file_name(tmp_path):
    text = (SHIPPED / "standard-6.toml").read_text(encoding="utf-8")
    _write(tmp_path / "books", "mine.toml", text)
    with pytest.raises(MethodologyError, match="must match the file name"):
        build([tmp_path / "books"])


def test_same_key_twice_is_refused(tmp_path):
    text = (SHIPPED / "standard-6.toml").read_text(encoding="utf-8")
    _write(tmp_path / "a", "standard-6.toml", text)
    with pytest.raises(MethodologyError, match="already defined"):
        build([SHIPPED, tmp_path / "a"])


def test_two_defaults_are_refused(tmp_path):
    text = (SHIPPED / "standard-6.toml").read_text(encoding="utf-8")
    _write(tmp_path / "a", "other-6.toml", text.replace('key = "standard-6"',
                                                       'key = "other-6"'))
    with pytest.raises(MethodologyError, match="More than one playbook"):
        build([SHIPPED, tmp_path / "a"])


def test_no_playbook_at_all_is_refused(tmp_path):
    with pytest.raises(MethodologyError, match="No playbook found"):
        build([tmp_path / "empty"])


def test_not_utf8_is_refused(tmp_path):
    folder = tmp_path / "b"
    folder.mkdir()
    (folder / "x.toml").write_bytes("name = '开发'".encode("gb18030"))
    with pytest.raises(MethodologyError, match="not UTF-8"):
        build([folder])
