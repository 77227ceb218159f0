"""The partner pages (SPEC §7, §9): the list and the partner page per role, the partner
form, referrals added and removed, the statement of SPEC §7's worked example (李四),
the release of a held commission by an administrator with the customer's written
disclosure, and payouts. Data is built through the services under a frozen clock;
a refused action changes nothing."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from kam.accounts.services import account_create
from kam.core import clock
from kam.core.models import Event
from kam.partners import services
from kam.partners.models import Partner, Payout, Referral
from tests.partners.conftest import TODAY, at, pay, won_deal

PDF = b"%PDF-1.4\n% disclosure\n"
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00"
NOTE = "客户采购总监王某书面同意,2026-07-01 签署"

# 李四 is managed by rep_a (team East): the status each viewer gets.
VIEWERS = {
    "rep_a": 200,
    "rep_b": 404,
    "rep_c": 404,
    "manager_east": 200,
    "manager_west": 404,
    "admin": 200,
}


@pytest.fixture
def frozen():
    with clock.freeze(TODAY):
        yield TODAY


def build_lisi(world) -> dict:
    """SPEC §7's worked example for rep_a's partner 李四 in 2026H1 (as in
    tests/partners/conftest.py): direct deals of 40,000 and 60,000 with 40,000 and
    50,000 collected and an indirect sale of 30,000; his employer buys the two direct
    deals, so both are held."""
    rep = world.rep_a
    with clock.freeze(at(2025, 12, 1)):
        employer = account_create(actor=rep, name="苏州博远精密机械")
        other = account_create(actor=rep, name="无锡启航自动化")
        partner = services.partner_create(
            actor=rep,
            name="李四",
            employer_account=employer,
            position="采购部技术主管",
            agreement_date=dt.date(2025, 11, 20),
            agreement_terms="5% of collections on direct referrals; volume bonus.",
        )
    d40 = won_deal(rep, employer, "虎钳及夹具", "40000", at(2026, 2, 10))
    d60 = won_deal(rep, employer, "数控转台配件", "60000", at(2026, 3, 15))
    d30 = won_deal(rep, other, "三坐标测量仪配件", "30000", at(2026, 4, 20))
    with clock.freeze(at(2026, 1, 5)):
        refs = {
            key: services.referral_add(actor=rep, partner=partner, opportunity=deal, kind=kind)
            for key, deal, kind in (
                ("d40", d40, "direct"),
                ("d60", d60, "direct"),
                ("d30", d30, "indirect"),
            )
        }
    pay(rep, d40, "40000", dt.date(2026, 3, 1))
    pay(rep, d60, "30000", dt.date(2026, 4, 1))
    pay(rep, d60, "20000", dt.date(2026, 6, 30))
    return {
        "partner": partner,
        "employer": employer,
        "other": other,
        "deals": {"d40": d40, "d60": d60, "d30": d30},
        "referrals": refs,
    }


@pytest.fixture
def lisi(world, frozen):
    return build_lisi(world)


@pytest.fixture
def client_as(client):
    def login(user, language: str = "en"):
        client.defaults["HTTP_ACCEPT_LANGUAGE"] = language
        client.force_login(user)
        return client

    return login


def _page(client, partner, query: str = "", status: int = 200) -> str:
    response = client.get(reverse("partner-detail", args=[partner.pk]) + query)
    assert response.status_code == status, response.content.decode()[:2000]
    return response.content.decode()


def _part(html: str, testid: str, end: str = "</section>") -> str:
    start = html.index(f'data-testid="{testid}"')
    return html[start : html.index(end, start)]


def _figure(html: str, key: str) -> str:
    block = _part(html, f"figure-{key}", end="figure-help")
    return re.search(r'class="figure-value">([^<]*)<', block).group(1)


def _field(html: str, name: str) -> str:
    """A form field's block: from its data-field to the next field (or the form's end)."""
    start = html.index(f'data-field="{name}"')
    ends = [i for i in (html.find("data-field=", start + 1), html.find("</form>", start)) if i > 0]
    return html[start : min(ends)]


def _dialog(html: str, referral) -> str:
    start = html.index(f'<dialog id="release-{referral.pk}"')
    return html[start : html.index("</dialog>", start)]


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def _release(client, lisi, key="d40", note=NOTE, name="同意函.pdf", data=PDF):
    partner = lisi["partner"]
    referral = lisi["referrals"][key]
    payload = {"note": note, "period": "2026H1"}
    if data is not None:
        payload["file"] = SimpleUploadedFile(name, data, "application/pdf")
    return client.post(reverse("partner-release", args=[partner.pk, referral.pk]), payload)


def _referral_state(lisi) -> list:
    return list(Referral.objects.filter(partner=lisi["partner"]).order_by("id").values())


# --- who sees what ----------------------------------------------------------------------


@pytest.mark.parametrize(("viewer", "expected"), VIEWERS.items())
def test_the_list_and_the_page_follow_the_partners_owner(world, lisi, client_as, viewer, expected):
    # given
    client = client_as(getattr(world, viewer))
    # when
    listing = client.get(reverse("partner-list"))
    page = client.get(reverse("partner-detail", args=[lisi["partner"].pk]))
    edit = client.get(reverse("partner-edit", args=[lisi["partner"].pk]))
    export = client.get(reverse("partner-statement-export", args=[lisi["partner"].pk]))
    # then
    assert listing.status_code == 200
    rows = re.findall(r'data-testid="partner-row" data-partner="(\d+)"', listing.content.decode())
    assert rows == ([str(lisi["partner"].pk)] if expected == 200 else [])
    assert page.status_code == edit.status_code == export.status_code == expected


def test_anonymous_visitors_are_sent_to_the_login_page(lisi, client):
    # when
    responses = [
        client.get(reverse("partner-list")),
        client.get(reverse("partner-detail", args=[lisi["partner"].pk])),
        client.get(reverse("partner-statement-export", args=[lisi["partner"].pk])),
    ]
    # then
    for response in responses:
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))


def test_the_main_menu_leads_to_the_partners(world, lisi, client_as):
    # when
    html = client_as(world.rep_a).get(reverse("partner-list")).content.decode()
    # then
    link = re.search(r'<a href="/partners/" data-testid="nav-partners"[^>]*>', html).group(0)
    assert 'aria-current="page"' in link


# --- the list -------------------------------------------------------------------------------


def test_the_list_shows_employer_agreement_programme_and_held_count(world, lisi, client_as):
    # given a second partner without a written agreement
    services.partner_create(actor=world.rep_a, name="王五", position="独立顾问")
    # when
    html = client_as(world.rep_a).get(reverse("partner-list")).content.decode()
    # then
    rows = html.split('data-testid="partner-row"')[1:]
    assert len(rows) == 2
    lisi_row, wang_row = rows
    employer = lisi["employer"]
    assert f'<a href="/accounts/{employer.pk}/">苏州博远精密机械</a>' in lisi_row
    assert "2025-11-20" in lisi_row
    assert "Standard referral programme" in lisi_row
    assert '<td class="num">3</td>' in lisi_row
    assert re.search(r'data-testid="held-count"[^>]*>2</span>', lisi_row)
    assert 'data-testid="no-agreement"' in wang_row
    assert 'data-testid="held-count"' not in wang_row


def test_the_list_searches_by_name_or_employer(world, lisi, client_as):
    # given
    services.partner_create(actor=world.rep_a, name="王五")
    client = client_as(world.rep_a)
    # when
    by_employer = client.get(reverse("partner-list") + "?q=博远").content.decode()
    none = client.get(reverse("partner-list") + "?q=nobody").content.decode()
    # then
    assert by_employer.count('data-testid="partner-row"') == 1
    assert "李四" in by_employer
    assert none.count('data-testid="partner-row"') == 0
    assert "No partner matches this search." in none


def test_an_empty_list_invites_to_record_the_first_partner(world, client_as):
    # when
    html = client_as(world.rep_a).get(reverse("partner-list")).content.decode()
    # then
    assert 'data-testid="partners-empty"' in html
    assert 'href="/partners/new/"' in html


# --- the partner form -------------------------------------------------------------------------


def test_a_partner_is_created_through_the_form(world, frozen, client_as):
    # given
    account = account_create(actor=world.rep_a, name="常州恒力机床")
    client = client_as(world.rep_a)
    form = client.get(reverse("partner-create")).content.decode()
    # when
    response = client.post(
        reverse("partner-create"),
        {
            "name": "赵六",
            "position": "设备科长",
            "phone": "138 0000 0000",
            "employer_account": account.pk,
            "programme": "standard",
            "owner": world.rep_a.pk,
            "agreement_date": "2026-03-01",
            "agreement_terms": "5% on collections",
            "notes": "",
        },
    )
    # then
    assert f'<option value="{account.pk}">常州恒力机床</option>' in form
    partner = Partner.objects.get(name="赵六")
    assert response.status_code == 302
    assert response["Location"] == reverse("partner-detail", args=[partner.pk])
    assert (partner.owner, partner.employer_account, partner.agreement_date) == (
        world.rep_a,
        account,
        dt.date(2026, 3, 1),
    )
    assert (partner.position, partner.phone, partner.programme) == (
        "设备科长",
        "138 0000 0000",
        "standard",
    )
    assert (
        Event.objects.filter(entity="partner", entity_id=partner.pk, action="created").count() == 1
    )


def test_a_form_error_is_shown_at_its_field_and_nothing_is_written(world, frozen, client_as):
    # given
    client = client_as(world.rep_a)
    base = {"name": "赵六", "programme": "standard", "owner": world.rep_a.pk}
    # when
    no_name = client.post(reverse("partner-create"), {**base, "name": ""})
    future = client.post(reverse("partner-create"), {**base, "agreement_date": "2026-09-01"})
    # then
    assert no_name.status_code == future.status_code == 422
    assert "This field is required." in _field(no_name.content.decode(), "name")
    assert "This date is in the future" in _field(future.content.decode(), "agreement_date")
    assert Partner.objects.count() == 0


def test_setting_the_employer_in_the_form_holds_the_referrals_at_that_customer(
    world, frozen, client_as
):
    # given a partner without employer who referred a won deal of that customer
    rep = world.rep_a
    with clock.freeze(at(2026, 1, 2)):
        customer = account_create(actor=rep, name="南通重工")
        partner = services.partner_create(actor=rep, name="孙七")
    deal = won_deal(rep, customer, "龙门铣", "50000", at(2026, 2, 1))
    with clock.freeze(at(2026, 1, 5)):
        referral = services.referral_add(
            actor=rep, partner=partner, opportunity=deal, kind="direct"
        )
    client = client_as(rep)
    # when
    response = client.post(
        reverse("partner-edit", args=[partner.pk]),
        {
            "name": "孙七",
            "employer_account": customer.pk,
            "programme": "standard",
            "owner": rep.pk,
        },
    )
    # then
    assert response.status_code == 302
    referral.refresh_from_db()
    assert referral.conflict is True
    html = _page(client, partner, "?period=2026H1")
    assert 'data-testid="referral-held"' in html
    assert "commercial bribery" in _part(html, "legal-reason", end="</div>")


# --- referrals ------------------------------------------------------------------------------


def test_a_referral_is_added_and_removed_through_the_page(world, frozen, client_as):
    # given
    rep = world.rep_a
    with clock.freeze(at(2026, 1, 2)):
        customer = account_create(actor=rep, name="南通重工")
        partner = services.partner_create(
            actor=rep, name="孙七", agreement_date=dt.date(2026, 1, 1)
        )
    deal = won_deal(rep, customer, "龙门铣", "50000", at(2026, 2, 1))
    client = client_as(rep)
    # when
    added = client.post(
        reverse("partner-referral-add", args=[partner.pk]),
        {"opportunity": deal.pk, "kind": "direct", "referred_on": "2026-01-20", "note": "饭局介绍"},
    )
    referral = Referral.objects.get(partner=partner)
    html = _page(client, partner, "?period=2026H1")
    removed = client.post(
        reverse("partner-referral-remove", args=[partner.pk, referral.pk]), {"period": "2026H1"}
    )
    # then
    assert added.status_code == 302
    assert (referral.opportunity, referral.kind, referral.referred_on, referral.note) == (
        deal,
        "direct",
        dt.date(2026, 1, 20),
        "饭局介绍",
    )
    row = _part(html, "referral-row", end="</tr>")
    assert (
        "龙门铣" in row and "南通重工" in row and "Direct referral" in row and "2026-01-20" in row
    )
    assert removed.status_code == 302
    assert (
        removed["Location"]
        == reverse("partner-detail", args=[partner.pk]) + "?period=2026H1#referrals"
    )
    assert not Referral.objects.filter(partner=partner).exists()


def test_a_refused_referral_shows_the_services_message_at_its_field(world, lisi, client_as):
    # given 李四's deal d40 already has a direct referral; another partner asks for it too
    with clock.freeze(at(2026, 1, 2)):
        other = services.partner_create(actor=world.rep_a, name="王五")
    client = client_as(world.rep_a)
    # when
    response = client.post(
        reverse("partner-referral-add", args=[other.pk]),
        {"opportunity": lisi["deals"]["d40"].pk, "kind": "direct", "period": "2026H1"},
    )
    # then
    assert response.status_code == 422
    html = response.content.decode()
    assert "This deal already has a direct referral" in _field(html, "kind")
    assert 'data-testid="referral-add" open' in html
    assert not Referral.objects.filter(partner=other).exists()


def test_a_released_referral_cannot_be_removed(world, lisi, client_as):
    # given
    with clock.freeze(clock.now()):
        _release(client_as(world.admin), lisi)
    client = client_as(world.rep_a)
    referral = lisi["referrals"]["d40"]
    before = _referral_state(lisi)
    # when
    response = client.post(
        reverse("partner-referral-remove", args=[lisi["partner"].pk, referral.pk]), follow=True
    )
    # then
    assert response.status_code == 200
    assert "carries the customer&#x27;s recorded disclosure" in response.content.decode()
    assert _referral_state(lisi) == before


# --- the statement ----------------------------------------------------------------------------


def test_the_statement_shows_the_worked_example_held(world, lisi, client_as):
    # when
    html = _page(client_as(world.rep_a), lisi["partner"], "?period=2026H1")
    # then SPEC §7's figures, all held: the clear base (12,000) misses the threshold
    figures = {
        k: _figure(html, k)
        for k in (
            "earned",
            "pending",
            "held",
            "volume_base",
            "volume_bonus",
            "payable",
            "paid",
            "due",
        )
    }
    assert figures == {
        "earned": "0.00",
        "pending": "0.00",
        "held": "6,020.00",
        "volume_base": "102,000.00",
        "volume_bonus": "1,020.00",
        "payable": "0.00",
        "paid": "0.00",
        "due": "0.00",
    }
    assert "of which held: 1,020.00" in _part(html, "figure-volume_bonus", end="</div>\n    </div>")
    lines = [_text(x) for x in html.split('data-testid="statement-line"')[1:]]
    assert len(lines) == 3
    assert (
        "虎钳及夹具" in lines[0]
        and "40,000.00 40,000.00 40,000.00 2,000.00 0.00 40,000.00" in lines[0]
    )
    assert (
        "数控转台配件" in lines[1]
        and "60,000.00 50,000.00 50,000.00 2,500.00 500.00 50,000.00" in lines[1]
    )
    assert (
        "三坐标测量仪配件" in lines[2]
        and "Indirect referral 30,000.00 — — — — 12,000.00" in lines[2]
    )
    assert html.count('data-testid="line-held"') == 2
    flags = _part(html, "statement-flags", end="</ul>")
    assert flags.count('data-code="conflict_of_interest"') == 1  # one message, two deals
    assert "PRC Anti-Unfair Competition Law art. 7" in flags
    assert "Deals concerned: 虎钳及夹具; 数控转台配件" in flags


def test_the_page_opens_on_the_latest_period_with_money(world, lisi, client_as):
    # when
    html = _page(client_as(world.rep_a), lisi["partner"])
    # then
    assert "Statement 2026H1" in html
    assert '<option value="2026H1" selected>' in html
    assert '<option value="2026H2">' in html


@pytest.mark.parametrize(
    ("period", "message"),
    [
        ("2026Q1", "Standard referral programme settles by half-year; ask for 2026H1, 2026H2."),
        ("soon", "Unknown period “soon”."),
    ],
)
def test_a_bad_period_in_the_url_shows_the_message(world, lisi, client_as, period, message):
    # when
    html = _page(client_as(world.rep_a), lisi["partner"], f"?period={period}", status=422)
    # then the default period is shown instead
    error = _part(html, "period-error", end="</div>")
    assert message in error
    assert "Showing 2026H1 instead." in error
    assert _figure(html, "held") == "6,020.00"


def test_a_deal_the_viewer_cannot_see_keeps_its_figures_but_not_its_name(world, lisi, client_as):
    # given the East manager records a referral of rep_b's deal for rep_a's partner
    rep_b = world.rep_b
    with clock.freeze(at(2026, 1, 2)):
        account = account_create(actor=rep_b, name="扬州远航")
    hidden = won_deal(rep_b, account, "秘密项目", "20000", at(2026, 5, 5))
    with clock.freeze(at(2026, 5, 1)):
        services.referral_add(
            actor=world.manager_east, partner=lisi["partner"], opportunity=hidden, kind="indirect"
        )
    # when
    rep_view = _page(client_as(world.rep_a), lisi["partner"], "?period=2026H1")
    # then
    assert "秘密项目" not in rep_view and "扬州远航" not in rep_view
    lines = [_text(x) for x in rep_view.split('data-testid="statement-line"')[1:]]
    assert "a deal not shared with you Indirect referral 20,000.00 — — — — 8,000.00" in lines[3]
    assert _figure(rep_view, "volume_base") == "110,000.00"
    row = rep_view.split('data-testid="referral-row"')[4]
    assert "a deal not shared with you" in row
    assert 'data-testid="referral-remove"' not in row


# --- the release --------------------------------------------------------------------------------


def test_only_an_admin_sees_the_release_buttons(world, lisi, client_as):
    # when
    rep_html = _page(client_as(world.rep_a), lisi["partner"], "?period=2026H1")
    manager_html = _page(client_as(world.manager_east), lisi["partner"], "?period=2026H1")
    admin_html = _page(client_as(world.admin), lisi["partner"], "?period=2026H1")
    # then
    for html in (rep_html, manager_html):
        assert "data-open-dialog" not in html
        assert 'data-testid="release-dialog"' not in html
    assert admin_html.count('data-testid="release-open"') == 2
    dialog = _part(admin_html, "release-dialog", end="</dialog>")
    assert 'enctype="multipart/form-data"' in dialog
    assert 'accept=".pdf,.png,.jpg,.jpeg"' in dialog
    assert "commercial bribery" in dialog
    assert "data-open-on-load" not in dialog


def test_an_admin_releases_a_held_commission_with_a_pdf(world, lisi, client_as):
    # given
    client = client_as(world.admin)
    referral = lisi["referrals"]["d40"]
    # when
    with clock.freeze(clock.now()):
        response = _release(client, lisi)
    # then
    assert response.status_code == 302
    assert response["Location"].endswith("?period=2026H1#referrals")
    referral.refresh_from_db()
    assert (referral.held, referral.released_by, referral.disclosure_note) == (
        False,
        world.admin,
        NOTE,
    )
    html = _page(client, lisi["partner"], "?period=2026H1")
    assert _figure(html, "earned") == "2,000.00"
    assert _figure(html, "held") == "4,020.00"
    assert 'data-held="false"' in html.split('data-testid="statement-line"')[1]
    row = html.split('data-testid="referral-row"')[1]
    assert 'data-testid="referral-released"' in row
    assert "Released by admin on" in row and "after the customer&#x27;s written disclosure" in row
    download = client.get(reverse("partner-disclosure", args=[lisi["partner"].pk, referral.pk]))
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == PDF
    assert (
        "同意函.pdf" in download["Content-Disposition"]
        or "%E5%90%8C" in download["Content-Disposition"]
    )


def test_a_rep_cannot_release_and_nothing_changes(world, lisi, client_as):
    # given
    before = (_referral_state(lisi), Event.objects.count())
    # when
    responses = [
        _release(client_as(world.rep_a), lisi),
        _release(client_as(world.manager_east), lisi),
        _release(client_as(world.rep_a), lisi, note="", data=None),
    ]
    # then
    assert [r.status_code for r in responses] == [403, 403, 403]
    assert (_referral_state(lisi), Event.objects.count()) == before


def test_someone_who_cannot_see_the_partner_gets_404_on_release(world, lisi, client_as):
    # when
    response = _release(client_as(world.rep_c), lisi)
    # then
    assert response.status_code == 404
    assert lisi["referrals"]["d40"].__class__.objects.get(pk=lisi["referrals"]["d40"].pk).held


def test_a_renamed_executable_is_refused_with_the_error_in_the_open_dialog(world, lisi, client_as):
    # given
    before = (_referral_state(lisi), Event.objects.count())
    # when
    response = _release(client_as(world.admin), lisi, name="setup.pdf", data=EXE)
    # then
    assert response.status_code == 422
    dialog = _dialog(response.content.decode(), lisi["referrals"]["d40"])
    assert "data-open-on-load" in dialog
    assert "The file&#x27;s content is not a PDF although its name says so" in _field(
        dialog, "file"
    )
    assert NOTE in dialog  # the note typed is kept
    assert (_referral_state(lisi), Event.objects.count()) == before


def test_a_release_without_a_note_is_refused_at_the_note(world, lisi, client_as):
    # given
    before = _referral_state(lisi)
    # when
    response = _release(client_as(world.admin), lisi, note="  ")
    # then
    assert response.status_code == 422
    dialog = _dialog(response.content.decode(), lisi["referrals"]["d40"])
    assert "data-open-on-load" in dialog
    assert "This field is required." in _field(dialog, "note")
    assert _referral_state(lisi) == before


# --- payouts ------------------------------------------------------------------------------------


def _release_both(world, lisi):
    with clock.freeze(clock.now()):
        for key in ("d40", "d60"):
            services.referral_release(
                actor=world.admin,
                referral=lisi["referrals"][key],
                note=NOTE,
                document=SimpleUploadedFile("ok.pdf", PDF, "application/pdf"),
            )


def test_an_admin_records_the_payout_once(world, lisi, client_as):
    # given both commissions released: 4,500 earned + 1,020 bonus payable
    _release_both(world, lisi)
    client = client_as(world.admin)
    html = _page(client, lisi["partner"], "?period=2026H1")
    form = _part(html, "payout-form", end="</form>")
    payload = {
        "period": "2026H1",
        "amount": "5520.00",
        "paid_on": "2026-08-05",
        "reference": "TT-1",
    }
    # when
    first = client.post(reverse("partner-payout", args=[lisi["partner"].pk]), payload)
    second = client.post(reverse("partner-payout", args=[lisi["partner"].pk]), payload, follow=True)
    # then
    assert 'name="amount" value="5520.00"' in form
    assert 'name="period" value="2026H1"' in form
    assert first.status_code == 302
    payouts = list(Payout.objects.filter(partner=lisi["partner"]).values_list("period", "amount"))
    assert [(p, str(a)) for p, a in payouts] == [("2026H1", "5520.00")]
    text = _text(second.content.decode())
    assert "Nothing is due for 2026H1: 5,520.00 paid already, 0.00 held." in text
    after = second.content.decode()
    assert _figure(after, "paid") == "5,520.00"
    assert _figure(after, "due") == "0.00"
    assert 'data-testid="payout-form"' not in after
    row = _text(_part(after, "payout-row", end="</tr>"))
    assert "2026-08-05 CNY 5,520.00 TT-1 admin" in row


def test_a_stale_amount_is_refused_with_the_due_amount(world, lisi, client_as):
    # given
    _release_both(world, lisi)
    client = client_as(world.admin)
    # when
    response = client.post(
        reverse("partner-payout", args=[lisi["partner"].pk]),
        {"period": "2026H1", "amount": "4500.00"},
        follow=True,
    )
    # then
    assert "The amount due for 2026H1 is 5,520.00 now" in _text(response.content.decode())
    assert not Payout.objects.exists()


def test_a_rep_cannot_record_a_payout(world, lisi, client_as):
    # given
    _release_both(world, lisi)
    client = client_as(world.rep_a)
    # when
    response = client.post(
        reverse("partner-payout", args=[lisi["partner"].pk]),
        {"period": "2026H1", "amount": "5520.00"},
    )
    html = _page(client, lisi["partner"], "?period=2026H1")
    # then
    assert response.status_code == 403
    assert not Payout.objects.exists()
    assert 'data-testid="payout-form"' not in html
    assert 'data-testid="payouts"' in html  # the list is there for everybody


def test_the_payout_form_waits_for_the_period_to_end(world, lisi, client_as):
    # given
    _release_both(world, lisi)
    # when
    html = _page(client_as(world.admin), lisi["partner"], "?period=2026H2")
    # then
    assert 'data-testid="payout-form"' not in html
    assert "The period has not ended" in _part(html, "payout-unavailable", end="</p>")


def test_a_payout_date_in_the_future_is_shown_at_its_field(world, lisi, client_as):
    # given
    _release_both(world, lisi)
    # when
    response = client_as(world.admin).post(
        reverse("partner-payout", args=[lisi["partner"].pk]),
        {"period": "2026H1", "amount": "5520.00", "paid_on": "2026-09-01"},
    )
    # then
    assert response.status_code == 422
    assert "This date is in the future" in _field(response.content.decode(), "paid_on")
    assert not Payout.objects.exists()


# --- in Chinese ---------------------------------------------------------------------------------


def test_the_page_speaks_the_users_language(world, lisi, client_as):
    # when
    html = _page(client_as(world.admin, "zh-Hans"), lisi["partner"], "?period=2026H1")
    # then the programme's name comes from the registry in Chinese
    assert "标准推荐方案" in _part(html, "partner-programme", end="</dd>")
    assert '<html lang="zh-hans">' in html


# --- queries ------------------------------------------------------------------------------------


def _queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


def test_the_list_and_the_page_read_a_fixed_number_of_queries(world, lisi, client_as):
    # given
    client = client_as(world.rep_a)
    partner = lisi["partner"]
    page_url = reverse("partner-detail", args=[partner.pk]) + "?period=2026H1"
    list_before = _queries(client, reverse("partner-list"))
    page_before = _queries(client, page_url)
    # when three more partners and three more referred won deals with payments
    for n in range(3):
        with clock.freeze(at(2026, 1, 2)):
            services.partner_create(actor=world.rep_a, name=f"伙伴{n}")
            account = account_create(actor=world.rep_a, name=f"客户{n}")
        deal = won_deal(world.rep_a, account, f"项目{n}", "10000", at(2026, 2, 1))
        with clock.freeze(at(2026, 1, 5)):
            services.referral_add(
                actor=world.rep_a, partner=partner, opportunity=deal, kind="direct"
            )
        pay(world.rep_a, deal, "5000", dt.date(2026, 3, 1))
    # then
    assert _queries(client, reverse("partner-list")) == list_before
    assert _queries(client, page_url) == page_before
