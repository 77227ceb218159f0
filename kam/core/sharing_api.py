"""/accounts/{id}/members and /opportunities/{id}/members: who else works on a
record, and with which rights (kam.core.sharing). One router per kind of record,
built by `members_router`, so both teams answer the same way."""

from __future__ import annotations

import datetime as dt
import functools
import inspect
from collections.abc import Callable
from typing import Literal

from ninja import Field, Router, Schema, Status

from kam.core import sharing
from kam.core.api_support import ERRORS
from kam.users.selectors import user_get_for_assignment

MAX_ID = 2**63 - 1


class MemberIn(Schema):
    access: Literal["read", "edit"] = Field(
        description="read: see the record; edit: see and change it (not share it)."
    )


class MemberOut(Schema):
    user_id: int
    username: str
    name: str
    access: str
    added_by: str | None
    created_at: dt.datetime

    @staticmethod
    def resolve_username(obj) -> str:
        return obj.user.username

    @staticmethod
    def resolve_name(obj) -> str:
        return str(obj.user)

    @staticmethod
    def resolve_added_by(obj) -> str | None:
        return str(obj.added_by) if obj.added_by_id else None


def _record_param(id_name: str):
    """Let one handler, written with `record_id`, serve a path whose parameter is
    `account_id` or `opportunity_id` (ninja reads the names from the signature)."""

    def wrap(func):
        @functools.wraps(func)
        def view(request, **params):
            params["record_id"] = params.pop(id_name)
            return func(request, **params)

        sig = inspect.signature(func, eval_str=True)
        view.__signature__ = sig.replace(
            parameters=[
                p.replace(name=id_name) if p.name == "record_id" else p
                for p in sig.parameters.values()
            ]
        )
        del view.__wrapped__  # or inspect would follow it back to `record_id`
        return view

    return wrap


def members_router(
    *,
    tag: str,
    id_name: str,
    member_model: type[sharing.Membership],
    get_for_user: Callable,
) -> Router:
    """GET the team, PUT a colleague's access, DELETE them — for one kind of record.
    `get_for_user(user, id)` is the record's read selector (404 out of sight); the
    sharing service then checks the caller may share it (403 otherwise)."""
    router = Router(tags=[tag])
    path = f"/{{int:{id_name}}}/members"

    def record(request, record_id: int):
        if record_id > MAX_ID:
            return get_for_user(request.auth, 0)  # the selector's own "not found"
        return get_for_user(request.auth, record_id)

    by_id = _record_param(id_name)

    @router.get(path, response={200: list[MemberOut], **ERRORS}, operation_id=f"{tag}_members")
    @by_id
    def list_members(request, record_id: int):
        found = record(request, record_id)
        return list(sharing.members_of(found, member_model))

    @router.put(
        path + "/{int:user_id}",
        response={200: MemberOut, **ERRORS},
        operation_id=f"{tag}_member_set",
    )
    @by_id
    def set_member(request, record_id: int, user_id: int, payload: MemberIn):
        """Add a colleague to the team, or change their access. Only the owner, the
        owner's manager or an admin may."""
        found = record(request, record_id)
        user = user_get_for_assignment(user_id, field="user_id")
        return sharing.member_set(
            actor=request.auth,
            record=found,
            member_model=member_model,
            user=user,
            access=payload.access,
        )

    @router.delete(
        path + "/{int:user_id}",
        response={204: None, **ERRORS},
        operation_id=f"{tag}_member_remove",
    )
    @by_id
    def remove_member(request, record_id: int, user_id: int):
        found = record(request, record_id)
        sharing.member_remove(
            actor=request.auth, record=found, member_model=member_model, user_id=user_id
        )
        return Status(204, None)

    return router
