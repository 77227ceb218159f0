"""Browser sessions (OWASP ASVS V7): a new id at sign-in, sign-out ends the session on
the server, disabling a user ends every session and token at the next request, idle
and absolute timeouts (kam/users/sessions.py, users.services.user_set_active)."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys

import pytest
from django.contrib.sessions.models import Session
from django.core.exceptions import ImproperlyConfigured
from django.test import Client
from django.utils import timezone

from kam.core import clock
from kam.core.errors import PermissionDenied, ValidationFailed
from kam.core.models import Event
from kam.users.models import ApiToken, User, UserSession
from kam.users.services import ActiveChange, token_create, user_set_active
from kam.users.sessions import LOGIN_AT, SEEN_AT

T0 = timezone.make_aware(dt.datetime(2026, 11, 2, 9, 0))
EXPIRED = "Your session expired; sign in again."


def minutes(n: float) -> dt.timedelta:
    return dt.timedelta(minutes=n)


def sign_in(client: Client, username: str = "rep_a", password: str = "rep-pass-123") -> str:
    """Sign in through the page, as a browser does; return the session cookie's value."""
    response = client.post("/login/", {"username": username, "password": password})
    assert response.status_code == 302, response.content.decode()
    return client.cookies["sessionid"].value


def bearer(token: str) -> int:
    return Client().get("/api/v1/accounts", HTTP_AUTHORIZATION=f"Bearer {token}").status_code


# --- the session id ------------------------------------------------------------------


def test_signing_in_gives_a_new_session_id_and_drops_the_anonymous_one(world):
    # given a session the browser held before signing in
    client = Client()
    session = client.session
    session["probe"] = "before sign-in"
    session.save()
    anonymous_key = session.session_key
    # when
    signed_in_key = sign_in(client)
    # then
    assert signed_in_key != anonymous_key
    assert not Session.objects.filter(session_key=anonymous_key).exists()
    assert client.session["probe"] == "before sign-in"  # the data moved, the id did not
    assert UserSession.objects.get(session_key=signed_in_key).user == world.rep_a


def test_a_session_id_planted_before_sign_in_is_not_used(world):
    # given an id an attacker chose and made the victim's browser send
    client = Client()
    client.cookies["sessionid"] = "attackerchosen0123456789abcdefgh"
    # when
    signed_in_key = sign_in(client)
    # then
    assert signed_in_key != "attackerchosen0123456789abcdefgh"
    assert not Session.objects.filter(session_key="attackerchosen0123456789abcdefgh").exists()


# --- signing out ---------------------------------------------------------------------


def test_signing_out_ends_the_session_on_the_server(world):
    # given
    client = Client()
    key = sign_in(client)
    # when
    response = client.post("/logout/")
    # then
    assert (response.status_code, response["Location"]) == (302, "/login/")
    assert not Session.objects.filter(session_key=key).exists()
    assert not UserSession.objects.filter(session_key=key).exists()
    replay = Client()
    replay.cookies["sessionid"] = key  # the old cookie, kept by someone
    page = replay.get("/")
    assert (page.status_code, page["Location"]) == (302, "/login/?next=/")
    assert replay.get("/api/v1/accounts").status_code == 401


def test_signing_out_must_be_a_post(world):
    # given
    client = Client()
    key = sign_in(client)
    # when
    response = client.get("/logout/")
    # then
    assert response.status_code == 405
    assert Session.objects.filter(session_key=key).exists()
    assert client.get("/").status_code == 200


# --- disabling a user ----------------------------------------------------------------


def test_disabling_a_user_ends_all_their_sessions_and_tokens_at_the_next_request(world):
    # given rep_a signed in on two browsers with two tokens, rep_b on a third browser
    laptop, phone, colleague = Client(), Client(), Client()
    keys = [sign_in(laptop), sign_in(phone)]
    sign_in(colleague, "rep_b")
    tokens = [token_create(user=world.rep_a, name=name) for name in ("ERP", "script")]
    assert [laptop.get("/").status_code, phone.get("/").status_code] == [200, 200]
    assert [bearer(t) for t in tokens] == [200, 200]
    # when
    change = user_set_active(actor=world.admin, user=world.rep_a, active=False)
    # then
    assert change == ActiveChange(changed=True, sessions_ended=2, tokens_revoked=2)
    for browser in (laptop, phone):
        page = browser.get("/")
        assert (page.status_code, page["Location"]) == (302, "/login/?next=/")
        assert browser.get("/api/v1/accounts").status_code == 401
    assert [bearer(t) for t in tokens] == [401, 401]
    assert Session.objects.filter(session_key__in=keys).count() == 0
    assert UserSession.objects.filter(user=world.rep_a).count() == 0
    assert ApiToken.objects.filter(user=world.rep_a, revoked_at__isnull=True).count() == 0
    assert colleague.get("/").status_code == 200  # nobody else is signed out
    event = Event.objects.get(entity="user", entity_id=world.rep_a.pk, action="disabled")
    assert (event.actor, event.before, event.after) == (
        world.admin,
        {"is_active": True},
        {"is_active": False},
    )
    assert event.note == "2 sessions ended, 2 tokens revoked"


def test_a_disabled_user_cannot_sign_in_and_enabling_gives_back_no_token(world):
    # given
    token = token_create(user=world.rep_a, name="ERP")
    user_set_active(actor=world.admin, user=world.rep_a, active=False)
    # when
    refused = Client().post("/login/", {"username": "rep_a", "password": "rep-pass-123"})
    change = user_set_active(actor=world.admin, user=world.rep_a, active=True)
    # then
    assert refused.status_code == 200
    assert "_auth_user_id" not in refused.client.session
    assert change == ActiveChange(changed=True)
    assert bearer(token) == 401  # revoked for good: ask for a new one
    sign_in(Client())
    assert [
        e.action
        for e in Event.objects.filter(entity="user", entity_id=world.rep_a.pk).order_by("pk")
    ][-2:] == ["disabled", "enabled"]


def test_disabling_an_already_disabled_user_changes_nothing(world):
    # given
    user_set_active(actor=world.admin, user=world.rep_a, active=False)
    events = Event.objects.count()
    # when
    change = user_set_active(actor=world.admin, user=world.rep_a, active=False)
    # then
    assert change == ActiveChange(changed=False)
    assert Event.objects.count() == events


def test_a_user_made_inactive_behind_the_services_back_is_signed_out_anyway(world):
    """The backstop: ModelBackend (the one backend, settings.AUTHENTICATION_BACKENDS)
    does not load an inactive user from a session, whatever wrote is_active."""
    # given
    browser = Client()
    sign_in(browser)
    token = token_create(user=world.rep_a)
    # when: a raw update, no service, so no session is deleted and no token revoked
    User.objects.filter(pk=world.rep_a.pk).update(is_active=False)
    # then
    page = browser.get("/")
    assert (page.status_code, page["Location"]) == (302, "/login/?next=/")
    assert browser.get("/api/v1/accounts").status_code == 401
    assert bearer(token) == 401


@pytest.mark.parametrize("who", ["manager_east", "rep_b"])
def test_only_an_admin_may_disable_a_user(world, who):
    # given
    browser = Client()
    sign_in(browser)
    # when
    with pytest.raises(PermissionDenied):
        user_set_active(actor=getattr(world, who), user=world.rep_a, active=False)
    # then
    world.rep_a.refresh_from_db()
    assert world.rep_a.is_active is True
    assert browser.get("/").status_code == 200
    assert not Event.objects.filter(action="disabled").exists()


def test_an_admin_cannot_disable_themselves(world):
    with pytest.raises(ValidationFailed) as refused:
        user_set_active(actor=world.admin, user=world.admin, active=False)
    assert refused.value.field == "user"
    world.admin.refresh_from_db()
    assert world.admin.is_active is True


# --- timeouts ------------------------------------------------------------------------


def test_an_idle_session_ends_after_the_idle_limit_with_a_message(world, settings):
    # given the defaults: 120 minutes idle, 12 hours in all
    assert (settings.KAM_SESSION_IDLE_SECONDS, settings.KAM_SESSION_MAX_SECONDS) == (7200, 43200)
    client = Client()
    with clock.freeze(T0):
        key = sign_in(client)
    with clock.freeze(T0 + minutes(119)):
        assert client.get("/").status_code == 200
    # when: 121 minutes after that last request
    with clock.freeze(T0 + minutes(119 + 121)):
        response = client.get("/opportunities/?q=x")
    # then
    assert (response.status_code, response["Location"]) == (
        302,
        "/login/?next=/opportunities/%3Fq%3Dx",
    )
    assert not Session.objects.filter(session_key=key).exists()
    page = client.get(response["Location"])
    assert page.status_code == 200
    assert EXPIRED in page.content.decode()
    assert client.get("/").status_code == 302  # still signed out


def test_activity_keeps_a_session_but_not_past_the_absolute_limit(world):
    # given
    client = Client()
    with clock.freeze(T0):
        sign_in(client)
    # when: a request every 100 minutes (never idle for 120)
    answers = []
    for step in range(100, 12 * 60 + 1, 100):  # 100 … 700 minutes
        with clock.freeze(T0 + minutes(step)):
            answers.append(client.get("/").status_code)
    with clock.freeze(T0 + minutes(12 * 60 + 1)):
        late = client.get("/")
    # then
    assert answers == [200] * 7
    assert (late.status_code, late["Location"]) == (302, "/login/?next=/")


def test_the_limits_are_settings(world, settings):
    # given
    settings.KAM_SESSION_IDLE_SECONDS = 5 * 60
    settings.KAM_SESSION_MAX_SECONDS = 60 * 60
    idle, busy = Client(), Client()
    with clock.freeze(T0):
        sign_in(idle)
        sign_in(busy)
    # when
    with clock.freeze(T0 + minutes(4)):
        busy_early = busy.get("/").status_code
    with clock.freeze(T0 + minutes(6)):
        idle_late = idle.get("/").status_code
        busy_later = busy.get("/").status_code
    with clock.freeze(T0 + minutes(61)):
        busy_last = busy.get("/").status_code
    # then
    assert (busy_early, idle_late, busy_later, busy_last) == (200, 302, 200, 302)


def test_the_last_seen_time_is_written_at_most_once_a_minute(world):
    # given
    client = Client()
    with clock.freeze(T0):
        key = sign_in(client)
    stored = Session.objects.get(session_key=key).session_data
    # when
    with clock.freeze(T0 + dt.timedelta(seconds=30)):
        client.get("/")
    unchanged = Session.objects.get(session_key=key).session_data
    with clock.freeze(T0 + dt.timedelta(seconds=61)):
        client.get("/")
    # then
    assert unchanged == stored  # no write
    assert client.session[LOGIN_AT] == T0.timestamp()
    assert client.session[SEEN_AT] == (T0 + dt.timedelta(seconds=61)).timestamp()


def test_an_expired_htmx_request_is_sent_to_the_sign_in_page_of_the_page_it_came_from(world):
    # given
    client = Client()
    with clock.freeze(T0):
        sign_in(client)
    # when
    with clock.freeze(T0 + minutes(121)):
        response = client.get(
            "/opportunities/?q=a",
            HTTP_HX_REQUEST="true",
            HTTP_HX_CURRENT_URL="http://testserver/opportunities/?q=a",
        )
    # then
    assert response.status_code == 200
    assert response["HX-Redirect"] == "/login/?next=/opportunities/%3Fq%3Da"
    assert response.content == b""


def test_an_expired_script_asking_for_json_gets_401_with_the_message(world, book):
    # given the board's drag-and-drop, which posts and reads JSON
    client = Client()
    with clock.freeze(T0):
        sign_in(client)
    deal = book["rep_a"]["opportunity"]
    # when
    with clock.freeze(T0 + minutes(121)):
        response = client.post(
            f"/opportunities/{deal.pk}/board-advance/", {}, HTTP_ACCEPT="application/json"
        )
    # then
    assert response.status_code == 401
    assert response.json() == {
        "ok": False,
        "message": EXPIRED,
        "login_url": f"/login/?next=/opportunities/{deal.pk}/board-advance/",
    }
    deal.refresh_from_db()
    assert deal.stage == book["rep_a"]["opportunity"].stage


def test_an_expired_session_on_the_api_is_401_not_a_redirect(world):
    # given
    client = Client()
    with clock.freeze(T0):
        sign_in(client)
        assert client.get("/api/v1/accounts").status_code == 200
    # when
    with clock.freeze(T0 + minutes(121)):
        response = client.get("/api/v1/accounts")
    # then
    assert response.status_code == 401
    assert response.json()["detail"]


# --- configuration -------------------------------------------------------------------


def _session_settings(**env: str) -> str:
    """The two limits as a fresh process computes them from the environment."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("KAM_SESSION")}
    code = (
        "from django.conf import settings as s; "
        "print(s.KAM_SESSION_IDLE_SECONDS, s.KAM_SESSION_MAX_SECONDS, s.SESSION_COOKIE_AGE)"
    )
    result = subprocess.run(
        [sys.executable, "-c", "import django; django.setup(); " + code],
        env={**clean, "DJANGO_SETTINGS_MODULE": "kam.config.settings", **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return (result.stdout + result.stderr).strip().splitlines()[-1]


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, "7200 43200 43200"),
        ({"KAM_SESSION_IDLE_MINUTES": "30", "KAM_SESSION_MAX_HOURS": "8"}, "1800 28800 28800"),
        ({"KAM_SESSION_AGE": "3600"}, "7200 3600 3600"),  # the older name, in seconds
    ],
)
def test_the_limits_come_from_the_environment(env, expected, tmp_path):
    assert _session_settings(KAM_DATA_DIR=str(tmp_path), **env) == expected


@pytest.mark.parametrize(
    ("env", "message"),
    [
        (
            {"KAM_SESSION_AGE": "3600", "KAM_SESSION_MAX_HOURS": "8"},
            "Set KAM_SESSION_MAX_HOURS or its older name KAM_SESSION_AGE (seconds), not both.",
        ),
        ({"KAM_SESSION_IDLE_MINUTES": "0"}, "KAM_SESSION_IDLE_MINUTES=0 must be 1 or more."),
    ],
)
def test_bad_limits_are_a_clear_configuration_error(env, message, tmp_path):
    line = _session_settings(KAM_DATA_DIR=str(tmp_path), **env)
    assert line == f"django.core.exceptions.ImproperlyConfigured: {message}"
    assert ImproperlyConfigured.__name__ in line
