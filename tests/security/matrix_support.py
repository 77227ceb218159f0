"""The access matrix's world: nine viewers, one full "book" of rep_a's records built
through the services, the expected answer of each viewer for each kind of access,
and a fingerprint of every table to prove a refused write changed nothing.

The book is built once per test module inside an outer transaction (pytest-django's
per-test transaction nests in it as a savepoint, so each case starts from the same
book and a write made by one case is gone for the next); the outer transaction is
rolled back when the module is done. Building it per test would cost ~0.5 s × ~900
cases."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import pytest
from django.apps import apps
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection, transaction
from django.test import Client
from django.test.utils import override_settings

from kam.accounts import needs, revenue
from kam.accounts.models import AccountMember
from kam.accounts.services import account_create
from kam.competition import accounts as account_competition
from kam.competition import competitors, scoring
from kam.contacts.services import contact_create
from kam.core import clock, sharing
from kam.core.models import Event
from kam.intel.services import intel_add
from kam.opportunities import process
from kam.opportunities.models import OpportunityMember
from kam.opportunities.services import opportunity_create
from kam.partners import services as partners
from kam.segments.services import segment_create
from kam.stakeholders.services import stakeholder_add
from kam.users.services import token_create, user_create
from tests.partners.conftest import won_deal

CST = ZoneInfo("Asia/Shanghai")
# The matrix looks at the book on 2026-08-10: 2026H1 has ended (a payout is due).
TODAY = dt.datetime(2026, 8, 10, 10, 0, tzinfo=CST)
PASSWORD = "matrix-pass-123"
MISSING = 999_999_999  # an id no record has: a refused read must answer as for this one

# --- the viewers -----------------------------------------------------------------------

OWNER = "rep_owner"  # rep_a, East: owns the book
SAME = "rep_same_team"  # rep_b, East
OTHER = "rep_other_team"  # rep_c, West
MANAGER = "manager_team"  # manager of East
MANAGER_OTHER = "manager_other"  # manager of West
ADMIN = "admin"
ANON = "anonymous"
READER = "reader"  # a West rep on rep_a's account and deal team with read access
EDITOR = "editor"  # a West rep on them with edit access
VIEWERS = (OWNER, SAME, OTHER, MANAGER, MANAGER_OTHER, ADMIN, ANON, READER, EDITOR)
SIGNED_IN = tuple(v for v in VIEWERS if v != ANON)


def access(ok: tuple[str, ...], refused: tuple[str, ...] = (), hidden: str = "404") -> dict:
    """{viewer: "ok" | "403" | "404" | "401"}: `ok` may, `refused` see but may not
    (403), every other signed-in viewer gets `hidden`; anonymous always 401."""
    out = {}
    for v in VIEWERS:
        if v == ANON:
            out[v] = "401"
        elif v in ok:
            out[v] = "ok"
        elif v in refused:
            out[v] = "403"
        else:
            out[v] = hidden
    return out


# The access classes of the model (docs/security.md "Who may see and change what").
HOLDERS = (OWNER, MANAGER, ADMIN)  # ownership: the owner, their manager, an admin
READ = access(HOLDERS + (READER, EDITOR))  # rep_a's account or deal, to read
EDIT = access(HOLDERS + (EDITOR,), refused=(READER,))  # … to change
SHARE = access(HOLDERS, refused=(READER, EDITOR))  # who works on it: holders only
STEER = access((MANAGER, ADMIN), refused=(OWNER, READER, EDITOR))  # a manager's override
PARTNER = access(HOLDERS)  # partners are not shared by teams
PARTNER_ADMIN = access((ADMIN,), refused=(OWNER, MANAGER))  # release, payout
EVERYONE = access(SIGNED_IN)
MANAGERS = access((MANAGER, MANAGER_OTHER, ADMIN), refused=(OWNER, SAME, OTHER, READER, EDITOR))
# A rival may be changed by managers, admins and whoever recorded it (rep_a).
RIVAL_EDIT = access((OWNER, MANAGER, MANAGER_OTHER, ADMIN), refused=(SAME, OTHER, READER, EDITOR))
# A record named in a request body (a new contact's account …): out of sight is a 422
# on that field, worded as for an id that does not exist.
CONTACT_WORK_BODY = access(HOLDERS + (EDITOR,), refused=(READER,), hidden="422")
SEE_ACCOUNT_BODY = access(HOLDERS + (READER, EDITOR), hidden="422")
SEE_ACCOUNT_BODY_404 = access(HOLDERS + (READER, EDITOR), hidden="404")


# --- the book --------------------------------------------------------------------------


@dataclass
class Book:
    users: dict[str, Any]  # viewer → user (None for anonymous)
    tokens: dict[str, str]  # viewer → API token
    ids: dict[str, int]  # what → id
    # what each viewer sees in the lists: viewer → kind → set of book keys
    visible: dict[str, dict[str, set[str]]] = field(default_factory=dict)
    names: dict[str, str] = field(default_factory=dict)  # account, deal, partner → its name

    def id(self, key: str) -> int:
        return self.ids[key]

    def visible_ids(self, viewer: str, kind: str) -> set[int]:
        return {self.ids[k] for k in self.visible[viewer][kind]}

    def all_ids(self, kind: str) -> set[int]:
        return {self.ids[k] for v in SIGNED_IN for k in self.visible[v][kind]}


def at(y: int, mo: int, d: int, h: int = 10) -> dt.datetime:
    return dt.datetime(y, mo, d, h, 0, tzinfo=CST)


PDF = b"%PDF-1.4\n% matrix disclosure\n%%EOF\n"


def disclosure(name: str = "disclosure.pdf") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, PDF, content_type="application/pdf")


SCORES = {
    "project_grade": 4,
    "funding": 4,
    "technical_fit": 4,
    "relationship": 4,
    "credit": 4,
    "product": 4,
    "price": 4,
    "solution": 4,
    "service": 4,
}


def build_book() -> Book:
    """Every kind of record the API and the pages reach, owned by rep_a (plus one
    account, contact, deal and partner for rep_b and rep_c, so the lists show whose
    records each viewer gets)."""
    with clock.freeze(at(2025, 12, 1)):

        def person(name: str, role: str, team: str | None):
            return user_create(username=name, role=role, team=team, password=PASSWORD)

        users = {
            ADMIN: person("admin", "admin", None),
            MANAGER: person("m_east", "manager", "East"),
            OWNER: person("rep_a", "rep", "East"),
            SAME: person("rep_b", "rep", "East"),
            MANAGER_OTHER: person("m_west", "manager", "West"),
            OTHER: person("rep_c", "rep", "West"),
            READER: person("rep_reader", "rep", "West"),
            EDITOR: person("rep_editor", "rep", "West"),
            ANON: None,
        }
        rep_a, rep_b, rep_c = users[OWNER], users[SAME], users[OTHER]
        tokens = {v: token_create(user=u) for v, u in users.items() if u is not None}

        A = account_create(actor=rep_a, name="Matrix Alpha Machinery", industry="Machinery")
        E = account_create(actor=rep_a, name="Matrix Empty Works", industry="Machinery")
        B = account_create(actor=rep_b, name="Matrix Beta Steel", industry="Steel")
        C = account_create(actor=rep_c, name="Matrix Gamma Foods", industry="Food")
        boss = contact_create(actor=rep_a, account=A, name="Zhang Boss", layer="decision")
        engineer = contact_create(actor=rep_a, account=A, name="Li Engineer", reports_to=boss)
        buyer = contact_create(actor=rep_a, account=A, name="Wang Buyer")
        spare = contact_create(actor=rep_a, account=A, name="Zhao Spare")
        contact_b = contact_create(actor=rep_b, account=B, name="Beta Buyer")
        contact_c = contact_create(actor=rep_c, account=C, name="Gamma Buyer")
        rival = competitors.competitor_create(actor=rep_a, name="Matrix Rival Co")
        segment = segment_create(
            actor=users[MANAGER],
            name="Matrix machinery makers",
            definition={"industry": ["Machinery"]},
        )
        agreed = dt.date(2025, 11, 20)
        p = partners.partner_create(actor=rep_a, name="Matrix Partner P", agreement_date=agreed)
        q = partners.partner_create(
            actor=rep_a, name="Matrix Partner Q", employer_account=A, agreement_date=agreed
        )
        p_b = partners.partner_create(actor=rep_b, name="Matrix Partner B", agreement_date=agreed)

    w1 = won_deal(rep_a, A, "Matrix won one", "100000", at(2026, 2, 10))
    w2 = won_deal(rep_a, A, "Matrix won two", "50000", at(2026, 2, 20))
    w3 = won_deal(rep_a, A, "Matrix won three", "50000", at(2026, 3, 1))
    with clock.freeze(at(2026, 1, 5)):
        ref_p = partners.referral_add(actor=rep_a, partner=p, opportunity=w1, kind="direct")
        ref_held = partners.referral_add(actor=rep_a, partner=q, opportunity=w2, kind="direct")
        ref_released = partners.referral_add(actor=rep_a, partner=q, opportunity=w3, kind="direct")
    with clock.freeze(at(2026, 3, 1, 16)):
        payment = partners.payment_record(
            actor=rep_a, opportunity=w1, amount="40000", date=dt.date(2026, 3, 1)
        )
    with clock.freeze(at(2026, 4, 1)):
        partners.referral_release(
            actor=users[ADMIN],
            referral=ref_released,
            note="The customer's purchasing head approved in writing.",
            document=disclosure(),
        )

    with clock.freeze(at(2026, 7, 1)):
        deal = opportunity_create(
            actor=rep_a,
            account=A,
            name="Matrix open deal",
            amount="500000",
            expected_close=dt.date(2026, 12, 31),
        )
        deal_b = opportunity_create(
            actor=rep_b,
            account=B,
            name="Matrix Beta deal",
            amount="200000",
            expected_close=dt.date(2026, 12, 31),
        )
        deal_c = opportunity_create(
            actor=rep_c,
            account=C,
            name="Matrix Gamma deal",
            amount="300000",
            expected_close=dt.date(2026, 12, 31),
        )
        process.evaluation_record(actor=rep_a, opportunity=deal, scores=SCORES)
        stakeholder = stakeholder_add(
            actor=rep_a,
            opportunity=deal,
            contact=engineer,
            roles=["user"],
            stance="supporter",
        )
        criterion = process.criterion_add(actor=rep_a, opportunity=deal, text="Delivery in 8 weeks")
        milestone = process.milestone_record(
            actor=rep_a, opportunity=deal, kind="candidate_confirmed"
        )
        item = intel_add(
            actor=rep_a,
            opportunity=deal,
            text="Budget approved for Q4",
            sources=[boss, engineer],
        )
        source = item.sources.get(contact=engineer)
        criteria = [c.key for c in scoring.model().criteria][:3]
        scoring.competition_set(
            actor=rep_a,
            opportunity=deal,
            scores={"us": dict.fromkeys(criteria, 3), rival.pk: dict.fromkeys(criteria, 4)},
        )
        record = revenue.revenue_record_add(
            actor=rep_a, account=A, date=dt.date(2026, 6, 30), amount="120000", profit="20000"
        )
        satisfaction = needs.satisfaction_record_add(
            actor=rep_a, account=A, score=4, contact=boss, note="Happy with service"
        )
        needs.needs_set(
            actor=rep_a,
            account=A,
            needs=[
                {"dimension": "Price", "importance": 5, "our_fit": 3},
                {"dimension": "Quality", "importance": 4, "our_fit": 4},
                {"dimension": "Delivery", "importance": 3, "our_fit": 2},
            ],
        )
        swot = account_competition.swot_item_add(
            actor=rep_a, account=A, quadrant="strength", text="Local service team"
        )
        account_competition.position_set(actor=rep_a, account=A, posture="defend")
        account_competition.competition_map_set(
            actor=rep_a,
            account=A,
            entries=[{"us": True, "share": 40}, {"competitor_id": rival.pk, "share": 30}],
        )
        for record_, model in ((A, AccountMember), (E, AccountMember), (deal, OpportunityMember)):
            for viewer, level in ((READER, "read"), (EDITOR, "edit")):
                sharing.member_set(
                    actor=rep_a,
                    record=record_,
                    member_model=model,
                    user=users[viewer],
                    access=level,
                )

    ids = {
        "account": A.pk,
        "empty_account": E.pk,
        "account_b": B.pk,
        "account_c": C.pk,
        "boss": boss.pk,
        "engineer": engineer.pk,
        "buyer": buyer.pk,
        "spare": spare.pk,
        "contact_b": contact_b.pk,
        "contact_c": contact_c.pk,
        "deal": deal.pk,
        "deal_b": deal_b.pk,
        "deal_c": deal_c.pk,
        "won": w1.pk,
        "won_held": w2.pk,
        "won_released": w3.pk,
        "stakeholder": stakeholder.pk,
        "criterion": criterion.pk,
        "milestone": milestone.pk,
        "intel": item.pk,
        "intel_source": source.pk,
        "rival": rival.pk,
        "segment": segment.pk,
        "revenue": record.pk,
        "satisfaction": satisfaction.pk,
        "swot": swot.pk,
        "partner": p.pk,
        "partner_q": q.pk,
        "partner_b": p_b.pk,
        "referral": ref_p.pk,
        "referral_held": ref_held.pk,
        "referral_released": ref_released.pk,
        "payment": payment.pk,
        "reader": users[READER].pk,
        "editor": users[EDITOR].pk,
        "rep_b_user": rep_b.pk,
    }
    named = (A, E, B, C, deal, deal_b, deal_c, w1, w2, w3, p, q, p_b)
    keys = ("account", "empty_account", "account_b", "account_c", "deal", "deal_b", "deal_c")
    keys += ("won", "won_held", "won_released", "partner", "partner_q", "partner_b")
    book = Book(users=users, tokens=tokens, ids=ids)
    book.names = {key: record.name for key, record in zip(keys, named, strict=True)}
    book.visible = _visible()
    return book


def _visible() -> dict[str, dict[str, set[str]]]:
    """What each viewer finds in the lists, by book key: written out by hand from the
    model, not computed by the code under test."""
    a_accounts = {"account", "empty_account"}
    a_contacts = {"boss", "engineer", "buyer", "spare"}
    a_open = {"deal"}
    a_won = {"won", "won_held", "won_released"}
    a_partners = {"partner", "partner_q"}
    rows = {
        OWNER: (a_accounts, a_contacts, a_open, a_won, a_partners),
        SAME: ({"account_b"}, {"contact_b"}, {"deal_b"}, set(), {"partner_b"}),
        OTHER: ({"account_c"}, {"contact_c"}, {"deal_c"}, set(), set()),
        MANAGER: (
            a_accounts | {"account_b"},
            a_contacts | {"contact_b"},
            a_open | {"deal_b"},
            a_won,
            a_partners | {"partner_b"},
        ),
        MANAGER_OTHER: ({"account_c"}, {"contact_c"}, {"deal_c"}, set(), set()),
        ADMIN: (
            a_accounts | {"account_b", "account_c"},
            a_contacts | {"contact_b", "contact_c"},
            a_open | {"deal_b", "deal_c"},
            a_won,
            a_partners | {"partner_b"},
        ),
        # on the teams of A, E and the open deal: A's deals come with A
        READER: (a_accounts, a_contacts, a_open, a_won, set()),
        EDITOR: (a_accounts, a_contacts, a_open, a_won, set()),
    }
    out = {}
    for viewer, (accounts, contacts, open_deals, won, partner_keys) in rows.items():
        out[viewer] = {
            "accounts": set(accounts),
            "contacts": set(contacts),
            "open_deals": set(open_deals),
            "deals": set(open_deals) | set(won),
            "partners": set(partner_keys),
        }
    return out


# --- "nothing changed" -----------------------------------------------------------------

# Bookkeeping of who is signed in, not records: a request may touch these.
UNTRACKED = {"users.ApiToken", "users.UserSession", "users.LoginFailure"}
UNTRACKED_FIELDS = {"users.User": {"last_login"}}


def _tracked() -> list[tuple[str, str]]:
    """(model label, SELECT of its rows) for every model of the kam apps."""
    out = []
    for model in apps.get_models():
        label = model._meta.label
        if not model.__module__.startswith("kam.") or label in UNTRACKED:
            continue
        skip = UNTRACKED_FIELDS.get(label, set())
        qn = connection.ops.quote_name
        columns = ", ".join(qn(f.column) for f in model._meta.concrete_fields if f.name not in skip)
        table, pk = qn(model._meta.db_table), qn(model._meta.pk.column)
        out.append((label, f"SELECT {columns} FROM {table} ORDER BY {pk}"))
    return out


def fingerprint(upload_dir: Path | None = None) -> dict[str, Any]:
    """The row count and a hash of every row of every model of the kam apps, the
    number of events, and the files in the uploads folder: equal before and after
    means nothing was written. (Plain SQL, one query a table: it runs twice a case.)"""
    counts: dict[str, int] = {}
    hashes: dict[str, str] = {}
    with connection.cursor() as cursor:
        for label, sql in _tracked():
            cursor.execute(sql)
            found = cursor.fetchall()
            counts[label] = len(found)
            hashes[label] = hashlib.sha256(repr(found).encode()).hexdigest()
    files = []
    if upload_dir is not None and upload_dir.exists():
        for root, _dirs, names in os.walk(upload_dir):
            for name in names:
                path = Path(root) / name
                files.append((str(path.relative_to(upload_dir)), path.stat().st_size))
    return {
        "counts": counts,
        "hashes": hashes,
        "events": Event.objects.count(),
        "files": sorted(files),
    }


def changed_tables(before: dict, after: dict) -> list[str]:
    """The tables whose rows differ (for a readable failure)."""
    diff = [k for k in before["hashes"] if before["hashes"][k] != after["hashes"].get(k)]
    if before["events"] != after["events"]:
        diff.append(f"events {before['events']} → {after['events']}")
    if before["files"] != after["files"]:
        diff.append("uploaded files")
    return diff


# --- fixtures --------------------------------------------------------------------------


def upload_dir(tmp_path_factory) -> Path:
    """The folder tests/conftest.py's autouse fixture gives KAM_UPLOAD_DIR."""
    return tmp_path_factory.getbasetemp() / "uploads"


@pytest.fixture(scope="module")
def matrix_book(django_db_setup, django_db_blocker, tmp_path_factory):
    """The book, built once for the module in a transaction rolled back at its end."""
    fast = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    with (
        override_settings(PASSWORD_HASHERS=fast, KAM_UPLOAD_DIR=upload_dir(tmp_path_factory)),
        django_db_blocker.unblock(),
    ):
        outer = transaction.atomic()
        outer.__enter__()
        try:
            book = build_book()
        except BaseException:
            transaction.set_rollback(True)
            outer.__exit__(None, None, None)
            raise
    try:
        yield book
    finally:
        with django_db_blocker.unblock():
            transaction.set_rollback(True)
            outer.__exit__(None, None, None)


@pytest.fixture
def matrix(matrix_book, db):
    """The book for one case, at TODAY, with every change the case makes rolled back."""
    with clock.freeze(TODAY):
        yield matrix_book


def api_client(book: Book, viewer: str) -> Client:
    client = Client()
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    if viewer != ANON:
        client.defaults["HTTP_AUTHORIZATION"] = f"Bearer {book.tokens[viewer]}"
    return client


def web_client(book: Book, viewer: str) -> Client:
    client = Client(enforce_csrf_checks=False)
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    if viewer != ANON:
        client.force_login(book.users[viewer])
    return client


# --- the forms a page offers -----------------------------------------------------------


@dataclass
class PageForm:
    action: str
    fields: list[tuple[str, str]]  # what a browser would send, as the page fills it
    submits: int = 0  # buttons that send it: not disabled, nor in a disabled fieldset


class _FormParser(HTMLParser):
    """Every <form method=post> of a page with the values a browser would submit
    untouched: text, hidden and date inputs, checked boxes, the selected (or first)
    option of each select, textareas. Submit buttons are left out."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[PageForm] = []
        self._form: PageForm | None = None
        self._select: tuple[str, bool] | None = None  # name, multiple
        self._options: list[tuple[str, bool]] = []
        self._option: list[Any] | None = None
        self._textarea: str | None = None
        self._text: list[str] = []
        self._fieldsets: list[bool] = []  # disabled, for each open <fieldset>

    def handle_starttag(self, tag, attrs):
        a = {k: (v if v is not None else "") for k, v in attrs}
        if tag == "fieldset":
            self._fieldsets.append("disabled" in a)
            return
        if self._form is not None and self._submits(tag, a):
            self._form.submits += 1
        if tag == "form":
            if a.get("method", "get").lower() == "post":
                self._form = PageForm(action=a.get("action", ""), fields=[])
                self.forms.append(self._form)
            else:
                self._form = None
            return
        if self._form is None:
            return
        name = a.get("name")
        if tag == "input" and name and "disabled" not in a:
            kind = a.get("type", "text").lower()
            if kind in ("submit", "button", "image", "reset", "file"):
                return
            if kind in ("checkbox", "radio") and "checked" not in a:
                return
            default = "on" if kind in ("checkbox", "radio") else ""
            self._form.fields.append((name, a.get("value", default)))
        elif tag == "select" and name and "disabled" not in a:
            self._select = (name, "multiple" in a)
            self._options = []
        elif tag == "option" and self._select is not None:
            self._option = [a.get("value"), "selected" in a, []]
        elif tag == "textarea" and name and "disabled" not in a:
            self._textarea = name
            self._text = []

    def handle_data(self, data):
        if self._option is not None:
            self._option[2].append(data)
        if self._textarea is not None:
            self._text.append(data)

    def _submits(self, tag: str, a: dict) -> bool:
        kind = a.get("type", "submit" if tag == "button" else "text").lower()
        return (
            tag in ("button", "input")
            and kind in ("submit", "image")
            and "disabled" not in a
            and not any(self._fieldsets)
        )

    def handle_endtag(self, tag):
        if tag == "fieldset" and self._fieldsets:
            self._fieldsets.pop()
        elif tag == "option" and self._option is not None:
            value, selected, text = self._option
            self._options.append((value if value is not None else "".join(text).strip(), selected))
            self._option = None
        elif tag == "select" and self._select is not None and self._form is not None:
            name, multiple = self._select
            chosen = [v for v, s in self._options if s]
            if not chosen and not multiple and self._options:
                chosen = [self._options[0][0]]
            self._form.fields.extend((name, v) for v in chosen)
            self._select = None
        elif tag == "textarea" and self._textarea is not None and self._form is not None:
            text = "".join(self._text)
            self._form.fields.append((self._textarea, text[1:] if text.startswith("\n") else text))
            self._textarea = None
        elif tag == "form":
            self._form = None


def page_forms(html: str) -> list[PageForm]:
    parser = _FormParser()
    parser.feed(html)
    return parser.forms


def form_posting_to(html: str, action: str, page_url: str) -> PageForm | None:
    """The first form of the page whose action is `action` (a form without an action
    posts to the page itself)."""
    for form in page_forms(html):
        target = urlsplit(form.action).path or urlsplit(page_url).path
        if target == action:
            return form
    return None
