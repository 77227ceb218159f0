"""The payments card (回款) and the referral partners on the opportunity page: the
contract amount, collected and outstanding of a won deal, its payments, recording
and removing one, and who referred the deal with a held commission's legal reason.
Every write goes through kam.partners.services; a refused one changes nothing."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import NoReverseMatch, reverse
from django.utils.html import escape

from kam.accounts.services import account_create
from kam.core import clock
from kam.core.models import Event
from kam.opportunities.services import opportunity_create
from kam.partners import present, services
from kam.partners.models import Payment
from kam.web.views import payments as payments_view
from tests.partners.conftest import TODAY, at, pay, won_deal

NBSP = "\u00a0"


# The page is looked at on 2026-08-10: 2026H1 has ended and can be paid out.
WON = at(2026, 2, 10)


def partner(actor, name: str, *, employer=None):
    with clock.freeze(at(2025, 12, 1)):
        return services.partner_create(
            actor=actor, name=name, employer_account=employer, agreement_date=dt.date(2025, 11, 20)
        )


def refer(actor, who, opp, kind: str = "direct"):
    with clock.freeze(at(2026, 1, 5)):
        return services.referral_add(actor=actor, partner=who, opportunity=opp, kind=kind)


@pytest.fixture
def frozen():
    with clock.freeze(TODAY):
        yield TODAY


@pytest.fixture
def deal(world, frozen):
    """rep_a's deal of 40,000 at 苏州博远, won on 2026-02-10, nothing collected yet."""
    with clock.freeze(at(2025, 12, 1)):
        account = account_create(actor=world.rep_a, name="苏州博远精密机械")
    return won_deal(world.rep_a, account, "虎钳及夹具", "40000", WON)


def _client(user, language: str = "en") -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    client.force_login(user)
    return client


def _html(client, opp) -> str:
    response = client.get(reverse("opportunity-detail", args=[opp.pk]))
    assert response.status_code == 200
    return response.content.decode()


def _card(html: str, testid: str = "payments-card") -> str:
    start = html.index(f'data-testid="{testid}"')
    return html[start : html.index("</section>", start)]


def _field(card: str, name: str) -> str:
    """One form field's block: from its data-field to the next one (or the form's end)."""
    start = card.index(f'data-field="{name}"')
    end = card.find('data-field="', start + 10)
    return card[start : end if end != -1 else len(card)]


def _history(html: str) -> list[str]:
    """The history's rows, newest first, each as its markup."""
    start = html.index('data-testid="history"')
    return html[start : html.index("</ol>", start)].split('data-testid="history-row"')[1:]


def _state(opp) -> tuple:
    return (
        list(Payment.objects.filter(opportunity=opp).order_by("id").values()),
        Event.objects.filter(opportunity_id=opp.pk).count(),
    )


def _money(text: str) -> str:
    return f"CNY{NBSP}{text}"


# --- the card ------------------------------------------------------------------------------


def test_the_card_of_a_won_deal_shows_the_figures_and_the_payments(world, deal):
    # given: 30,000 of 40,000 collected in two payments
    first = pay(world.rep_a, deal, "12000", dt.date(2026, 3, 1), "BANK-0301")
    second = pay(world.manager_east, deal, "18000.50", dt.date(2026, 4, 1))
    # when
    card = _card(_html(_client(world.rep_a), deal))
    # then
    assert f'data-testid="payments-contract">{_money("40,000.00")}</dd>' in card
    assert f'data-testid="payments-collected">{_money("30,000.50")}</dd>' in card
    assert (
        f'data-testid="payments-outstanding" class="is-outstanding">{_money("9,999.50")}</dd>'
    ) in card
    assert 'aria-valuenow="75"' in card
    assert 'style="width: 75%"' in card
    rows = card.split('data-testid="payment-row"')[1:]
    assert len(rows) == 2
    assert f'id="payment-{first.pk}"' in card.split('data-testid="payment-row"')[0]
    assert "2026-03-01" in rows[0] and _money("12,000.00") in rows[0]
    assert "BANK-0301" in rows[0] and "rep_a" in rows[0]
    assert "2026-04-01" in rows[1] and _money("18,000.50") in rows[1]
    assert "m_east" in rows[1]
    assert reverse("payment-delete", args=[deal.pk, second.pk]) in rows[1]
    # the form is there, the date set to today
    assert 'data-testid="payment-form"' in card
    assert 'name="payment-date" value="2026-08-10"' in card


def test_a_deal_collected_in_full_offers_no_form(world, deal):
    pay(world.rep_a, deal, "40000", dt.date(2026, 3, 1))
    card = _card(_html(_client(world.rep_a), deal))
    assert f'data-testid="payments-outstanding" class="is-done">{_money("0.00")}</dd>' in card
    assert 'aria-valuenow="100"' in card
    assert 'data-testid="payment-form"' not in card
    assert "The contract amount is collected in full." in card


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_a_deal_not_won_says_when_payments_come_and_offers_no_form(world, frozen, language):
    # given
    account = account_create(actor=world.rep_a, name="无锡启航自动化")
    opp = opportunity_create(
        actor=world.rep_a,
        account=account,
        name="测量仪",
        amount="30000",
        expected_close=dt.date(2026, 12, 1),
    )
    # when
    card = _card(_html(_client(world.rep_a, language), opp))
    # then
    assert 'data-testid="payments-not-won"' in card
    assert 'data-testid="payment-form"' not in card
    assert 'data-testid="payments-contract"' not in card
    if language == "en":
        assert "Payments (回款) are recorded once the deal is won." in card


# --- recording -------------------------------------------------------------------------------


def test_recording_a_payment_writes_it_and_its_event(world, deal):
    # given
    pay(world.rep_a, deal, "30000", dt.date(2026, 3, 1))
    client = _client(world.rep_a)
    # when
    response = client.post(
        reverse("payment-add", args=[deal.pk]),
        {
            "payment-amount": "2500.50",
            "payment-date": "2026-07-15",
            "payment-reference": "银行回单 0715",
        },
        follow=True,
    )
    # then
    assert response.redirect_chain == [
        (reverse("opportunity-detail", args=[deal.pk]) + "#payments", 302)
    ]
    payment = Payment.objects.filter(opportunity=deal).order_by("id").last()
    assert (str(payment.amount), payment.date, payment.reference, payment.recorded_by) == (
        "2500.50",
        dt.date(2026, 7, 15),
        "银行回单 0715",
        world.rep_a,
    )
    html = response.content.decode()
    assert (
        f"Payment of {_money('2,500.50')} on 2026-07-15 recorded; "
        f"{_money('7,499.50')} is still to collect."
    ) in html
    assert f'data-testid="payments-collected">{_money("32,500.50")}</dd>' in _card(html)
    newest = _history(html)[0]
    assert "<strong>Payment collected: Created</strong>" in newest
    assert 'Amount: <span class="after">2,500.50</span>' in newest
    assert 'Collected on: <span class="after">2026-07-15</span>' in newest
    assert 'Reference: <span class="after">银行回单 0715</span>' in newest
    event = Event.objects.filter(entity="payment", entity_id=payment.pk).get()
    assert (event.action, event.actor, event.opportunity_id) == ("created", world.rep_a, deal.pk)


def test_the_last_payment_says_the_contract_is_collected(world, deal):
    response = _client(world.rep_a).post(
        reverse("payment-add", args=[deal.pk]),
        {"payment-amount": "40000", "payment-date": ""},
        follow=True,
    )
    assert (
        f"Payment of {_money('40,000.00')} on 2026-08-10 recorded: "
        "the contract amount is collected."
    ) in response.content.decode()
    assert Payment.objects.get(opportunity=deal).date == dt.date(2026, 8, 10)


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        (
            {"payment-amount": "10000.01"},
            "amount",
            "Collections would reach 40,000.01, above the contract amount 40,000.00 "
            "(10,000.00 is still to collect).",
        ),
        ({"payment-amount": "三万"}, "amount", "Enter a number, e.g. 1250000.00."),
        ({"payment-amount": ""}, "amount", "This field is required."),
        ({"payment-amount": "0"}, "amount", "Enter an amount above zero."),
        (
            {"payment-amount": "100", "payment-date": "2026-02-09"},
            "date",
            "The deal was won on 2026-02-10; money cannot be collected on it before that.",
        ),
        (
            {"payment-amount": "100", "payment-date": "2026-08-11"},
            "date",
            "This date is in the future; enter the day it happened (today at the latest).",
        ),
        (
            {"payment-amount": "100", "payment-date": "10/08/2026"},
            "date",
            "Enter a date as YYYY-MM-DD.",
        ),
    ],
)
def test_refusals_show_on_their_field_and_write_nothing(world, deal, data, field, message):
    # given: 30,000 of 40,000 collected
    pay(world.rep_a, deal, "30000", dt.date(2026, 3, 1))
    before = _state(deal)
    # when
    response = _client(world.rep_a).post(reverse("payment-add", args=[deal.pk]), data)
    # then: the page again, the error at its field, the rest of the page intact
    assert response.status_code == 200
    html = response.content.decode()
    card = _card(html)
    assert message in _field(card, field)
    assert '<details class="inline-form" open>' in card
    if data["payment-amount"]:  # what was typed stays in the form
        assert f'value="{data["payment-amount"]}"' in _field(card, "amount")
    assert 'data-testid="history"' in html and 'data-testid="intel-card"' in html
    assert _state(deal) == before


def test_a_payment_on_a_deal_not_won_is_refused_with_the_message(world, frozen):
    # given
    account = account_create(actor=world.rep_a, name="无锡启航自动化")
    opp = opportunity_create(
        actor=world.rep_a,
        account=account,
        name="测量仪",
        amount="30000",
        expected_close=dt.date(2026, 12, 1),
    )
    before = _state(opp)
    # when
    response = _client(world.rep_a).post(
        reverse("payment-add", args=[opp.pk]),
        {"payment-amount": "1000", "payment-date": "2026-08-01"},
        follow=True,
    )
    # then
    assert response.redirect_chain == [
        (reverse("opportunity-detail", args=[opp.pk]) + "#payments", 302)
    ]
    assert "Payments are recorded on won deals; this deal is Open." in response.content.decode()
    assert _state(opp) == before


@pytest.mark.parametrize("user", ["rep_b", "manager_west", "rep_c"])
def test_other_users_get_404_and_nothing_changes(world, deal, user):
    payment = pay(world.rep_a, deal, "1000", dt.date(2026, 3, 1))
    before = _state(deal)
    client = _client(getattr(world, user))
    assert (
        client.post(
            reverse("payment-add", args=[deal.pk]),
            {"payment-amount": "1000", "payment-date": "2026-08-01"},
        ).status_code
        == 404
    )
    assert client.post(reverse("payment-delete", args=[deal.pk, payment.pk])).status_code == 404
    assert _state(deal) == before


def test_the_manager_of_the_team_may_record(world, deal):
    response = _client(world.manager_east).post(
        reverse("payment-add", args=[deal.pk]),
        {"payment-amount": "5000", "payment-date": "2026-05-20"},
    )
    assert response.status_code == 302
    payment = Payment.objects.get(opportunity=deal)
    assert (str(payment.amount), payment.recorded_by) == ("5000.00", world.manager_east)


def test_payment_urls_refuse_get(world, deal):
    payment = pay(world.rep_a, deal, "1000", dt.date(2026, 3, 1))
    client = _client(world.rep_a)
    assert client.get(reverse("payment-add", args=[deal.pk])).status_code == 405
    assert client.get(reverse("payment-delete", args=[deal.pk, payment.pk])).status_code == 405


# --- removing ----------------------------------------------------------------------------------


def test_removing_a_payment(world, deal):
    # given
    keep = pay(world.rep_a, deal, "10000", dt.date(2026, 3, 1))
    wrong = pay(world.rep_a, deal, "2000", dt.date(2026, 3, 2), "typo")
    # when
    response = _client(world.rep_a).post(
        reverse("payment-delete", args=[deal.pk, wrong.pk]), follow=True
    )
    # then
    assert response.redirect_chain == [
        (reverse("opportunity-detail", args=[deal.pk]) + "#payments", 302)
    ]
    html = response.content.decode()
    assert f"Payment of {_money('2,000.00')} on 2026-03-02 removed." in html
    assert list(Payment.objects.filter(opportunity=deal)) == [keep]
    assert f'data-testid="payments-collected">{_money("10,000.00")}</dd>' in _card(html)
    newest = _history(html)[0]
    assert "<strong>Payment collected: Deleted</strong>" in newest
    assert 'Amount: <span class="after">2,000.00</span>' in newest
    assert 'Collected on: <span class="after">2026-03-02</span>' in newest


def test_a_payment_of_another_deal_is_404_through_this_one(world, deal):
    other = won_deal(world.rep_a, deal.account, "数控转台配件", "60000", at(2026, 3, 15))
    foreign = pay(world.rep_a, other, "1000", dt.date(2026, 4, 1))
    before = _state(other)
    response = _client(world.rep_a).post(reverse("payment-delete", args=[deal.pk, foreign.pk]))
    assert response.status_code == 404
    assert _state(other) == before


def test_removing_is_refused_once_commission_on_it_was_paid_out(world, deal):
    # given: 王五 referred the deal directly; 2026H1 was paid out to him
    wang = partner(world.rep_a, "王五")
    refer(world.rep_a, wang, deal)
    payment = pay(world.rep_a, deal, "40000", dt.date(2026, 3, 1))
    with clock.freeze(at(2026, 7, 5)):
        payout = services.payout_record(actor=world.admin, partner=wang, period="2026H1")
    assert str(payout.amount) == "2000.00"
    before = _state(deal)
    # when
    response = _client(world.rep_a).post(
        reverse("payment-delete", args=[deal.pk, payment.pk]), follow=True
    )
    # then
    assert response.redirect_chain == [
        (reverse("opportunity-detail", args=[deal.pk]) + "#payments", 302)
    ]
    assert (
        "Commission on this payment was paid out to 王五 for 2026H1; it cannot be removed."
        in response.content.decode()
    )
    assert _state(deal) == before


# --- referral partners -----------------------------------------------------------------------


def _partner_href(partner_id: int) -> str | None:
    try:
        return reverse("partner-detail", args=[partner_id])
    except NoReverseMatch:
        return None


def test_a_held_referral_shows_the_badge_and_the_legal_reason(world, deal):
    # given: 李四 works for the buying customer and referred the deal directly
    li = partner(world.rep_a, "李四", employer=deal.account)
    referral = refer(world.rep_a, li, deal)
    assert referral.conflict
    # when
    card = _card(_html(_client(world.rep_a), deal), "referrals-card")
    # then
    assert card.count('data-testid="referral-row"') == 1
    assert f'id="referral-{referral.pk}" data-testid="referral-row" data-held="true"' in card
    assert 'data-testid="referral-kind">Direct referral</span>' in card
    assert "referred on 2026-01-05" in card
    assert 'data-testid="referral-held">commission held — conflict of interest</span>' in card
    reason = present.legal_reason(li)
    assert reason.startswith("李四 is employed by 苏州博远精密机械, the customer buying this deal.")
    assert f'data-testid="referral-reason">{escape(reason)}</p>' in card
    href = _partner_href(li.pk)
    if href is None:  # the partner page is not there yet: the name as text
        assert '<span class="referral-name" data-testid="referral-partner">李四</span>' in card
    else:
        assert f'href="{href}" data-testid="referral-partner">李四</a>' in card


def test_a_released_referral_says_who_released_it(world, deal):
    # given
    li = partner(world.rep_a, "李四", employer=deal.account)
    referral = refer(world.rep_a, li, deal)
    with clock.freeze(at(2026, 7, 1)):
        services.referral_release(
            actor=world.admin,
            referral=referral,
            note="客户书面同意",
            document=SimpleUploadedFile(
                "同意书.pdf", b"%PDF-1.4 disclosure", content_type="application/pdf"
            ),
        )
    referral.refresh_from_db()
    # when
    card = _card(_html(_client(world.rep_a), deal), "referrals-card")
    # then
    assert 'data-held="false"' in card
    assert 'data-testid="referral-released">released</span>' in card
    released = escape(present.released_text(referral))
    assert f'data-testid="referral-released-text">{released}</p>' in card
    assert "Released by admin on" in card
    assert 'data-testid="referral-reason"' not in card


def test_a_partner_the_user_cannot_see_is_named_without_a_link(world, deal):
    # given: rep_b's partner referred rep_a's deal (indirectly)
    zhao = partner(world.rep_b, "赵六")
    refer(world.rep_b, zhao, deal, kind="indirect")
    # when
    card = _card(_html(_client(world.rep_a), deal), "referrals-card")
    # then
    assert '<span class="referral-name" data-testid="referral-partner">赵六</span>' in card
    assert 'data-testid="referral-kind">Indirect referral</span>' in card
    assert 'data-held="false"' in card
    assert 'data-testid="referral-held"' not in card


def test_the_partner_link_falls_back_to_text_when_the_page_is_missing(monkeypatch):
    def missing(*args, **kwargs):
        raise NoReverseMatch("partner-detail")

    monkeypatch.setattr(payments_view, "reverse", missing)
    assert payments_view.partner_url(7) == ""


def test_no_referral_says_so(world, deal):
    card = _card(_html(_client(world.rep_a), deal), "referrals-card")
    assert "No referral partner is recorded on this deal." in card
    assert 'data-testid="referral-row"' not in card


# --- history ---------------------------------------------------------------------------------


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_the_history_names_referral_events(world, deal, language):
    # given: referred, then the partner's employer set to the buyer, then released
    li = partner(world.rep_a, "李四")
    referral = refer(world.rep_a, li, deal)
    with clock.freeze(at(2026, 2, 1)):
        services.partner_update(actor=world.rep_a, partner=li, employer_account=deal.account)
    with clock.freeze(at(2026, 7, 1)):
        services.referral_release(
            actor=world.admin,
            referral=referral,
            note="客户书面同意",
            document=SimpleUploadedFile(
                "同意书.pdf", b"%PDF-1.4 x", content_type="application/pdf"
            ),
        )
    # when
    html = _html(_client(world.rep_a, language), deal)
    history = _history(html)
    # then
    rows = {
        code: next(row for row in history if row.startswith(f' data-action="{code}"'))
        for code in ("released", "conflict_found")
    }
    created = [row for row in history if row.startswith(' data-action="created"') and "李四" in row]
    assert len(created) == 1
    if language == "en":
        assert "<strong>Referral: Created</strong>" in created[0]
        assert 'Partner: <span class="after">李四</span>' in created[0]
        assert 'Kind: <span class="after">Direct referral</span>' in created[0]
        assert 'Conflict of interest: <span class="after">No</span>' in created[0]
        assert "Opportunity:" not in created[0]
        assert (
            "<strong>Referral: Conflict of interest found: commission held</strong>"
            in rows["conflict_found"]
        )
        assert (
            'Conflict of interest: <span class="before">No</span> → <span class="after">Yes</span>'
        ) in rows["conflict_found"]
        assert "<strong>Referral: Held commission released</strong>" in rows["released"]
        assert (
            'Commission held: <span class="before">Yes</span> → <span class="after">No</span>'
        ) in rows["released"]
    # whatever the language: the partner's name and the disclosure note are shown
    assert "李四" in created[0]
    assert 'data-testid="history-note">客户书面同意</p>' in rows["released"]
    assert "同意书.pdf" in rows["released"]


def test_the_history_shows_a_removed_referral(world, deal):
    wang = partner(world.rep_a, "王五")
    referral = refer(world.rep_a, wang, deal, kind="indirect")
    services.referral_remove(actor=world.rep_a, referral=referral)
    newest = _history(_html(_client(world.rep_a), deal))[0]
    assert "<strong>Referral: Deleted</strong>" in newest
    assert 'Partner: <span class="after">王五</span>' in newest
    assert 'Kind: <span class="after">Indirect referral</span>' in newest
