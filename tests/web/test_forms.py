"""Create and edit forms save through the services (and so write events); bad
input shows the error on its field and writes nothing."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.urls import reverse
from django.utils import translation

from kam.accounts.models import Account
from kam.contacts.models import Contact
from kam.core.models import Event
from kam.opportunities.models import Opportunity


def _rows():
    return (
        list(Opportunity.objects.order_by("pk").values()),
        list(Account.objects.order_by("pk").values()),
        list(Contact.objects.order_by("pk").values()),
        Event.objects.count(),
    )


def _opportunity_data(opp, **changes):
    data = {
        "name": opp.name,
        "code": opp.code or "",
        "owner": opp.owner_id,
        "amount": str(opp.amount),
        "currency": opp.currency,
        "expected_close": opp.expected_close.isoformat(),
        "buyer_stage": opp.buyer_stage,
        "description": opp.description,
    }
    return {**data, **changes}


def _contact_data(contact, **changes):
    data = {
        "name": contact.name,
        "title": contact.title,
        "department": contact.department,
        "reports_to": contact.reports_to_id or "",
        "layer": contact.layer,
        "disc": contact.disc,
        "status": contact.status,
        "joined_at": contact.joined_at.isoformat() if contact.joined_at else "",
        "left_at": contact.left_at.isoformat() if contact.left_at else "",
        "phone": contact.phone,
        "email": contact.email,
        "notes": contact.notes,
    }
    return {**data, **changes}


# --- accounts -------------------------------------------------------------------


def test_account_create_saves_through_the_service(client_for, people):
    # given
    client = client_for(people.rep_a)
    # when
    response = client.post(
        reverse("account-create"),
        {
            "name": "  Shanghai Listed Co.  ",
            "code": "SH-001",
            "owner": people.rep_a.pk,
            "industry": "Automotive",
            "account_type": "strategic",
            "nature": "public_institution",
            "size": "large",
            "annual_revenue": "5000000000",
            "collection_cycle_days": "90",
        },
    )
    # then
    account = Account.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("account-detail", args=[account.pk])
    assert account.name == "Shanghai Listed Co."
    assert account.code == "SH-001"
    assert account.owner == people.rep_a
    assert account.account_type == "strategic"
    assert account.annual_revenue == Decimal("5000000000.00")
    assert account.collection_cycle_days == 90
    event = Event.objects.get(entity="account", entity_id=account.pk)
    assert event.action == "created"
    assert event.actor == people.rep_a


def test_account_create_with_an_empty_name_writes_nothing(client_for, people):
    # given
    client = client_for(people.rep_a)
    before = _rows()
    # when
    response = client.post(reverse("account-create"), {"name": "", "owner": people.rep_a.pk})
    # then
    assert response.status_code == 200
    assert response.context["form"].errors == {"name": ["This field is required."]}
    assert _rows() == before


def test_account_create_shows_the_services_duplicate_code_error(client_for, people, books):
    # given
    from kam.accounts.services import account_update

    account_update(actor=people.rep_a, account=books["rep_a"].account, code="DUP")
    client = client_for(people.rep_a)
    before = _rows()
    # when
    response = client.post(
        reverse("account-create"), {"name": "Copy", "code": "DUP", "owner": people.rep_a.pk}
    )
    # then
    assert response.status_code == 200
    assert response.context["form"].errors == {
        "code": ["Another account already uses the code “DUP”."]
    }
    assert "Another account already uses the code “DUP”." in response.content.decode()
    assert _rows() == before


def test_a_rep_cannot_give_an_account_to_someone_else(client_for, people):
    # given
    client = client_for(people.rep_a)
    before = _rows()
    # when
    response = client.post(reverse("account-create"), {"name": "Gift", "owner": people.rep_b.pk})
    # then
    assert response.status_code == 200
    assert list(response.context["form"].errors) == ["owner"]
    assert _rows() == before


def test_a_manager_gives_an_account_to_a_team_member(client_for, people):
    # given
    client = client_for(people.manager_east)
    # when
    response = client.post(
        reverse("account-create"), {"name": "Team account", "owner": people.rep_b.pk}
    )
    # then
    assert response.status_code == 302
    assert Account.objects.get(name="Team account").owner == people.rep_b


def test_account_edit_saves_and_records_before_and_after(client_for, people, books):
    # given
    account = books["rep_a"].account
    client = client_for(people.rep_a)
    # when
    response = client.post(
        reverse("account-edit", args=[account.pk]),
        {"name": "Alpha Steel Group", "owner": people.rep_a.pk, "industry": "Steel"},
    )
    # then
    assert response.status_code == 302
    account.refresh_from_db()
    assert account.name == "Alpha Steel Group"
    event = Event.objects.filter(entity="account", entity_id=account.pk).last()
    assert event.action == "updated"
    assert event.before == {"name": "Alpha Steel Works"}
    assert event.after == {"name": "Alpha Steel Group"}


def test_account_edit_rejects_a_bad_number_and_writes_nothing(client_for, people, books):
    # given
    account = books["rep_a"].account
    client = client_for(people.rep_a)
    before = _rows()
    # when
    response = client.post(
        reverse("account-edit", args=[account.pk]),
        {"name": "Renamed", "owner": people.rep_a.pk, "receivables": "lots"},
    )
    # then
    assert response.status_code == 200
    assert response.context["form"].errors == {"receivables": ["Enter a number."]}
    assert _rows() == before


# --- contacts -------------------------------------------------------------------


def test_contact_create_from_the_account_page(client_for, people, books):
    # given
    book = books["rep_a"]
    client = client_for(people.rep_a)
    # when
    response = client.post(
        reverse("contact-create", args=[book.account.pk]),
        {
            "name": "Wang Design",
            "title": "Head of design",
            "department": "Design",
            "reports_to": book.boss.pk,
            "layer": "management",
            "disc": "C",
            "status": "active",
            "joined_at": "2026-01-15",
        },
    )
    # then
    contact = Contact.objects.get(name="Wang Design")
    assert response.status_code == 302
    assert response["Location"] == reverse("account-detail", args=[book.account.pk])
    assert contact.account == book.account
    assert contact.reports_to == book.boss
    assert contact.joined_at == dt.date(2026, 1, 15)
    assert (
        Event.objects.filter(entity="contact", entity_id=contact.pk, action="created").count() == 1
    )


def test_contact_create_returns_to_the_opportunity_it_came_from(client_for, people, books):
    # given
    book = books["rep_a"]
    back = reverse("opportunity-detail", args=[book.opportunity.pk])
    client = client_for(people.rep_a)
    # when
    response = client.post(
        reverse("contact-create", args=[book.account.pk]),
        {"name": "Liu VP", "status": "active", "next": back},
    )
    # then
    assert response.status_code == 302
    assert response["Location"] == back


def test_contact_create_ignores_a_foreign_return_address(client_for, people, books):
    # given
    book = books["rep_a"]
    client = client_for(people.rep_a)
    # when
    response = client.post(
        reverse("contact-create", args=[book.account.pk]),
        {"name": "Liu VP", "status": "active", "next": "https://evil.example/"},
    )
    # then
    assert response["Location"] == reverse("account-detail", args=[book.account.pk])


def test_contact_reports_to_is_limited_to_the_same_account(client_for, people, books):
    # given
    book = books["rep_a"]
    client = client_for(people.admin)
    before = _rows()
    # when
    page = client.get(reverse("contact-edit", args=[book.boss.pk]))
    response = client.post(
        reverse("contact-edit", args=[book.boss.pk]),
        _contact_data(book.boss, reports_to=books["rep_c"].boss.pk),
    )
    # then
    choices = [value for value, _label in page.context["form"].fields["reports_to"].choices]
    assert [str(c) for c in choices] == ["", str(book.report.pk)]
    assert response.status_code == 200
    assert response.context["form"].errors == {
        "reports_to": ["Select a valid choice. That choice is not one of the available choices."]
    }
    assert _rows() == before


def test_contact_reporting_circle_is_refused_on_the_field(client_for, people, books):
    # given
    book = books["rep_a"]
    client = client_for(people.rep_a)
    before = _rows()
    # when: the boss would report to the person who reports to them
    response = client.post(
        reverse("contact-edit", args=[book.boss.pk]),
        _contact_data(book.boss, reports_to=book.report.pk),
    )
    # then
    assert response.status_code == 200
    assert response.context["form"].errors == {
        "reports_to": [
            "Alpha Boss cannot report to Alpha Engineer: that would make a reporting circle."
        ]
    }
    book.boss.refresh_from_db()
    assert book.boss.reports_to_id is None
    assert _rows() == before


def test_contact_leaves_with_a_date(client_for, people, books):
    # given
    book = books["rep_a"]
    client = client_for(people.rep_a)
    # when
    response = client.post(
        reverse("contact-edit", args=[book.report.pk]),
        _contact_data(book.report, status="left", left_at="2026-03-01"),
    )
    # then
    assert response.status_code == 302
    book.report.refresh_from_db()
    assert book.report.status == "left"
    assert book.report.left_at == dt.date(2026, 3, 1)
    event = Event.objects.filter(entity="contact", entity_id=book.report.pk).last()
    assert event.action == "left"
    assert event.after == {"status": "left", "left_at": "2026-03-01"}


def test_contact_coming_back_clears_the_old_leaving_date(client_for, people, books):
    # given
    from kam.contacts.services import contact_update

    book = books["rep_a"]
    contact_update(actor=people.rep_a, contact=book.report, status="left", left_at="2026-03-01")
    book.report.refresh_from_db()
    client = client_for(people.rep_a)
    # when: the form still carries the old date; only the status changes
    response = client.post(
        reverse("contact-edit", args=[book.report.pk]),
        _contact_data(book.report, status="active"),
    )
    # then
    assert response.status_code == 302
    book.report.refresh_from_db()
    assert book.report.status == "active"
    assert book.report.left_at is None


def test_contact_leaving_before_joining_is_refused(client_for, people, books):
    # given
    book = books["rep_a"]
    client = client_for(people.rep_a)
    before = _rows()
    # when
    response = client.post(
        reverse("contact-edit", args=[book.report.pk]),
        _contact_data(book.report, status="left", joined_at="2026-05-01", left_at="2026-03-01"),
    )
    # then
    assert response.status_code == 200
    assert response.context["form"].errors == {
        "left_at": ["The leaving date is before the date they took the post."]
    }
    assert _rows() == before


# --- opportunities --------------------------------------------------------------


def test_opportunity_create_saves_through_the_service(client_for, people, books):
    # given
    account = books["rep_a"].account
    client = client_for(people.rep_a)
    # when
    response = client.post(
        reverse("opportunity-create") + f"?account={account.pk}",
        {
            "name": "Second press line",
            "owner": people.rep_a.pk,
            "amount": "880000.50",
            "currency": "cny",
            "expected_close": "2027-03-31",
            "playbook": "milestones-5",
            "buyer_stage": "",
        },
    )
    # then
    opp = Opportunity.objects.get(name="Second press line")
    assert response.status_code == 302
    assert response["Location"] == reverse("opportunity-detail", args=[opp.pk])
    assert opp.account == account
    assert opp.amount == Decimal("880000.50")
    assert opp.currency == "CNY"
    assert opp.playbook == "milestones-5"
    assert opp.stage == "lead_confirmation"
    assert Event.objects.filter(opportunity_id=opp.pk, action="created").count() == 1


def test_opportunity_create_with_a_bad_amount_writes_nothing(client_for, people, books):
    # given
    account = books["rep_a"].account
    client = client_for(people.rep_a)
    before = _rows()
    # when
    response = client.post(
        reverse("opportunity-create") + f"?account={account.pk}",
        {
            "name": "Bad amount",
            "owner": people.rep_a.pk,
            "amount": "abc",
            "currency": "CNY",
            "expected_close": "2027-03-31",
            "playbook": "standard-6",
        },
    )
    # then
    assert response.status_code == 200
    assert response.context["form"].errors == {"amount": ["Enter a number."]}
    assert "Enter a number." in response.content.decode()
    assert _rows() == before


def test_opportunity_create_shows_the_services_currency_error(client_for, people, books):
    # given
    account = books["rep_a"].account
    client = client_for(people.rep_a)
    before = _rows()
    # when
    response = client.post(
        reverse("opportunity-create") + f"?account={account.pk}",
        {
            "name": "Odd currency",
            "owner": people.rep_a.pk,
            "amount": "1",
            "currency": "C1Y",
            "expected_close": "2027-03-31",
            "playbook": "standard-6",
        },
    )
    # then
    assert response.status_code == 200
    assert response.context["form"].errors == {
        "currency": ["Use a three-letter currency code such as CNY."]
    }
    assert _rows() == before


def test_opportunity_edit_changes_the_buyer_stage_and_facts(client_for, people, books):
    # given
    opp = books["rep_a"].opportunity
    client = client_for(people.rep_a)
    # when
    response = client.post(
        reverse("opportunity-edit", args=[opp.pk]),
        _opportunity_data(opp, amount="1300000", buyer_stage="approval"),
    )
    # then
    assert response.status_code == 302
    opp.refresh_from_db()
    assert opp.amount == Decimal("1300000.00")
    assert opp.buyer_stage == "approval"
    assert opp.stage == "development"
    events = list(Event.objects.filter(opportunity_id=opp.pk).values_list("action", "after"))
    assert events[1:] == [
        ("updated", {"amount": "1300000"}),
        ("buyer_stage_changed", {"buyer_stage": "approval"}),
    ]


def test_opportunity_edit_cannot_move_the_seller_stage(client_for, people, books):
    # given
    opp = books["rep_a"].opportunity
    client = client_for(people.rep_a)
    # when
    page = client.get(reverse("opportunity-edit", args=[opp.pk]))
    response = client.post(
        reverse("opportunity-edit", args=[opp.pk]),
        _opportunity_data(opp, stage="negotiation", status="won"),
    )
    # then
    assert "stage" not in page.context["form"].fields
    assert "status" not in page.context["form"].fields
    assert response.status_code == 302
    opp.refresh_from_db()
    assert (opp.stage, opp.status) == ("development", "open")
    assert Event.objects.filter(opportunity_id=opp.pk).count() == 1


def test_opportunity_edit_with_an_empty_name_writes_nothing(client_for, people, books):
    # given
    opp = books["rep_a"].opportunity
    client = client_for(people.rep_a)
    before = _rows()
    # when
    response = client.post(
        reverse("opportunity-edit", args=[opp.pk]), _opportunity_data(opp, name="   ")
    )
    # then
    assert response.status_code == 200
    assert response.context["form"].errors == {"name": ["This field is required."]}
    assert _rows() == before


def test_manager_reassigns_a_team_deal(client_for, people, books):
    # given
    opp = books["rep_a"].opportunity
    client = client_for(people.manager_east)
    # when
    response = client.post(
        reverse("opportunity-edit", args=[opp.pk]), _opportunity_data(opp, owner=people.rep_b.pk)
    )
    # then
    assert response.status_code == 302
    opp.refresh_from_db()
    assert opp.owner == people.rep_b
    event = Event.objects.filter(opportunity_id=opp.pk).last()
    assert (event.action, event.actor, event.after) == (
        "updated",
        people.manager_east,
        {"owner": people.rep_b.pk},
    )


def test_manager_cannot_give_a_deal_to_another_team(client_for, people, books):
    # given
    opp = books["rep_a"].opportunity
    client = client_for(people.manager_east)
    before = _rows()
    # when
    response = client.post(
        reverse("opportunity-edit", args=[opp.pk]), _opportunity_data(opp, owner=people.rep_c.pk)
    )
    # then
    assert response.status_code == 200
    assert list(response.context["form"].errors) == ["owner"]
    assert _rows() == before


def test_form_errors_arrive_in_the_users_language(client_for, people):
    # given
    client = client_for(people.rep_a, language="zh-hans")
    with translation.override("zh-hans"):
        required = translation.gettext("This field is required.")
    # when
    response = client.post(reverse("account-create"), {"name": "", "owner": people.rep_a.pk})
    # then
    assert required != "This field is required."
    assert response.status_code == 200
    assert response.context["form"].errors == {"name": [required]}
