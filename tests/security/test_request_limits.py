"""Request size limits (kam/core/limits.py): a body over KAM_MAX_REQUEST_BYTES, more
fields than KAM_MAX_REQUEST_FIELDS, or an upload over the upload limits is refused
with 413 and the limit in words — JSON for the API, a page for a person — never a
500 or Django's bare "Bad Request" page, and nothing is written."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from kam.accounts.models import Account
from kam.core.models import Event
from kam.partners.models import Referral

# 李四's held referrals, as the partner tests build them (fixtures)
from tests.partners.conftest import frozen, lisi  # noqa: F401

MB = 1024 * 1024
PDF = b"%PDF-1.4\n% disclosure\n"


def _json(response) -> dict:
    assert response["Content-Type"].startswith("application/json"), response.content[:300]
    return response.json()


def _browser(user, language: str = "en") -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    client.force_login(user)
    return client


def _written() -> tuple[int, int]:
    return Account.objects.count(), Event.objects.count()


# --- the API ------------------------------------------------------------------------------


def test_a_3_mb_json_body_is_a_json_413_naming_the_limit(world, api_as):
    # given a body of 3 MB (the limit is 2 MB)
    body = json.dumps({"name": "x" * (3 * MB)})
    client = api_as(world.rep_a)
    before = _written()
    # when
    response = client.post("accounts", body)
    # then
    assert response.status_code == 413
    assert _json(response) == {
        "detail": "The request is larger than 2 MB, the most this server accepts at once. "
        "Send less in one request.",
        "field": "body",
    }
    assert _written() == before


def test_a_body_just_under_the_limit_reaches_the_api(world, api_as):
    # given a name far too long, in a body just under 2 MB
    body = json.dumps({"name": "x" * (2 * MB - 20)})
    assert len(body) < 2 * MB
    # when
    response = api_as(world.rep_a).post("accounts", body)
    # then the service answers (the name is too long), not the limit
    assert response.status_code == 422
    assert _json(response)["field"] == "name"


def test_the_413_is_in_the_callers_language(world, api_as):
    # given
    body = json.dumps({"name": "x" * (3 * MB)})
    # when
    response = api_as(world.rep_a, "zh-hans").post("accounts", body)
    # then (the catalogue is filled in later; the limit is named either way)
    assert response.status_code == 413
    assert "2 MB" in _json(response)["detail"]


def test_the_limit_is_the_setting(world, api_as, settings):
    # given a limit of 1,536 bytes
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1536
    client = api_as(world.rep_a)
    # when
    refused = client.post("accounts", json.dumps({"name": "x" * 1600}))
    accepted = client.post("accounts", json.dumps({"name": "常州精密机械", "notes": "x" * 1400}))
    # then
    assert refused.status_code == 413
    assert _json(refused)["detail"].startswith("The request is larger than 1.5 KB,")
    assert accepted.status_code == 201, accepted.content


def test_too_many_query_parameters_to_the_api_is_a_json_413(world, api_as):
    # given 1,001 query parameters (the limit is 1,000)
    params = {f"p{i}": "1" for i in range(1001)}
    # when
    response = api_as(world.rep_a).get("accounts", **params)
    # then
    assert response.status_code == 413
    assert _json(response) == {
        "detail": "The request has more than 1000 fields or parameters, the most this server "
        "accepts at once. Send fewer.",
        "field": "body",
    }


def test_too_many_form_fields_to_the_api_is_a_json_413(world, api_as):
    # given a multipart post with 1,001 fields
    client = api_as(world.rep_a)
    fields = {f"f{i}": "1" for i in range(1001)}
    # when
    response = client.client.post("/api/v1/accounts", fields, **client.headers)
    # then
    assert response.status_code == 413
    assert _json(response)["detail"].startswith("The request has more than 1000 fields")


# --- pages --------------------------------------------------------------------------------


def test_a_form_post_over_the_limit_gets_a_readable_page(world):
    # given a 3 MB account form
    client = _browser(world.rep_a)
    before = _written()
    # when
    response = client.post("/accounts/new/", {"name": "x" * (3 * MB)})
    # then
    assert response.status_code == 413
    html = response.content.decode()
    assert 'data-testid="request-too-large"' in html
    assert (
        "The request is larger than 2 MB, the most this server accepts at once. "
        "Send less in one request."
    ) in html
    assert "Nothing was saved." in html
    assert '<html lang="en">' in html
    assert _written() == before


def test_the_page_is_in_the_users_language(world):
    # when
    response = _browser(world.rep_a, "zh-hans").post("/accounts/new/", {"name": "x" * (3 * MB)})
    # then
    assert response.status_code == 413
    assert '<html lang="zh-hans">' in response.content.decode()


def test_too_many_form_fields_get_a_readable_page(world):
    # given 1,001 fields
    client = _browser(world.rep_a)
    fields = {"name": "常州精密机械", "owner": world.rep_a.pk}
    fields.update({f"f{i}": "1" for i in range(999)})
    before = _written()
    # when
    response = client.post("/accounts/new/", fields)
    # then
    assert response.status_code == 413
    assert "The request has more than 1000 fields or parameters" in response.content.decode()
    assert _written() == before
    # and 1,000 fields are fine
    fields.pop("f998")
    assert client.post("/accounts/new/", fields).status_code == 302
    assert Account.objects.filter(name="常州精密机械").count() == 1


def test_too_many_query_parameters_on_a_page_get_a_readable_page(world):
    # when
    response = _browser(world.rep_a).get("/accounts/", {f"p{i}": "1" for i in range(1001)})
    # then
    assert response.status_code == 413
    assert 'data-testid="request-too-large"' in response.content.decode()


def test_an_upload_over_every_file_limit_is_refused_before_it_is_read(world, settings):
    # given uploads of at most 1,000 bytes, imports of 2,000, forms of 1,024: 3,024 in all
    settings.KAM_MAX_UPLOAD_BYTES = 1000
    settings.KAM_MAX_IMPORT_BYTES = 2000
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024
    client = _browser(world.rep_a)
    big = SimpleUploadedFile("客户.csv", ("客户名称*\n" + "华东机械\n" * 400).encode())
    # when
    response = client.post("/import/", {"file": big, "kind": ""})
    # then
    assert response.status_code == 413
    assert (
        "The upload is larger than 3 KB, the most this server accepts. Upload a smaller file."
    ) in response.content.decode()


def test_an_upload_within_the_request_limit_is_judged_by_its_own_limit(world, settings):
    # given an import limit of 2,000 bytes and a 3,000-byte file (under the request cap)
    settings.KAM_MAX_IMPORT_BYTES = 2000
    client = _browser(world.rep_a)
    data = ("客户名称*\n" + "华东机械\n" * 220).encode()
    assert 2000 < len(data) < 3000
    # when
    response = client.post("/import/", {"file": SimpleUploadedFile("客户.csv", data), "kind": ""})
    # then the import form says so at its field
    assert response.status_code == 422
    assert "The file is larger than" in response.content.decode()


def test_a_disclosure_over_the_upload_limit_is_refused_in_the_release_dialog(
    world,
    lisi,  # noqa: F811 — the fixture imported above
    settings,
):
    # given a 1 MB limit for documents, and an admin releasing 李四's held referral
    settings.KAM_MAX_UPLOAD_BYTES = MB
    partner, referral = lisi["partner"], lisi["referrals"]["d40"]
    big = PDF + b"0" * (MB - len(PDF) + 1)
    before = (list(Referral.objects.filter(pk=referral.pk).values()), Event.objects.count())
    # when
    response = _browser(world.admin).post(
        f"/partners/{partner.pk}/referrals/{referral.pk}/release/",
        {"note": "客户书面同意", "period": "2026H1",
         "file": SimpleUploadedFile("同意函.pdf", big, "application/pdf")},
    )  # fmt: skip
    # then
    assert response.status_code == 422
    assert "The file is larger than 1 MB; upload a smaller scan." in response.content.decode()
    assert (list(Referral.objects.filter(pk=referral.pk).values()), Event.objects.count()) == (
        before
    )


# --- configuration ------------------------------------------------------------------------


def _settings_in_subprocess(env: dict[str, str]) -> subprocess.CompletedProcess:
    code = (
        "import django; django.setup(); from django.conf import settings; "
        "print(settings.DATA_UPLOAD_MAX_MEMORY_SIZE, settings.DATA_UPLOAD_MAX_NUMBER_FIELDS)"
    )
    clean = {k: v for k, v in os.environ.items() if not k.startswith("KAM_MAX_REQUEST")}
    return subprocess.run(
        [sys.executable, "-c", code],
        env={**clean, "DJANGO_SETTINGS_MODULE": "kam.config.settings", **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.sqlite_cli
def test_the_limits_come_from_the_environment(tmp_path):
    # when
    default = _settings_in_subprocess({"KAM_DATA_DIR": str(tmp_path)})
    chosen = _settings_in_subprocess(
        {
            "KAM_DATA_DIR": str(tmp_path),
            "KAM_MAX_REQUEST_BYTES": "5242880",
            "KAM_MAX_REQUEST_FIELDS": "3000",
        }
    )
    wrong = _settings_in_subprocess({"KAM_DATA_DIR": str(tmp_path), "KAM_MAX_REQUEST_BYTES": "0"})
    # then
    assert default.stdout.split() == ["2097152", "1000"], default.stderr
    assert chosen.stdout.split() == ["5242880", "3000"], chosen.stderr
    assert wrong.returncode != 0
    assert "KAM_MAX_REQUEST_BYTES=0 must be 1 or more." in wrong.stderr
