"""/api/v1/segments: every signed-in user reads segments (with the accounts *they* may
see in them); managers and admins write; bad definitions and scores are 422 naming
the field; the list costs the same number of queries however many segments."""

from __future__ import annotations

import pytest

from kam.core.models import Event
from kam.segments.models import Segment
from kam.segments.services import segment_create

ROLES = ("rep_a", "rep_c", "manager_east", "manager_west", "admin")
WRITERS = {"manager_east", "manager_west", "admin"}


def _ok(response, status: int = 200):
    assert response.status_code == status, response.content
    return response.json()


@pytest.fixture
def car_parts(world, market):
    """Large and very large car makers that automated: 常州 (rep_a) and 无锡 (rep_b)."""
    return segment_create(
        actor=world.manager_east,
        name="自动化汽车厂",
        description="大型、自动化的汽车及零部件厂",
        definition={
            "industry": ["汽车", "auto"],
            "size": ["large", "very_large"],
            "technology": ["automated"],
        },
        scores={
            "market_size": 5,
            "growth": 4,
            "rivalry": 2,
            "new_entrants": 2,
            "substitutes": 2,
            "buyer_power": 2,
            "supplier_power": 2,
            "fit_goals": 5,
            "fit_resources": 5,
        },
    )


def _state():
    return (
        list(Segment.objects.order_by("id").values_list("name", "definition", "scores")),
        Event.objects.filter(entity="segment").count(),
    )


# --- reading ------------------------------------------------------------------------------


def test_get_a_segment_with_its_scores_and_count(world, api_as, car_parts):
    # when
    body = _ok(api_as(world.manager_east).get(f"segments/{car_parts.pk}"))
    # then
    assert body["name"] == "自动化汽车厂"
    assert body["definition"] == {
        "industry": ["汽车", "auto"],
        "size": ["large", "very_large"],
        "technology": ["automated"],
    }
    assert body["summary"] == (
        "Industry: 汽车 / auto · Company size: Large / Very large · Technology: Automated"
    )
    assert body["total"] == 73.0
    assert body["complete"] is True
    assert [(s["key"], s["weight"], s["score"]) for s in body["sub_scores"]] == [
        ("size_growth", 30, 90.0),
        ("attractiveness", 40, 40.0),
        ("fit", 30, 100.0),
    ]
    assert body["account_count"] == 2
    assert body["created_by_id"] == world.manager_east.pk


def test_the_summary_and_headings_in_chinese(world, api_as, car_parts):
    body = _ok(api_as(world.rep_a, "zh-Hans").get(f"segments/{car_parts.pk}"))
    assert body["summary"] == "行业: 汽车 / auto · 公司规模: 大型 / 特大型 · 技术: 自动化"
    assert body["sub_scores"][1]["name"] == "结构吸引力(五种力量)"


@pytest.mark.parametrize(
    ("viewer", "count", "names"),
    [
        ("rep_a", 1, ["常州汽车配件厂"]),
        ("rep_c", 0, []),
        ("manager_east", 2, ["常州汽车配件厂", "无锡汽车"]),
        ("manager_west", 0, []),
        ("admin", 2, ["常州汽车配件厂", "无锡汽车"]),
    ],
)
def test_every_role_reads_and_counts_only_visible_accounts(
    world, api_as, car_parts, viewer, count, names
):
    # given
    client = api_as(getattr(world, viewer))
    # when
    listed = _ok(client.get("segments"))
    one = _ok(client.get(f"segments/{car_parts.pk}"))
    accounts = _ok(client.get(f"segments/{car_parts.pk}/accounts"))
    # then
    assert [(s["name"], s["account_count"]) for s in listed] == [("自动化汽车厂", count)]
    assert one["account_count"] == count
    assert accounts["count"] == count
    assert [a["name"] for a in accounts["items"]] == names


def test_accounts_come_a_page_at_a_time(world, api_as, car_parts):
    # when
    body = _ok(api_as(world.admin).get(f"segments/{car_parts.pk}/accounts", page=2, page_size=1))
    # then
    assert body["count"] == 2
    assert body["page"] == 2
    assert [a["name"] for a in body["items"]] == ["无锡汽车"]
    assert body["items"][0]["attributes"] == {"technology": "automated"}


def test_a_bad_page_size_is_named(world, api_as, car_parts):
    response = api_as(world.admin).get(f"segments/{car_parts.pk}/accounts", page_size=0)
    assert response.status_code == 422
    assert response.json()["field"] == "page_size"


def test_an_unknown_segment_is_404(world, api_as):
    client = api_as(world.admin)
    assert client.get("segments/999").status_code == 404
    assert client.get("segments/999/accounts").status_code == 404
    assert client.patch("segments/999", {"name": "x"}).status_code == 404
    assert client.delete("segments/999").status_code == 404


def test_without_a_token_it_is_401(db, api_as):
    assert api_as(None).get("segments").status_code == 401


def test_the_variables_and_criteria_in_the_users_language(world, api_as):
    # when
    body = _ok(api_as(world.rep_a, "zh-Hans").get("segments/variables"))
    # then
    assert [g["key"] for g in body["groups"]] == [
        "demographic",
        "operating",
        "purchasing",
        "situational",
        "personal",
    ]
    purchasing = body["groups"][2]
    assert purchasing["name"] == "采购方式"
    procurement = purchasing["variables"][0]
    assert procurement == {
        "key": "procurement",
        "name": "采购职能组织",
        "group": "purchasing",
        "source": "attribute",
        "kind": "choice",
        "options": [
            {"key": "centralised", "name": "集中采购"},
            {"key": "decentralised", "name": "分散采购"},
        ],
    }
    industry = body["groups"][0]["variables"][0]
    assert (industry["source"], industry["kind"], industry["options"]) == (
        "account.industry",
        "text",
        [],
    )
    assert [c["key"] for h in body["headings"] for c in h["criteria"]] == [
        "market_size",
        "growth",
        "rivalry",
        "new_entrants",
        "substitutes",
        "buyer_power",
        "supplier_power",
        "fit_goals",
        "fit_resources",
    ]
    assert body["headings"][1]["criteria"][0]["guide"] == (
        "1 = 强大而激进的竞争者众多 · 5 = 竞争者少且弱"
    )
    assert (body["score_min"], body["score_max"]) == (1, 5)


# --- writing ------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ROLES)
def test_create_per_role(world, api_as, market, role):
    # given
    before = _state()
    payload = {
        "name": "集中采购的大客户",
        "definition": {"procurement": ["centralised"], "size": ["large"]},
        "scores": {"growth": 3},
    }
    # when
    response = api_as(getattr(world, role)).post("segments", payload)
    # then
    if role in WRITERS:
        body = _ok(response, 201)
        assert body["definition"] == {"size": ["large"], "procurement": ["centralised"]}
        assert body["scores"] == {"growth": 3}
        assert body["total"] == 60.0
        assert body["complete"] is False
        assert body["sub_scores"][0]["score"] == 60.0
        assert body["sub_scores"][1]["score"] is None
    else:
        assert response.status_code == 403
        assert response.json()["detail"] == (
            "Only managers and administrators can create, change or delete segments."
        )
        assert _state() == before


@pytest.mark.parametrize("role", ROLES)
def test_update_per_role(world, api_as, car_parts, role):
    # given
    before = _state()
    # when
    response = api_as(getattr(world, role)).patch(
        f"segments/{car_parts.pk}", {"name": "汽车厂", "scores": {"rivalry": 4}}
    )
    # then
    if role in WRITERS:
        body = _ok(response)
        assert body["name"] == "汽车厂"
        assert body["scores"] == {"rivalry": 4}
        assert body["description"] == "大型、自动化的汽车及零部件厂"  # not sent: unchanged
        assert body["definition"]["technology"] == ["automated"]
    else:
        assert response.status_code == 403
        assert _state() == before


@pytest.mark.parametrize("role", ROLES)
def test_delete_per_role(world, api_as, car_parts, role):
    # given
    before = _state()
    # when
    response = api_as(getattr(world, role)).delete(f"segments/{car_parts.pk}")
    # then
    if role in WRITERS:
        assert response.status_code == 204
        assert not Segment.objects.filter(pk=car_parts.pk).exists()
    else:
        assert response.status_code == 403
        assert _state() == before


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"definition": {"colour": ["red"]}}, "definition.colour"),
        ({"definition": {"size": ["huge"]}}, "definition.size"),
        ({"definition": {"technology": "automated"}}, "definition.technology"),
        ({"definition": {"industry": ["x" * 101]}}, "definition.industry"),
        ({"definition": ["size"]}, "definition"),
        ({"scores": {"rivalry": 6}}, "scores.rivalry"),
        ({"scores": {"rivalry": 0}}, "scores.rivalry"),
        ({"scores": {"rivalry": "high"}}, "scores.rivalry"),
        ({"scores": {"charm": 3}}, "scores.charm"),
        ({"name": ""}, "name"),
        ({"name": "X" * 201}, "name"),
        ({"name": "自动化汽车厂"}, "name"),  # taken (by car_parts)
    ],
)
def test_bad_input_is_422_naming_the_field(world, api_as, car_parts, payload, field):
    # given
    before = _state()
    # when
    response = api_as(world.admin).post("segments", {"name": "新细分", **payload})
    # then
    assert response.status_code == 422, response.content
    assert response.json()["field"] == field
    assert _state() == before


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"name": None}, "name"),
        ({"definition": None}, "definition"),
        ({"scores": None}, "scores"),
        ({"definition": {"urgency": ["now"]}}, "definition.urgency"),
        ({"scores": {"fit_goals": 9}}, "scores.fit_goals"),
    ],
)
def test_a_bad_patch_is_422_and_changes_nothing(world, api_as, car_parts, payload, field):
    before = _state()
    response = api_as(world.manager_west).patch(f"segments/{car_parts.pk}", payload)
    assert response.status_code == 422, response.content
    assert response.json()["field"] == field
    assert _state() == before


def test_patch_with_empty_objects_clears_definition_and_scores(world, api_as, car_parts):
    body = _ok(
        api_as(world.admin).patch(f"segments/{car_parts.pk}", {"definition": {}, "scores": {}})
    )
    assert body["definition"] == {}
    assert body["summary"] == "All accounts (no condition)"
    assert body["account_count"] == 4
    assert body["total"] is None


# --- cost ---------------------------------------------------------------------------------


def test_the_list_costs_the_same_for_2_and_12_segments(
    world, api_as, market, django_assert_num_queries
):
    # given: the token look-up, the segments, one aggregate of the counts (the token's
    # last-used stamp is written by the first request only)
    client = api_as(world.manager_east)
    _ok(client.get("segments"))
    for i in range(2):
        segment_create(actor=world.admin, name=f"S{i}", definition={"technology": ["automated"]})
    with django_assert_num_queries(3):
        few = _ok(client.get("segments"))
    for i in range(2, 12):
        segment_create(
            actor=world.admin, name=f"S{i}", definition={"industry": ["汽车"], "size": ["large"]}
        )
    # when / then
    with django_assert_num_queries(3):
        many = _ok(client.get("segments"))
    assert [s["account_count"] for s in few] == [2, 2]
    assert len(many) == 12
