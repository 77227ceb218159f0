"""/api/v1/accounts — parse, authorise through selectors, call one service."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated

from django.http import HttpResponse
from django.utils.translation import gettext as _
from ninja import Field, Header, Query, Router, Schema, Status
from pydantic import WithJsonSchema

from kam.accounts import selectors, services
from kam.core.api_support import (
    ERRORS,
    IF_MATCH_HELP,
    MAX_ID,
    TEXT_MAX,
    VERSIONED_ERRORS,
    Money,
    checked,
    paginate,
    refuse_nulls,
    set_etag,
    take_owner,
    version_named,
)

router = Router(tags=["accounts"])

# The segmentation profile {variable: value}: one text value each (the service checks the
# variables and values, kam/segments/attributes.py).
Attributes = Annotated[
    dict[str, str | list[str]],
    WithJsonSchema(
        {
            "type": "object",
            "maxProperties": 50,
            "propertyNames": {"maxLength": 40},
            "additionalProperties": {"type": "string", "maxLength": 100},
        }
    ),
]


class AccountIn(Schema):
    name: str = Field(max_length=200)
    code: str | None = Field(None, max_length=64)
    industry: str | None = Field(None, max_length=100)
    region: str | None = Field(None, max_length=100)
    size: str | None = Field(None, max_length=20)
    nature: str | None = Field(None, max_length=20)
    account_type: str | None = Field(None, max_length=20)
    annual_revenue: Money | None = None
    collection_cycle_days: int | None = Field(
        None, json_schema_extra=checked(minimum=0, maximum=3650)
    )
    receivables: Money | None = None
    credit_limit: Money | None = None
    notes: str | None = Field(None, max_length=TEXT_MAX)
    value_positioning: int | None = Field(None, json_schema_extra=checked(minimum=1, maximum=5))
    attributes: Attributes | None = None
    owner_id: int | None = Field(None, ge=1, le=MAX_ID)


class AccountPatch(AccountIn):
    """The same fields, every one optional: only those sent change."""

    name: str | None = Field(None, max_length=200)


class AccountOut(Schema):
    id: int
    name: str
    code: str | None
    industry: str
    region: str
    size: str
    nature: str
    account_type: str
    annual_revenue: Decimal | None
    collection_cycle_days: int | None
    receivables: Decimal | None
    credit_limit: Decimal | None
    notes: str
    value_positioning: int | None
    attributes: dict
    owner_id: int
    owner_name: str
    created_at: dt.datetime
    updated_at: dt.datetime
    version: int = Field(description="Raised by every change; also the ETag header.")

    @staticmethod
    def resolve_owner_name(obj) -> str:
        return str(obj.owner)


class AccountListItem(AccountOut):
    open_opportunities: int = 0


class AccountPage(Schema):
    items: list[AccountListItem]
    count: int
    page: int
    page_size: int


class AccountFilters(Schema):
    q: str = ""
    industry: str = ""
    region: str = ""
    account_type: str = ""
    owner_id: int | None = Field(None, ge=0, le=MAX_ID)
    page: int = 1
    page_size: int = 50


def _fields(payload: Schema, *, partial: bool) -> dict:
    data = payload.model_dump(exclude_unset=partial)
    take_owner(
        data, partial=partial, required_message=_("An account always has an account manager.")
    )
    if partial:
        refuse_nulls(data, ("name",))
    return data


@router.get("", response={200: AccountPage, **ERRORS})
def list_accounts(request, filters: Query[AccountFilters]):
    qs = selectors.account_list(
        request.auth,
        q=filters.q,
        industry=filters.industry,
        region=filters.region,
        account_type=filters.account_type,
        owner_id=filters.owner_id,
    )
    return paginate(qs, page=filters.page, page_size=filters.page_size)


@router.post("", response={201: AccountOut, **ERRORS})
def create_account(request, payload: AccountIn, response: HttpResponse):
    data = _fields(payload, partial=False)
    account = services.account_create(actor=request.auth, **data)
    set_etag(response, account)
    return Status(201, account)


@router.get("/{int:account_id}", response={200: AccountOut, **ERRORS})
def get_account(request, account_id: int, response: HttpResponse):
    account = selectors.account_get_for_user(request.auth, account_id)
    set_etag(response, account)
    return account


@router.patch("/{int:account_id}", response={200: AccountOut, **VERSIONED_ERRORS})
def update_account(
    request,
    account_id: int,
    payload: AccountPatch,
    response: HttpResponse,
    if_match: str | None = Header(None, alias="If-Match", description=IF_MATCH_HELP),
):
    account = selectors.account_get_for_edit(request.auth, account_id)
    data = _fields(payload, partial=True)
    account = services.account_update(
        actor=request.auth, account=account, expected_version=version_named(if_match), **data
    )
    set_etag(response, account)
    return account


@router.delete("/{int:account_id}", response={204: None, **VERSIONED_ERRORS})
def delete_account(
    request,
    account_id: int,
    if_match: str | None = Header(None, alias="If-Match", description=IF_MATCH_HELP),
):
    account = selectors.account_get_for_edit(request.auth, account_id)
    services.account_delete(
        actor=request.auth, account=account, expected_version=version_named(if_match)
    )
    return Status(204, None)
