"""Sign-in throttling: after KAM_LOGIN_MAX_FAILURES failed sign-ins for one user name,
or KAM_LOGIN_MAX_FAILURES_PER_IP from one client address, within
KAM_LOGIN_WINDOW_MINUTES, the sign-in page refuses further attempts (HTTP 429) —
even with the right password — until enough of those failures are older than the
window. A successful sign-in clears that user name's failures.

The failures are rows (`LoginFailure`), not a counter in memory, so every `kam serve`
process on one database counts the same ones. Two attempts racing in the same
instant may both be checked before either is written: the limit can be passed by
the number of requests in flight, not more."""

from __future__ import annotations

import datetime as dt
import logging
import math

from django import forms
from django.conf import settings
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import AuthenticationForm
from django.http import HttpRequest
from django.utils.translation import ngettext

from kam.core import clock
from kam.users.models import LoginFailure

log = logging.getLogger("kam.security")


def client_ip(request: HttpRequest | None) -> str:
    """The client's address as waitress gives it: behind a proxy KAM trusts
    (KAM_BEHIND_PROXY), the address from X-Forwarded-For; otherwise the peer."""
    if request is None:
        return ""
    return (request.META.get("REMOTE_ADDR") or "")[:45]


def _window_start() -> dt.datetime:
    return clock.now() - dt.timedelta(seconds=settings.KAM_LOGIN_WINDOW_SECONDS)


def _key(username: str) -> str:
    return (username or "").strip().casefold()[:150]


def retry_after(username: str, ip: str) -> int | None:
    """Seconds until a sign-in for `username` from `ip` is accepted again, or None when
    it may be tried now."""
    since = _window_start()
    window = dt.timedelta(seconds=settings.KAM_LOGIN_WINDOW_SECONDS)
    waits: list[dt.datetime] = []
    for field, value, limit in (
        ("username", _key(username), settings.KAM_LOGIN_MAX_FAILURES),
        ("ip", ip, settings.KAM_LOGIN_MAX_FAILURES_PER_IP),
    ):
        if not value:
            continue
        recent = list(
            LoginFailure.objects.filter(**{field: value}, at__gt=since)
            .order_by("-at")
            .values_list("at", flat=True)[:limit]
        )
        if len(recent) >= limit:
            # Accepted again once the limit-th most recent failure leaves the window.
            waits.append(recent[limit - 1] + window)
    if not waits:
        return None
    return max(1, math.ceil((max(waits) - clock.now()).total_seconds()))


def record_failure(username: str, ip: str) -> None:
    now = clock.now()
    LoginFailure.objects.filter(at__lte=_window_start()).delete()  # prune
    LoginFailure.objects.create(username=_key(username), ip=ip, at=now)
    log.warning("failed sign-in for %r from %s", _key(username), ip or "?")


def clear_failures(username: str) -> None:
    LoginFailure.objects.filter(username=_key(username)).delete()


class ThrottledAuthenticationForm(AuthenticationForm):
    """Django's sign-in form, refusing before the password is checked while throttled."""

    throttled = False
    retry_after: int | None = None

    def clean(self):
        username = self.cleaned_data.get("username")
        password = self.cleaned_data.get("password")
        if username is None or not password:
            return super().clean()
        ip = client_ip(self.request)
        wait = retry_after(username, ip)
        if wait is not None:
            self.throttled = True
            self.retry_after = wait
            log.warning("sign-in refused (throttled) for %r from %s", _key(username), ip or "?")
            minutes = math.ceil(wait / 60)
            raise forms.ValidationError(
                ngettext(
                    "Too many failed sign-ins. Try again in %(minutes)s minute.",
                    "Too many failed sign-ins. Try again in %(minutes)s minutes.",
                    minutes,
                )
                % {"minutes": minutes},
                code="throttled",
            )
        try:
            cleaned = super().clean()
        except forms.ValidationError:
            record_failure(username, ip)
            raise
        clear_failures(username)
        return cleaned


class LoginView(auth_views.LoginView):
    """The sign-in page; a throttled attempt is answered 429 Too Many Requests."""

    authentication_form = ThrottledAuthenticationForm
    template_name = "web/login.html"
    redirect_authenticated_user = True

    def form_invalid(self, form):
        response = super().form_invalid(form)
        if getattr(form, "throttled", False):
            response.status_code = 429
            response["Retry-After"] = str(form.retry_after)
        return response
