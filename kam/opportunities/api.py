"""/api/v1/opportunities: the deals themselves, and the process engine on them —
key-node gates, advancing and forcing, closing, the evidence the gates read
(evaluation, purchase criteria, milestones), priority, alerts, win probability.

Reads go through `opportunity_get_for_user`, writes through
`opportunity_get_for_edit`: a deal outside the user's scope is a 404."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.http import HttpResponse
from django.utils.translation import gettext as _
from ninja import Field, Header, Query, Router, Schema, Status

from kam.accounts.selectors import accounts_for_user
from kam.core import clock
from kam.core.api_support import (
    ERRORS,
    IF_MATCH_HELP,
    VERSIONED_ERRORS,
    Money,
    paginate,
    refuse_nulls,
    set_etag,
    take_owner,
    version_named,
)
from kam.core.errors import NotFound, ValidationFailed
from kam.opportunities import selectors, services, stored
from kam.opportunities.assess import alignment_for, alignment_of, assessment_of, attach
from kam.opportunities.models import Opportunity

router = Router(tags=["opportunities"])

# Ids beyond a 64-bit integer cannot exist: asking for one is "not found" (or a 422
# for an id in a body), never a database overflow.
MAX_ID = 2**63 - 1


class OpportunityIn(Schema):
    account_id: int = Field(ge=1, le=MAX_ID)
    name: str = Field(max_length=200)
    amount: Money
    expected_close: dt.date
    playbook: str | None = Field(None, max_length=40)
    currency: str | None = Field(None, max_length=3)
    buyer_stage: str | None = Field(None, max_length=40)
    code: str | None = Field(None, max_length=64)
    description: str | None = Field(None, max_length=10_000)
    owner_id: int | None = Field(None, ge=1, le=MAX_ID)


class OpportunityPatch(Schema):
    name: str | None = Field(None, max_length=200)
    amount: Money | None = None
    expected_close: dt.date | None = None
    currency: str | None = Field(None, max_length=3)
    buyer_stage: str | None = Field(None, max_length=40)
    code: str | None = Field(None, max_length=64)
    description: str | None = Field(None, max_length=10_000)
    owner_id: int | None = Field(None, ge=1, le=MAX_ID)


class OpportunityOut(Schema):
    id: int
    account_id: int
    account_name: str
    owner_id: int
    owner_name: str
    name: str
    code: str | None
    amount: Decimal
    currency: str
    expected_close: dt.date
    playbook: str
    stage: str
    stage_entered_at: dt.datetime
    buyer_stage: str
    status: str
    priority: str | None
    win_probability: int
    priority_overridden: bool
    priority_reason: str
    alignment: str = Field(
        description="Our stage against the customer's: aligned, behind_buyer, "
        "ahead_of_buyer or unmapped (a stage with no buyer stage, e.g. implementation)."
    )
    closed_at: dt.datetime | None
    completed_at: dt.datetime | None
    close_reason: str
    description: str
    created_at: dt.datetime
    updated_at: dt.datetime
    version: int = Field(description="Raised by every change; also the ETag header.")

    @staticmethod
    def resolve_account_name(obj) -> str:
        return obj.account.name

    @staticmethod
    def resolve_owner_name(obj) -> str:
        return str(obj.owner)

    @staticmethod
    def resolve_priority(obj) -> str | None:
        return obj.priority or None

    @staticmethod
    def resolve_win_probability(obj) -> int:
        return assessment_of(obj).probability

    @staticmethod
    def resolve_alignment(obj) -> str:
        return alignment_of(obj).verdict


class OpportunityPage(Schema):
    items: list[OpportunityOut]
    count: int
    page: int
    page_size: int


class OpportunityFilters(Schema):
    q: str = ""
    account_id: int | None = Field(None, ge=0, le=MAX_ID)
    owner_id: int | None = Field(None, ge=0, le=MAX_ID)
    status: str = ""
    stage: str = ""
    playbook: str = ""
    buyer_stage: str = ""
    priority: str = ""
    close_from: dt.date | None = None
    close_to: dt.date | None = None
    page: int = 1
    page_size: int = 50


class EventOut(Schema):
    id: int
    at: dt.datetime
    actor: str | None
    entity: str
    action: str
    before: dict
    after: dict
    note: str

    @staticmethod
    def resolve_actor(obj) -> str | None:
        return str(obj.actor) if obj.actor else None


def _fields(payload: Schema, *, partial: bool) -> dict:
    data = payload.model_dump(exclude_unset=partial)
    data.pop("account_id", None)
    take_owner(data, partial=partial, required_message=_("An opportunity always has an owner."))
    required = ("name", "amount", "expected_close", "currency", "buyer_stage")
    if partial:
        refuse_nulls(data, required)
    for key in required:  # on create, null means "not given": the service decides
        if key in data and data[key] is None:
            data.pop(key)
    for key in ("code", "description"):
        if key in data and data[key] is None:
            data[key] = "" if key == "description" else None
    return data


def _deal(request, opportunity_id: int, *, edit: bool = False) -> Opportunity:
    """The deal if the user may see it (or, with `edit`, change it); else 404."""
    if opportunity_id > MAX_ID:
        raise NotFound(_("No such opportunity, or it is not shared with you."))
    get = selectors.opportunity_get_for_edit if edit else selectors.opportunity_get_for_user
    return get(request.auth, opportunity_id)


def _out(request, opportunity_id: int) -> Opportunity:
    """The deal as stored now, with its assessment computed once for every field
    that reads it (win probability, alignment)."""
    return attach([_deal(request, opportunity_id)])[0]


# What the list reads of each deal: OpportunityOut's fields that are columns, and what
# the others are made of (the account's and the owner's names, the kept assessment).
_DERIVED = ("account_name", "owner_name", "priority", "win_probability", "alignment")
_LIST_COLUMNS = (
    *(name for name in OpportunityOut.model_fields if name not in _DERIVED),
    "priority",
    "account__name",
    "owner__display_name",
    "owner__username",
    "kept_holds",
    "kept_probability",
)
_OUT = tuple(OpportunityOut.model_fields)


def _listed(row: dict, probability: int) -> dict:
    """A listed deal's fields as OpportunityOut gives them, in its order."""
    derived = {
        "account_name": row["account__name"],
        "owner_name": row["owner__display_name"] or row["owner__username"],
        "priority": row["priority"] or None,
        "win_probability": probability,
        "alignment": alignment_for(row["playbook"], row["stage"], row["buyer_stage"]).verdict,
    }
    return {name: derived[name] if name in derived else row[name] for name in _OUT}


@router.get("", response={200: OpportunityPage, **ERRORS})
def list_opportunities(request, filters: Query[OpportunityFilters]):
    f = filters.model_dump(exclude={"page", "page_size"})
    qs = selectors.opportunity_list(request.auth, **f)
    config, now = stored.fingerprint(), clock.now()
    page = paginate(
        qs,
        page=filters.page,
        page_size=filters.page_size,
        read=lambda deals: stored.with_kept(deals, config, now).values(*_LIST_COLUMNS),
        ids_first=True,
    )
    # A page of 50 is read as rows and written as they are: the ORM's objects and the
    # schema's per-field getters cost more than all the rest of the request. The items
    # hold OpportunityOut's fields in its order, written by the API's own renderer
    # (tests check each equals the deal's own GET). The win probability is the kept one
    # (stored.py); alignment reads the deal alone.
    rows = page["items"]
    chance = stored.probabilities(
        [(r["id"], r["status"], r["kept_holds"], r["kept_probability"]) for r in rows],
        config,
        now,
    )
    page["items"] = [_listed(r, chance[r["id"]]) for r in rows if r["id"] in chance]
    from kam.config.api import api  # the API that mounts this router (imported once it has)

    return api.create_response(request, page, status=200)


@router.post("", response={201: OpportunityOut, **ERRORS})
def create_opportunity(request, payload: OpportunityIn, response: HttpResponse):
    account = accounts_for_user(request.auth).filter(pk=payload.account_id).first()
    if account is None:
        raise ValidationFailed(
            _("No such account: %(id)s, or it is not shared with you.")
            % {"id": payload.account_id},
            field="account_id",
        )
    data = _fields(payload, partial=False)
    opp = services.opportunity_create(actor=request.auth, account=account, **data)
    return Status(201, out_with_etag(request, response, opp.pk))


def out_with_etag(request, response: HttpResponse, opportunity_id: int) -> Opportunity:
    """The deal as `_out` gives it, its version sent as the ETag."""
    opp = _out(request, opportunity_id)
    set_etag(response, opp)
    return opp


@router.get("/{int:opportunity_id}", response={200: OpportunityOut, **ERRORS})
def get_opportunity(request, opportunity_id: int, response: HttpResponse):
    return out_with_etag(request, response, opportunity_id)


@router.patch("/{int:opportunity_id}", response={200: OpportunityOut, **VERSIONED_ERRORS})
def update_opportunity(
    request,
    opportunity_id: int,
    payload: OpportunityPatch,
    response: HttpResponse,
    if_match: str | None = Header(None, alias="If-Match", description=IF_MATCH_HELP),
):
    opp = _deal(request, opportunity_id, edit=True)
    data = _fields(payload, partial=True)
    services.opportunity_update(
        actor=request.auth, opportunity=opp, expected_version=version_named(if_match), **data
    )
    return out_with_etag(request, response, opportunity_id)


@router.delete("/{int:opportunity_id}", response={204: None, **VERSIONED_ERRORS})
def delete_opportunity(
    request,
    opportunity_id: int,
    if_match: str | None = Header(None, alias="If-Match", description=IF_MATCH_HELP),
):
    opp = _deal(request, opportunity_id, edit=True)
    services.opportunity_delete(
        actor=request.auth, opportunity=opp, expected_version=version_named(if_match)
    )
    return Status(204, None)


@router.get("/{int:opportunity_id}/history", response={200: list[EventOut], **ERRORS})
def opportunity_history(request, opportunity_id: int):
    opp = _deal(request, opportunity_id)
    return list(selectors.opportunity_history(opp))
