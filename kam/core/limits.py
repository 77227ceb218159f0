"""Request size limits that answer in words (OWASP ASVS 13.1.3 / 12.1.1).

Django caps a request body at DATA_UPLOAD_MAX_MEMORY_SIZE (KAM_MAX_REQUEST_BYTES) and
the number of form fields or query parameters at DATA_UPLOAD_MAX_NUMBER_FIELDS
(KAM_MAX_REQUEST_FIELDS), but refuses with a bare "Bad Request (400)" HTML page — to
the API's JSON clients too. This middleware answers 413 instead: JSON
`{detail, field: "body"}` under /api/, a page saying what the limit is elsewhere.

- A body whose Content-Length is over the limit is refused before anything reads it.
  Uploads (multipart) may be as large as the largest upload or import file allowed
  (KAM_MAX_UPLOAD_BYTES, KAM_MAX_IMPORT_BYTES) plus the form's other fields; the view
  then checks the file against its own limit and says so on its field.
- A form post is parsed here (the CSRF check parses it next anyway), so too many
  fields, files, or non-file fields over the limit are refused in the same words.
- The same refusals raised later by a view (an API body read by django-ninja, a query
  string with too many parameters) are turned into the same answers."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

REFUSED = (RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent)
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def readable_size(n: int) -> str:
    """2 MB, 1.5 MB, 512 KB, 900 B: a limit as a person reads it."""
    mb, kb = 1024 * 1024, 1024
    if n >= mb:
        return f"{n / mb:.1f}".removesuffix(".0") + " MB"
    if n >= kb:
        return f"{n / kb:.1f}".removesuffix(".0") + " KB"
    return f"{n} B"


def body_limit(request: HttpRequest) -> int | None:
    """The most bytes this request's body may have; None for no limit."""
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    if limit is None:
        return None
    if request.content_type == "multipart/form-data":
        return max(settings.KAM_MAX_UPLOAD_BYTES, settings.KAM_MAX_IMPORT_BYTES) + limit
    return limit


def _content_length(request: HttpRequest) -> int:
    try:
        return max(int(request.META.get("CONTENT_LENGTH") or 0), 0)
    except ValueError:
        return 0


def _message(request: HttpRequest, exc: Exception | None) -> str:
    if isinstance(exc, TooManyFieldsSent):
        return _(
            "The request has more than %(count)d fields or parameters, the most this server "
            "accepts at once. Send fewer."
        ) % {"count": settings.DATA_UPLOAD_MAX_NUMBER_FIELDS}
    if isinstance(exc, TooManyFilesSent):
        return _(
            "The request has more than %(count)d files, the most this server accepts at once. "
            "Send fewer."
        ) % {"count": settings.DATA_UPLOAD_MAX_NUMBER_FILES}
    if exc is None and request.content_type == "multipart/form-data":
        return _(
            "The upload is larger than %(limit)s, the most this server accepts. Upload a "
            "smaller file."
        ) % {"limit": readable_size(body_limit(request) or 0)}
    return _(
        "The request is larger than %(limit)s, the most this server accepts at once. "
        "Send less in one request."
    ) % {"limit": readable_size(settings.DATA_UPLOAD_MAX_MEMORY_SIZE or 0)}


def refusal(request: HttpRequest, exc: Exception | None = None) -> HttpResponse:
    """413 with the limit in words: JSON for the API, a page for a person."""
    message = _message(request, exc)
    if request.path.startswith("/api/"):
        return JsonResponse(
            {"detail": message, "field": "body"},
            status=413,
            json_dumps_params={"ensure_ascii": False},
        )
    return render(request, "413.html", {"message": message}, status=413)


class RequestLimitsMiddleware:
    """Placed after LocaleMiddleware (the answer is in the user's language) and before
    anything that reads the body (CsrfViewMiddleware)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        limit = body_limit(request)
        if limit is not None and _content_length(request) > limit:
            return refusal(request)
        if request.method == "POST" and request.content_type in FORM_TYPES:
            try:
                request.POST  # noqa: B018 — parsed now rather than by the CSRF check
                request.FILES  # noqa: B018
            except REFUSED as exc:
                return refusal(request, exc)
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exc: Exception) -> HttpResponse | None:
        if isinstance(exc, REFUSED):
            return refusal(request, exc)
        return None
