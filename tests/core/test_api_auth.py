"""The API accepts a bearer token, or a signed-in browser session with its CSRF
token for writes (the browsable docs)."""

from django.test import Client


def test_session_can_read(world):
    client = Client()
    client.force_login(world.rep_a)
    assert client.get("/api/v1/accounts").status_code == 200


def test_session_write_without_csrf_token_is_refused(world):
    # given
    client = Client(enforce_csrf_checks=True)
    client.force_login(world.rep_a)
    # when
    response = client.post("/api/v1/accounts", {"name": "X"}, content_type="application/json")
    # then
    assert response.status_code == 401
    from kam.accounts.models import Account

    assert Account.objects.count() == 0


def test_session_write_with_csrf_token_is_accepted(world):
    client = Client(enforce_csrf_checks=True)
    client.force_login(world.rep_a)
    client.get("/accounts/new/")  # a page with a form sets the CSRF cookie
    token = client.cookies["csrftoken"].value
    response = client.post("/api/v1/accounts", {"name": "X"}, content_type="application/json",
                           HTTP_X_CSRFTOKEN=token)
    assert response.status_code == 201
