"""segment_create / segment_update / segment_delete: managers and admins only, the
definition checked against the segmentation variables and the scores against the
criteria (the field at fault named), every change an event (entity "segment")."""

from __future__ import annotations

import pytest

from kam.core.errors import PermissionDenied, ValidationFailed
from kam.core.models import Event
from kam.segments.models import Segment
from kam.segments.services import segment_create, segment_delete, segment_update


def _events(segment_id: int) -> list[tuple[str, dict, dict]]:
    return [
        (e.action, e.before, e.after)
        for e in Event.objects.filter(entity="segment", entity_id=segment_id).order_by("id")
    ]


def test_a_manager_creates_a_segment_normalised_and_audited(world):
    # when
    segment = segment_create(
        actor=world.manager_east,
        name="  江苏汽车配套  ",
        description="长三角的汽车零部件厂",
        definition={
            "technology": ["digital", "automated", "digital"],
            "industry": ["汽车", " Auto ", "AUTO"],
            "size": "large",
            "loyalty": [],
        },
        scores={"rivalry": 2, "market_size": 5, "growth": None},
    )
    # then: model order of variables and options, repeats and empties dropped
    assert list(segment.definition) == ["industry", "size", "technology"]
    segment.refresh_from_db()  # (PostgreSQL's jsonb keeps no key order: compare as a dict)
    assert segment.name == "江苏汽车配套"
    assert segment.definition == {
        "industry": ["汽车", "Auto"],
        "size": ["large"],
        "technology": ["automated", "digital"],
    }
    assert segment.scores == {"market_size": 5, "rivalry": 2}
    assert segment.created_by == world.manager_east
    assert _events(segment.pk) == [
        (
            "created",
            {},
            {
                "name": "江苏汽车配套",
                "description": "长三角的汽车零部件厂",
                "definition": segment.definition,
                "scores": {"market_size": 5, "rivalry": 2},
            },
        )
    ]


def test_an_update_records_just_what_changed(world):
    # given
    segment = segment_create(actor=world.admin, name="A", definition={"size": ["large"]})
    # when
    segment_update(
        actor=world.manager_west,
        segment=segment,
        name="A",
        definition={"size": ["large"], "urgency": ["urgent"]},
    )
    # then
    assert Segment.objects.get(pk=segment.pk).definition == {
        "size": ["large"],
        "urgency": ["urgent"],
    }
    assert _events(segment.pk)[1] == (
        "updated",
        {"definition": {"size": ["large"]}},
        {"definition": {"size": ["large"], "urgency": ["urgent"]}},
    )


def test_an_update_that_changes_nothing_records_nothing(world):
    segment = segment_create(actor=world.admin, name="A", scores={"growth": 4})
    segment_update(actor=world.admin, segment=segment, scores={"growth": 4})
    assert [a for a, _b, _c in _events(segment.pk)] == ["created"]


def test_delete_keeps_the_segment_in_the_history(world):
    # given
    segment = segment_create(actor=world.manager_east, name="A", scores={"growth": 4})
    pk = segment.pk
    # when
    segment_delete(actor=world.admin, segment=segment)
    # then
    assert not Segment.objects.filter(pk=pk).exists()
    assert _events(pk)[-1] == (
        "deleted",
        {"name": "A", "description": "", "definition": {}, "scores": {"growth": 4}},
        {},
    )


def test_a_rep_may_not_create_a_segment(world):
    with pytest.raises(PermissionDenied):
        segment_create(actor=world.rep_a, name="Mine")
    assert Segment.objects.count() == 0
    assert not Event.objects.filter(entity="segment").exists()


def test_a_rep_may_not_change_or_delete_a_segment(world):
    # given
    segment = segment_create(actor=world.manager_east, name="A")
    # when / then
    with pytest.raises(PermissionDenied):
        segment_update(actor=world.rep_a, segment=segment, name="B")
    with pytest.raises(PermissionDenied):
        segment_delete(actor=world.rep_a, segment=segment)
    assert Segment.objects.get(pk=segment.pk).name == "A"
    assert len(_events(segment.pk)) == 1


def _refused(world, **fields) -> ValidationFailed:
    with pytest.raises(ValidationFailed) as err:
        segment_create(actor=world.admin, **{"name": "S", **fields})
    assert Segment.objects.count() == 0
    return err.value


def test_the_name_is_required(world):
    assert _refused(world, name="  ").field == "name"


def test_names_are_unique_ignoring_case(world):
    # given
    segment_create(actor=world.admin, name="Auto parts")
    # when
    with pytest.raises(ValidationFailed) as err:
        segment_create(actor=world.admin, name="AUTO PARTS")
    # then
    assert err.value.field == "name"
    assert str(err.value.message) == (
        "Another segment is already called “AUTO PARTS”; choose another name."
    )
    assert Segment.objects.count() == 1


def test_renaming_onto_another_name_is_refused(world):
    segment_create(actor=world.admin, name="A")
    b = segment_create(actor=world.admin, name="B")
    with pytest.raises(ValidationFailed) as err:
        segment_update(actor=world.admin, segment=b, name="a")
    assert err.value.field == "name"
    assert Segment.objects.get(pk=b.pk).name == "B"


def test_an_unknown_variable_is_named(world):
    error = _refused(world, definition={"colour": ["red"]})
    assert error.field == "definition.colour"
    assert str(error.message).startswith(
        "“colour” is not a segmentation variable; use any of: industry, size, location, nature, "
    )


def test_an_unknown_option_is_named(world):
    error = _refused(world, definition={"size": ["large", "huge"]})
    assert error.field == "definition.size"
    assert str(error.message) == (
        "“huge” is not a value of size; use any of: small, medium, large, very_large."
    )


def test_definition_values_must_be_texts(world):
    assert _refused(world, definition={"technology": [1]}).field == "definition.technology"
    assert _refused(world, definition={"technology": {"a": 1}}).field == "definition.technology"
    assert _refused(world, definition=["technology"]).field == "definition"


def test_a_free_text_value_is_at_most_100_characters(world):
    assert _refused(world, definition={"industry": ["x" * 101]}).field == "definition.industry"


def test_an_unknown_criterion_is_named(world):
    error = _refused(world, scores={"charm": 3})
    assert error.field == "scores.charm"


@pytest.mark.parametrize("value", [0, 6, "3", 2.5, True])
def test_a_score_is_a_whole_number_1_to_5(world, value):
    assert _refused(world, scores={"rivalry": value}).field == "scores.rivalry"
