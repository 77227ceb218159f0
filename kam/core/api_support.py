"""What every API router shares: token auth, the error format, pagination.

Error format (SPEC §9): JSON with a human `detail` in the user's language and,
for validation, the `field` at fault (and `errors` when there are several)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from decimal import Decimal
from typing import Annotated, Any

from django.conf import settings
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import Field, Schema
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError
from ninja.security import HttpBearer
from pydantic import BaseModel, WithJsonSchema

from kam.core.concurrency import etag, parse_if_match
from kam.core.db import page_rows
from kam.core.errors import DomainError, ValidationFailed
from kam.users.selectors import user_get_for_assignment
from kam.users.services import token_authenticate


class BearerAuth(HttpBearer):
    """`Authorization: Bearer <token>` with a token from `kam token NAME`."""

    def authenticate(self, request: HttpRequest, token: str):
        user = token_authenticate(token)
        if user is not None:
            request.user = user
        return user


class SessionAuth:
    """The signed-in browser session (for the browsable docs). Unsafe methods also
    need the CSRF token, as for any form."""

    openapi_type = "apiKey"
    openapi_name = "sessionid"
    openapi_in = "cookie"

    def __call__(self, request: HttpRequest):
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated or not user.is_active:
            return None
        if request.method not in ("GET", "HEAD", "OPTIONS"):
            from django.middleware.csrf import CsrfViewMiddleware

            reason = CsrfViewMiddleware(lambda r: None).process_view(request, None, (), {})
            if reason is not None:
                return None
        return user


class ErrorOut(Schema):
    detail: str
    field: str | None = None


class FieldError(Schema):
    field: str
    message: str


class ValidationErrorOut(Schema):
    detail: str
    field: str | None = None
    errors: list[FieldError] = []


# The error answers every endpoint may give; declared so the OpenAPI schema tells the truth
# (400: a body that is not JSON; tests/security/test_schemathesis.py holds every answer to it).
ERRORS = {
    400: ErrorOut,
    401: ErrorOut,
    403: ErrorOut,
    404: ErrorOut,
    409: ErrorOut,
    422: ValidationErrorOut,
}

# --- input limits: every text, list, number and id of a request body is bounded ------------
# The longest free text (a TextField: notes, descriptions) the API takes.
TEXT_MAX = 10_000
# Ids are 64-bit integers: a larger one cannot exist (a 422 in a body, a 404 in a path).
MAX_ID = 2**63 - 1
# Money columns are Decimal(16, 2); the services refuse 10^14 and more ("too large").
MONEY_DIGITS = 16
_MONEY_TEXT = {"type": "string", "maxLength": 32, "pattern": r"^\s*-?[0-9]+(\.[0-9]+)?\s*$"}


def checked(**limits: Any) -> dict[str, Any]:
    """JSON-schema limits a service enforces itself, with a message of its own that the
    tests pin (e.g. "Use at most 500 characters (this has 501)."): declared in the
    schema, left to the service. `Field(..., json_schema_extra=checked(maxLength=500))`."""
    return limits


def checked_decimal(minimum: float, maximum: float) -> WithJsonSchema:
    """The schema of a Decimal the service checks (a number in the range, or its text):
    `Annotated[Decimal, checked_decimal(0, 100)]` for a share in per cent."""
    return WithJsonSchema(
        {"anyOf": [{"type": "number", "minimum": minimum, "maximum": maximum}, _MONEY_TEXT]}
    )


# An amount of money: a number or its text, 0 ≤ amount < 10^14, two decimals at most (the
# service checks the range and the decimals; more than 16 digits never reaches it).
Money = Annotated[
    Decimal,
    Field(max_digits=MONEY_DIGITS),
    WithJsonSchema(
        {"anyOf": [{"type": "number", "minimum": 0, "exclusiveMaximum": 1e14}, _MONEY_TEXT]}
    ),
]
# The same, where a loss may be recorded (a profit): −10^14 < amount < 10^14.
SignedMoney = Annotated[
    Decimal,
    Field(max_digits=MONEY_DIGITS),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "number", "exclusiveMinimum": -1e14, "exclusiveMaximum": 1e14},
                _MONEY_TEXT,
            ]
        }
    ),
]


class PreconditionOut(Schema):
    detail: str
    field: str | None = None
    version: int = Field(description="The record's version now: read it again, then retry.")
    your_version: int = Field(description="The version your If-Match named.")


# Writes to a versioned record (opportunity, account, stakeholder) may also answer 412.
VERSIONED_ERRORS = {**ERRORS, 412: PreconditionOut}

IF_MATCH_HELP = (
    'The ETag of your last read of this record, e.g. "3": the change is refused (412) '
    "if someone changed the record since. Leave it out to write regardless."
)


def version_named(value: str | None) -> int | None:
    """The version an If-Match header names (None: no check)."""
    return parse_if_match(value)


def set_etag(response: HttpResponse, record) -> None:
    """The record's version as its ETag, for the next write's If-Match."""
    response["ETag"] = etag(record)


def _field_name(loc: list[Any] | tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "payload")]
    # ninja nests the body under the parameter name; drop it when it leads.
    if len(parts) > 1 and parts[0] in ("form", "file"):
        parts = parts[1:]  # a multipart field: its source, then its name
    return ".".join(parts) or "body"


_PYDANTIC_MESSAGES = {
    "missing": lambda e: _("This field is required."),
    "string_too_long": lambda e: (
        _("Use at most %(max)s characters.") % {"max": e.get("ctx", {}).get("max_length")}
    ),
    "string_too_short": lambda e: _("This field cannot be empty."),
    "int_parsing": lambda e: _("Enter a whole number."),
    "int_type": lambda e: _("Enter a whole number."),
    "decimal_parsing": lambda e: _("Enter a number, e.g. 1250000.00."),
    "decimal_type": lambda e: _("Enter a number, e.g. 1250000.00."),
    "float_parsing": lambda e: _("Enter a number."),
    "date_from_datetime_parsing": lambda e: _("Enter a date as YYYY-MM-DD."),
    "date_parsing": lambda e: _("Enter a date as YYYY-MM-DD."),
    "date_type": lambda e: _("Enter a date as YYYY-MM-DD."),
    "bool_parsing": lambda e: _("Enter true or false."),
    "literal_error": lambda e: (
        _("Use one of: %(expected)s.") % {"expected": e.get("ctx", {}).get("expected", "")}
    ),
    "enum": lambda e: (
        _("Use one of: %(expected)s.") % {"expected": e.get("ctx", {}).get("expected", "")}
    ),
    "too_long": lambda e: (
        _("Give at most %(max)s items.") % {"max": e.get("ctx", {}).get("max_length")}
    ),
    "decimal_max_digits": lambda e: _("The number is too large."),
    "decimal_whole_digits": lambda e: _("The number is too large."),
    "greater_than_equal": lambda e: (
        _("Enter a value of at least %(min)s.") % {"min": e.get("ctx", {}).get("ge")}
    ),
    "less_than_equal": lambda e: (
        _("Enter a value of at most %(max)s.") % {"max": e.get("ctx", {}).get("le")}
    ),
    "extra_forbidden": lambda e: _("Unknown field: remove it."),
    "json_invalid": lambda e: _("The request body is not valid JSON."),
    "model_attributes_type": lambda e: _("Send a JSON object."),
    "dict_type": lambda e: _("Send a JSON object."),
    "list_type": lambda e: _("Send a list."),
    "string_type": lambda e: _("Enter text."),
}


def _message(err: dict) -> str:
    maker = _PYDANTIC_MESSAGES.get(err.get("type", ""))
    return (
        maker(err) if maker else _("This value is not valid: %(msg)s") % {"msg": err.get("msg", "")}
    )


def _nul_at(value: Any, path: list[str]) -> str | None:
    """The dotted path of the first text holding a NUL character, or None."""
    if isinstance(value, BaseModel):
        value = value.model_dump()
    if isinstance(value, str):
        return ".".join(path) or "body" if "\x00" in value else None
    if isinstance(value, dict):
        for key, item in value.items():
            where = [*path, str(key)]
            if isinstance(key, str) and "\x00" in key:
                return ".".join(where)
            found = _nul_at(item, where)
            if found is not None:
                return found
    elif isinstance(value, list | tuple):
        for i, item in enumerate(value):
            found = _nul_at(item, [*path, str(i)])
            if found is not None:
                return found
    return None


def refuse_nul(view_func):
    """Every operation's parsed input (after authentication and the schema's checks):
    a text holding the NUL character is a 422 naming the field. No field means it, and
    PostgreSQL cannot store it (a 500 there, found by tests/security/test_schemathesis.py);
    the web forms refuse it already (Django's CharField)."""

    @functools.wraps(view_func)
    def checked_view(request, *args, **kwargs):
        for name, value in kwargs.items():
            where = _nul_at(value, [] if isinstance(value, BaseModel) else [name])
            if where is not None:
                raise ValidationFailed(
                    _("Text cannot contain the NUL character (\\u0000): remove it."), field=where
                )
        return view_func(request, *args, **kwargs)

    return checked_view


def install_error_handlers(api) -> None:
    api.add_decorator(refuse_nul, mode="operation")

    @api.exception_handler(DomainError)
    def domain_error(request, exc: DomainError):
        body: dict[str, Any] = {"detail": str(exc.message)}
        if exc.field:
            body["field"] = exc.field
        body.update(exc.extra)
        return api.create_response(request, body, status=exc.status)

    @api.exception_handler(NinjaValidationError)
    def validation_error(request, exc: NinjaValidationError):
        errors = [
            {"field": _field_name(e.get("loc", ())), "message": _message(e)} for e in exc.errors
        ]
        first = errors[0] if errors else {"field": "body", "message": _("Invalid request.")}
        body = {
            "detail": f"{first['field']}: {first['message']}",
            "field": first["field"],
            "errors": errors,
        }
        return api.create_response(request, body, status=422)

    @api.exception_handler(AuthenticationError)
    def auth_error(request, exc):
        return api.create_response(
            request,
            {
                "detail": _(
                    "Sign in first: send 'Authorization: Bearer <token>' "
                    "(get one with 'kam token NAME')."
                )
            },
            status=401,
        )

    @api.exception_handler(HttpError)
    def http_error(request, exc: HttpError):
        detail = str(exc)
        if detail.startswith("Cannot parse request body"):
            detail = _("The request body is not valid JSON: send a JSON object.")
            return api.create_response(request, {"detail": detail, "field": "body"}, status=400)
        return api.create_response(request, {"detail": detail}, status=exc.status_code)


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """Django's 404 for an address no route matches (`handler404`): under /api/ the API's
    JSON error, as its schema declares (e.g. /api/v1/accounts/-1, where an id is a whole
    number from 0); the site's page elsewhere."""
    from django.http import JsonResponse
    from django.views.defaults import page_not_found

    if request.path.startswith("/api/"):
        detail = _("Nothing is at this address of the API; see /api/v1/docs.")
        return JsonResponse(
            {"detail": detail}, status=404, json_dumps_params={"ensure_ascii": False}
        )
    return page_not_found(request, exception)


def take_owner(data: dict[str, Any], *, partial: bool, required_message: str) -> None:
    """Swap a payload's `owner_id` for the user it names. On create a null owner means
    "me" (the service's default); on PATCH a record cannot be left without one."""
    if "owner_id" not in data:
        return
    owner_id = data.pop("owner_id")
    if owner_id is not None:
        data["owner"] = user_get_for_assignment(owner_id)
    elif partial:
        raise ValidationFailed(required_message, field="owner_id")


def refuse_nulls(data: dict[str, Any], keys: tuple[str, ...]) -> None:
    """PATCH with null for a field that must always hold a value is a 422."""
    for key in keys:
        if key in data and data[key] is None:
            raise ValidationFailed(_("This field cannot be empty."), field=key)


class PageQuery(Schema):
    """`?page=&page_size=` for a paged list (checked by `paginate`)."""

    page: int = 1
    page_size: int = 50


def paginate(
    qs: QuerySet | list,
    *,
    page: int,
    page_size: int,
    read: Callable[[QuerySet], QuerySet] | None = None,
    ids_first: bool = False,
) -> dict[str, Any]:
    """One COUNT and one LIMIT/OFFSET query, whatever the page size; a list already
    computed (a report's rows) is paged the same way, without a query. `read`: what
    the page reads of the counted queryset (its columns, joins, annotations).
    `ids_first`: the page's ids are picked first, then its rows read by id
    (kam.core.db.page_rows: for a list sorted over a large table)."""
    if page < 1:
        raise ValidationFailed(_("Pages start at 1."), field="page")
    if page_size < 1 or page_size > settings.KAM_MAX_PAGE_SIZE:
        raise ValidationFailed(
            _("page_size must be from 1 to %(max)d.") % {"max": settings.KAM_MAX_PAGE_SIZE},
            field="page_size",
        )
    count = len(qs) if isinstance(qs, list) else qs.count()
    offset = (page - 1) * page_size
    if offset >= count:
        items = []
    elif ids_first and not isinstance(qs, list):
        items = page_rows(qs, offset, offset + page_size, read)
    else:
        shown = read(qs) if read is not None else qs
        items = list(shown[offset : offset + page_size])
    return {"items": items, "count": count, "page": page, "page_size": page_size}
