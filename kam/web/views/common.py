"""What every page shares: turning domain errors into 404/403 pages, pagination,
and the htmx partial-or-page decision."""

from __future__ import annotations

import functools
from collections.abc import Callable

from django.core.exceptions import PermissionDenied as HttpForbidden
from django.core.paginator import Page, Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.cache import patch_vary_headers

from kam.core.errors import NotFound, PermissionDenied

PAGE_SIZE = 50


def domain_errors(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """A selector's NotFound becomes the 404 page and its PermissionDenied the 403
    page, so a refused record looks exactly like a missing one and nothing leaks."""

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        try:
            return view(request, *args, **kwargs)
        except NotFound as exc:
            raise Http404(str(exc.message)) from None
        except PermissionDenied as exc:
            raise HttpForbidden(str(exc.message)) from None

    return wrapper


def paginate(request: HttpRequest, queryset, per_page: int = PAGE_SIZE) -> Page:
    """The requested page; a page number out of range shows the last page."""
    return Paginator(queryset, per_page).get_page(request.GET.get("page"))


def wants_partial(request: HttpRequest) -> bool:
    """htmx asks for just the results; a history restore needs the whole page."""
    return bool(request.headers.get("HX-Request")) and not request.headers.get(
        "HX-History-Restore-Request"
    )


def render_list(
    request: HttpRequest, *, page_template: str, partial_template: str, context: dict
) -> HttpResponse:
    """The whole page, or only the results table when htmx live-filters the list."""
    template = partial_template if wants_partial(request) else page_template
    response = render(request, template, context)
    patch_vary_headers(response, ("HX-Request",))
    return response


def int_param(request: HttpRequest, name: str) -> int | None:
    """A whole-number query parameter, or None when it is missing or not a number."""
    raw = request.GET.get(name, "").strip()
    return int(raw) if raw.isdigit() else None
