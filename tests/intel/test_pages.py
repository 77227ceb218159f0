"""The intelligence card (情报) on the opportunity page: items with their sources and
whether they are verified, and the forms to record an item, have someone else
confirm it, take a source back and delete an item. Every write goes through a
kam.intel service; a refused one changes nothing."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.urls import reverse

from kam.accounts.services import account_create
from kam.contacts.services import contact_create
from kam.core import clock
from kam.core.models import Event
from kam.intel.models import IntelItem, IntelSource
from kam.intel.services import intel_add, intel_confirm
from kam.opportunities.services import opportunity_create


@pytest.fixture
def page(world):
    """rep_a's deal at an account with three people (one of them gone) and one elsewhere."""
    rep = world.rep_a
    account = account_create(actor=rep, name="上海华鼎")
    people = {
        name: contact_create(actor=rep, account=account, name=name, title=title)
        for name, title in (("刘副总", "副总裁"), ("王主任", "设计部主任"), ("张工", ""))
    }
    people["老李"] = contact_create(actor=rep, account=account, name="老李", status="left")
    elsewhere = account_create(actor=rep, name="别家公司")
    people["外人"] = contact_create(actor=rep, account=elsewhere, name="外人")
    opp = opportunity_create(
        actor=rep,
        account=account,
        name="原材料招标",
        amount="1250000",
        expected_close=clock.today() + dt.timedelta(days=60),
    )
    return opp, people


def _client(user, language: str = "en") -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    client.force_login(user)
    return client


def _html(client, opp) -> str:
    response = client.get(reverse("opportunity-detail", args=[opp.pk]))
    assert response.status_code == 200
    return response.content.decode()


def _card(html: str) -> str:
    start = html.index('data-testid="intel-card"')
    return html[start : html.index("</section>", start)]


def _item(card: str, pk: int) -> str:
    """One item's markup: from its <li> to the next item's (or the card's end)."""
    start = card.index(f'id="intel-{pk}"')
    end = card.find('data-testid="intel-item"', start + 40)
    return card[start : end if end != -1 else len(card)]


def _state(opp) -> tuple:
    return (
        list(IntelItem.objects.filter(opportunity=opp).order_by("id").values()),
        list(IntelSource.objects.filter(item__opportunity=opp).order_by("id").values()),
        Event.objects.filter(opportunity_id=opp.pk).count(),
    )


# --- the card ----------------------------------------------------------------------------


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_the_card_offers_the_add_form_with_the_accounts_active_people(world, page, language):
    opp, people = page
    card = _card(_html(_client(world.rep_a, language), opp))
    assert 'data-testid="intel-form"' in card
    assert 'data-testid="intel-item"' not in card
    for name in ("刘副总 — 副总裁", "王主任 — 设计部主任", "张工"):
        assert name in card
    assert "老李" not in card  # left the account
    assert "外人" not in card  # another account


def test_items_show_text_date_badges_and_sources(world, page):
    # given: a critical item one person told us, and a verified one learned later
    opp, people = page
    rep = world.rep_a
    day = clock.today() - dt.timedelta(days=2)
    single = intel_add(
        actor=rep,
        opportunity=opp,
        text="新总经理要亲自主持招标",
        sources=[people["刘副总"]],
        learned_on=day,
        critical=True,
    )
    double = intel_add(
        actor=rep,
        opportunity=opp,
        text="招标移交设计部",
        sources=[people["刘副总"], people["王主任"]],
    )
    # when
    card = _card(_html(_client(rep), opp))
    # then
    assert card.count('data-testid="intel-item"') == 2
    assert (
        f'id="intel-{single.pk}" data-testid="intel-item" data-verified="false" '
        'data-critical="true"'
    ) in card
    assert (
        f'id="intel-{double.pk}" data-testid="intel-item" data-verified="true" '
        'data-critical="false"'
    ) in card
    assert card.index(f'id="intel-{double.pk}"') < card.index(f'id="intel-{single.pk}"')
    first = _item(card, single.pk)
    assert "新总经理要亲自主持招标" in first
    assert day.isoformat() in first
    assert 'data-testid="intel-critical">critical</span>' in first
    assert "1 of 2 sources" in first
    assert "刘副总" in first
    assert 'data-testid="intel-confirm-form"' in first
    second = _item(card, double.pk)
    assert "✓ verified" in second
    assert second.count('data-testid="intel-source"') == 2
    assert 'data-testid="intel-confirm-form"' not in second  # verified: nothing to confirm
    # the confirm form offers only people who have not told us yet
    select = first[first.index("<select") : first.index("</select>")]
    assert "刘副总" not in select
    assert "王主任" in select and "张工" in select


def test_the_card_costs_the_same_whatever_the_number_of_items(
    world, page, django_assert_max_num_queries
):
    opp, people = page
    rep = world.rep_a
    client = _client(rep)
    intel_add(actor=rep, opportunity=opp, text="一", sources=[people["刘副总"]])
    with django_assert_max_num_queries(1000) as few:
        _html(client, opp)
    for i in range(8):
        intel_add(
            actor=rep,
            opportunity=opp,
            text=f"情报 {i}",
            sources=[people["刘副总"], people["张工"]][: 1 + i % 2],
        )
    with django_assert_max_num_queries(1000) as many:
        html = _html(client, opp)
    assert html.count('data-testid="intel-item"') == 9
    # the history lists more events; everything else stays as it was
    assert len(many) == len(few)


# --- recording ---------------------------------------------------------------------------


def test_add_form_records_a_verified_critical_item(world, page):
    # given
    opp, people = page
    client = _client(world.rep_a)
    yesterday = (clock.today() - dt.timedelta(days=1)).isoformat()
    # when
    response = client.post(
        reverse("intel-add", args=[opp.pk]),
        {
            "intel_text": "预算已经批了三百万",
            "sources": [people["刘副总"].pk, people["王主任"].pk],
            "learned_on": yesterday,
            "critical": "on",
        },
        follow=True,
    )
    # then
    item = IntelItem.objects.get(opportunity=opp)
    assert (item.text, item.learned_on.isoformat(), item.critical, item.verified) == (
        "预算已经批了三百万",
        yesterday,
        True,
        True,
    )
    assert response.redirect_chain == [
        (reverse("opportunity-detail", args=[opp.pk]) + "#intel", 302)
    ]
    html = response.content.decode()
    assert "Intelligence recorded; confirmed by 2 people, it is verified." in html
    assert 'data-verified="true" data-critical="true"' in html


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"intel_text": "", "sources": ["LIU"]}, "intel_text", "This field is required."),
        (
            {"intel_text": "x" * 2001, "sources": ["LIU"]},
            "intel_text",
            "Use at most 2000 characters (this has 2001).",
        ),
        (
            {"intel_text": "预算", "sources": []},
            "sources",
            "Name at least one person who told us this.",
        ),
        (
            {"intel_text": "预算", "sources": ["LIU"], "learned_on": "FUTURE"},
            "learned_on",
            "This date is in the future",
        ),
        ({"intel_text": "预算", "sources": ["OUTSIDER"]}, "sources", "Select a valid choice."),
    ],
)
def test_add_form_refusals_show_on_the_field_and_write_nothing(world, page, data, field, message):
    # given
    opp, people = page
    ids = {"LIU": people["刘副总"].pk, "OUTSIDER": people["外人"].pk}
    data = {**data, "sources": [ids[s] for s in data["sources"]]}
    if data.get("learned_on") == "FUTURE":
        data["learned_on"] = (clock.today() + dt.timedelta(days=1)).isoformat()
    before = _state(opp)
    # when
    response = _client(world.rep_a).post(reverse("intel-add", args=[opp.pk]), data)
    # then
    assert response.status_code == 200
    html = response.content.decode()
    block = html[html.index(f'data-field="{field}"') :]
    block = block[: block.index('data-field="', 10)] if 'data-field="' in block[10:] else block
    assert message in block
    assert _state(opp) == before


def test_confirm_form_verifies_the_item(world, page):
    # given
    opp, people = page
    item = intel_add(
        actor=world.rep_a,
        opportunity=opp,
        text="刘总被派去出差",
        sources=[people["刘副总"]],
        critical=True,
    )
    # when
    response = _client(world.rep_a).post(
        reverse("intel-confirm", args=[opp.pk, item.pk]),
        {
            f"confirm-{item.pk}-source": people["王主任"].pk,
            f"confirm-{item.pk}-source_note": "在电话里证实",
        },
        follow=True,
    )
    # then
    html = response.content.decode()
    assert "王主任 confirmed it: the item is verified." in html
    assert f'id="intel-{item.pk}" data-testid="intel-item" data-verified="true"' in html
    source = IntelSource.objects.get(item=item, contact=people["王主任"])
    assert (source.note, source.confirmed_on) == ("在电话里证实", clock.today())
    assert Event.objects.filter(entity="intel", entity_id=item.pk).last().action == "verified"


def test_confirm_by_the_same_person_from_a_stale_page_is_refused_on_the_field(world, page):
    opp, people = page
    item = intel_add(
        actor=world.rep_a, opportunity=opp, text="刘总被派去出差", sources=[people["刘副总"]]
    )
    before = _state(opp)
    response = _client(world.rep_a).post(
        reverse("intel-confirm", args=[opp.pk, item.pk]),
        {f"confirm-{item.pk}-source": people["刘副总"].pk},
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "刘副总 already confirmed this item" in html
    assert '<details class="inline-form" open>' in _card(html)
    assert _state(opp) == before


def test_remove_a_source_and_the_last_one_stays(world, page):
    # given
    opp, people = page
    item = intel_add(
        actor=world.rep_a, opportunity=opp, text="预算已批", sources=[people["刘副总"]]
    )
    extra = intel_confirm(actor=world.rep_a, item=item, contact=people["张工"])
    client = _client(world.rep_a)
    # when
    response = client.post(
        reverse("intel-source-remove", args=[opp.pk, item.pk, extra.pk]), follow=True
    )
    # then
    assert "张工 removed from the sources." in response.content.decode()
    assert [s.contact.name for s in item.sources.all()] == ["刘副总"]
    # the last source stays
    before = _state(opp)
    last = item.sources.get()
    response = client.post(
        reverse("intel-source-remove", args=[opp.pk, item.pk, last.pk]), follow=True
    )
    assert "An item needs at least one source." in response.content.decode()
    assert _state(opp) == before


def test_delete_an_item(world, page):
    opp, people = page
    item = intel_add(
        actor=world.rep_a, opportunity=opp, text="预算已批", sources=[people["刘副总"]]
    )
    response = _client(world.rep_a).post(
        reverse("intel-delete", args=[opp.pk, item.pk]), follow=True
    )
    assert "Intelligence item deleted." in response.content.decode()
    assert not IntelItem.objects.filter(pk=item.pk).exists()


# --- who may -----------------------------------------------------------------------------


@pytest.mark.parametrize("user", ["rep_b", "manager_west", "rep_c"])
def test_other_users_get_404_and_nothing_changes(world, page, user):
    opp, people = page
    item = intel_add(
        actor=world.rep_a,
        opportunity=opp,
        text="预算已批",
        sources=[people["刘副总"], people["张工"]],
    )
    source = item.sources.first()
    before = _state(opp)
    client = _client(getattr(world, user))
    posts = [
        (
            reverse("intel-add", args=[opp.pk]),
            {"intel_text": "x", "sources": [people["王主任"].pk]},
        ),
        (
            reverse("intel-confirm", args=[opp.pk, item.pk]),
            {f"confirm-{item.pk}-source": people["王主任"].pk},
        ),
        (reverse("intel-source-remove", args=[opp.pk, item.pk, source.pk]), {}),
        (reverse("intel-delete", args=[opp.pk, item.pk]), {}),
    ]
    for url, data in posts:
        assert client.post(url, data).status_code == 404
    assert _state(opp) == before


def test_the_manager_of_the_team_may_record(world, page):
    opp, people = page
    response = _client(world.manager_east).post(
        reverse("intel-add", args=[opp.pk]),
        {"intel_text": "竞争对手报价更低", "sources": [people["张工"].pk]},
    )
    assert response.status_code == 302
    assert IntelItem.objects.get(opportunity=opp).created_by == world.manager_east


def test_intel_urls_refuse_get(world, page):
    opp, people = page
    item = intel_add(
        actor=world.rep_a, opportunity=opp, text="预算已批", sources=[people["刘副总"]]
    )
    client = _client(world.rep_a)
    for url in (
        reverse("intel-add", args=[opp.pk]),
        reverse("intel-confirm", args=[opp.pk, item.pk]),
        reverse("intel-delete", args=[opp.pk, item.pk]),
    ):
        assert client.get(url).status_code == 405


def test_an_item_of_another_deal_is_404_through_this_one(world, page):
    opp, people = page
    other = opportunity_create(
        actor=world.rep_a,
        account=opp.account,
        name="二期",
        amount="1",
        expected_close=clock.today() + dt.timedelta(days=90),
    )
    foreign = intel_add(
        actor=world.rep_a, opportunity=other, text="二期预算", sources=[people["刘副总"]]
    )
    before = _state(other)
    client = _client(world.rep_a)
    assert client.post(reverse("intel-delete", args=[opp.pk, foreign.pk])).status_code == 404
    assert (
        client.post(
            reverse("intel-confirm", args=[opp.pk, foreign.pk]),
            {f"confirm-{foreign.pk}-source": people["王主任"].pk},
        ).status_code
        == 404
    )
    assert _state(other) == before
