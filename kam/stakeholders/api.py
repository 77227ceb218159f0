"""/api/v1/opportunities/{id}/stakeholders: a deal's buying centre (采购组织).

Mounted under /opportunities beside the opportunities router (see
kam/config/api.py), so the paths are the contract's. The deal is looked up
through the opportunity selectors (outside the user's scope: 404); the contact
must be one the user can see, and the service checks it belongs to the deal's
account."""

from __future__ import annotations

import datetime as dt
from functools import partial
from typing import Annotated

from django.http import HttpResponse
from django.utils.translation import gettext as _
from ninja import Field, Header, Router, Schema, Status

from kam.contacts.selectors import contact_named_in_payload
from kam.core.api_support import (
    ERRORS,
    IF_MATCH_HELP,
    TEXT_MAX,
    VERSIONED_ERRORS,
    checked,
    set_etag,
    version_named,
)
from kam.core.errors import NotFound
from kam.opportunities import api as opportunity_api
from kam.opportunities.models import Opportunity
from kam.stakeholders import services
from kam.stakeholders.models import Stakeholder

router = Router(tags=["stakeholders"])

MAX_ID = 2**63 - 1
ROLES_HELP = (
    "Any of: decision_maker, purchaser, technical, user, influencer, gatekeeper, executor, "
    "finance, external."
)
# Role keys (the service refuses unknown ones; a repeat counts once).
Roles = Annotated[list[Annotated[str, Field(max_length=20)]], Field(max_length=20)]
STANCE_HELP = "champion, supporter, neutral, enemy, blocker or unknown."


class StakeholderFields(Schema):
    is_coach: bool | None = Field(None, description="The insider who tells us what happens.")
    influence: int | None = Field(
        None,
        description="Weight in the decision, 1–5.",
        json_schema_extra=checked(minimum=1, maximum=5),
    )
    relationship: int | None = Field(
        None,
        description="0 none, 1 acquainted, 2 interacting, 3 trusting, 4 ally.",
        json_schema_extra=checked(minimum=0, maximum=4),
    )
    disc: str | None = Field(None, max_length=1, description="D, I, S or C.")
    notes: str | None = Field(None, max_length=TEXT_MAX)


class StakeholderIn(StakeholderFields):
    contact_id: int = Field(ge=1, le=MAX_ID)
    roles: Roles | None = Field(None, description=ROLES_HELP)
    stance: str | None = Field(None, max_length=10, description=STANCE_HELP)


class StakeholderPatch(StakeholderFields):
    roles: Roles | None = Field(None, description=ROLES_HELP)
    stance: str | None = Field(None, max_length=10, description=STANCE_HELP)


class StakeholderOut(Schema):
    id: int
    opportunity_id: int
    contact_id: int
    name: str
    title: str
    department: str
    layer: str
    contact_status: str = Field(description="active, or left (the person left the account).")
    roles: list[str]
    stance: str
    is_coach: bool
    influence: int | None
    relationship: int | None
    disc: str
    notes: str
    created_at: dt.datetime
    updated_at: dt.datetime
    version: int = Field(description="Raised by every change; also the ETag header.")

    @staticmethod
    def resolve_name(obj) -> str:
        return obj.contact.name

    @staticmethod
    def resolve_title(obj) -> str:
        return obj.contact.title

    @staticmethod
    def resolve_department(obj) -> str:
        return obj.contact.department

    @staticmethod
    def resolve_layer(obj) -> str:
        return obj.contact.layer

    @staticmethod
    def resolve_contact_status(obj) -> str:
        return obj.contact.status


# The deal for a change (404 outside the user's scope); pass edit=False to read.
_deal = partial(opportunity_api._deal, edit=True)


def _stakeholder(opp: Opportunity, stakeholder_id: int) -> Stakeholder:
    found = (
        Stakeholder.objects.select_related("contact")
        .filter(pk=stakeholder_id, opportunity=opp)
        .first()
        if stakeholder_id <= MAX_ID
        else None
    )
    if found is None:
        raise NotFound(_("No such stakeholder on this opportunity."))
    found.opportunity = opp
    return found


@router.get("/{int:opportunity_id}/stakeholders", response={200: list[StakeholderOut], **ERRORS})
def list_stakeholders(request, opportunity_id: int):
    opp = _deal(request, opportunity_id, edit=False)
    return list(Stakeholder.objects.filter(opportunity=opp).select_related("contact"))


@router.get(
    "/{int:opportunity_id}/stakeholders/{int:stakeholder_id}",
    response={200: StakeholderOut, **ERRORS},
)
def get_stakeholder(request, opportunity_id: int, stakeholder_id: int, response: HttpResponse):
    stakeholder = _stakeholder(_deal(request, opportunity_id, edit=False), stakeholder_id)
    set_etag(response, stakeholder)
    return stakeholder


@router.post("/{int:opportunity_id}/stakeholders", response={201: StakeholderOut, **ERRORS})
def add_stakeholder(request, opportunity_id: int, payload: StakeholderIn, response: HttpResponse):
    """Put a contact of the deal's account into its buying centre with their roles
    and stance. Fields left out (or null) take their defaults: no roles, stance
    unknown, not a coach."""
    opp = _deal(request, opportunity_id)
    contact = contact_named_in_payload(request.auth, payload.contact_id, field="contact_id")
    fields = {k: v for k, v in payload.model_dump(exclude={"contact_id"}).items() if v is not None}
    stakeholder = services.stakeholder_add(
        actor=request.auth, opportunity=opp, contact=contact, **fields
    )
    set_etag(response, stakeholder)
    return Status(201, stakeholder)


@router.patch(
    "/{int:opportunity_id}/stakeholders/{int:stakeholder_id}",
    response={200: StakeholderOut, **VERSIONED_ERRORS},
)
def update_stakeholder(
    request,
    opportunity_id: int,
    stakeholder_id: int,
    payload: StakeholderPatch,
    response: HttpResponse,
    if_match: str | None = Header(None, alias="If-Match", description=IF_MATCH_HELP),
):
    """Only the fields sent change; null empties the optional ones (influence,
    relationship, disc, notes) and is refused where a value is always needed
    (roles, stance, is_coach)."""
    opp = _deal(request, opportunity_id)
    stakeholder = _stakeholder(opp, stakeholder_id)
    changes = payload.model_dump(exclude_unset=True)
    stakeholder = services.stakeholder_update(
        actor=request.auth,
        stakeholder=stakeholder,
        expected_version=version_named(if_match),
        **changes,
    )
    set_etag(response, stakeholder)
    return stakeholder


@router.delete(
    "/{int:opportunity_id}/stakeholders/{int:stakeholder_id}",
    response={204: None, **VERSIONED_ERRORS},
)
def remove_stakeholder(
    request,
    opportunity_id: int,
    stakeholder_id: int,
    if_match: str | None = Header(None, alias="If-Match", description=IF_MATCH_HELP),
):
    opp = _deal(request, opportunity_id)
    services.stakeholder_remove(
        actor=request.auth,
        stakeholder=_stakeholder(opp, stakeholder_id),
        expected_version=version_named(if_match),
    )
    return Status(204, None)
