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


# --- the shipped key nodes (SPEC §2.2) ---------------------------------------------

SHIPPED_ONLY = build([SHIPPED])


def _gate(book_key: str, stage_key: str) -> list[tuple[str, str, dict]]:
    stage = SHIPPED_ONLY.playbooks[book_key].stage(stage_key)
    return [(c.key, c.check, c.params) for c in stage.gate]


def test_standard_6_gates_match_the_spec():
    book = SHIPPED_ONLY.playbooks["standard-6"]
    assert _gate("standard-6", "development") == [
        ("evaluation_passed", "evaluation_passed", {}),
        ("priority_assigned", "priority_assigned", {}),
    ]
    assert _gate("standard-6", "entry") == [
        ("coach", "coach_identified", {}),
        ("decision_maker", "stakeholder_role", {"role": "decision_maker"}),
        ("candidate_confirmed", "milestone", {"kind": "candidate_confirmed"}),
    ]
    assert _gate("standard-6", "proposal") == [
        ("criteria_shaped", "purchase_criteria", {"min": 3, "shaped_by_us_min": 1}),
        ("proposal_submitted", "milestone", {"kind": "proposal_submitted"}),
    ]
    assert _gate("standard-6", "bidding") == [
        ("bid_submitted", "milestone", {"kind": "bid_submitted", "require": ["price", "margin"]}),
    ]
    assert _gate("standard-6", "negotiation") == [
        ("contract_signed", "milestone", {"kind": "contract_signed"}),
    ]
    assert _gate("standard-6", "implementation") == [
        ("acceptance", "milestone", {"kind": "acceptance"}),
    ]
    assert [s.key for s in book.stages if s.wins] == ["negotiation"]
    assert book.winning_stage.key == "negotiation"


def test_milestones_5_gates_are_complete():
    book = SHIPPED_ONLY.playbooks["milestones-5"]
    assert _gate("milestones-5", "lead_confirmation") == [
        ("evaluation_passed", "evaluation_passed", {}),
        ("priority_assigned", "priority_assigned", {}),
    ]
    assert _gate("milestones-5", "need_nurturing") == [
        ("coach", "coach_identified", {}),
        ("decision_maker", "stakeholder_role", {"role": "decision_maker"}),
    ]
    assert _gate("milestones-5", "solution_evaluation") == [
        ("criteria_shaped", "purchase_criteria", {"min": 1, "shaped_by_us_min": 1}),
        ("offer_submitted", "milestone", {"kind": ["proposal_submitted", "bid_submitted"]}),
    ]
    assert _gate("milestones-5", "negotiation") == [
        ("preferred_supplier", "milestone", {"kind": "preferred_supplier"}),
        ("terms_agreed", "milestone", {"kind": "terms_agreed"}),
    ]
    assert _gate("milestones-5", "contract_signing") == [
        ("contract_signed", "milestone", {"kind": "contract_signed"}),
    ]
    assert [s.key for s in book.stages if s.wins] == ["contract_signing"]
    assert [s.base_probability for s in book.stages] == [0.10, 0.25, 0.50, 0.75, 0.90]


@pytest.mark.parametrize("book_key", ["standard-6", "milestones-5"])
def test_shipped_playbooks_map_every_buyer_stage_in_order(book_key):
    # given
    book = SHIPPED_ONLY.playbooks[book_key]
    # when
    mapped = [b for s in book.stages for b in s.buyer_stages]
    # then
    assert mapped == SHIPPED_ONLY.buyer.keys
    assert all(s.gate for s in book.stages)


def test_every_gate_criterion_of_the_shipped_playbooks_is_labelled_in_both_languages():
    from kam.methodology import checks
    from kam.methodology.text import render

    ctx = SHIPPED_ONLY.check_context
    for book in SHIPPED_ONLY.playbooks.values():
        for stage in book.stages:
            for criterion in stage.gate:
                kind = checks.CHECKS[criterion.check]
                label = kind.label(criterion.parsed, ctx)
                assert render(label, lambda s: s, "en")
                assert render(label, lambda s: s, "zh-Hans")
                for kind_key in getattr(criterion.parsed, "kinds", []):
                    assert kind_key in SHIPPED_ONLY.milestones.keys


# --- broken key nodes ----------------------------------------------------------------

CONTRACT_GATE = '[[stages.gate]]\nkey = "contract_signed"\ncheck = "milestone"\n'
ENTRY_GATE_END = 'params = { kind = "candidate_confirmed" }\n'


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ('key = "decision_maker"\ncheck', 'key = "coach"\ncheck',
         ["stages[1]:", "gate criterion keys must be unique; repeated: coach"]),
        (CONTRACT_GATE + 'params = { kind = "contract_signed" }\n', "",
         ["stages[4]:", "a stage that wins the deal needs a gate"]),
        ("buyer_stages = []", "buyer_stages = []\nwins = true",
         ["only one stage may win the deal; found: negotiation, implementation"]),
        ('params = { role = "decision_maker" }', 'params = { role = "boss" }',
         ["stages[1].gate[1]:", "criterion 'decision_maker' (stakeholder_role): params.role:",
          "unknown role 'boss'"]),
        ('params = { role = "decision_maker" }',
         'params = { role = "decision_maker", stances = ["friend"] }',
         ["stages[1].gate[1]:", "params.stances:", "use stances from: champion"]),
        ('check = "priority_assigned"', 'check = "priority_assigned"\nparams = { grades = ["E"] }',
         ["stages[0].gate[1]:", "params.grades:", "unknown grade(s) ['E']"]),
        ('check = "coach_identified"', 'check = "coach_found"',
         ["stages[1].gate[0]:", "criterion 'coach': unknown check 'coach_found'"]),
        ('require = ["price", "margin"] }', 'require = ["price", "margin"], currency = "CNY" }',
         ["stages[3].gate[0]:", "params.currency: Extra inputs are not permitted"]),
        ('require = ["price", "margin"] }', 'require = ["price", "discount"] }',
         ["stages[3].gate[0]:", "params.require:", "require may list only: price, margin"]),
        (ENTRY_GATE_END, 'params = { kind = "candidate" }\n',
         ["stages[1] (entry).gate[2] (candidate_confirmed).params.kind: unknown milestone "
          "'candidate'; known: candidate_confirmed"]),
        ('params = { kind = "proposal_submitted" }',
         'params = { kind = ["proposal_submitted", "tender_won"] }',
         ["stages[2] (proposal).gate[1] (proposal_submitted).params.kind: unknown milestone "
          "'tender_won'"]),
        (ENTRY_GATE_END, ENTRY_GATE_END + '\n[[stages.gate]]\nkey = "approved"\n'
         'check = "buyer_stage_reached"\nparams = { stage = "aproval" }\n',
         ["stages[1] (entry).gate[3] (approved).params.stage: unknown buyer stage 'aproval'; "
          "known: need, search"]),
        ('key = "coach"\ncheck = "coach_identified"', 'key = "coach"',
         ["stages[1].gate[0].check: Field required"]),
        ('key = "coach"\n', 'key = "Coach!"\n', ["stages[1].gate[0].key:"]),
    ],
)
def test_broken_gate_names_file_and_field(tmp_path, old, new, expected):
    # given
    path = _write(tmp_path / "books", "standard-6.toml", _with_stage_override(old, new))
    # when
    with pytest.raises(MethodologyError) as err:
        build([tmp_path / "books"])
    # then
    assert str(err.value).startswith(f"{path}: ")
    for part in expected:
        assert part in str(err.value)


# --- administrators' model files -----------------------------------------------------

MODELS = registry.MODELS_DIR


def _model_override(folder: Path, name: str, old: str, new: str) -> Path:
    text = (MODELS / name).read_text(encoding="utf-8")
    assert old in text
    return _write(folder, name, text.replace(old, new, 1))


PRICE_WEIGHT = (
    'key = "price"\nname = { en = "Price (vs rivals)", zh-Hans = "价格(竞争)" }\nweight = 10'
)


def test_an_evaluation_override_with_other_weights_is_used(tmp_path):
    # given: the admin weighs price at 40 instead of 10
    from kam.methodology.evaluation import score_evaluation

    _model_override(tmp_path / "models", "evaluation.toml", PRICE_WEIGHT,
                    PRICE_WEIGHT.replace("weight = 10", "weight = 40"))
    scores = {**dict.fromkeys(SHIPPED_ONLY.evaluation.keys, 3), "price": 5}
    # when
    m = build([SHIPPED], model_override_dir=tmp_path / "models")
    # then: 470 of 650 points instead of 320 of 500
    assert m.evaluation.factor("price").weight == 40
    assert score_evaluation(m.evaluation, scores).score == 72.3
    assert score_evaluation(SHIPPED_ONLY.evaluation, scores).score == 64.0
    assert m.priority == SHIPPED_ONLY.priority
    assert m.risks == SHIPPED_ONLY.risks


def test_load_reads_the_override_folder_from_settings(tmp_path, settings):
    # given
    _model_override(tmp_path / "models", "evaluation.toml", "pass_mark = 60", "pass_mark = 70")
    original = settings.KAM_MODEL_OVERRIDE_DIR
    settings.KAM_MODEL_OVERRIDE_DIR = tmp_path / "models"
    try:
        # when
        registry.load()
        # then
        assert registry.current().evaluation.pass_mark == 70
    finally:
        settings.KAM_MODEL_OVERRIDE_DIR = original
        registry.load()
    assert registry.current().evaluation.pass_mark == 60


@pytest.mark.parametrize(
    ("name", "old", "new", "expected"),
    [
        ("evaluation.toml", "pass_mark = 60", "pass_mark = 160",
         "pass_mark: Input should be less than or equal to 100"),
        ("evaluation.toml", 'factor = "funding"', 'factor = "money"',
         "knockouts[0].factor: unknown factor 'money'"),
        ("evaluation.toml", PRICE_WEIGHT, PRICE_WEIGHT.replace("weight = 10", "weight = -1"),
         "factors[6].weight: Input should be greater than 0"),
        ("priority.toml", 'low    = ["C", "C", "D", "D"]', 'low    = ["C", "C", "D"]',
         "matrix.low: give 4 grades"),
        ("priority.toml", "close_within_months = [3, 6, 12]", "close_within_months = [12, 6]",
         "close_within_months: use increasing whole months"),
        ("risks.toml", "[rules.stalled]", "[rules.stuck]", "rules.stuck: unknown alert code"),
        ("risks.toml", "probability_factor = 0.5", "probability_factor = 2",
         "rules.forced_gate.probability_factor: Input should be less than or equal to 1"),
        ("milestones.toml", 'key = "acceptance"', 'key = "candidate_confirmed"',
         "milestone keys must be unique; repeated: candidate_confirmed"),
        ("evaluation.toml", "pass_mark = 60", "pass_mark = ", "is not valid TOML"),
        ("risks.toml", 'from_buyer_stage = "approval"', 'from_buyer_stage = "tender"',
         "rules.no_decision_maker.params.from_buyer_stage: 'tender' is not a buyer stage"),
        ("risks.toml", 'veto_roles = ["decision_maker", "technical"]', 'veto_roles = ["boss"]',
         "rules.blocker_present.params.veto_roles: Value error, unknown role 'boss'"),
        ("risks.toml", "window_days = 30", "window_days = 0",
         "rules.key_person_changed.params.window_days: Input should be greater than or equal"),
        ("risks.toml", "min_supporters = 2", "min_people = 2",
         "rules.single_threaded.params.min_people: Extra inputs are not permitted"),
        ("buying_centre.toml", 'criteria = ["technical"]', 'criteria = ["engineer"]',
         "key_roles.criteria: unknown role 'engineer'"),
        ("buying_centre.toml", 'need = ["user", "technical"]', 'tender = ["user"]',
         "key_roles.tender: not a buyer stage"),
        ("buying_centre.toml", "[disc.C]", "[disc.X]", "disc: describe exactly the types"),
        ("buying_centre.toml", "sources_to_verify = 2", "sources_to_verify = 0",
         "sources_to_verify: Input should be greater than or equal to 1"),
    ],
)
def test_a_broken_model_override_is_refused_naming_the_file(tmp_path, name, old, new, expected):
    # given
    path = _model_override(tmp_path / "models", name, old, new)
    # when
    with pytest.raises(MethodologyError) as err:
        build([SHIPPED], model_override_dir=tmp_path / "models")
    # then
    assert str(err.value).startswith(f"{path}: ")
    assert expected in str(err.value)


def test_a_milestones_override_missing_a_kind_a_gate_uses_is_refused(tmp_path):
    # given: the admin's milestones file drops "acceptance"
    text = (MODELS / "milestones.toml").read_text(encoding="utf-8")
    head, _sep, _tail = text.partition('[[kinds]]\nkey = "acceptance"')
    _write(tmp_path / "models", "milestones.toml", head)
    # when
    with pytest.raises(MethodologyError) as err:
        build([SHIPPED], model_override_dir=tmp_path / "models")
    # then: the playbook that needs it is named, with the field
    assert str(err.value).startswith(f"{SHIPPED / 'standard-6.toml'}: ")
    assert "stages[5] (implementation).gate[0] (acceptance).params.kind: unknown milestone" in str(
        err.value)
