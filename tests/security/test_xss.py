"""Stored and reflected XSS: every text a user types is shown escaped, on every page.

One book is built through the services with a payload in every user-typed text field
(each payload carries a tag naming its field, so a leak says where it came from):
account, contacts (name, title, department, notes, phone, e-mail), opportunities
(name, description, close reason, priority reason, a forced move's reason), the
buying centre (stakeholder notes), criteria, milestones, intelligence, competitors
and their scores, the account's competition map, SWOT and posture, needs and
satisfaction, revenue records, a segment, a partner with a referral and a payment,
users' display names, a user name and a team name. Then every page that shows them
is fetched as the owner and as an admin, in English and in Chinese, and must contain
no raw payload (no `<img src=x`, no `<script>alert`, …) while showing the escaped
text — so the test cannot pass on a page that shows nothing. Search boxes, filters
and `next` parameters get a payload too (reflected XSS), and so does an import file
(its cells, a sheet name and its file name show on the preview page).

What the browser does with the JSON handed to the charts is checked by
e2e/test_xss_flow.py."""

from __future__ import annotations

import datetime as dt
import io
import re
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils.html import escape
from openpyxl import Workbook

from kam.accounts import needs, revenue
from kam.accounts.services import account_create
from kam.competition import accounts as account_competition
from kam.competition import competitors, scoring
from kam.contacts.services import contact_create
from kam.core import clock
from kam.intel.services import intel_add
from kam.opportunities import process
from kam.opportunities.services import opportunity_create
from kam.partners import services as partners
from kam.segments.services import segment_create
from kam.stakeholders.services import stakeholder_add
from kam.users.services import user_create

CST = ZoneInfo("Asia/Shanghai")
NOW = dt.datetime(2026, 8, 10, 10, 0, tzinfo=CST)
PASSWORD = "xss-pass-123"

# The raw markers: none may appear in any page, whatever it shows.
RAW_MARKERS = ("<img src=x", "<img/src=x", "<script>alert", "<svg onload")


def payload(tag: str) -> str:
    """An image whose error handler runs, then a break out of a quoted attribute into
    a script: harmless only when escaped."""
    return f"<img src=x onerror=alert('{tag}')>\"'><script>alert('{tag}')</script>"


def head(tag: str) -> str:
    return f"<img src=x onerror=alert('{tag}')>"


def shown(html: str, tag: str) -> bool:
    """Whether the page shows the payload `tag` as text: escaped in the HTML, or
    escaped for JavaScript in a json_script block (< and > as \\u003C / \\u003E)."""
    as_html = escape(head(tag))
    as_json = head(tag).replace("<", "\\u003C").replace(">", "\\u003E")
    return as_html in html or as_json in html


def leaks(html: str) -> list[str]:
    """Each raw marker found, with the text around it (to tell which field leaked)."""
    found = []
    for marker in RAW_MARKERS:
        for m in re.finditer(re.escape(marker), html):
            found.append(html[max(0, m.start() - 80) : m.end() + 60].replace("\n", " "))
    return found


@dataclass
class Poisoned:
    admin: Any
    owner: Any
    manager: Any
    account: Any
    other_account: Any
    boss: Any
    engineer: Any
    deal: Any
    won: Any
    lost: Any
    partner: Any
    segment: Any


def _won_deal(owner, account, when: dt.datetime):
    with clock.freeze(when - dt.timedelta(days=30)):
        opp = opportunity_create(
            actor=owner,
            account=account,
            name=payload("won"),
            amount="400000",
            expected_close=when.date(),
            stage="negotiation",
            buyer_stage="negotiation",
        )
    with clock.freeze(when):
        process.milestone_record(
            actor=owner, opportunity=opp, kind="contract_signed", note=payload("mnote")
        )
        process.opportunity_close(actor=owner, opportunity=opp, outcome="won")
    opp.refresh_from_db()
    return opp


@pytest.fixture
def poisoned(db) -> Poisoned:
    team = payload("team")
    admin = user_create(username="x_admin", role="admin", password=PASSWORD)
    owner = user_create(
        username="x_rep", role="rep", team=team, password=PASSWORD, display_name=payload("user")
    )
    manager = user_create(
        username=head("uname"),
        role="manager",
        team=team,
        password=PASSWORD,
        display_name=payload("mgr"),
    )
    with clock.freeze(dt.datetime(2026, 1, 5, 10, 0, tzinfo=CST)):
        account = account_create(
            actor=owner,
            name=payload("acc"),
            industry=payload("ind"),
            region=payload("reg"),
            notes=payload("anote"),
            attributes={"application": payload("app")},
        )
        other = account_create(actor=owner, name=payload("acc2"), industry="Steel")
        boss = contact_create(
            actor=owner,
            account=account,
            name=payload("boss"),
            title=payload("title"),
            department=payload("dept"),
            notes=payload("cnote"),
            phone="<svg onload=alert('ph')>",
            email="\"><img/src=x/onerror=alert('mail')>@x.cn",
            layer="decision",
            disc="D",
        )
        engineer = contact_create(
            actor=owner,
            account=account,
            name=payload("ct"),
            title=payload("title2"),
            department=payload("dept2"),
            reports_to=boss,
            layer="management",
            disc="C",
        )
        deal = opportunity_create(
            actor=owner,
            account=account,
            name=payload("opp"),
            amount="1250000",
            expected_close=dt.date(2026, 12, 31),
            description=payload("desc"),
        )
        stakeholder_add(
            actor=owner,
            opportunity=deal,
            contact=engineer,
            roles=["user"],
            stance="supporter",
            is_coach=True,
            notes=payload("snote"),
        )
        stakeholder_add(
            actor=owner, opportunity=deal, contact=boss, roles=["decision_maker"], stance="unknown"
        )
        process.criterion_add(actor=owner, opportunity=deal, text=payload("crit"))
        process.milestone_record(
            actor=owner, opportunity=deal, kind="candidate_confirmed", note=payload("mnote2")
        )
        intel_add(
            actor=owner,
            opportunity=deal,
            text=payload("intel"),
            sources=[engineer],
            note=payload("inote"),
        )
        rival = competitors.competitor_create(
            actor=owner, name=payload("comp"), notes=payload("compnote")
        )
        criteria = [c.key for c in scoring.model().criteria][:4]
        scoring.competition_set(
            actor=owner,
            opportunity=deal,
            scores={"us": dict.fromkeys(criteria, 3), rival.pk: dict.fromkeys(criteria, 4)},
        )
        account_competition.competition_map_set(
            actor=owner,
            account=account,
            entries=[
                {"us": True, "share": 20},
                {"competitor_id": rival.pk, "share": 50, "incumbent": True,
                 "history": payload("hist")},
                {"competitor_name": payload("comp2"), "share": 10},
            ],
        )  # fmt: skip
        account_competition.swot_item_add(
            actor=owner, account=account, quadrant="strength", text=payload("swot")
        )
        account_competition.position_set(
            actor=owner, account=account, posture="attack", notes=payload("pos")
        )
        needs.needs_set(
            actor=owner,
            account=account,
            needs=[
                {"dimension": payload(f"need{i}"), "importance": 5, "our_fit": 2,
                 "note": payload(f"nnote{i}")}
                for i in range(3)
            ],
        )  # fmt: skip
        needs.satisfaction_record_add(
            actor=owner, account=account, score=2, contact=boss, note=payload("sat")
        )
        revenue.revenue_record_add(
            actor=owner,
            account=account,
            date=dt.date(2025, 11, 30),
            amount="300000",
            source=head("src"),
            note=payload("rnote"),
        )
    won = _won_deal(owner, other, dt.datetime(2026, 3, 15, 10, 0, tzinfo=CST))
    with clock.freeze(dt.datetime(2026, 2, 1, 10, 0, tzinfo=CST)):
        lost = opportunity_create(
            actor=owner,
            account=account,
            name=payload("lostopp"),
            amount="90000",
            expected_close=dt.date(2026, 6, 30),
        )
        process.opportunity_close(
            actor=owner, opportunity=lost, outcome="lost", reason=payload("lost")
        )
    with clock.freeze(dt.datetime(2026, 1, 10, 10, 0, tzinfo=CST)):
        partner = partners.partner_create(
            actor=owner,
            name=payload("partner"),
            position=head("ppos"),
            agreement_date=dt.date(2026, 1, 2),
            agreement_terms=payload("terms"),
            notes=payload("pnote"),
        )
    with clock.freeze(dt.datetime(2026, 3, 1, 10, 0, tzinfo=CST)):
        partners.referral_add(
            actor=owner, partner=partner, opportunity=won, kind="direct", note=payload("refnote")
        )
    with clock.freeze(dt.datetime(2026, 4, 1, 10, 0, tzinfo=CST)):
        partners.payment_record(
            actor=owner, opportunity=won, amount="100000", reference=head("payref")
        )
    with clock.freeze(NOW):
        process.priority_override(
            actor=manager, opportunity=deal, grade="A", reason=payload("prio")
        )
        process.opportunity_advance(
            actor=manager, opportunity=deal, force=True, reason=payload("force")
        )
        segment = segment_create(
            actor=manager,
            name=payload("seg"),
            description=payload("segdesc"),
            definition={"industry": [head("ind")]},
        )
    deal.refresh_from_db()
    return Poisoned(admin, owner, manager, account, other, boss, engineer, deal, won, lost,
                    partner, segment)  # fmt: skip


def _import_preview(client: Client) -> str:
    """Upload a workbook with payloads in its cells, a sheet name and its file name;
    return the preview page's URL."""
    book = Workbook()
    sheet = book.active
    sheet.title = "客户"
    sheet.append(["客户名称*", "行业", "<script>alert('col')</script>"])
    sheet.append([payload("imp"), payload("impind"), "x"])
    sheet.append([None, payload("impbad"), "x"])  # no name: an error row
    extra = book.create_sheet("<svg onload=alert('sh')>")
    extra.append(["a"])
    data = io.BytesIO()
    book.save(data)
    response = client.post(
        "/import/",
        {"file": SimpleUploadedFile(head("fn") + ".xlsx", data.getvalue()), "kind": ""},
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    return response["Location"]


def pages(p: Poisoned, viewer: str) -> list[tuple[str, str, tuple[str, ...]]]:
    """(what, URL, tags that page must show escaped) for the owner or an admin."""
    acc, deal = p.account.pk, p.deal.pk
    q = "?q=" + payload("q").replace("'", "%27").replace("#", "%23")
    return [
        ("home", reverse("home"), ("opp",)),
        ("account list", reverse("account-list"), ("acc", "ind")),
        ("account list, search", reverse("account-list") + q, ("q",)),
        ("account", reverse("account-detail", args=[acc]),
         ("acc", "ind", "anote", "boss", "title", "dept", "ct", "opp", "comp", "hist", "comp2",
          "swot", "pos", "need0", "sat", "src", "rnote")),
        ("account edit", reverse("account-edit", args=[acc]), ("acc", "ind", "reg", "anote")),
        ("account segmentation", reverse("account-segmentation", args=[acc]), ("acc", "app")),
        ("account type", reverse("account-type", args=[acc]), ("acc",)),
        ("grading", reverse("account-grading"), ("acc", "acc2")),
        ("contact edit", reverse("contact-edit", args=[p.boss.pk]),
         ("boss", "title", "dept", "cnote")),
        ("contact edit (report)", reverse("contact-edit", args=[p.engineer.pk]), ("ct", "boss")),
        ("contact new", reverse("contact-create", args=[acc]), ("acc", "boss")),
        ("opportunity list", reverse("opportunity-list"), ("opp", "acc")),
        ("opportunity list, search", reverse("opportunity-list") + q, ("q",)),
        ("opportunity", reverse("opportunity-detail", args=[deal]),
         ("opp", "acc", "desc", "ct", "boss", "snote", "crit", "mnote2", "intel", "inote",
          "comp", "prio", "force")),
        ("opportunity edit", reverse("opportunity-edit", args=[deal]), ("opp", "desc")),
        ("won opportunity", reverse("opportunity-detail", args=[p.won.pk]),
         ("won", "partner", "mnote")),
        ("lost opportunity", reverse("opportunity-detail", args=[p.lost.pk]), ("lostopp", "lost")),
        ("board", reverse("opportunity-board"), ("opp", "acc")),
        ("alerts", reverse("alert-list"), ("opp", "acc")),
        ("alerts, bad filter", reverse("alert-list") + q.replace("q=", "code="), ()),
        ("pipeline", reverse("pipeline-dashboard"), ("opp",)),
        ("pipeline, bad period", reverse("pipeline-dashboard") + "?period=" + head("per"), ()),
        ("pipeline drill, bad figure", reverse("pipeline-deals") + "?figure=" + head("fig"), ()),
        ("partner list", reverse("partner-list"), ("partner",)),
        ("partner list, search", reverse("partner-list") + q, ("q",)),
        ("partner", reverse("partner-detail", args=[p.partner.pk]) + "?period=2026H1",
         ("partner", "terms", "pnote", "won", "refnote")),
        ("partner edit", reverse("partner-edit", args=[p.partner.pk]),
         ("partner", "terms", "pnote")),
        ("segment list", reverse("segment-list"), ("seg",)),
        ("segment", reverse("segment-detail", args=[p.segment.pk]), ("seg", "segdesc", "acc")),
        ("not found", "/accounts/999999999/" + head("nf"), ()),
    ] + (
        # only managers and admins edit segments
        [("segment edit", reverse("segment-edit", args=[p.segment.pk]), ("seg", "segdesc"))]
        if viewer == "admin"
        else []
    )  # fmt: skip


def _check(client: Client, what: str, url: str, tags, problems: list[str]) -> str:
    response = client.get(url)
    html = response.content.decode()
    if response.status_code not in (200, 404, 422):
        problems.append(f"{what}: {url} answered {response.status_code}")
    for leak in leaks(html):
        problems.append(f"{what}: raw markup in the page: …{leak}…")
    missing = [t for t in tags if not shown(html, t)]
    if missing:
        problems.append(f"{what}: does not show {missing}")
    return html


@pytest.mark.parametrize("language", ["en", "zh-hans"])
@pytest.mark.parametrize("viewer", ["owner", "admin"])
def test_no_page_shows_user_text_unescaped(poisoned, viewer, language, settings, tmp_path):
    # given the poisoned book, signed in as its owner or an admin
    settings.KAM_UPLOAD_DIR = tmp_path / "uploads"
    user = getattr(poisoned, viewer)
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    client.force_login(user)
    problems: list[str] = []
    # when every page is fetched
    with clock.freeze(NOW):
        for what, url, tags in pages(poisoned, viewer):
            html = _check(client, what, url, tags, problems)
            if what == "pipeline":
                # then the deals behind one of its figures, as its drill-down loads them
                figure = re.search(r'data-figure="([^"]+)"', html)
                assert figure is not None
                drill = reverse("pipeline-deals") + "?figure=" + figure.group(1)
                _check(client, "pipeline drill", drill.replace("&amp;", "&"), ("opp",), problems)
        preview = _import_preview(client)
        _check(client, "import preview", preview, ("imp", "fn"), problems)
    # then nothing shows raw, and each page shows the poisoned text escaped
    assert problems == [], "\n".join(problems)


def test_the_manager_sees_the_team_book_escaped(poisoned):
    # given the manager of the poisoned team (whose name and team are payloads too)
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(poisoned.manager)
    problems: list[str] = []
    # when
    with clock.freeze(NOW):
        for what, url, tags in (
            ("pipeline", reverse("pipeline-dashboard"), ("opp", "user")),
            ("alerts", reverse("alert-list"), ("opp", "user")),
            ("board", reverse("opportunity-board"), ("opp",)),
            ("opportunity", reverse("opportunity-detail", args=[poisoned.deal.pk]),
             ("opp", "user", "mgr")),
        ):  # fmt: skip
            _check(client, what, url, tags, problems)
    # then
    assert problems == [], "\n".join(problems)


def test_pages_without_a_login_show_parameters_escaped(db):
    # given someone not signed in, following crafted links
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    problems: list[str] = []
    # when
    _check(client, "login", reverse("login") + "?next=/" + head("next"), (), problems)
    _check(client, "not found", "/nowhere/" + head("nf"), (), problems)
    # then
    assert problems == [], "\n".join(problems)
