"""/api/v1/opportunities/{id}/intel: a deal's intelligence (情报, SPEC §4).

Mounted under /opportunities beside the opportunities router (see
kam/config/api.py). The deal is looked up through the opportunity selectors
(outside the user's scope: 404; visible but not editable: 403 on writes); source
contacts must be ones the user can see, and the service checks they belong to the
deal's account. An item is verified once `sources_to_verify` (2 by default)
different people confirmed it."""

from __future__ import annotations

import datetime as dt
from functools import partial

from ninja import Field, Router, Schema, Status

from kam.contacts.selectors import contact_named_in_payload
from kam.core.api_support import ERRORS, MAX_ID, checked
from kam.intel import selectors, services
from kam.intel.models import TEXT_MAX, IntelItem, sources_to_verify
from kam.opportunities import api as opportunity_api
from kam.opportunities.models import Opportunity

router = Router(tags=["intelligence"])


class IntelIn(Schema):
    text: str = Field(
        description="What we learned (at most 2000 characters).",
        json_schema_extra=checked(maxLength=TEXT_MAX),
    )
    source_contact_ids: list[int] = Field(
        max_length=50,
        json_schema_extra=checked(items={"type": "integer", "minimum": 1, "maximum": MAX_ID}),
        description="The people it came from: contacts of the deal's account, at least one.",
    )
    learned_on: dt.date | None = Field(None, description="YYYY-MM-DD; today when left out.")
    critical: bool | None = Field(
        None, description="Critical items with a single source raise the intel_unverified alert."
    )


class IntelPatch(Schema):
    text: str | None = Field(None, json_schema_extra=checked(maxLength=TEXT_MAX))
    learned_on: dt.date | None = None
    critical: bool | None = None


class ConfirmIn(Schema):
    contact_id: int = Field(
        ge=1, le=MAX_ID, description="Someone who has not confirmed this item yet."
    )
    confirmed_on: dt.date | None = Field(None, description="YYYY-MM-DD; today when left out.")
    note: str | None = Field(None, max_length=200)


class SourceOut(Schema):
    id: int
    contact_id: int
    name: str
    title: str
    contact_status: str = Field(description="active, or left (the person left the account).")
    confirmed_on: dt.date
    note: str

    @staticmethod
    def resolve_name(obj) -> str:
        return obj.contact.name

    @staticmethod
    def resolve_title(obj) -> str:
        return obj.contact.title

    @staticmethod
    def resolve_contact_status(obj) -> str:
        return obj.contact.status


class IntelOut(Schema):
    id: int
    opportunity_id: int
    text: str
    learned_on: dt.date
    critical: bool
    verified: bool = Field(description="Confirmed by at least sources_to_verify different people.")
    source_count: int
    sources_to_verify: int
    sources: list[SourceOut]
    created_at: dt.datetime
    updated_at: dt.datetime

    @staticmethod
    def resolve_sources(obj) -> list:
        return list(obj.sources.all())

    @staticmethod
    def resolve_sources_to_verify(obj) -> int:
        return sources_to_verify()


# The deal for a change (404 outside the user's scope); pass edit=False to read.
_deal = partial(opportunity_api._deal, edit=True)


def _contact(request, contact_id: int, *, field: str):
    return contact_named_in_payload(request.auth, contact_id, field=field)


def _fresh(opp: Opportunity, item_id: int) -> IntelItem:
    """The item as stored after a change, with its sources."""
    return selectors.intel_item_get(opp, item_id)


@router.get("/{int:opportunity_id}/intel", response={200: list[IntelOut], **ERRORS})
def list_intel(request, opportunity_id: int):
    """The deal's intelligence, newest learned first, each with its sources."""
    opp = _deal(request, opportunity_id, edit=False)
    return list(selectors.intel_for_opportunity(opp))


@router.post("/{int:opportunity_id}/intel", response={201: IntelOut, **ERRORS})
def add_intel(request, opportunity_id: int, payload: IntelIn):
    """Record what was learned and from whom. Each listed person counts once; with
    as many different people as `sources_to_verify` the item is verified at once."""
    opp = _deal(request, opportunity_id)
    contacts = [
        _contact(request, cid, field="source_contact_ids") for cid in payload.source_contact_ids
    ]
    item = services.intel_add(
        actor=request.auth,
        opportunity=opp,
        text=payload.text,
        sources=contacts,
        learned_on=payload.learned_on,
        critical=bool(payload.critical),
    )
    return Status(201, _fresh(opp, item.pk))


@router.patch("/{int:opportunity_id}/intel/{int:item_id}", response={200: IntelOut, **ERRORS})
def update_intel(request, opportunity_id: int, item_id: int, payload: IntelPatch):
    """Only the fields sent change; null is refused (each always has a value)."""
    opp = _deal(request, opportunity_id)
    item = selectors.intel_item_get(opp, item_id)
    services.intel_update(actor=request.auth, item=item, **payload.model_dump(exclude_unset=True))
    return _fresh(opp, item.pk)


@router.post(
    "/{int:opportunity_id}/intel/{int:item_id}/sources", response={201: IntelOut, **ERRORS}
)
def confirm_intel(request, opportunity_id: int, item_id: int, payload: ConfirmIn):
    """Another person confirms the item (交叉验证). The same person twice is refused
    on contact_id."""
    opp = _deal(request, opportunity_id)
    item = selectors.intel_item_get(opp, item_id)
    contact = _contact(request, payload.contact_id, field="contact_id")
    services.intel_confirm(
        actor=request.auth,
        item=item,
        contact=contact,
        confirmed_on=payload.confirmed_on,
        note=payload.note or "",
    )
    return Status(201, _fresh(opp, item.pk))


@router.delete(
    "/{int:opportunity_id}/intel/{int:item_id}/sources/{int:source_id}",
    response={200: IntelOut, **ERRORS},
)
def remove_source(request, opportunity_id: int, item_id: int, source_id: int):
    """Take back a confirmation; the last source cannot go (delete the item)."""
    opp = _deal(request, opportunity_id)
    item = selectors.intel_item_get(opp, item_id)
    source = selectors.intel_source_get(item, source_id)
    services.intel_source_remove(actor=request.auth, item=item, source=source)
    return _fresh(opp, item.pk)


@router.delete("/{int:opportunity_id}/intel/{int:item_id}", response={204: None, **ERRORS})
def delete_intel(request, opportunity_id: int, item_id: int):
    opp = _deal(request, opportunity_id)
    services.intel_delete(actor=request.auth, item=selectors.intel_item_get(opp, item_id))
    return Status(204, None)
