"""The access matrix of the API: every operation of the served OpenAPI schema × nine
viewers (issue 9).

`OPERATIONS` holds one entry per "METHOD /path" of `api.get_openapi_schema()`; a
schema operation missing from it fails `test_every_operation_is_in_the_matrix`, so a
new endpoint cannot ship without its row. Each entry names the records its path ids
point at (rep_a's, from the book in matrix_support.py), the answer each viewer must
get and a payload that is valid for whoever may call it — so a refusal is the
permission check, not a validation error. Each (operation × viewer) is one case:

- ok: the operation's success status; a collection lists exactly the viewer's
  records (ids compared with the sets written out in matrix_support._visible);
- 404: the same body as for an id that does not exist (MISSING in the same place),
  so a refusal does not tell whether the record exists;
- 422 (a record named in the body, e.g. a new contact's account, out of sight): the
  same body as for a missing id in the body, the id itself aside;
- 403: a message saying why; 401 for anonymous;
- every refusal leaves every table, the event log and the uploads folder as they were.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from kam.config.api import api
from tests.security.matrix_support import (
    CONTACT_WORK_BODY,
    EDIT,
    EVERYONE,
    MANAGERS,
    MISSING,
    PARTNER,
    PARTNER_ADMIN,
    PDF,
    READ,
    RIVAL_EDIT,
    SEE_ACCOUNT_BODY,
    SEE_ACCOUNT_BODY_404,
    SHARE,
    STEER,
    VIEWERS,
    Book,
    api_client,
    changed_tables,
    disclosure,
    fingerprint,
    upload_dir,
)
from tests.security.matrix_support import matrix as matrix  # noqa: F401 (a fixture)
from tests.security.matrix_support import matrix_book as matrix_book  # noqa: F401

Body = Callable[[Book], Any] | None


@dataclass(frozen=True)
class Op:
    """One operation's row: `path` maps each path parameter to a book key; `target`
    is the parameter whose record decides the access (replaced by MISSING for the
    404 comparison); `ref` the body key naming a record (for the 422 comparison);
    `lists` reads the ids a collection answered, compared with `kind`'s visible set."""

    expect: dict[str, str]
    ok: int = 200
    path: dict[str, str] = field(default_factory=dict)
    target: str | None = None
    body: Body = None
    query: dict[str, Any] | None = None
    multipart: bool = False
    ref: str | None = None
    lists: Callable[[Any], set[int]] | None = None
    kind: str = ""
    only: frozenset[str] | None = None  # restrict the visible set to these book keys
    document: bytes | None = None  # the file a download answers


def items(body) -> set[int]:
    return {row["id"] for row in body["items"]}


def rows(body) -> set[int]:
    return {row["id"] for row in body}


ACC = {"account_id": "account"}
DEAL = {"opportunity_id": "deal"}
WON = {"opportunity_id": "won"}

OPERATIONS: dict[str, Op] = {
    # --- accounts: grading and revenue ----------------------------------------------
    "GET /api/v1/accounts/grading": Op(
        EVERYONE, lists=lambda b: {r["id"] for r in b["accounts"]}, kind="accounts"
    ),
    "GET /api/v1/accounts/{account_id}/grade": Op(READ, path=ACC, target="account_id"),
    "GET /api/v1/accounts/{account_id}/revenue": Op(READ, path=ACC, target="account_id"),
    "POST /api/v1/accounts/{account_id}/revenue": Op(
        EDIT,
        201,
        path=ACC,
        target="account_id",
        body=lambda b: {"date": "2026-07-15", "amount": "5000.00"},
    ),
    "DELETE /api/v1/accounts/{account_id}/revenue/{record_id}": Op(
        EDIT, 204, path={**ACC, "record_id": "revenue"}, target="account_id"
    ),
    # --- accounts ---------------------------------------------------------------------
    "GET /api/v1/accounts": Op(EVERYONE, lists=items, kind="accounts"),
    "POST /api/v1/accounts": Op(EVERYONE, 201, body=lambda b: {"name": "Matrix new account"}),
    "GET /api/v1/accounts/{account_id}": Op(READ, path=ACC, target="account_id"),
    "PATCH /api/v1/accounts/{account_id}": Op(
        EDIT, path=ACC, target="account_id", body=lambda b: {"notes": "Changed by the matrix"}
    ),
    "DELETE /api/v1/accounts/{account_id}": Op(
        EDIT, 204, path={"account_id": "empty_account"}, target="account_id"
    ),
    "GET /api/v1/accounts/type-questionnaire": Op(EVERYONE),
    "POST /api/v1/accounts/{account_id}/type-questionnaire": Op(
        EDIT,
        path=ACC,
        target="account_id",
        body=lambda b: {"answers": {"offering": "codeveloped"}, "apply": True},
    ),
    "GET /api/v1/accounts/{account_id}/needs": Op(READ, path=ACC, target="account_id"),
    "PUT /api/v1/accounts/{account_id}/needs": Op(
        EDIT,
        path=ACC,
        target="account_id",
        body=lambda b: {"needs": [{"dimension": "Speed", "importance": 5, "our_fit": 2}]},
    ),
    "GET /api/v1/accounts/{account_id}/satisfaction": Op(READ, path=ACC, target="account_id"),
    "POST /api/v1/accounts/{account_id}/satisfaction": Op(
        EDIT,
        201,
        path=ACC,
        target="account_id",
        body=lambda b: {"score": 3, "contact_id": b.id("boss"), "note": "Slow replies"},
    ),
    "DELETE /api/v1/accounts/{account_id}/satisfaction/{record_id}": Op(
        EDIT, 204, path={**ACC, "record_id": "satisfaction"}, target="account_id"
    ),
    "GET /api/v1/accounts/{account_id}/competition": Op(READ, path=ACC, target="account_id"),
    "PUT /api/v1/accounts/{account_id}/competition-map": Op(
        EDIT,
        path=ACC,
        target="account_id",
        body=lambda b: {"entries": [{"us": True, "share": "55"}]},
    ),
    "PUT /api/v1/accounts/{account_id}/swot": Op(
        EDIT, path=ACC, target="account_id", body=lambda b: {"threat": ["A new rival plant"]}
    ),
    "POST /api/v1/accounts/{account_id}/swot": Op(
        EDIT,
        201,
        path=ACC,
        target="account_id",
        body=lambda b: {"quadrant": "weakness", "text": "Long lead times"},
    ),
    "PATCH /api/v1/accounts/{account_id}/swot/{item_id}": Op(
        EDIT,
        path={**ACC, "item_id": "swot"},
        target="account_id",
        body=lambda b: {"text": "Local service team, 24 h"},
    ),
    "DELETE /api/v1/accounts/{account_id}/swot/{item_id}": Op(
        EDIT, 204, path={**ACC, "item_id": "swot"}, target="account_id"
    ),
    "PUT /api/v1/accounts/{account_id}/position": Op(
        EDIT, path=ACC, target="account_id", body=lambda b: {"posture": "attack"}
    ),
    # --- contacts ---------------------------------------------------------------------
    "GET /api/v1/contacts": Op(EVERYONE, lists=items, kind="contacts"),
    "POST /api/v1/contacts": Op(
        CONTACT_WORK_BODY,
        201,
        body=lambda b: {"account_id": b.id("account"), "name": "Qian Newcomer"},
        ref="account_id",
    ),
    "GET /api/v1/contacts/{contact_id}": Op(READ, path={"contact_id": "boss"}, target="contact_id"),
    "PATCH /api/v1/contacts/{contact_id}": Op(
        EDIT, path={"contact_id": "boss"}, target="contact_id", body=lambda b: {"title": "CEO"}
    ),
    "DELETE /api/v1/contacts/{contact_id}": Op(
        EDIT, 204, path={"contact_id": "spare"}, target="contact_id"
    ),
    # --- opportunities and the process engine -----------------------------------------
    "GET /api/v1/opportunities": Op(EVERYONE, lists=items, kind="deals"),
    "POST /api/v1/opportunities": Op(
        SEE_ACCOUNT_BODY,
        201,
        body=lambda b: {
            "account_id": b.id("account"),
            "name": "Matrix second line",
            "amount": "80000",
            "expected_close": "2026-11-30",
        },
        ref="account_id",
    ),
    "GET /api/v1/opportunities/{opportunity_id}": Op(READ, path=DEAL, target="opportunity_id"),
    "PATCH /api/v1/opportunities/{opportunity_id}": Op(
        EDIT, path=DEAL, target="opportunity_id", body=lambda b: {"amount": "520000"}
    ),
    "DELETE /api/v1/opportunities/{opportunity_id}": Op(
        EDIT, 204, path=DEAL, target="opportunity_id"
    ),
    "GET /api/v1/opportunities/{opportunity_id}/history": Op(
        READ, path=DEAL, target="opportunity_id"
    ),
    "GET /api/v1/opportunities/{opportunity_id}/gates": Op(
        READ, path=DEAL, target="opportunity_id"
    ),
    "POST /api/v1/opportunities/{opportunity_id}/advance": Op(
        EDIT, path=DEAL, target="opportunity_id", body=lambda b: {}
    ),
    "POST /api/v1/opportunities/{opportunity_id}/close": Op(
        EDIT,
        path=DEAL,
        target="opportunity_id",
        body=lambda b: {"outcome": "lost", "reason": "Lost on price"},
    ),
    "GET /api/v1/opportunities/{opportunity_id}/evaluation": Op(
        READ, path=DEAL, target="opportunity_id"
    ),
    "PUT /api/v1/opportunities/{opportunity_id}/evaluation": Op(
        EDIT,
        path=DEAL,
        target="opportunity_id",
        body=lambda b: {
            "scores": {
                "project_grade": 5,
                "funding": 5,
                "technical_fit": 4,
                "relationship": 3,
                "credit": 4,
                "product": 4,
                "price": 3,
                "solution": 4,
                "service": 4,
            }
        },
    ),
    "PUT /api/v1/opportunities/{opportunity_id}/priority": Op(
        STEER,
        path=DEAL,
        target="opportunity_id",
        body=lambda b: {"grade": "A", "reason": "Strategic reference customer"},
    ),
    "GET /api/v1/opportunities/{opportunity_id}/criteria": Op(
        READ, path=DEAL, target="opportunity_id"
    ),
    "POST /api/v1/opportunities/{opportunity_id}/criteria": Op(
        EDIT,
        201,
        path=DEAL,
        target="opportunity_id",
        body=lambda b: {"text": "Service within 24 h", "shaped_by_us": True},
    ),
    "PATCH /api/v1/opportunities/{opportunity_id}/criteria/{criterion_id}": Op(
        EDIT,
        path={**DEAL, "criterion_id": "criterion"},
        target="opportunity_id",
        body=lambda b: {"favourable": True},
    ),
    "DELETE /api/v1/opportunities/{opportunity_id}/criteria/{criterion_id}": Op(
        EDIT, 204, path={**DEAL, "criterion_id": "criterion"}, target="opportunity_id"
    ),
    "GET /api/v1/opportunities/{opportunity_id}/milestones": Op(
        READ, path=DEAL, target="opportunity_id"
    ),
    "POST /api/v1/opportunities/{opportunity_id}/milestones": Op(
        EDIT,
        201,
        path=DEAL,
        target="opportunity_id",
        body=lambda b: {"kind": "proposal_submitted", "date": "2026-08-01"},
    ),
    "DELETE /api/v1/opportunities/{opportunity_id}/milestones/{milestone_id}": Op(
        EDIT, 204, path={**DEAL, "milestone_id": "milestone"}, target="opportunity_id"
    ),
    "GET /api/v1/opportunities/{opportunity_id}/risks": Op(
        READ, path=DEAL, target="opportunity_id"
    ),
    "GET /api/v1/opportunities/{opportunity_id}/win-probability": Op(
        READ, path=DEAL, target="opportunity_id"
    ),
    "GET /api/v1/risks": Op(
        EVERYONE,
        lists=lambda b: {row["opportunity_id"] for row in b["items"]},
        kind="open_deals",
    ),
    "GET /api/v1/pipeline": Op(EVERYONE, lists=lambda b: b, kind="pipeline"),
    "GET /api/v1/pipeline/deals": Op(
        EVERYONE, query={"figure": "open"}, lists=items, kind="open_deals"
    ),
    # --- the buying centre ------------------------------------------------------------
    "GET /api/v1/opportunities/{opportunity_id}/stakeholders": Op(
        READ, path=DEAL, target="opportunity_id"
    ),
    "POST /api/v1/opportunities/{opportunity_id}/stakeholders": Op(
        EDIT,
        201,
        path=DEAL,
        target="opportunity_id",
        body=lambda b: {
            "contact_id": b.id("boss"),
            "roles": ["decision_maker"],
            "stance": "neutral",
        },
    ),
    "GET /api/v1/opportunities/{opportunity_id}/stakeholders/{stakeholder_id}": Op(
        READ, path={**DEAL, "stakeholder_id": "stakeholder"}, target="opportunity_id"
    ),
    "PATCH /api/v1/opportunities/{opportunity_id}/stakeholders/{stakeholder_id}": Op(
        EDIT,
        path={**DEAL, "stakeholder_id": "stakeholder"},
        target="opportunity_id",
        body=lambda b: {"stance": "champion"},
    ),
    "DELETE /api/v1/opportunities/{opportunity_id}/stakeholders/{stakeholder_id}": Op(
        EDIT, 204, path={**DEAL, "stakeholder_id": "stakeholder"}, target="opportunity_id"
    ),
    # --- intelligence -----------------------------------------------------------------
    "GET /api/v1/opportunities/{opportunity_id}/intel": Op(
        READ, path=DEAL, target="opportunity_id"
    ),
    "POST /api/v1/opportunities/{opportunity_id}/intel": Op(
        EDIT,
        201,
        path=DEAL,
        target="opportunity_id",
        body=lambda b: {"text": "A rival cut prices", "source_contact_ids": [b.id("buyer")]},
    ),
    "PATCH /api/v1/opportunities/{opportunity_id}/intel/{item_id}": Op(
        EDIT,
        path={**DEAL, "item_id": "intel"},
        target="opportunity_id",
        body=lambda b: {"critical": True},
    ),
    "DELETE /api/v1/opportunities/{opportunity_id}/intel/{item_id}": Op(
        EDIT, 204, path={**DEAL, "item_id": "intel"}, target="opportunity_id"
    ),
    "POST /api/v1/opportunities/{opportunity_id}/intel/{item_id}/sources": Op(
        EDIT,
        201,
        path={**DEAL, "item_id": "intel"},
        target="opportunity_id",
        body=lambda b: {"contact_id": b.id("buyer")},
    ),
    "DELETE /api/v1/opportunities/{opportunity_id}/intel/{item_id}/sources/{source_id}": Op(
        EDIT,
        path={**DEAL, "item_id": "intel", "source_id": "intel_source"},
        target="opportunity_id",
    ),
    # --- segments (global: every signed-in user reads, managers change) ----------------
    "GET /api/v1/segments": Op(EVERYONE, lists=rows, kind="segments"),
    "POST /api/v1/segments": Op(
        MANAGERS,
        201,
        body=lambda b: {"name": "Matrix food makers", "definition": {"industry": ["Food"]}},
    ),
    "GET /api/v1/segments/variables": Op(EVERYONE),
    "GET /api/v1/segments/{segment_id}": Op(
        EVERYONE, path={"segment_id": "segment"}, target="segment_id"
    ),
    "PATCH /api/v1/segments/{segment_id}": Op(
        MANAGERS,
        path={"segment_id": "segment"},
        target="segment_id",
        body=lambda b: {"description": "Makers of machines"},
    ),
    "DELETE /api/v1/segments/{segment_id}": Op(
        MANAGERS, 204, path={"segment_id": "segment"}, target="segment_id"
    ),
    "GET /api/v1/segments/{segment_id}/accounts": Op(
        EVERYONE,
        path={"segment_id": "segment"},
        target="segment_id",
        lists=items,
        kind="accounts",
        only=frozenset({"account", "empty_account"}),  # the machinery makers
    ),
    # --- competitors (global records) and a deal's scoring table -----------------------
    "GET /api/v1/competitors": Op(EVERYONE, lists=rows, kind="competitors"),
    "POST /api/v1/competitors": Op(EVERYONE, 201, body=lambda b: {"name": "Matrix Upstart"}),
    "GET /api/v1/competitors/{competitor_id}": Op(
        EVERYONE, path={"competitor_id": "rival"}, target="competitor_id"
    ),
    "PATCH /api/v1/competitors/{competitor_id}": Op(
        RIVAL_EDIT,
        path={"competitor_id": "rival"},
        target="competitor_id",
        body=lambda b: {"notes": "Cheap, slow service"},
    ),
    "GET /api/v1/opportunities/{opportunity_id}/competition": Op(
        READ, path=DEAL, target="opportunity_id"
    ),
    "PUT /api/v1/opportunities/{opportunity_id}/competition": Op(
        EDIT,
        path=DEAL,
        target="opportunity_id",
        body=lambda b: {"scores": {"us": {"price": 4}, str(b.id("rival")): {"price": 3}}},
    ),
    # --- the referral programme -------------------------------------------------------
    "GET /api/v1/partners": Op(EVERYONE, lists=items, kind="partners"),
    "POST /api/v1/partners": Op(
        SEE_ACCOUNT_BODY_404,
        201,
        body=lambda b: {"name": "Matrix Partner New", "employer_account_id": b.id("account")},
        ref="employer_account_id",
    ),
    "GET /api/v1/partners/{partner_id}": Op(
        PARTNER, path={"partner_id": "partner"}, target="partner_id"
    ),
    "PATCH /api/v1/partners/{partner_id}": Op(
        PARTNER,
        path={"partner_id": "partner"},
        target="partner_id",
        body=lambda b: {"notes": "Met at the trade fair"},
    ),
    "GET /api/v1/partners/{partner_id}/referrals": Op(
        PARTNER, path={"partner_id": "partner"}, target="partner_id"
    ),
    "POST /api/v1/partners/{partner_id}/referrals": Op(
        PARTNER,
        201,
        path={"partner_id": "partner"},
        target="partner_id",
        body=lambda b: {"opportunity_id": b.id("deal"), "kind": "indirect"},
    ),
    "DELETE /api/v1/partners/{partner_id}/referrals/{referral_id}": Op(
        PARTNER, 204, path={"partner_id": "partner", "referral_id": "referral"}, target="partner_id"
    ),
    "POST /api/v1/partners/{partner_id}/referrals/{referral_id}/release": Op(
        PARTNER_ADMIN,
        path={"partner_id": "partner_q", "referral_id": "referral_held"},
        target="partner_id",
        body=lambda b: {"note": "Approved by the customer's board", "file": disclosure()},
        multipart=True,
    ),
    "GET /api/v1/partners/{partner_id}/referrals/{referral_id}/disclosure": Op(
        PARTNER,
        path={"partner_id": "partner_q", "referral_id": "referral_released"},
        target="partner_id",
        document=PDF,
    ),
    "GET /api/v1/partners/{partner_id}/statement": Op(
        PARTNER, path={"partner_id": "partner"}, target="partner_id", query={"period": "2026H1"}
    ),
    "GET /api/v1/partners/{partner_id}/payouts": Op(
        PARTNER, path={"partner_id": "partner"}, target="partner_id"
    ),
    "POST /api/v1/partners/{partner_id}/payouts": Op(
        PARTNER_ADMIN,
        201,
        path={"partner_id": "partner"},
        target="partner_id",
        body=lambda b: {"period": "2026H1"},
    ),
    "GET /api/v1/opportunities/{opportunity_id}/payments": Op(
        READ, path=WON, target="opportunity_id"
    ),
    "POST /api/v1/opportunities/{opportunity_id}/payments": Op(
        EDIT,
        201,
        path=WON,
        target="opportunity_id",
        body=lambda b: {"amount": "10000", "date": "2026-08-01"},
    ),
    "DELETE /api/v1/opportunities/{opportunity_id}/payments/{payment_id}": Op(
        EDIT, 204, path={**WON, "payment_id": "payment"}, target="opportunity_id"
    ),
    "GET /api/v1/opportunities/{opportunity_id}/referrals": Op(
        READ, path=WON, target="opportunity_id"
    ),
    # --- account and opportunity teams ------------------------------------------------
    "GET /api/v1/accounts/{account_id}/members": Op(READ, path=ACC, target="account_id"),
    "PUT /api/v1/accounts/{account_id}/members/{user_id}": Op(
        SHARE,
        path={**ACC, "user_id": "rep_b_user"},
        target="account_id",
        body=lambda b: {"access": "read"},
    ),
    "DELETE /api/v1/accounts/{account_id}/members/{user_id}": Op(
        SHARE, 204, path={**ACC, "user_id": "reader"}, target="account_id"
    ),
    "GET /api/v1/opportunities/{opportunity_id}/members": Op(
        READ, path=DEAL, target="opportunity_id"
    ),
    "PUT /api/v1/opportunities/{opportunity_id}/members/{user_id}": Op(
        SHARE,
        path={**DEAL, "user_id": "rep_b_user"},
        target="opportunity_id",
        body=lambda b: {"access": "edit"},
    ),
    "DELETE /api/v1/opportunities/{opportunity_id}/members/{user_id}": Op(
        SHARE, 204, path={**DEAL, "user_id": "editor"}, target="opportunity_id"
    ),
}


def schema_operations() -> set[str]:
    paths = api.get_openapi_schema()["paths"]
    return {f"{method.upper()} {p}" for p, ops in paths.items() for method in ops}


CASES = [(key, viewer) for key in OPERATIONS for viewer in VIEWERS]


def test_every_operation_is_in_the_matrix():
    # given the operations the API serves
    served = schema_operations()

    # when compared with the matrix's rows
    missing = sorted(served - OPERATIONS.keys())
    stale = sorted(OPERATIONS.keys() - served)

    # then each has its row, and no row names an operation that is gone
    assert missing == [], f"add these operations to OPERATIONS: {missing}"
    assert stale == [], f"these rows name operations the API no longer serves: {stale}"
    assert len(CASES) == len(served) * len(VIEWERS)


def test_every_row_lets_someone_through():
    # a row where nobody succeeds would prove nothing about the refusals
    for key, op in OPERATIONS.items():
        assert "ok" in op.expect.values(), key
        assert set(op.expect) == set(VIEWERS), key


# --- running one case --------------------------------------------------------------------


def _url(template: str, params: dict[str, int]) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: str(params[m.group(1)]), template)


def _send(client, method: str, url: str, op: Op, body: Any):
    if op.multipart:
        return client.post(url, data=body)
    kwargs: dict[str, Any] = {}
    if body is not None:
        kwargs = {"data": json.dumps(body), "content_type": "application/json"}
    elif op.query:
        kwargs = {"data": op.query}
    return getattr(client, method.lower())(url, **kwargs)


def _json(response) -> Any:
    if response.streaming:  # a document download
        # read to the end, the test client closes it (never response.close() here: that
        # signals request_finished, which closes the connection and its transaction)
        return b"".join(response.streaming_content)
    try:
        return json.loads(response.content)
    except ValueError:
        return None


def _replace_ids(value: Any, old: int) -> Any:
    """A body with `old` written as <id>, for comparing messages that quote the id."""
    return json.loads(re.sub(rf"\b{old}\b", "<id>", json.dumps(value)))


def _expected_ids(book: Book, viewer: str, op: Op) -> set[int]:
    keys = book.visible[viewer].get(op.kind)
    if keys is None:  # global records: segments, competitors
        return {book.id({"segments": "segment", "competitors": "rival"}[op.kind])}
    if op.only is not None:
        keys = keys & op.only
    return {book.id(k) for k in keys}


def _check_list(book: Book, viewer: str, op: Op, body: Any) -> None:
    if op.kind == "pipeline":
        # the dashboard counts exactly the viewer's open deals
        assert body["totals"]["count"] == len(book.visible[viewer]["open_deals"])
        return
    got = op.lists(body)
    expected = _expected_ids(book, viewer, op)
    if op.kind in ("accounts", "contacts", "deals", "open_deals", "partners"):
        # whatever else the list holds (records a case created) is not the book's
        got = got & book.all_ids(op.kind)
    assert got == expected


@pytest.mark.parametrize(("key", "viewer"), CASES, ids=[f"{k} × {v}" for k, v in CASES])
def test_access(matrix: Book, tmp_path_factory, key: str, viewer: str):
    op = OPERATIONS[key]
    method, template = key.split(" ", 1)
    params = {name: matrix.id(what) for name, what in op.path.items()}
    body = op.body(matrix) if op.body else None
    client = api_client(matrix, viewer)
    expected = op.expect[viewer]
    uploads = upload_dir(tmp_path_factory)
    before = fingerprint(uploads) if method != "GET" else None

    # when the viewer calls the operation
    response = _send(client, method, _url(template, params), op, body)

    # then the answer is the one the model gives this viewer
    answer = _json(response)
    if expected == "ok":
        assert response.status_code == op.ok, response.content[:2000]
        if op.lists is not None:
            _check_list(matrix, viewer, op, answer)
        if op.document:
            assert answer == op.document
        if before is not None:  # the write was done, not just answered
            assert changed_tables(before, fingerprint(uploads)) != []
        return
    assert response.status_code == int(expected), response.content[:2000]
    assert answer["detail"]
    # and a refusal wrote nothing
    if before is not None:
        after = fingerprint(uploads)
        assert changed_tables(before, after) == []
        assert after == before
    # and an id out of sight answers as an id that does not exist
    if expected == "404":
        again = op.body(matrix) if op.body else None
        missing = _send(client, method, _url(template, {**params, op.target: MISSING}), op, again)
        assert missing.status_code == 404
        assert answer == _json(missing)
    if expected == "422":
        other = {**body, op.ref: MISSING}
        missing = _send(client, method, _url(template, params), op, other)
        assert missing.status_code == 422
        assert _replace_ids(answer, body[op.ref]) == _replace_ids(_json(missing), MISSING)
