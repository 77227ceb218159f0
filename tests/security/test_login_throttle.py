"""Sign-in throttling (kam/users/throttle.py): five failures for one user name, or
twenty from one address, within fifteen minutes, and the sign-in page says no — with
429, even to the right password — until those failures are older than the window."""

from __future__ import annotations

import datetime as dt
import logging

from django.test import Client
from django.utils import timezone

from kam.core import clock
from kam.users.models import LoginFailure

T0 = timezone.make_aware(dt.datetime(2026, 11, 2, 9, 0))
RIGHT = "rep-pass-123"


def at(minutes: float) -> dt.datetime:
    return T0 + dt.timedelta(minutes=minutes)


def attempt(password: str, username: str = "rep_a", ip: str = "10.0.0.1", client=None):
    client = client or Client()
    return client.post("/login/", {"username": username, "password": password}, REMOTE_ADDR=ip)


def signed_in(response) -> bool:
    return response.status_code == 302 and "_auth_user_id" in response.client.session


def fail(times: int, *, username: str = "rep_a", ip: str = "10.0.0.1", start: float = 0):
    """`times` wrong passwords, a minute apart from `start` minutes after T0."""
    for i in range(times):
        with clock.freeze(at(start + i)):
            assert attempt("wrong-password", username, ip).status_code == 200


def test_the_sixth_attempt_is_refused_even_with_the_right_password(world):
    # given five failures at 9:00 … 9:04
    fail(5)
    # when: the right password at 9:05
    with clock.freeze(at(5)):
        response = attempt(RIGHT)
    # then
    assert response.status_code == 429
    assert response["Retry-After"] == "600"  # the 9:00 failure leaves the window at 9:15
    assert "Too many failed sign-ins. Try again in 10 minutes." in response.content.decode()
    assert not signed_in(response)
    assert LoginFailure.objects.filter(username="rep_a").count() == 5  # refusals not counted


def test_the_refusal_lasts_until_the_failures_leave_the_window(world):
    # given
    fail(5)
    # when
    with clock.freeze(at(14.9)):
        still = attempt(RIGHT)
    with clock.freeze(at(15) + dt.timedelta(seconds=1)):
        again = attempt(RIGHT)
    # then
    assert still.status_code == 429
    assert "Try again in 1 minute." in still.content.decode()
    assert signed_in(again)


def test_four_failures_then_a_success_start_the_count_again(world):
    # given
    fail(4)
    with clock.freeze(at(4)):
        assert signed_in(attempt(RIGHT))
    # when: four more failures; without the reset these would make eight
    fail(4, start=5)
    with clock.freeze(at(9)):
        response = attempt(RIGHT)
    # then
    assert signed_in(response)
    assert LoginFailure.objects.filter(username="rep_a").count() == 0


def test_the_user_name_counts_whatever_the_address_and_the_letter_case(world):
    # given five failures for rep_a from five addresses, one spelled REP_A
    for i, name in enumerate(["rep_a", "rep_a", "REP_A", "rep_a", "Rep_A"]):
        fail(1, username=name, ip=f"10.0.0.{i + 1}", start=i)
    # when
    with clock.freeze(at(5)):
        rep_a = attempt(RIGHT, ip="10.0.0.99")
        rep_b = attempt(RIGHT, username="rep_b", ip="10.0.0.99")
    # then
    assert rep_a.status_code == 429
    assert signed_in(rep_b)  # another user from the same new address is not held up


def test_twenty_failures_from_one_address_hold_every_name_from_it(world):
    # given twenty guesses, each at another name, from one address
    for i in range(20):
        with clock.freeze(at(i * 0.5)):
            attempt("guess", username=f"guess-{i}", ip="203.0.113.7")
    # when
    with clock.freeze(at(10)):
        same_address = attempt("rep-pass-123", username="rep_b", ip="203.0.113.7")
        other_address = attempt("rep-pass-123", username="rep_b", ip="198.51.100.1")
    # then
    assert same_address.status_code == 429
    assert signed_in(other_address)


def test_the_limits_are_settings(world, settings):
    # given
    settings.KAM_LOGIN_MAX_FAILURES = 2
    settings.KAM_LOGIN_WINDOW_SECONDS = 5 * 60
    fail(2)
    # when
    with clock.freeze(at(2)):
        held = attempt(RIGHT)
    with clock.freeze(at(6) + dt.timedelta(seconds=1)):  # 9:01's failure is 5 min old
        free = attempt(RIGHT)
    # then
    assert held.status_code == 429
    assert "Try again in 3 minutes." in held.content.decode()
    assert signed_in(free)


def test_old_failures_are_pruned(world):
    # given
    fail(3)
    # when: a failure 16 minutes later
    fail(1, username="rep_b", start=18)
    # then
    assert list(LoginFailure.objects.values_list("username", "at")) == [("rep_b", at(18))]


def test_a_failure_is_logged_as_a_warning(world, caplog):
    # when
    with caplog.at_level(logging.WARNING, logger="kam.security"), clock.freeze(at(0)):
        attempt("wrong-password", username="Rep_A", ip="10.0.0.5")
    # then
    assert [r.getMessage() for r in caplog.records if r.name == "kam.security"] == [
        "failed sign-in for 'rep_a' from 10.0.0.5"
    ]


def test_a_failure_for_an_unknown_name_counts_like_any_other(world):
    # given
    fail(5, username="nobody")
    # when
    with clock.freeze(at(5)):
        response = attempt("anything", username="nobody")
    # then: the same answer as for a real user: nothing tells whether the name exists
    assert response.status_code == 429
    assert LoginFailure.objects.filter(username="nobody").count() == 5


def test_failures_and_session_records_are_left_out_of_dumps(db):
    """A failed sign-in on a new, empty instance must not make `kam restore` refuse it
    as "holding data"."""
    from kam.transfer.dump import dumped_models, instance_is_empty
    from kam.users.models import UserSession

    # given
    with clock.freeze(at(0)):
        attempt("guess", username="admin")
    # then
    assert LoginFailure.objects.count() == 1
    assert instance_is_empty()
    assert {LoginFailure, UserSession}.isdisjoint(dumped_models())
