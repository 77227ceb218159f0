"""/api/v1/contacts: the org chart stays coherent, people who leave are kept."""

from __future__ import annotations

import pytest

from kam.contacts.models import Contact
from kam.core.models import Event


@pytest.fixture
def account_id(world, api_as):
    return api_as(world.rep_a).post("accounts", {"name": "上海华鼎"}).json()["id"]


def test_create_contact_with_spec_fields(world, api_as, account_id):
    # given
    client = api_as(world.rep_a)
    boss = client.post("contacts", {"account_id": account_id, "name": "赵总",
                                    "title": "总经理", "layer": "decision"}).json()
    # when
    response = client.post("contacts", {
        "account_id": account_id, "name": "刘", "title": "副总裁", "department": "管理层",
        "reports_to_id": boss["id"], "layer": "decision", "disc": "I", "status": "active",
        "joined_at": "2019-03-01"})
    # then
    assert response.status_code == 201
    body = response.json()
    assert body["reports_to_id"] == boss["id"]
    assert body["disc"] == "I"
    assert body["joined_at"] == "2019-03-01"
    assert body["account_name"] == "上海华鼎"


def test_reports_to_must_be_at_the_same_account(world, api_as, account_id):
    client = api_as(world.rep_a)
    other = client.post("accounts", {"name": "Other"}).json()["id"]
    outsider = client.post("contacts", {"account_id": other, "name": "X"}).json()
    response = client.post("contacts", {"account_id": account_id, "name": "Y",
                                         "reports_to_id": outsider["id"]})
    assert response.status_code == 422
    assert response.json()["field"] == "reports_to_id"
    assert Contact.objects.filter(name="Y").count() == 0


def test_reporting_circle_is_refused(world, api_as, account_id):
    # given: c reports to b reports to a
    client = api_as(world.rep_a)
    a = client.post("contacts", {"account_id": account_id, "name": "A"}).json()
    b = client.post("contacts", {"account_id": account_id, "name": "B",
                                 "reports_to_id": a["id"]}).json()
    c = client.post("contacts", {"account_id": account_id, "name": "C",
                                 "reports_to_id": b["id"]}).json()
    # when
    response = client.patch(f"contacts/{a['id']}", {"reports_to_id": c["id"]})
    self_loop = client.patch(f"contacts/{a['id']}", {"reports_to_id": a["id"]})
    # then
    assert response.status_code == 422
    assert response.json()["field"] == "reports_to_id"
    assert self_loop.status_code == 422
    assert Contact.objects.get(pk=a["id"]).reports_to_id is None


def test_leaving_is_recorded_not_deleted(world, api_as, account_id):
    # given
    client = api_as(world.rep_a)
    liu = client.post("contacts", {"account_id": account_id, "name": "刘"}).json()
    # when
    response = client.patch(f"contacts/{liu['id']}", {"status": "left"})
    # then
    assert response.status_code == 200
    assert response.json()["status"] == "left"
    assert response.json()["left_at"] is not None
    event = Event.objects.get(entity="contact", entity_id=liu["id"], action="left")
    assert event.before["status"] == "active"
    assert event.after["status"] == "left"
    assert event.after["left_at"] == response.json()["left_at"]


def test_left_before_joined_is_refused(world, api_as, account_id):
    client = api_as(world.rep_a)
    response = client.post("contacts", {"account_id": account_id, "name": "X",
                                         "status": "left", "joined_at": "2026-05-01",
                                         "left_at": "2026-01-01"})
    assert response.status_code == 422
    assert response.json()["field"] == "left_at"


@pytest.mark.parametrize(("payload", "field"), [
    ({"name": ""}, "name"),
    ({"name": "x", "layer": "board"}, "layer"),
    ({"name": "x", "disc": "X"}, "disc"),
    ({"name": "x", "status": "gone"}, "status"),
    ({"name": "x", "email": "not-an-email"}, "email"),
    ({"name": "x", "joined_at": "01/02/2026"}, "joined_at"),
    ({"name": "x", "reports_to_id": 99999}, "reports_to_id"),
])
def test_bad_input_names_the_field(world, api_as, account_id, payload, field):
    response = api_as(world.rep_a).post("contacts", {"account_id": account_id, **payload})
    assert response.status_code == 422
    assert response.json()["field"] == field
    assert Contact.objects.count() == 0


def test_list_by_account(world, api_as, account_id):
    client = api_as(world.rep_a)
    client.post("contacts", {"account_id": account_id, "name": "A", "layer": "decision"})
    client.post("contacts", {"account_id": account_id, "name": "B", "layer": "operation"})
    body = client.get("contacts", account_id=account_id, layer="decision").json()
    assert [c["name"] for c in body["items"]] == ["A"]


def test_delete_moves_reports_up(world, api_as, account_id):
    # given
    client = api_as(world.rep_a)
    a = client.post("contacts", {"account_id": account_id, "name": "A"}).json()
    b = client.post("contacts", {"account_id": account_id, "name": "B",
                                 "reports_to_id": a["id"]}).json()
    c = client.post("contacts", {"account_id": account_id, "name": "C",
                                 "reports_to_id": b["id"]}).json()
    # when
    response = client.delete(f"contacts/{b['id']}")
    # then
    assert response.status_code == 204
    assert Contact.objects.get(pk=c["id"]).reports_to_id == a["id"]
