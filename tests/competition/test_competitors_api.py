"""/api/v1/competitors (SPEC §6, §10): rivals as records. Anyone may list and record
one; renaming or annotating is for managers, admins and whoever recorded it."""

from __future__ import annotations

import pytest

from kam.competition.models import Competitor
from kam.core.models import Event


def _ok(response, status: int = 200):
    assert response.status_code == status, response.content
    return response.json()


def _state() -> tuple:
    """What a refused request must leave as it was."""
    rows = list(Competitor.objects.order_by("id").values("id", "name", "notes"))
    return rows, Event.objects.filter(entity="competitor").count()


@pytest.fixture
def rep(world, api_as):
    return api_as(world.rep_a)


@pytest.fixture
def incumbent(rep) -> dict:
    return _ok(rep.post("competitors", {"name": "常州精工", "notes": "老供应商"}), 201)


# --- record, list, read ------------------------------------------------------------------


def test_record_a_competitor(world, rep):
    # when
    body = _ok(rep.post("competitors", {"name": "  常州精工 ", "notes": "与设计部联合开发"}), 201)
    # then
    assert body == {"id": body["id"], "name": "常州精工", "notes": "与设计部联合开发"}
    created = Event.objects.get(entity="competitor", entity_id=body["id"])
    assert (created.action, created.actor, created.after) == (
        "created",
        world.rep_a,
        {"name": "常州精工", "notes": "与设计部联合开发"},
    )
    assert Competitor.objects.get(pk=body["id"]).created_by == world.rep_a


def test_notes_are_optional(rep):
    assert _ok(rep.post("competitors", {"name": "Brand B"}), 201)["notes"] == ""


def test_the_same_name_in_any_case_is_a_conflict_naming_the_existing_one(world, api_as):
    # given
    first = _ok(api_as(world.rep_a).post("competitors", {"name": "Acme Fasteners"}), 201)
    before = _state()
    # when
    response = api_as(world.rep_c).post("competitors", {"name": "acme FASTENERS"})
    # then
    assert response.status_code == 409
    assert response.json() == {
        "detail": "A competitor named “Acme Fasteners” already exists; use it instead.",
        "field": "name",
        "competitor_id": first["id"],
    }
    assert _state() == before


@pytest.mark.parametrize(
    ("body", "field", "detail"),
    [
        ({"name": "   "}, "name", "This field is required."),
        ({"name": "x" * 201}, "name", "Use at most 200 characters (this has 201)."),
        ({}, "name", "name: This field is required."),
        ({"name": "B", "notes": 5}, "notes", "notes: Enter text."),
    ],
)
def test_bad_input_is_422_naming_the_field(rep, body, field, detail):
    before = _state()
    response = rep.post("competitors", body)
    assert response.status_code == 422
    assert (response.json()["field"], response.json()["detail"]) == (field, detail)
    assert _state() == before


def test_list_by_name_and_filter(world, api_as, rep):
    # given
    for name in ("常州精工", "Bravo", "Alpha", "Bravissimo"):
        _ok(rep.post("competitors", {"name": name}), 201)
    # when: another team's rep lists them (rivals are market facts)
    other = api_as(world.rep_c)
    everyone = _ok(other.get("competitors"))
    some = _ok(other.get("competitors", q="brav"))
    # then
    assert [c["name"] for c in everyone] == ["Alpha", "Bravissimo", "Bravo", "常州精工"]
    assert [c["name"] for c in some] == ["Bravissimo", "Bravo"]


def test_read_one(rep, incumbent):
    assert _ok(rep.get(f"competitors/{incumbent['id']}")) == incumbent


@pytest.mark.parametrize("pk", [424242, 2**63, 2**70])
def test_an_unknown_competitor_is_404(rep, pk):
    response = rep.get(f"competitors/{pk}")
    assert response.status_code == 404
    assert response.json()["detail"] == "No such competitor."


def test_anonymous_callers_are_refused(api_as):
    anonymous = api_as(None)
    assert anonymous.get("competitors").status_code == 401
    assert anonymous.post("competitors", {"name": "X"}).status_code == 401


def test_list_costs_the_same_whatever_the_number(rep, django_assert_max_num_queries):
    _ok(rep.post("competitors", {"name": "A0"}), 201)
    with django_assert_max_num_queries(2):  # the token, the list
        _ok(rep.get("competitors"))
    for i in range(1, 20):
        _ok(rep.post("competitors", {"name": f"A{i}"}), 201)
    with django_assert_max_num_queries(2):
        assert len(_ok(rep.get("competitors"))) == 20


# --- change ------------------------------------------------------------------------------


def test_rename_and_annotate(world, rep, incumbent):
    # when
    body = _ok(rep.patch(f"competitors/{incumbent['id']}", {"name": "常州精工集团", "notes": None}))
    # then
    assert body == {"id": incumbent["id"], "name": "常州精工集团", "notes": ""}
    changed = Event.objects.get(entity="competitor", action="updated")
    assert (changed.before, changed.after) == (
        {"name": "常州精工", "notes": "老供应商"},
        {"name": "常州精工集团", "notes": ""},
    )


def test_renaming_onto_another_name_is_a_conflict(rep, incumbent):
    other = _ok(rep.post("competitors", {"name": "Brand B"}), 201)
    before = _state()
    response = rep.patch(f"competitors/{other['id']}", {"name": "常州精工"})
    assert response.status_code == 409
    assert response.json()["competitor_id"] == incumbent["id"]
    assert _state() == before


def test_a_name_cannot_be_emptied(rep, incumbent):
    before = _state()
    for body in ({"name": None}, {"name": ""}):
        response = rep.patch(f"competitors/{incumbent['id']}", body)
        assert (response.status_code, response.json()["field"]) == (422, "name")
    assert _state() == before


@pytest.mark.parametrize(
    ("user", "status"),
    [
        ("rep_a", 200),  # recorded it
        ("manager_east", 200),
        ("manager_west", 200),  # managers steer the shared list
        ("admin", 200),
        ("rep_b", 403),
        ("rep_c", 403),
    ],
)
def test_who_may_change_a_competitor(world, api_as, incumbent, user, status):
    # given
    client = api_as(getattr(world, user))
    before = _state()
    # when
    response = client.patch(f"competitors/{incumbent['id']}", {"notes": "新情报"})
    # then
    assert response.status_code == status
    if status == 403:
        assert response.json() == {
            "detail": "Only a manager, an admin or whoever recorded this competitor can change it."
        }
        assert _state() == before
    else:
        assert response.json()["notes"] == "新情报"
    # everyone may read it
    assert client.get(f"competitors/{incumbent['id']}").status_code == 200


@pytest.mark.parametrize(
    "user", ["rep_a", "rep_b", "manager_east", "manager_west", "rep_c", "admin"]
)
def test_everyone_may_record_and_list(world, api_as, user):
    client = api_as(getattr(world, user))
    created = _ok(client.post("competitors", {"name": f"Rival of {user}"}), 201)
    assert created["name"] in [c["name"] for c in _ok(client.get("competitors"))]


def test_openapi_describes_the_endpoints(db, client):
    schema = client.get("/api/v1/openapi.json").json()
    assert "/api/v1/competitors" in schema["paths"]
    assert "/api/v1/competitors/{competitor_id}" in schema["paths"]
    assert "/api/v1/opportunities/{opportunity_id}/competition" in schema["paths"]
