"""/api/v1/contacts."""

from __future__ import annotations

import datetime as dt

from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema, Status

from kam.contacts import selectors, services
from kam.contacts.models import Contact
from kam.core.api_support import ERRORS, MAX_ID, TEXT_MAX, paginate, refuse_nulls
from kam.core.errors import ValidationFailed

router = Router(tags=["contacts"])


class ContactFields(Schema):
    code: str | None = Field(None, max_length=64)
    title: str | None = Field(None, max_length=100)
    department: str | None = Field(None, max_length=100)
    reports_to_id: int | None = Field(None, ge=1, le=MAX_ID)
    layer: str | None = Field(None, max_length=20)
    disc: str | None = Field(None, max_length=1)
    status: str | None = Field(None, max_length=10)
    is_external: bool | None = None
    joined_at: dt.date | None = None
    left_at: dt.date | None = None
    phone: str | None = Field(None, max_length=50)
    email: str | None = Field(None, max_length=200)
    notes: str | None = Field(None, max_length=TEXT_MAX)


class ContactIn(ContactFields):
    account_id: int = Field(ge=1, le=MAX_ID)
    name: str = Field(max_length=100)


class ContactPatch(ContactFields):
    name: str | None = Field(None, max_length=100)


class ContactOut(Schema):
    id: int
    account_id: int
    account_name: str
    name: str
    code: str | None
    title: str
    department: str
    reports_to_id: int | None
    layer: str
    disc: str
    status: str
    is_external: bool
    joined_at: dt.date | None
    left_at: dt.date | None
    phone: str
    email: str
    notes: str
    created_at: dt.datetime
    updated_at: dt.datetime

    @staticmethod
    def resolve_account_name(obj) -> str:
        return obj.account.name


class ContactPage(Schema):
    items: list[ContactOut]
    count: int
    page: int
    page_size: int


class ContactFilters(Schema):
    account_id: int | None = Field(None, ge=0, le=MAX_ID)
    q: str = ""
    status: str = ""
    layer: str = ""
    page: int = 1
    page_size: int = 50


def _fields(request, payload: Schema, *, partial: bool) -> dict:
    data = payload.model_dump(exclude_unset=partial)
    data.pop("account_id", None)
    if "reports_to_id" in data:
        boss_id = data.pop("reports_to_id")
        boss = None
        if boss_id is not None:
            boss = selectors.contacts_for_user(request.auth).filter(pk=boss_id).first()
            if boss is None:
                raise ValidationFailed(
                    _("No such contact: %(id)s.") % {"id": boss_id}, field="reports_to_id"
                )
        data["reports_to"] = boss
    for key in ("title", "department", "layer", "disc", "phone", "email", "notes"):
        if key in data and data[key] is None:
            data[key] = ""
    if data.get("status") is None:
        data.pop("status", None)
    if data.get("is_external") is None:
        data.pop("is_external", None)
    if partial:
        refuse_nulls(data, ("name",))
    return data


@router.get("", response={200: ContactPage, **ERRORS})
def list_contacts(request, filters: Query[ContactFilters]):
    qs = selectors.contact_list(
        request.auth,
        account_id=filters.account_id,
        q=filters.q,
        status=filters.status,
        layer=filters.layer,
    )
    return paginate(qs, page=filters.page, page_size=filters.page_size)


@router.post("", response={201: ContactOut, **ERRORS})
def create_contact(request, payload: ContactIn):
    account = selectors.account_for_contact_work(
        request.auth, payload.account_id, field="account_id"
    )
    data = _fields(request, payload, partial=False)
    contact = services.contact_create(actor=request.auth, account=account, **data)
    return Status(201, Contact.objects.select_related("account").get(pk=contact.pk))


@router.get("/{int:contact_id}", response={200: ContactOut, **ERRORS})
def get_contact(request, contact_id: int):
    return selectors.contact_get_for_user(request.auth, contact_id)


@router.patch("/{int:contact_id}", response={200: ContactOut, **ERRORS})
def update_contact(request, contact_id: int, payload: ContactPatch):
    contact = selectors.contact_get_for_edit(request.auth, contact_id)
    data = _fields(request, payload, partial=True)
    return services.contact_update(actor=request.auth, contact=contact, **data)


@router.delete("/{int:contact_id}", response={204: None, **ERRORS})
def delete_contact(request, contact_id: int):
    contact = selectors.contact_get_for_edit(request.auth, contact_id)
    services.contact_delete(actor=request.auth, contact=contact)
    return Status(204, None)
