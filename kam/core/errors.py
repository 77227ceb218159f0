"""Errors a user can act on. Services raise these; the API turns them into JSON
(status + message + field), the web views into form errors. Messages are already
translated (gettext) when raised, so they reach the user in their language."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    status = 400

    def __init__(self, message: Any, *, field: str | None = None, extra: dict | None = None):
        super().__init__(str(message))
        self.message = message
        self.field = field
        self.extra = extra or {}


class ValidationFailed(DomainError):
    """Input that breaks a business rule (HTTP 422)."""

    status = 422


class NotFound(DomainError):
    """Unknown id, or one the user may not see: the two look the same from outside."""

    status = 404


class PermissionDenied(DomainError):
    """Visible but not changeable by this user."""

    status = 403


class Conflict(DomainError):
    """The request is valid but the record's state forbids it (HTTP 409)."""

    status = 409


class PreconditionFailed(DomainError):
    """The record changed since the client read it (`If-Match` names an older
    version): HTTP 412, with the record as it is now so the client can compare."""

    status = 412
