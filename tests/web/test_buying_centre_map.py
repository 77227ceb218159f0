"""The buying-centre map of the opportunity page (SPEC §4, §9): `map_data` (the org
chart as a tree coloured by stance, key persons now, for us / for a rival / undecided)
and the page around it — the JSON block, the lists, the table, and the edit dialog
that changes a person's stance and roles through `stakeholder_update`."""

from __future__ import annotations

import datetime as dt
import json
import re
from types import SimpleNamespace

import pytest
from django.urls import reverse
from django.utils import translation

from kam.accounts.services import account_create
from kam.contacts.services import contact_create, contact_update
from kam.core.models import Event
from kam.methodology import registry
from kam.opportunities.services import opportunity_create, opportunity_update
from kam.stakeholders.models import Stakeholder
from kam.stakeholders.services import stakeholder_add
from kam.web import buying_centre as bc
from kam.web.buying_centre import map_data, nodes_of

# --- map_data on plain objects -------------------------------------------------------


def person(pk, name, boss=None, *, title="", status="active", external=False, layer="", disc=""):
    return SimpleNamespace(
        pk=pk,
        name=name,
        title=title,
        department="",
        reports_to_id=boss,
        layer=layer,
        disc=disc,
        status=status,
        is_external=external,
    )


def member(pk, contact, stance, roles=(), *, coach=False, influence=None, relationship=None):
    return SimpleNamespace(
        pk=pk,
        contact_id=contact.pk,
        contact=contact,
        roles=list(roles),
        stance=stance,
        is_coach=coach,
        influence=influence,
        relationship=relationship,
        disc="",
    )


def deal(buyer_stage="need", account="Huading Precision"):
    return SimpleNamespace(buyer_stage=buyer_stage, account=SimpleNamespace(name=account))


@pytest.fixture
def english():
    with translation.override("en"):
        yield


def _by_name(data) -> dict[str, dict]:
    return {n["name"]: n for n in nodes_of(data["tree"])}


def test_each_stance_has_its_colour_and_people_outside_are_small_and_neutral(english):
    # given: a boss and six reports, one per stance, and one person outside the centre
    boss = person(1, "Sun", title="Chairman")
    stances = ["champion", "supporter", "neutral", "enemy", "blocker", "unknown"]
    reports = [person(10 + i, s.title(), 1) for i, s in enumerate(stances)]
    members = [member(100 + i, c, s, ["user"]) for i, (c, s) in enumerate(zip(reports, stances))]
    # when
    data = map_data(deal("need"), members, [boss, *reports], (), "en")
    # then
    nodes = _by_name(data)
    assert {name: n["color"] for name, n in nodes.items()} == {
        "Sun": "#ffffff",
        "Champion": "#17663f",
        "Supporter": "#a6dcb4",
        "Neutral": "#5f7a99",
        "Enemy": "#f59a35",
        "Blocker": "#c3221a",
        "Unknown": "#e4e7ec",
    }
    assert nodes["Sun"]["in_centre"] is False
    assert nodes["Sun"]["size"] == list(bc.SIZE_OUTSIDE)
    assert nodes["Sun"]["stakeholder_id"] is None
    assert nodes["Champion"]["size"] == list(bc.SIZE_MEMBER)
    assert nodes["Champion"]["stance_name"] == "C – champion"
    assert nodes["Champion"]["role_names"] == "User"
    assert nodes["Unknown"]["side"] == "undecided"
    assert data["tree"]["name"] == "Sun"  # one top: no virtual root
    assert [c["name"] for c in data["tree"]["children"]] == sorted(s.title() for s in stances)


def test_coach_gets_the_ring_and_disc_its_approach(english):
    # given
    coach = person(1, "Liu", disc="I")
    champion = member(5, coach, "champion", coach=True, influence=5)
    # when
    data = map_data(deal(), [champion], [coach], (), "en")
    # then
    node = data["tree"]
    assert (node["coach"], node["border_color"], node["border_width"]) == (
        True,
        bc.COACH_RING,
        bc.BORDER_COACH,
    )
    assert node["disc"] == "I"  # the contact's type when the stakeholder has none
    assert node["disc_name"] == "I – influential"
    assert node["disc_tip"].startswith("Warm and sociable")
    assert data["for_us"] == [
        {
            "stakeholder_id": 5,
            "contact_id": 1,
            "name": "Liu",
            "title": "",
            "role_names": "",
            "stance": "champion",
            "stance_name": "C – champion",
            "influence": 5,
            "coach": True,
            "key": False,
            "left": False,
            "color": "#17663f",
        }
    ]


def test_key_persons_at_the_buyer_stage_are_highlighted_and_an_uncovered_role_named(english):
    # given: the customer evaluates (key roles: technical evaluator, purchaser)
    key_roles = registry.current().buying_centre.key_roles_at("evaluation")
    wang = person(1, "Wang", title="Head of design")
    lin = person(2, "Lin", 1)
    members = [member(7, wang, "unknown", ["technical"]), member(8, lin, "supporter", ["user"])]
    # when
    data = map_data(deal("evaluation"), members, [wang, lin], key_roles, "en")
    # then
    assert key_roles == ("purchaser", "technical")
    nodes = _by_name(data)
    assert (nodes["Wang"]["key"], nodes["Wang"]["key_roles"]) == (True, ["technical"])
    assert nodes["Wang"]["size"] == list(bc.SIZE_KEY)
    assert (nodes["Wang"]["border_color"], nodes["Wang"]["border_width"]) == (bc.KEY_RING, 4)
    assert (nodes["Lin"]["key"], nodes["Lin"]["size"]) == (False, list(bc.SIZE_MEMBER))
    key = data["key_persons"]
    assert key["stage_name"] == "Evaluation and comparison"
    assert key["role_names"] == "purchaser, technical evaluator"
    assert [(r["role"], r["holders"], r["held"]) for r in key["roles"]] == [
        ("purchaser", [], False),
        ("technical", ["Wang"], True),
    ]
    assert key["uncovered"] == ["purchaser"]


def test_a_contact_who_left_stays_on_the_map_flagged_and_holds_no_key_role(english):
    # given: the decision maker left the account
    chair = person(1, "Sun")
    liu = person(2, "Liu", 1, status="left")
    key_roles = ("decision_maker",)
    # when
    data = map_data(
        deal("selection"), [member(3, liu, "champion", ["decision_maker"])], [chair, liu],
        key_roles, "en",
    )  # fmt: skip
    # then
    liu_node = _by_name(data)["Liu"]
    assert (liu_node["left"], liu_node["in_centre"], liu_node["key"]) == (True, True, False)
    assert data["key_persons"]["uncovered"] == ["decision maker"]
    # and stands nowhere now: the lists, like the alerts, hold only people still there
    assert data["for_us"] == []
    assert data["text"]["left"] == "left"


def test_external_people_get_their_own_branch_under_the_account(english):
    # given: two people at the account and an outside authority with an aide
    boss = person(1, "Sun")
    eng = person(2, "Wu", 1)
    bureau = person(3, "Director Zhao", external=True)
    aide = person(4, "Aide Qian", 3, external=True)
    stray = person(5, "Insider under Zhao", 3)  # an insider "reporting" outside: a top
    # when
    data = map_data(deal(), [], [boss, eng, bureau, aide, stray], (), "en")
    # then
    tree = data["tree"]
    assert (tree["id"], tree["name"], tree["virtual"]) == ("account", "Huading Precision", True)
    tops = [c["name"] for c in tree["children"]]
    assert tops == ["Insider under Zhao", "Sun", "Outside the account"]
    branch = tree["children"][2]
    assert (branch["id"], branch["external"], branch["virtual"]) == ("external", True, True)
    assert [c["name"] for c in branch["children"]] == ["Director Zhao"]
    assert [c["name"] for c in branch["children"][0]["children"]] == ["Aide Qian"]
    assert branch["children"][0]["external"] is True


def test_a_reporting_cycle_is_drawn_once_and_does_not_loop(english):
    # given: A reports to B, B to A, C to itself, D to A
    a, b = person(1, "A", 2), person(2, "B", 1)
    c, d = person(3, "C", 3), person(4, "D", 1)
    # when
    data = map_data(deal(), [], [a, b, c, d], (), "en")
    # then
    names = sorted(n["name"] for n in nodes_of(data["tree"]) if not n["virtual"])
    assert names == ["A", "B", "C", "D"]
    assert data["tree"]["virtual"] is True
    assert [n["name"] for n in data["tree"]["children"]] == ["A", "C"]
    assert sorted(n["name"] for n in data["tree"]["children"][0]["children"]) == ["B", "D"]


def test_an_account_without_contacts_has_no_tree(english):
    data = map_data(deal("criteria"), [], [], ("technical",), "en")
    assert (data["tree"], data["empty"], data["depth"], data["leaves"]) == (None, True, 0, 0)
    assert (data["for_us"], data["for_rival"], data["undecided"]) == ([], [], [])
    assert data["key_persons"]["uncovered"] == ["technical evaluator"]


def test_sides_split_us_rivals_and_undecided_by_influence(english):
    # given
    people = [person(i, n) for i, n in enumerate(["P", "Q", "R", "S", "T", "U"], start=1)]
    members = [
        member(11, people[0], "supporter", influence=2),
        member(12, people[1], "champion", influence=4),
        member(13, people[2], "blocker", ["purchaser"], influence=3),
        member(14, people[3], "enemy", influence=5),
        member(15, people[4], "neutral"),
        member(16, people[5], "unknown", influence=1),
    ]
    # when
    data = map_data(deal(), members, people, (), "en")
    # then
    assert [p["name"] for p in data["for_us"]] == ["Q", "P"]
    assert [p["name"] for p in data["for_rival"]] == ["S", "R"]
    assert [p["name"] for p in data["undecided"]] == ["U", "T"]
    assert data["for_rival"][1]["role_names"] == "Purchaser"


def test_labels_follow_the_language():
    # given
    wang = person(1, "王立新", disc="C")
    key_roles = ("technical",)
    # when
    with translation.override("zh-hans"):
        data = map_data(
            deal("criteria"), [member(2, wang, "unknown", ["technical"])], [wang], key_roles,
            "zh-hans",
        )  # fmt: skip
    # then
    node = data["tree"]
    assert node["disc_name"] == "C 分析高手"
    assert node["disc_tip"].startswith("严谨重数据")
    assert data["key_persons"]["stage_name"] == "建立采购标准"


# --- the page -------------------------------------------------------------------------


def _detail(client, opp):
    return client.get(reverse("opportunity-detail", args=[opp.pk]))


def _json_block(html: str) -> dict:
    found = re.search(
        r'<script id="buying-centre-data" type="application/json">(.*?)</script>', html, re.S
    )
    assert found, "no buying-centre JSON block"
    return json.loads(found.group(1))


def _block(html: str, testid: str) -> str:
    start = html.index(f'data-testid="{testid}"')
    return html[start : html.index("</div>", start)]


@pytest.fixture
def mapped(people, books):
    """rep_a's deal at evaluation: the boss a supporter, the engineer our coach, an
    outside authority against us, and a neutral report who left."""
    book = books["rep_a"]
    rep = people.rep_a
    opp = opportunity_update(actor=rep, opportunity=book.opportunity, buyer_stage="evaluation")
    bureau = contact_create(
        actor=rep, account=book.account, name="Bureau Chief", title="Regulator", is_external=True
    )
    gone = contact_create(
        actor=rep, account=book.account, name="Gone Buyer", title="Buyer", reports_to=book.boss
    )
    contact_update(actor=rep, contact=gone, status="left")
    boss = stakeholder_add(
        actor=rep, opportunity=opp, contact=book.boss, roles=["decision_maker"],
        stance="supporter", influence=5, relationship=3,
    )  # fmt: skip
    engineer = stakeholder_add(
        actor=rep, opportunity=opp, contact=book.report, roles=["technical", "user"],
        stance="champion", is_coach=True, influence=4,
    )  # fmt: skip
    rival = stakeholder_add(
        actor=rep, opportunity=opp, contact=bureau, roles=["external"], stance="blocker",
        influence=3,
    )  # fmt: skip
    stakeholder_add(actor=rep, opportunity=opp, contact=gone, roles=["purchaser"], stance="neutral")
    return SimpleNamespace(opp=opp, book=book, boss=boss, engineer=engineer, rival=rival)


def test_page_has_the_map_data_lists_legend_and_key_persons(client_for, people, mapped):
    # when
    response = _detail(client_for(people.rep_a), mapped.opp)
    # then
    html = response.content.decode()
    assert response.status_code == 200
    assert 'id="stakeholders" data-testid="stakeholders"' in html
    assert 'id="buying-centre-chart"' in html
    assert "/static/vendor/echarts.min.js" in html and "/static/kam/buying_centre.js" in html
    data = _json_block(html)
    tree = data["tree"]
    assert (tree["virtual"], tree["name"]) == (True, "Alpha Steel Works")
    assert [c["name"] for c in tree["children"]] == ["Alpha Boss", "Outside the account"]
    nodes = {n["name"]: n for n in nodes_of(tree)}
    assert nodes["Alpha Engineer"]["stance"] == "champion"
    assert nodes["Alpha Engineer"]["coach"] is True
    assert nodes["Alpha Engineer"]["key"] is True  # technical evaluator at evaluation
    assert nodes["Alpha Engineer"]["disc"] == "C"
    assert nodes["Gone Buyer"]["left"] is True
    assert data["disc_tips"]["C"].startswith("Precise and analytical")
    for_us = _block(html, "map-for-us")
    assert "Alpha Engineer" in for_us and "Alpha Boss" in for_us and "Bureau" not in for_us
    rival = _block(html, "map-for-rival")
    assert "Bureau Chief" in rival and "External influence" in rival and "influence 3/5" in rival
    undecided = _block(html, "map-undecided")
    assert "Gone Buyer" not in undecided  # left the account: on the map only
    key = _block(html, "map-key-persons")
    assert "Key persons now (at Evaluation and comparison):" in key
    assert 'data-role="purchaser" data-held="false"' in key  # Gone Buyer left
    assert 'data-role="technical" data-held="true"' in key
    assert "nobody holds this role yet" in key
    assert html.count('data-testid="stakeholder-row"') == 4
    assert html.count('data-testid="stakeholder-dialog"') == 4
    assert 'data-testid="map-legend"' in html


def test_page_in_chinese_names_the_stage_and_roles_in_chinese(client_for, people, mapped):
    html = _detail(client_for(people.rep_a, language="zh-hans"), mapped.opp).content.decode()
    data = _json_block(html)
    assert data["key_persons"]["stage_name"] == "评估比较"
    assert data["disc_names"]["C"] == "C 分析高手"


def test_edit_dialog_is_prefilled_and_shows_the_disc_tip(client_for, people, mapped):
    html = _detail(client_for(people.rep_a), mapped.opp).content.decode()
    sid = mapped.engineer.pk
    start = html.index(f'<dialog id="stakeholder-edit-{sid}"')
    dialog = html[start : html.index("</dialog>", start)]
    assert f'action="{reverse("stakeholder-update", args=[mapped.opp.pk, sid])}"' in dialog
    assert f'id="sh{sid}_roles_2" checked' in dialog  # technical
    assert '<option value="champion" selected>' in dialog
    assert f'id="sh{sid}_is_coach" checked' in dialog
    assert "As on the contact: C – analytical" in dialog
    assert "Precise and analytical" in dialog
    assert "data-open-on-load" not in dialog


def test_update_changes_stance_and_roles_with_an_audited_event(client_for, people, mapped):
    # given
    client = client_for(people.rep_a)
    sid = mapped.boss.pk
    # when
    response = client.post(
        reverse("stakeholder-update", args=[mapped.opp.pk, sid]),
        {
            "roles": ["decision_maker", "finance"],
            "stance": "enemy",
            "disc": "D",
            "influence": "5",
            "relationship": "1",
            "notes": "Moved to the rival after the price talk.",
        },
        follow=True,
    )
    # then
    html = response.content.decode()
    saved = Stakeholder.objects.get(pk=sid)
    assert (saved.roles, saved.stance, saved.is_coach, saved.disc) == (
        ["decision_maker", "finance"], "enemy", False, "D",
    )  # fmt: skip
    assert (saved.influence, saved.relationship) == (5, 1)
    event = Event.objects.filter(entity="stakeholder", entity_id=sid, action="updated").get()
    assert event.actor_id == people.rep_a.pk
    assert event.opportunity_id == mapped.opp.pk
    assert event.before == {
        "roles": ["decision_maker"],
        "stance": "supporter",
        "relationship": 3,
        "disc": "",
        "notes": "",
    }
    assert event.after == {
        "roles": ["decision_maker", "finance"],
        "stance": "enemy",
        "relationship": 1,
        "disc": "D",
        "notes": "Moved to the rival after the price talk.",
    }
    assert "Alpha Boss updated." in html
    assert "Alpha Boss" in _block(html, "map-for-rival")


def test_update_with_nothing_changed_writes_no_event(client_for, people, mapped):
    client = client_for(people.rep_a)
    before = Event.objects.count()
    client.post(
        reverse("stakeholder-update", args=[mapped.opp.pk, mapped.rival.pk]),
        {"roles": ["external"], "stance": "blocker", "influence": "3"},
    )
    assert Event.objects.count() == before


def test_an_unknown_role_reopens_the_dialog_with_the_error_and_writes_nothing(
    client_for, people, mapped
):
    # given
    client = client_for(people.rep_a)
    sid = mapped.engineer.pk
    events = Event.objects.count()
    # when
    response = client.post(
        reverse("stakeholder-update", args=[mapped.opp.pk, sid]),
        {"roles": ["technical", "astrologer"], "stance": "enemy"},
    )
    # then
    html = response.content.decode()
    assert response.status_code == 200
    start = html.index(f'<dialog id="stakeholder-edit-{sid}"')
    dialog = html[start : html.index("</dialog>", start)]
    assert "data-open-on-load" in dialog
    assert "Select a valid choice. astrologer is not one of the available choices." in dialog
    assert html.count("data-open-on-load") == 1
    saved = Stakeholder.objects.get(pk=sid)
    assert (saved.roles, saved.stance) == (["technical", "user"], "champion")
    assert Event.objects.count() == events


@pytest.mark.parametrize("viewer", ["rep_b", "rep_c", "manager_west"])
def test_someone_who_cannot_edit_the_deal_gets_404_and_nothing_changes(
    client_for, people, mapped, viewer
):
    # given
    client = client_for(getattr(people, viewer))
    events = Event.objects.count()
    # when
    response = client.post(
        reverse("stakeholder-update", args=[mapped.opp.pk, mapped.boss.pk]),
        {"roles": ["user"], "stance": "blocker"},
    )
    # then
    assert response.status_code == 404
    assert Stakeholder.objects.get(pk=mapped.boss.pk).stance == "supporter"
    assert Event.objects.count() == events


def test_a_stakeholder_of_another_deal_is_404(client_for, people, books, mapped):
    # given: rep_b's own deal, and rep_a's stakeholder id
    client = client_for(people.rep_b)
    other = books["rep_b"].opportunity
    # when
    response = client.post(
        reverse("stakeholder-update", args=[other.pk, mapped.boss.pk]),
        {"roles": ["user"], "stance": "blocker"},
    )
    # then
    assert response.status_code == 404
    assert Stakeholder.objects.get(pk=mapped.boss.pk).stance == "supporter"


def test_update_refuses_get(client_for, people, mapped):
    response = client_for(people.rep_a).get(
        reverse("stakeholder-update", args=[mapped.opp.pk, mapped.boss.pk])
    )
    assert response.status_code == 405


def test_add_form_takes_the_shared_fields(client_for, people, books):
    # given
    book = books["rep_a"]
    client = client_for(people.rep_a)
    # when
    client.post(
        reverse("stakeholder-add", args=[book.opportunity.pk]),
        {
            "contact": book.report.pk,
            "roles": ["technical"],
            "stance": "neutral",
            "disc": "S",
            "influence": "4",
            "relationship": "2",
            "notes": "Met at the fair.",
        },
    )
    # then
    saved = Stakeholder.objects.get(opportunity=book.opportunity)
    assert (saved.roles, saved.stance, saved.disc, saved.influence, saved.relationship) == (
        ["technical"], "neutral", "S", 4, 2,
    )  # fmt: skip
    assert saved.notes == "Met at the fair."


def test_an_account_without_contacts_shows_the_empty_state(client_for, people):
    # given
    rep = people.rep_a
    account = account_create(actor=rep, name="Empty Works")
    opp = opportunity_create(
        actor=rep, account=account, name="Empty deal", amount="1000",
        expected_close=dt.date.today() + dt.timedelta(days=90),
    )  # fmt: skip
    # when
    html = _detail(client_for(rep), opp).content.decode()
    # then
    assert 'data-testid="map-empty"' in html
    assert 'id="buying-centre-chart"' not in html
    assert _json_block(html)["tree"] is None
    assert 'data-testid="map-for-us"' not in html  # nobody mapped: no empty columns
    assert "Nobody mapped yet." in html
