"""The access matrix of the web UI: every named URL pattern (kam/web/urls.py, login,
logout and the language switch) × nine viewers (issue 9).

`PAGES` holds one row per probe, keyed "METHOD url-name": GET for pages, POST for the
views that write (a pattern that shows a form and takes it has both). A named pattern
without a row fails `test_every_pattern_is_in_the_matrix`. A POST sends what the page's
own form sends (read from the page the allowed viewer sees, so hidden fields such as a
version come along) with the row's changes — valid for that viewer, so a refusal is the
permission check. Answers:

- ok: 200 for a page, 302 for a write that succeeded (a form with errors would answer
  200 and fail the case); list pages link exactly the viewer's records;
- 404: the same page as for an id that does not exist; 403: the refusal page;
- login: anonymous is sent to /login/;
- every refused POST leaves every table, the event log and the uploads folder as they
  were (the CSRF check is off: `Client(enforce_csrf_checks=False)`).

`test_reader_sees_no_edit_controls` checks the pages a read-only team member opens
offer no form that posts to a write URL of the record."""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from openpyxl import load_workbook

from tests.security.matrix_support import (
    ADMIN,
    ANON,
    EDIT,
    EVERYONE,
    MANAGER,
    MANAGERS,
    MISSING,
    OWNER,
    PARTNER,
    PARTNER_ADMIN,
    PDF,
    READ,
    READER,
    SHARE,
    SIGNED_IN,
    STEER,
    VIEWERS,
    Book,
    access,
    changed_tables,
    disclosure,
    fingerprint,
    form_posting_to,
    page_forms,
    upload_dir,
    web_client,
)
from tests.security.matrix_support import matrix as matrix  # noqa: F401 (a fixture)
from tests.security.matrix_support import matrix_book as matrix_book  # noqa: F401

# The pages apply the same selectors as the API, whose matrix runs on both databases:
# this one runs once, in the SQLite run (see CONTRIBUTING.md).
pytestmark = pytest.mark.single_db


def ui(expect: dict[str, str]) -> dict[str, str]:
    """The API's classes for a page: anonymous is sent to sign in instead of a 401."""
    return {v: ("login" if c == "401" else c) for v, c in expect.items()}


EVERYONE_UI = ui(EVERYONE)
EVEN_ANONYMOUS = dict.fromkeys(VIEWERS, "ok")
OWNER_ONLY = ui(access((OWNER,)))  # an import file is its uploader's alone

Data = Callable[[Book], dict[str, Any]] | None
ME = object()  # in a row's data: the id of the viewer of the case (an owner they may pick)


@dataclass(frozen=True)
class Probe:
    """One row: `kwargs` maps URL arguments to book keys (or fixed text via
    `literal`); `target` is the argument whose record decides access (MISSING goes
    there for the 404 comparison). A POST's data is the form found on `form_on`
    (url name, its kwargs, a query string) that posts to this URL, updated by `data`
    (a None value drops a field); without `form_on`, `data` alone."""

    expect: dict[str, str]
    ok: int | dict[str, int] = 200  # the success status (per viewer, when it differs)
    kwargs: dict[str, str] = field(default_factory=dict)
    literal: dict[str, str] = field(default_factory=dict)
    query: str = ""
    target: str | None = None
    form_on: tuple[str, dict[str, str], str] | None = None
    data: Data = None
    files: Callable[[], dict[str, Any]] | None = None
    links: str = ""  # a list page: the kind of record whose links it must show
    staged_import: bool = False  # the URL's token is an import file rep_a uploads first
    headers: dict[str, str] = field(default_factory=dict)
    export: str = ""  # a workbook: the kind of record whose names it must hold
    exact: bool = True  # … all the viewer's (else: none but the viewer's)


ACC = {"account_id": "account"}
DEAL = {"opportunity_id": "deal"}
WON = {"opportunity_id": "won"}
DEAL_PAGE = ("opportunity-detail", DEAL, "")
WON_PAGE = ("opportunity-detail", WON, "")
ACCOUNT_PAGE = ("account-detail", ACC, "")
P_PAGE = ("partner-detail", {"partner_id": "partner"}, "?period=2026H1")
Q_PAGE = ("partner-detail", {"partner_id": "partner_q"}, "")


def _csv() -> dict[str, Any]:
    return {"file": SimpleUploadedFile("客户.csv", "客户名称*\n矩阵测试机械\n".encode())}


PAGES: dict[str, Probe] = {
    # --- signing in and out, the language, health -------------------------------------
    # a signed-in user is sent on to the home page
    "GET login": Probe(EVEN_ANONYMOUS, {**dict.fromkeys(VIEWERS, 302), ANON: 200}),
    "POST logout": Probe(EVEN_ANONYMOUS, 302),
    "POST set_language": Probe(EVEN_ANONYMOUS, 302, data=lambda b: {"language": "en", "next": "/"}),
    "GET healthz": Probe(EVEN_ANONYMOUS),
    # --- everyone's pages: what they list is their own ----------------------------------
    "GET home": Probe(EVERYONE_UI),
    "GET pipeline-dashboard": Probe(EVERYONE_UI),
    "GET pipeline-deals": Probe(EVERYONE_UI, query="?figure=open", links="open_deals"),
    "GET pipeline-export": Probe(EVERYONE_UI, export="open_deals", exact=False),
    "GET account-list": Probe(EVERYONE_UI, links="accounts"),
    "GET account-export": Probe(EVERYONE_UI, export="accounts"),
    "GET account-grading": Probe(EVERYONE_UI, links="accounts"),
    "GET grading-export": Probe(EVERYONE_UI, export="accounts"),
    "GET opportunity-list": Probe(EVERYONE_UI, links="deals"),
    "GET opportunity-export": Probe(EVERYONE_UI, export="deals"),
    "GET opportunity-board": Probe(EVERYONE_UI, links="open_deals"),
    "GET alert-list": Probe(EVERYONE_UI, links="open_deals"),
    "GET alert-export": Probe(EVERYONE_UI, export="open_deals"),
    "GET partner-list": Probe(EVERYONE_UI, links="partners"),
    "GET partner-export": Probe(EVERYONE_UI, export="partners"),
    "GET segment-list": Probe(EVERYONE_UI),
    "GET segment-export": Probe(EVERYONE_UI),
    # --- import -----------------------------------------------------------------------
    "GET import": Probe(EVERYONE_UI),
    "POST import": Probe(EVERYONE_UI, 302, data=lambda b: {"kind": ""}, files=_csv),
    "GET import-template": Probe(EVERYONE_UI, literal={"language": "en"}),
    "GET import-template-csv": Probe(EVERYONE_UI, literal={"kind": "accounts", "language": "zh"}),
    "GET import-preview": Probe(OWNER_ONLY, staged_import=True),
    "POST import-preview": Probe(OWNER_ONLY, 302, staged_import=True, data=lambda b: {}),
    # --- accounts ---------------------------------------------------------------------
    "GET account-create": Probe(EVERYONE_UI),
    "POST account-create": Probe(
        EVERYONE_UI,
        302,
        form_on=("account-create", {}, ""),
        data=lambda b: {"name": "Matrix UI account", "owner": ME},
    ),
    "GET account-detail": Probe(ui(READ), kwargs=ACC, target="account_id"),
    "GET account-edit": Probe(ui(EDIT), kwargs=ACC, target="account_id"),
    "POST account-edit": Probe(
        ui(EDIT),
        302,
        kwargs=ACC,
        target="account_id",
        form_on=("account-edit", ACC, ""),
        data=lambda b: {"notes": "Edited through the page"},
    ),
    "POST account-revenue-add": Probe(
        ui(EDIT),
        302,
        kwargs=ACC,
        target="account_id",
        form_on=ACCOUNT_PAGE,
        data=lambda b: {"revenue-date": "2026-07-15", "revenue-amount": "5000"},
    ),
    "POST account-revenue-delete": Probe(
        ui(EDIT),
        302,
        kwargs={**ACC, "record_id": "revenue"},
        target="account_id",
        form_on=ACCOUNT_PAGE,
    ),
    "POST account-competition-map": Probe(
        ui(EDIT),
        302,
        kwargs=ACC,
        target="account_id",
        form_on=ACCOUNT_PAGE,
        data=lambda b: {"map-0-share": "45"},
    ),
    # the team card: only the owner, their manager or an admin changes the team
    "POST account-member-set": Probe(
        ui(SHARE),
        302,
        kwargs=ACC,
        target="account_id",
        form_on=ACCOUNT_PAGE,
        data=lambda b: {"team-user": b.id("rep_b_user"), "team-access": "read"},
    ),
    "POST account-member-remove": Probe(
        ui(SHARE), 302, kwargs={**ACC, "user_id": "reader"}, target="account_id"
    ),
    "POST account-swot-add": Probe(
        ui(EDIT),
        302,
        kwargs=ACC,
        target="account_id",
        form_on=ACCOUNT_PAGE,
        data=lambda b: {"text": "Fast spare parts"},
    ),
    "POST account-swot-delete": Probe(
        ui(EDIT),
        302,
        kwargs={**ACC, "item_id": "swot"},
        target="account_id",
        form_on=ACCOUNT_PAGE,
    ),
    "POST account-position": Probe(
        ui(EDIT),
        302,
        kwargs=ACC,
        target="account_id",
        form_on=ACCOUNT_PAGE,
        data=lambda b: {"posture": "attack"},
    ),
    "GET account-type": Probe(ui(READ), kwargs=ACC, target="account_id"),
    "POST account-type": Probe(
        ui(EDIT),
        302,
        kwargs=ACC,
        target="account_id",
        form_on=("account-type", ACC, "?offering=codeveloped"),
    ),
    "POST account-needs": Probe(
        ui(EDIT),
        302,
        kwargs=ACC,
        target="account_id",
        form_on=ACCOUNT_PAGE,
        data=lambda b: {"needs-0-our_fit": "4"},
    ),
    "POST account-satisfaction-add": Probe(
        ui(EDIT),
        302,
        kwargs=ACC,
        target="account_id",
        form_on=ACCOUNT_PAGE,
        data=lambda b: {"sat-score": "3", "sat-contact": str(b.id("boss"))},
    ),
    "POST account-satisfaction-delete": Probe(
        ui(EDIT),
        302,
        kwargs={**ACC, "record_id": "satisfaction"},
        target="account_id",
        form_on=ACCOUNT_PAGE,
    ),
    "GET account-segmentation": Probe(ui(READ), kwargs=ACC, target="account_id"),
    "POST account-segmentation": Probe(
        ui(EDIT),
        302,
        kwargs=ACC,
        target="account_id",
        form_on=("account-segmentation", ACC, ""),
        data=lambda b: {"attr_application": "Machine tools"},
    ),
    # --- segments (everyone reads; managers change) -------------------------------------
    "GET segment-create": Probe(ui(MANAGERS)),
    "POST segment-create": Probe(
        ui(MANAGERS),
        302,
        form_on=("segment-create", {}, ""),
        data=lambda b: {"name": "Matrix UI segment", "def_industry": "Food"},
    ),
    "GET segment-detail": Probe(EVERYONE_UI, kwargs={"segment_id": "segment"}, target="segment_id"),
    "GET segment-edit": Probe(ui(MANAGERS), kwargs={"segment_id": "segment"}, target="segment_id"),
    "POST segment-edit": Probe(
        ui(MANAGERS),
        302,
        kwargs={"segment_id": "segment"},
        target="segment_id",
        form_on=("segment-edit", {"segment_id": "segment"}, ""),
        data=lambda b: {"description": "Makers of machines"},
    ),
    "POST segment-delete": Probe(
        ui(MANAGERS),
        302,
        kwargs={"segment_id": "segment"},
        target="segment_id",
        form_on=("segment-detail", {"segment_id": "segment"}, ""),
    ),
    # --- contacts ---------------------------------------------------------------------
    "GET contact-create": Probe(ui(EDIT), kwargs=ACC, target="account_id"),
    "POST contact-create": Probe(
        ui(EDIT),
        302,
        kwargs=ACC,
        target="account_id",
        form_on=("contact-create", ACC, ""),
        data=lambda b: {"name": "Qian Newcomer"},
    ),
    "GET contact-edit": Probe(ui(EDIT), kwargs={"contact_id": "boss"}, target="contact_id"),
    "POST contact-edit": Probe(
        ui(EDIT),
        302,
        kwargs={"contact_id": "boss"},
        target="contact_id",
        form_on=("contact-edit", {"contact_id": "boss"}, ""),
        data=lambda b: {"title": "CEO"},
    ),
    # --- opportunities ----------------------------------------------------------------
    "GET opportunity-create": Probe(ui(READ), query="?account={account}"),
    "POST opportunity-create": Probe(
        ui(READ),
        302,
        query="?account={account}",
        form_on=("opportunity-create", {}, "?account={account}"),
        data=lambda b: {
            "name": "Matrix second line",
            "amount": "80000",
            "expected_close": "2026-11-30",
            "owner": ME,
        },
    ),
    "GET opportunity-detail": Probe(ui(READ), kwargs=DEAL, target="opportunity_id"),
    "GET opportunity-edit": Probe(ui(EDIT), kwargs=DEAL, target="opportunity_id"),
    "POST opportunity-edit": Probe(
        ui(EDIT),
        302,
        kwargs=DEAL,
        target="opportunity_id",
        form_on=("opportunity-edit", DEAL, ""),
        data=lambda b: {"amount": "520000"},
    ),
    "POST opportunity-member-set": Probe(
        ui(SHARE),
        302,
        kwargs=DEAL,
        target="opportunity_id",
        form_on=DEAL_PAGE,
        data=lambda b: {"team-user": b.id("rep_b_user"), "team-access": "edit"},
    ),
    "POST opportunity-member-remove": Probe(
        ui(SHARE), 302, kwargs={**DEAL, "user_id": "editor"}, target="opportunity_id"
    ),
    "POST opportunity-advance": Probe(
        ui(EDIT), 302, kwargs=DEAL, target="opportunity_id", form_on=DEAL_PAGE
    ),
    "POST opportunity-close": Probe(
        ui(EDIT),
        302,
        kwargs=DEAL,
        target="opportunity_id",
        form_on=DEAL_PAGE,
        data=lambda b: {"outcome": "lost", "reason": "Lost on price"},
    ),
    "POST opportunity-buyer-stage": Probe(
        ui(EDIT),
        302,
        kwargs=DEAL,
        target="opportunity_id",
        form_on=DEAL_PAGE,
        data=lambda b: {"buyer_stage": "search"},
    ),
    "POST opportunity-evaluation": Probe(
        ui(EDIT),
        302,
        kwargs=DEAL,
        target="opportunity_id",
        form_on=DEAL_PAGE,
        data=lambda b: {"funding": "5"},
    ),
    "POST opportunity-priority": Probe(
        ui(STEER),
        302,
        kwargs=DEAL,
        target="opportunity_id",
        form_on=DEAL_PAGE,
        data=lambda b: {"grade": "A", "reason": "Strategic reference customer"},
    ),
    "POST criterion-add": Probe(
        ui(EDIT),
        302,
        kwargs=DEAL,
        target="opportunity_id",
        form_on=DEAL_PAGE,
        data=lambda b: {"text": "Service within 24 h", "shaped_by_us": "on"},
    ),
    "POST criterion-delete": Probe(
        ui(EDIT),
        302,
        kwargs={**DEAL, "criterion_id": "criterion"},
        target="opportunity_id",
        form_on=DEAL_PAGE,
    ),
    "POST milestone-record": Probe(
        ui(EDIT),
        302,
        kwargs=DEAL,
        target="opportunity_id",
        form_on=DEAL_PAGE,
        data=lambda b: {"kind": "proposal_submitted", "date": "2026-08-01"},
    ),
    "POST milestone-delete": Probe(
        ui(EDIT),
        302,
        kwargs={**DEAL, "milestone_id": "milestone"},
        target="opportunity_id",
        form_on=DEAL_PAGE,
    ),
    "POST stakeholder-add": Probe(
        ui(EDIT),
        302,
        kwargs=DEAL,
        target="opportunity_id",
        form_on=DEAL_PAGE,
        data=lambda b: {"contact": str(b.id("boss")), "roles": "decision_maker"},
    ),
    "POST stakeholder-update": Probe(
        ui(EDIT),
        302,
        kwargs={**DEAL, "stakeholder_id": "stakeholder"},
        target="opportunity_id",
        form_on=DEAL_PAGE,
        data=lambda b: {"stance": "champion"},
    ),
    "POST stakeholder-remove": Probe(
        ui(EDIT),
        302,
        kwargs={**DEAL, "stakeholder_id": "stakeholder"},
        target="opportunity_id",
        form_on=DEAL_PAGE,
    ),
    "POST intel-add": Probe(
        ui(EDIT),
        302,
        kwargs=DEAL,
        target="opportunity_id",
        form_on=DEAL_PAGE,
        data=lambda b: {"intel_text": "A rival cut prices", "sources": str(b.id("buyer"))},
    ),
    "POST intel-confirm": Probe(
        ui(EDIT),
        302,
        kwargs={**DEAL, "item_id": "intel"},
        target="opportunity_id",
        data=lambda b: {
            f"confirm-{b.id('intel')}-source": str(b.id("buyer")),
            f"confirm-{b.id('intel')}-confirmed_on": "2026-08-09",
        },
    ),
    "POST intel-delete": Probe(
        ui(EDIT),
        302,
        kwargs={**DEAL, "item_id": "intel"},
        target="opportunity_id",
        form_on=DEAL_PAGE,
    ),
    "POST intel-source-remove": Probe(
        ui(EDIT),
        302,
        kwargs={**DEAL, "item_id": "intel", "source_id": "intel_source"},
        target="opportunity_id",
        form_on=DEAL_PAGE,
    ),
    "POST opportunity-competition": Probe(
        ui(EDIT),
        302,
        kwargs=DEAL,
        target="opportunity_id",
        form_on=DEAL_PAGE,
        data=lambda b: {"s_us__price": "4"},
    ),
    "POST board-advance": Probe(  # as board.js asks: JSON
        ui(EDIT),
        200,
        kwargs=DEAL,
        target="opportunity_id",
        form_on=("opportunity-board", {}, ""),
        headers={"HTTP_ACCEPT": "application/json"},
    ),
    "POST payment-add": Probe(
        ui(EDIT),
        302,
        kwargs=WON,
        target="opportunity_id",
        form_on=WON_PAGE,
        data=lambda b: {"payment-amount": "10000", "payment-date": "2026-08-01"},
    ),
    "POST payment-delete": Probe(
        ui(EDIT),
        302,
        kwargs={**WON, "payment_id": "payment"},
        target="opportunity_id",
        form_on=WON_PAGE,
    ),
    # --- the referral programme -------------------------------------------------------
    "GET partner-create": Probe(EVERYONE_UI),
    "POST partner-create": Probe(
        EVERYONE_UI,
        302,
        form_on=("partner-create", {}, ""),
        data=lambda b: {"name": "Matrix UI partner", "owner": ME},
    ),
    "GET partner-detail": Probe(ui(PARTNER), kwargs={"partner_id": "partner"}, target="partner_id"),
    "GET partner-edit": Probe(ui(PARTNER), kwargs={"partner_id": "partner"}, target="partner_id"),
    "POST partner-edit": Probe(
        ui(PARTNER),
        302,
        kwargs={"partner_id": "partner"},
        target="partner_id",
        form_on=("partner-edit", {"partner_id": "partner"}, ""),
        data=lambda b: {"notes": "Met at the trade fair"},
    ),
    "POST partner-referral-add": Probe(
        ui(PARTNER),
        302,
        kwargs={"partner_id": "partner"},
        target="partner_id",
        form_on=P_PAGE,
        data=lambda b: {"opportunity": str(b.id("deal")), "kind": "indirect"},
    ),
    "POST partner-referral-remove": Probe(
        ui(PARTNER),
        302,
        kwargs={"partner_id": "partner", "referral_id": "referral"},
        target="partner_id",
        form_on=P_PAGE,
    ),
    "POST partner-release": Probe(
        ui(PARTNER_ADMIN),
        302,
        kwargs={"partner_id": "partner_q", "referral_id": "referral_held"},
        target="partner_id",
        form_on=Q_PAGE,
        data=lambda b: {"note": "Approved by the customer's board"},
        files=lambda: {"file": disclosure()},
    ),
    "GET partner-disclosure": Probe(
        ui(PARTNER),
        kwargs={"partner_id": "partner_q", "referral_id": "referral_released"},
        target="partner_id",
    ),
    "POST partner-payout": Probe(
        ui(PARTNER_ADMIN),
        302,
        kwargs={"partner_id": "partner"},
        target="partner_id",
        form_on=P_PAGE,
    ),
    "GET partner-statement-export": Probe(
        ui(PARTNER), kwargs={"partner_id": "partner"}, target="partner_id", query="?period=2026H1"
    ),
}


def url_names() -> set[str]:
    """Every named pattern but the API's (the API matrix covers those)."""

    def walk(patterns):
        for p in patterns:
            if isinstance(p, URLResolver):
                if p.namespace != "api-v1":
                    yield from walk(p.url_patterns)
            elif isinstance(p, URLPattern) and p.name:
                yield p.name

    return set(walk(get_resolver().url_patterns))


CASES = [(key, viewer) for key in PAGES for viewer in VIEWERS]


def test_every_pattern_is_in_the_matrix():
    # given the named URL patterns of the site
    names = url_names()

    # when compared with the matrix's rows
    covered = {key.split(" ", 1)[1] for key in PAGES}

    # then each pattern has at least one row, and no row names a pattern that is gone
    assert sorted(names - covered) == []
    assert sorted(covered - names) == []


def test_every_row_lets_someone_through():
    for key, probe in PAGES.items():
        assert "ok" in probe.expect.values(), key
        assert set(probe.expect) == set(VIEWERS), key


# --- running one case --------------------------------------------------------------------

_harvested: dict[tuple[str, str], list[tuple[str, str]]] = {}


def _path(book: Book, name: str, kwargs: dict[str, str], probe: Probe, **override) -> str:
    args = {k: book.id(v) for k, v in kwargs.items()}
    args.update(probe.literal)
    args.update(override)
    return reverse(name, kwargs=args)


def _query(book: Book, query: str) -> str:
    return query.replace("{account}", str(book.id("account")))


def _first_allowed(probe: Probe) -> str:
    for viewer in (OWNER, MANAGER, ADMIN):
        if probe.expect[viewer] == "ok":
            return viewer
    raise AssertionError("nobody may")


def _form_data(book: Book, key: str, probe: Probe, action: str) -> list[tuple[str, str]]:
    """What the allowed viewer's page form sends to `action` (read once per worker:
    every case starts from the same book)."""
    if probe.form_on is None:
        return []
    cached = _harvested.get((key, action))
    if cached is not None:
        return cached
    name, kwargs, query = probe.form_on
    page = reverse(name, kwargs={k: book.id(v) for k, v in kwargs.items()})
    page += _query(book, query)
    response = web_client(book, _first_allowed(probe)).get(page)
    assert response.status_code == 200, page
    form = form_posting_to(response.content.decode(), action, page)
    assert form is not None, f"{page} has no form posting to {action}"
    fields = [(k, v) for k, v in form.fields if k != "csrfmiddlewaretoken"]
    _harvested[(key, action)] = fields
    return fields


def _payload(book: Book, key: str, probe: Probe, action: str, viewer: str) -> dict[str, Any]:
    me = book.users[viewer] or book.users[OWNER]
    data: dict[str, Any] = {}
    for k, v in _form_data(book, key, probe, action):
        data.setdefault(k, []).append(v)
    for k, v in (probe.data(book) if probe.data else {}).items():
        if v is None:
            data.pop(k, None)
        elif v is ME:
            data[k] = [str(me.pk)]
        else:
            data[k] = [v]
    if probe.files:
        data.update(probe.files())
    return data


def _stage_import(book: Book) -> str:
    """rep_a uploads a file to import; its token names the preview page."""
    response = web_client(book, OWNER).post("/import/", _csv())
    assert response.status_code == 302, response.content[:2000]
    return response["Location"].rstrip("/").rsplit("/", 1)[-1]


def _send(client, method: str, url: str, data: dict[str, Any] | None, headers: dict):
    if method == "GET":
        return client.get(url, **headers)
    return client.post(url, data or {}, **headers)


def _content(response) -> bytes:
    if response.streaming:
        # read to the end, the test client closes it (never response.close() here: that
        # signals request_finished, which closes the connection and its transaction)
        return b"".join(response.streaming_content)
    return response.content


CSRF = re.compile(rb'name="csrfmiddlewaretoken" value="[^"]*"')


def _page_text(response, path: str) -> bytes:
    """A refusal page with what differs by request (its own address, the CSRF token)
    taken out."""
    body = CSRF.sub(b"", _content(response))
    return body.replace(path.encode(), b"<path>")


# A link to a record's page (perhaps to a card on it: #grade, ?period=…).
LINKS = {
    "accounts": re.compile(r'href="/accounts/(\d+)/(?:[#?][^"]*)?"'),
    "deals": re.compile(r'href="/opportunities/(\d+)/(?:[#?][^"]*)?"'),
    "open_deals": re.compile(r'href="/opportunities/(\d+)/(?:[#?][^"]*)?"'),
    "partners": re.compile(r'href="/partners/(\d+)/(?:[#?][^"]*)?"'),
}


def _check_links(book: Book, viewer: str, kind: str, html: str) -> None:
    shown = {int(i) for i in LINKS[kind].findall(html)}
    everything = book.all_ids("deals" if kind == "open_deals" else kind)
    assert shown & everything == book.visible_ids(viewer, kind)


def _check_export(book: Book, viewer: str, probe: Probe, data: bytes) -> None:
    cells = set()
    for sheet in load_workbook(io.BytesIO(data), read_only=True).worksheets:
        for row in sheet.iter_rows(values_only=True):
            cells.update(str(v) for v in row if v is not None)
    kind = probe.export
    names = {k: book.names[k] for v in SIGNED_IN for k in book.visible[v][kind]}
    shown = {k for k, name in names.items() if name in cells}
    mine = book.visible[viewer][kind]
    if probe.exact:
        assert shown == mine
    else:
        assert shown <= mine


@pytest.mark.parametrize(("key", "viewer"), CASES, ids=[f"{k} × {v}" for k, v in CASES])
def test_access(matrix: Book, tmp_path_factory, key: str, viewer: str):
    probe = PAGES[key]
    method, name = key.split(" ", 1)
    literal = {}
    if probe.staged_import:
        literal = {"token": _stage_import(matrix)}
    url = _path(matrix, name, probe.kwargs, probe, **literal) + _query(matrix, probe.query)
    data = _payload(matrix, key, probe, url.split("?")[0], viewer) if method == "POST" else None
    client = web_client(matrix, viewer)
    expected = probe.expect[viewer]
    uploads = upload_dir(tmp_path_factory)
    writes = method == "POST" and name not in ("logout", "set_language")
    before = fingerprint(uploads) if writes else None

    # when the viewer opens the page or sends the form
    response = _send(client, method, url, data, probe.headers)

    # then the answer is the one the model gives this viewer
    if expected == "ok":
        ok = probe.ok if isinstance(probe.ok, int) else probe.ok[viewer]
        assert response.status_code == ok, _content(response)[:3000]
        if probe.links:
            _check_links(matrix, viewer, probe.links, response.content.decode())
        if probe.export:
            _check_export(matrix, viewer, probe, _content(response))
        if key == "GET partner-disclosure":
            assert _content(response) == PDF
        if before is not None:  # the write was done, not just answered
            assert changed_tables(before, fingerprint(uploads)) != []
        return
    if expected == "login":
        assert response.status_code == 302
        assert response["Location"].startswith("/login/?next=")
    else:
        assert response.status_code == int(expected), _content(response)[:3000]
    # and a refused write wrote nothing
    if before is not None:
        after = fingerprint(uploads)
        assert changed_tables(before, after) == []
        assert after == before
    # and a record out of sight looks like one that does not exist
    if expected == "404" and not probe.target and "{account}" in probe.query:
        missing_url = url.split("?")[0] + probe.query.replace("{account}", str(MISSING))
        again = data and _payload(matrix, key, probe, url.split("?")[0], viewer)
        missing = _send(client, method, missing_url, again, probe.headers)
        assert missing.status_code == 404
        assert _page_text(response, url) == _page_text(missing, missing_url)
    if expected == "404" and probe.target:
        missing_url = _path(matrix, name, probe.kwargs, probe, **{probe.target: MISSING})
        missing_url += _query(matrix, probe.query)
        again = data and _payload(matrix, key, probe, url.split("?")[0], viewer)
        missing = _send(client, method, missing_url, again, probe.headers)
        assert missing.status_code == 404
        assert _page_text(response, url) == _page_text(missing, missing_url)


# --- read-only team members see no edit controls ----------------------------------------


# Write URLs of rep_a's account and open deal, by their path prefix.
def _write_prefixes(book: Book) -> dict[str, list[str]]:
    acc, deal = book.id("account"), book.id("deal")
    return {
        reverse("account-detail", args=[acc]): [f"/accounts/{acc}/", "/contacts/"],
        reverse("opportunity-detail", args=[deal]): [f"/opportunities/{deal}/", "/contacts/"],
        reverse("account-type", args=[acc]) + "?offering=codeveloped": [f"/accounts/{acc}/"],
        reverse("account-segmentation", args=[acc]): [f"/accounts/{acc}/"],
    }


def test_reader_sees_no_edit_controls(matrix: Book):
    # given a colleague with read access on rep_a's account and deal
    client = web_client(matrix, READER)
    leaks = []
    for page, prefixes in _write_prefixes(matrix).items():
        # when they open the page
        response = client.get(page)
        assert response.status_code == 200, page
        # then no form on it that posts to a write URL of the record can be sent: there
        # is none, or every button of it is disabled (the page's read-only fieldset)
        for form in page_forms(response.content.decode()):
            action = form.action or page.split("?")[0]
            if any(action.startswith(p) for p in prefixes) and form.submits:
                leaks.append(f"{page} → {action}")
    assert leaks == [], "\n".join(leaks)


def test_editor_sees_the_edit_controls(matrix: Book):
    # the check above would pass on a page whose forms could never be sent
    deal = matrix.id("deal")
    page = reverse("opportunity-detail", args=[deal])
    forms = page_forms(web_client(matrix, "editor").get(page).content.decode())
    sendable = {f.action for f in forms if f.submits}
    assert f"/opportunities/{deal}/criteria/" in sendable
    reader_forms = page_forms(web_client(matrix, READER).get(page).content.decode())
    assert f"/opportunities/{deal}/criteria/" not in {f.action for f in reader_forms if f.submits}
