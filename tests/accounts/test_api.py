"""/api/v1/accounts."""

from __future__ import annotations

import pytest

from kam.accounts.models import Account
from kam.core.models import Event


def test_create_with_spec_fields(world, api_as):
    # when
    response = api_as(world.rep_a).post("accounts", {
        "name": "上海华鼎精密", "industry": "汽车零部件", "region": "上海", "nature": "private",
        "size": "large", "account_type": "strategic", "collection_cycle_days": 90,
        "receivables": "350000.00"})
    # then
    assert response.status_code == 201
    body = response.json()
    assert body["owner_id"] == world.rep_a.pk
    assert body["nature"] == "private"
    assert body["receivables"] == "350000.00"
    event = Event.objects.get(entity="account", entity_id=body["id"])
    assert event.action == "created"
    assert event.after["name"] == "上海华鼎精密"


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"name": ""}, "name"),
        ({"name": "   "}, "name"),
        ({}, "name"),
        ({"name": "x", "nature": "public"}, "nature"),
        ({"name": "x", "size": "huge"}, "size"),
        ({"name": "x", "account_type": "vip"}, "account_type"),
        ({"name": "x", "collection_cycle_days": -1}, "collection_cycle_days"),
        ({"name": "x", "collection_cycle_days": "soon"}, "collection_cycle_days"),
        ({"name": "x", "receivables": "-1"}, "receivables"),
        ({"name": "x", "industry": "i" * 101}, "industry"),
    ],
)
def test_bad_input_names_the_field(world, api_as, payload, field):
    response = api_as(world.rep_a).post("accounts", payload)
    assert response.status_code == 422
    assert response.json()["field"] == field
    assert Account.objects.count() == 0


def test_code_is_unique(world, api_as):
    client = api_as(world.admin)
    assert client.post("accounts", {"name": "A", "code": "C-1"}).status_code == 201
    response = client.post("accounts", {"name": "B", "code": "C-1"})
    assert response.status_code == 422
    assert response.json()["field"] == "code"


def test_patch_records_before_and_after(world, api_as):
    # given
    client = api_as(world.rep_a)
    account = client.post("accounts", {"name": "A", "region": "上海"}).json()
    # when
    response = client.patch(f"accounts/{account['id']}", {"region": "苏州", "name": "A"})
    # then
    assert response.status_code == 200
    event = Event.objects.filter(entity="account", action="updated").get()
    assert event.before == {"region": "上海"}
    assert event.after == {"region": "苏州"}


def test_filters(world, api_as):
    client = api_as(world.rep_a)
    client.post("accounts", {"name": "钢铁一厂", "industry": "钢铁", "account_type": "value"})
    client.post("accounts", {"name": "化工二厂", "industry": "化工"})
    assert [a["name"] for a in client.get("accounts", industry="钢铁").json()["items"]] == [
        "钢铁一厂"]
    assert client.get("accounts", account_type="value").json()["count"] == 1
    assert client.get("accounts", q="二厂").json()["items"][0]["name"] == "化工二厂"


def test_delete_refused_while_it_holds_records(world, book, api_as):
    account = book["rep_a"]["account"]
    response = api_as(world.rep_a).delete(f"accounts/{account.pk}")
    assert response.status_code == 409
    assert Account.objects.filter(pk=account.pk).exists()


def test_delete_empty_account(world, api_as):
    client = api_as(world.rep_a)
    account = client.post("accounts", {"name": "Empty"}).json()
    assert client.delete(f"accounts/{account['id']}").status_code == 204
    assert not Account.objects.filter(pk=account["id"]).exists()


def test_json_is_utf8_not_escaped(world, api_as):
    response = api_as(world.rep_a).post("accounts", {"name": "华鼎"})
    assert "charset=utf-8" in response["Content-Type"]
    assert "华鼎".encode() in response.content


def test_an_admin_sees_accounts_without_deals(world, api_as):
    # given: an account nobody sells to yet, owned by a rep
    made = api_as(world.rep_a).post("accounts", {"name": "尚无商机的客户"}).json()
    # when
    listed = api_as(world.admin).get("accounts?page_size=200").json()
    one = api_as(world.admin).get(f"accounts/{made['id']}")
    # then: the admin's empty scope is "everything", not "accounts with some deal"
    assert made["id"] in [a["id"] for a in listed["items"]]
    assert one.status_code == 200
