"""Browser sessions (OWASP ASVS V7): which sessions a user holds, and how long they last.

- At sign-in Django gives the browser a new session key (`login()` cycles it, so a
  session id planted before sign-in is worthless). `on_logged_in` then notes the
  sign-in time and a `UserSession` row, so that `end_sessions(user)` — called when a
  user is disabled — deletes exactly that user's sessions.
- `SessionTimeoutMiddleware` ends a session KAM_SESSION_IDLE_MINUTES after its last
  request, and KAM_SESSION_MAX_HOURS after sign-in whatever happens. The last-seen
  time is written at most once a minute, so most requests write nothing.

Times are POSIX seconds from `kam.core.clock`, so tests move them with `clock.freeze`."""

from __future__ import annotations

from collections.abc import Callable
from importlib import import_module
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import resolve_url
from django.utils.translation import gettext as _

from kam.core import clock
from kam.users.models import UserSession

LOGIN_AT = "_kam_login_at"
SEEN_AT = "_kam_seen_at"
SEEN_WRITE_EVERY = 60  # seconds


def _store_class():
    return import_module(settings.SESSION_ENGINE).SessionStore


def on_logged_in(sender, request, user, **kwargs) -> None:
    """`user_logged_in`: stamp the new session and remember whose it is."""
    session = getattr(request, "session", None)
    if session is None:
        return
    now = clock.now()
    session[LOGIN_AT] = session[SEEN_AT] = now.timestamp()
    if session.session_key is None:
        session.save()
    UserSession.objects.update_or_create(
        session_key=session.session_key, defaults={"user": user, "created_at": now}
    )
    # Forget the user's sessions that ended without a sign-out (expired, timed out).
    store = _store_class()()
    gone = [
        key
        for key in UserSession.objects.filter(user=user)
        .exclude(session_key=session.session_key)
        .values_list("session_key", flat=True)
        if not store.exists(key)
    ]
    if gone:
        UserSession.objects.filter(session_key__in=gone).delete()


def on_logged_out(sender, request, user, **kwargs) -> None:
    """`user_logged_out` (before Django flushes the session)."""
    session = getattr(request, "session", None)
    if session is not None and session.session_key:
        UserSession.objects.filter(session_key=session.session_key).delete()


def end_sessions(user) -> int:
    """Delete every session `user` signed in with; return how many were still alive."""
    store = _store_class()()
    keys = list(UserSession.objects.filter(user=user).values_list("session_key", flat=True))
    ended = 0
    for key in keys:
        if store.exists(key):
            store.delete(key)
            ended += 1
    UserSession.objects.filter(user=user).delete()
    return ended


def session_expired(request: HttpRequest) -> bool:
    """Whether the signed-in session is past its idle or absolute limit; touches the
    last-seen time (at most once a minute) when it is not."""
    session = request.session
    now = clock.now().timestamp()
    login_at = session.get(LOGIN_AT)
    seen_at = session.get(SEEN_AT)
    if login_at is None or seen_at is None:  # signed in before KAM kept these times
        session[LOGIN_AT] = login_at if login_at is not None else now
        session[SEEN_AT] = now
        return False
    if now - login_at > settings.KAM_SESSION_MAX_SECONDS:
        return True
    if now - seen_at > settings.KAM_SESSION_IDLE_SECONDS:
        return True
    if now - seen_at >= SEEN_WRITE_EVERY:
        session[SEEN_AT] = now
    return False


def _next_url(request: HttpRequest) -> str:
    """Where to come back to after signing in: for htmx, the page the browser shows
    rather than the fragment it asked for."""
    current = request.headers.get("HX-Current-URL")
    if current:
        parts = urlsplit(current)
        if parts.path:
            return parts.path + (f"?{parts.query}" if parts.query else "")
    return request.get_full_path()


def _wants_json(request: HttpRequest) -> bool:
    accept = request.headers.get("Accept", "")
    return "application/json" in accept and "text/html" not in accept


class SessionTimeoutMiddleware:
    """After AuthenticationMiddleware and MessageMiddleware. An expired session is
    signed out; the browser goes to the sign-in page with a message, htmx gets
    HX-Redirect, a script asking for JSON a 401, and the API continues anonymous
    (so it answers 401 itself)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and session_expired(request):
            logout(request)
            response = self._expired(request)
            if response is not None:
                return response
        return self.get_response(request)

    def _expired(self, request: HttpRequest) -> HttpResponse | None:
        if request.path.startswith("/api/"):
            return None
        message = _("Your session expired; sign in again.")
        messages.warning(request, message)
        login_url = resolve_url(settings.LOGIN_URL)
        if request.path == login_url:
            return None
        redirect = redirect_to_login(_next_url(request), login_url)
        if request.headers.get("HX-Request"):
            response = HttpResponse(status=200)
            response["HX-Redirect"] = redirect["Location"]
            return response
        if _wants_json(request):
            return JsonResponse(
                {"ok": False, "message": message, "login_url": redirect["Location"]}, status=401
            )
        return redirect
