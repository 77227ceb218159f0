"""The team card (团队) on the account and the opportunity page: the owner, their
manager or an admin adds a colleague, changes their access and takes them off; every
change is an event shown in the deal's history; a colleague on the team sees who
else is on it and whom to ask, never the form; a reader's account page is read-only.
Deleting a record writes a `member_removed` event for each colleague on its team."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from kam.accounts.models import AccountMember
from kam.accounts.services import account_create, account_delete
from kam.contacts.models import Contact
from kam.core.models import Event
from kam.core.sharing import member_set
from kam.opportunities.models import OpportunityMember
from kam.opportunities.services import opportunity_delete

KINDS = {
    "account": ("account", AccountMember, "account-detail"),
    "opportunity": ("opportunity", OpportunityMember, "opportunity-detail"),
}


def _record(books, kind: str):
    return books["rep_a"].account if kind == "account" else books["rep_a"].opportunity


def _set_url(kind: str, record) -> str:
    return reverse(f"{kind}-member-set", args=[record.pk])


def _remove_url(kind: str, record, user) -> str:
    return reverse(f"{kind}-member-remove", args=[record.pk, user.pk])


def _page(client, kind: str, record) -> str:
    response = client.get(reverse(KINDS[kind][2], args=[record.pk]))
    assert response.status_code == 200
    return response.content.decode()


def _members(kind: str, record) -> dict[str, str]:
    model = KINDS[kind][1]
    rows = model.objects.filter(**{model.record_field: record}).select_related("user")
    return {m.user.username: m.access for m in rows}


def _team_events(record) -> list[tuple[str, dict, dict]]:
    entity = record._meta.model_name
    return [
        (e.action, e.before, e.after)
        for e in Event.objects.filter(
            entity=entity, entity_id=record.pk, action__startswith="member_"
        ).order_by("id")
    ]


def _card(html: str) -> str:
    found = re.search(r'<section class="card team-card".*?</section>', html, re.S)
    assert found, "no team card on the page"
    return found.group(0)


@pytest.mark.parametrize("kind", ["account", "opportunity"])
def test_the_owner_adds_changes_and_removes_a_colleague(people, books, client_for, kind):
    record = _record(books, kind)
    client = client_for(people.rep_a)
    # the card offers the form, and says the record is the owner's alone
    card = _card(_page(client, kind, record))
    assert 'data-testid="team-form"' in card
    assert 'data-testid="team-empty"' in card
    # when the owner adds rep_c (another team) to read
    response = client.post(
        _set_url(kind, record), {"team-user": people.rep_c.pk, "team-access": "read"}
    )
    assert response.status_code == 302
    assert response["Location"].endswith("#team")
    assert _members(kind, record) == {"w_rep_c": "read"}
    card = _card(_page(client, kind, record))
    assert 'data-user="w_rep_c"' in card and "Read" in card
    assert "added by Alice Rep on" in card
    # … then lets them edit with the row's button (the same URL, the other access)
    client.post(_set_url(kind, record), {"team-user": people.rep_c.pk, "team-access": "edit"})
    assert _members(kind, record) == {"w_rep_c": "edit"}
    # … then takes them off
    response = client.post(_remove_url(kind, record, people.rep_c))
    assert response.status_code == 302
    assert _members(kind, record) == {}
    assert [action for action, _b, _a in _team_events(record)] == [
        "member_added",
        "member_changed",
        "member_removed",
    ]
    assert _team_events(record)[1][1:] == (
        {"user": people.rep_c.pk, "access": "read"},
        {"user": people.rep_c.pk, "access": "edit"},
    )


@pytest.mark.parametrize("kind", ["account", "opportunity"])
def test_the_owners_manager_and_an_admin_may_share_too(people, books, client_for, kind):
    record = _record(books, kind)
    for sharer, colleague in ((people.manager_east, people.rep_b), (people.admin, people.rep_c)):
        response = client_for(sharer).post(
            _set_url(kind, record), {"team-user": colleague.pk, "team-access": "read"}
        )
        assert response.status_code == 302
    assert _members(kind, record) == {"w_rep_b": "read", "w_rep_c": "read"}


@pytest.mark.parametrize("kind", ["account", "opportunity"])
def test_a_colleague_on_the_team_sees_it_but_may_not_change_it(people, books, client_for, kind):
    record = _record(books, kind)
    model = KINDS[kind][1]
    member_set(
        actor=people.rep_a, record=record, member_model=model, user=people.rep_c, access="edit"
    )
    client = client_for(people.rep_c)
    # the card lists the team and says whom to ask; no form, no buttons
    card = _card(_page(client, kind, record))
    assert 'data-user="w_rep_c"' in card
    assert 'data-testid="team-form"' not in card and "team-remove" not in card
    assert "To change who works on this, ask Alice Rep, w_m_east." in card
    # a post anyway: the refusal page, nothing changed, no event
    events = Event.objects.count()
    response = client.post(
        _set_url(kind, record), {"team-user": people.rep_b.pk, "team-access": "edit"}
    )
    assert response.status_code == 403
    assert client.post(_remove_url(kind, record, people.rep_c)).status_code == 403
    assert _members(kind, record) == {"w_rep_c": "edit"}
    assert Event.objects.count() == events


@pytest.mark.parametrize("kind", ["account", "opportunity"])
def test_out_of_sight_is_the_404_page_and_changes_nothing(people, books, client_for, kind):
    record = _record(books, kind)
    client = client_for(people.rep_c)
    response = client.post(
        _set_url(kind, record), {"team-user": people.rep_c.pk, "team-access": "edit"}
    )
    assert response.status_code == 404
    assert _members(kind, record) == {}


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"team-access": "read"}, "user", "This field is required."),
        ({"team-user": "999999", "team-access": "read"}, "user", "Select a valid choice."),
        ({"team-user": "OWNER", "team-access": "read"}, "user", "Select a valid choice."),
        ({"team-user": "COLLEAGUE", "team-access": "admin"}, "access", "Select a valid choice."),
    ],
)
@pytest.mark.parametrize("kind", ["account", "opportunity"])
def test_a_bad_choice_shows_the_card_again_with_the_error_at_its_field(
    people, books, client_for, kind, data, field, message
):
    record = _record(books, kind)
    ids = {"OWNER": str(people.rep_a.pk), "COLLEAGUE": str(people.rep_c.pk)}
    data = {k: ids.get(v, v) for k, v in data.items()}
    response = client_for(people.rep_a).post(_set_url(kind, record), data)
    assert response.status_code == 422
    card = _card(response.content.decode())
    errors = re.search(rf'data-field="{field}".*?field-errors.*?</div>', card, re.S)
    assert errors and message in errors.group(0)
    assert _members(kind, record) == {}


def test_an_inactive_colleague_is_not_offered(people, books, client_for):
    from kam.users.services import user_set_active

    user_set_active(actor=people.admin, user=people.rep_c, active=False)
    html = _card(_page(client_for(people.rep_a), "account", books["rep_a"].account))
    options = re.findall(r'<option value="(\d+)"', html)
    assert str(people.rep_c.pk) not in options
    assert str(people.rep_a.pk) not in options  # the owner is not their own colleague
    assert str(people.rep_b.pk) in options


def test_the_card_and_history_speak_chinese(people, books, client_for):
    deal = books["rep_a"].opportunity
    client = client_for(people.rep_a, language="zh-hans")
    data = {"team-user": people.rep_c.pk, "team-access": "edit"}
    client.post(_set_url("opportunity", deal), data)
    html = _page(client, "opportunity", deal)
    card = _card(html)
    assert "团队" in card and "读写" in card and "负责人:Alice Rep" in card
    history = re.search(r'data-testid="history".*?</ol>', html, re.S).group(0)
    assert "同事加入团队" in history
    assert "w_rep_c" in history  # the colleague by name, not by id


def test_a_readers_account_page_is_read_only(people, books, client_for):
    account = books["rep_a"].account
    member_set(
        actor=people.rep_a,
        record=account,
        member_model=AccountMember,
        user=people.rep_c,
        access="read",
    )
    html = _page(client_for(people.rep_c), "account", account)
    assert 'data-testid="read-only"' in html
    assert 'data-testid="read-only-fieldset"' in html
    assert reverse("contact-create", args=[account.pk]) not in html
    assert reverse("account-edit", args=[account.pk]) not in html
    # the owner's page is not
    owner_html = _page(client_for(people.rep_a), "account", account)
    assert 'data-testid="read-only"' not in owner_html
    assert reverse("contact-create", args=[account.pk]) in owner_html


# What an empty card says to who may fill it in, and to a reader (who may not).
INVITATIONS = (
    "record who supplies this customer in our line",
    "line up what we have for and against us here",
    "add earlier revenue (e.g. from the erp) here",
    "the type steers what the sales team stresses",
    "questions to get a suggestion",
    "how well do we serve each?",
    "start with the people who decide",
    "enter the collection cycle (days) on the account",
    "note how satisfied the customer is with us",
)
EMPTY_FOR_READERS = (
    "No suppliers mapped yet.",
    "No SWOT yet.",
    "No revenue records. Won deals count by themselves.",
    "No type set yet.",
    "No needs recorded yet.",
    "No satisfaction recorded yet.",
    "No contacts recorded yet.",
)


def test_a_readers_empty_cards_say_what_is_missing_without_inviting_them_to_fill_it(
    people, books, client_for
):
    # given: an account with nothing on its profile, competition or revenue cards, and
    # no people
    account = books["rep_a"].account
    Contact.objects.filter(account=account).delete()
    member_set(actor=people.rep_a, record=account, member_model=AccountMember,
               user=people.rep_c, access="read")
    # when
    reader = _page(client_for(people.rep_c), "account", account)
    owner = _page(client_for(people.rep_a), "account", account)
    # then: the reader is told what is missing, not asked to add it
    assert [line for line in EMPTY_FOR_READERS if line not in reader] == []
    assert [i for i in INVITATIONS if i in reader.lower()] == []
    # and the owner is still asked to
    assert [i for i in INVITATIONS if i not in owner.lower()] == []


def test_a_readers_empty_cards_read_in_chinese(people, books, client_for):
    account = books["rep_a"].account
    Contact.objects.filter(account=account).delete()
    member_set(actor=people.rep_a, record=account, member_model=AccountMember,
               user=people.rep_c, access="read")
    client = client_for(people.rep_c)
    client.cookies["django_language"] = "zh-hans"
    html = _page(client, "account", account)
    for text in ("尚未填写任何供应商。", "还没有 SWOT 分析。",
                 "暂无交易额记录。赢单的商机会自动计入。",
                 "尚未设定类型。", "尚未记录需求。", "尚未记录满意度。", "还没有联系人。"):
        assert text in html
    assert "请在此添加" not in html
    assert "先从决策者和使用者开始记录" not in html


def test_an_editor_of_a_deal_may_add_people_from_a_read_only_account_page(
    people, books, client_for
):
    # who works a deal maps its buying centre: the account's people are theirs to add
    book = books["rep_a"]
    member_set(
        actor=people.rep_a,
        record=book.opportunity,
        member_model=OpportunityMember,
        user=people.rep_c,
        access="edit",
    )
    html = _page(client_for(people.rep_c), "account", book.account)
    assert 'data-testid="read-only"' in html
    assert reverse("contact-create", args=[book.account.pk]) in html


def test_deleting_a_record_takes_its_team_off_with_an_event_each(people, books):
    account = account_create(actor=people.rep_a, name="Short-lived Works")
    for user, access in ((people.rep_b, "read"), (people.rep_c, "edit")):
        member_set(
            actor=people.rep_a,
            record=account,
            member_model=AccountMember,
            user=user,
            access=access,
        )
    deal = books["rep_a"].opportunity
    member_set(
        actor=people.rep_a,
        record=deal,
        member_model=OpportunityMember,
        user=people.rep_c,
        access="read",
    )
    account_delete(actor=people.manager_east, account=account)
    opportunity_delete(actor=people.rep_a, opportunity=deal)
    removed = Event.objects.filter(action="member_removed").order_by("id")
    assert [(e.entity, e.before, e.actor_id) for e in removed] == [
        ("account", {"user": people.rep_b.pk, "access": "read"}, people.manager_east.pk),
        ("account", {"user": people.rep_c.pk, "access": "edit"}, people.manager_east.pk),
        ("opportunity", {"user": people.rep_c.pk, "access": "read"}, people.rep_a.pk),
    ]
    assert {e.note for e in removed} == {
        "Deleted with its account.",
        "Deleted with its opportunity.",
    }
    assert not AccountMember.objects.exists() and not OpportunityMember.objects.exists()
