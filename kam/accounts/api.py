"""/api/v1/accounts — parse, authorise through selectors, call one service."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema, Status

from kam.accounts import selectors, services
from kam.core.api_support import ERRORS, paginate, refuse_nulls, take_owner

router = Router(tags=["accounts"])


class AccountIn(Schema):
    name: str = Field(max_length=200)
    code: str | None = Field(None, max_length=64)
    industry: str | None = Field(None, max_length=100)
    region: str | None = Field(None, max_length=100)
    size: str | None = None
    nature: str | None = None
    account_type: str | None = None
    annual_revenue: Decimal | None = None
    collection_cycle_days: int | None = None
    receivables: Decimal | None = None
    credit_limit: Decimal | None = None
    notes: str | None = Field(None, max_length=10_000)
    value_positioning: int | None = None
    attributes: dict[str, str | list[str]] | None = None
    owner_id: int | None = None


class AccountPatch(Schema):
    name: str | None = Field(None, max_length=200)
    code: str | None = Field(None, max_length=64)
    industry: str | None = Field(None, max_length=100)
    region: str | None = Field(None, max_length=100)
    size: str | None = None
    nature: str | None = None
    account_type: str | None = None
    annual_revenue: Decimal | None = None
    collection_cycle_days: int | None = None
    receivables: Decimal | None = None
    credit_limit: Decimal | None = None
    notes: str | None = Field(None, max_length=10_000)
    value_positioning: int | None = None
    attributes: dict[str, str | list[str]] | None = None
    owner_id: int | None = None


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
    owner_id: int | None = None
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
def create_account(request, payload: AccountIn):
    data = _fields(payload, partial=False)
    account = services.account_create(actor=request.auth, **data)
    return Status(201, account)


@router.get("/{int:account_id}", response={200: AccountOut, **ERRORS})
def get_account(request, account_id: int):
    return selectors.account_get_for_user(request.auth, account_id)


@router.patch("/{int:account_id}", response={200: AccountOut, **ERRORS})
def update_account(request, account_id: int, payload: AccountPatch):
    account = selectors.account_get_for_edit(request.auth, account_id)
    data = _fields(payload, partial=True)
    return services.account_update(actor=request.auth, account=account, **data)


@router.delete("/{int:account_id}", response={204: None, **ERRORS})
def delete_account(request, account_id: int):
    account = selectors.account_get_for_edit(request.auth, account_id)
    services.account_delete(actor=request.auth, account=account)
    return Status(204, None)
