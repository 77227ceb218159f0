"""Revoking API tokens (users.services.token_revoke / token_revoke_all, `kam token NAME
--list / --revoke PREFIX / --revoke-all`) and disabling users from the command line."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import Client

from kam.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from kam.core.models import Event
from kam.users.models import ApiToken
from kam.users.services import token_create, token_revoke, token_revoke_all


def bearer(token: str) -> int:
    return Client().get("/api/v1/accounts", HTTP_AUTHORIZATION=f"Bearer {token}").status_code


def test_revoking_one_token_by_its_prefix_answers_401_from_the_next_request(world):
    # given
    erp = token_create(user=world.rep_a, name="ERP")
    script = token_create(user=world.rep_a, name="script")
    assert bearer(erp) == 200
    # when
    revoked = token_revoke(actor=world.admin, user=world.rep_a, prefix=erp[:12])
    # then
    assert revoked.prefix == erp[:12]
    assert (bearer(erp), bearer(script)) == (401, 200)
    event = Event.objects.get(entity="user", entity_id=world.rep_a.pk, action="token_revoked")
    assert event.actor == world.admin
    assert event.before == {"prefix": erp[:12], "revoked_at": None}
    assert event.after["prefix"] == erp[:12]
    assert event.after["revoked_at"] == revoked.revoked_at.isoformat()


def test_the_whole_token_may_be_given_instead_of_its_prefix(world):
    # given
    raw = token_create(user=world.rep_a)
    # when
    token_revoke(actor=None, user=world.rep_a, prefix=raw)
    # then
    assert bearer(raw) == 401


@pytest.mark.parametrize(
    ("prefix", "error", "message"),
    [
        ("kam_nope1234", NotFound, "rep_a has no token starting with “kam_nope1234”."),
        (
            "kam_",
            ValidationFailed,
            "Give the first 12 characters of the token, as the token list shows them.",
        ),
    ],
)
def test_an_unknown_or_short_prefix_is_refused_and_nothing_is_revoked(
    world, prefix, error, message
):
    # given
    raw = token_create(user=world.rep_a)
    # when
    with pytest.raises(error) as refused:
        token_revoke(actor=world.admin, user=world.rep_a, prefix=prefix)
    # then
    assert (str(refused.value.message), refused.value.field) == (message, "prefix")
    assert bearer(raw) == 200
    assert not Event.objects.filter(action="token_revoked").exists()


def test_another_users_token_cannot_be_revoked_through_this_user(world):
    # given
    raw = token_create(user=world.rep_b)
    # when
    with pytest.raises(NotFound):
        token_revoke(actor=world.admin, user=world.rep_a, prefix=raw[:12])
    # then
    assert bearer(raw) == 200


def test_revoking_a_revoked_token_says_so(world):
    # given
    raw = token_create(user=world.rep_a)
    token_revoke(actor=world.admin, user=world.rep_a, prefix=raw[:12])
    # when
    with pytest.raises(Conflict) as refused:
        token_revoke(actor=world.admin, user=world.rep_a, prefix=raw[:12])
    # then
    assert str(refused.value.message) == f"The token “{raw[:12]}” was already revoked."
    assert Event.objects.filter(action="token_revoked").count() == 1


def test_revoking_all_tokens_of_a_user(world):
    # given
    mine = [token_create(user=world.rep_a, name=n) for n in ("ERP", "script")]
    theirs = token_create(user=world.rep_b)
    # when
    count = token_revoke_all(actor=world.admin, user=world.rep_a)
    again = token_revoke_all(actor=world.admin, user=world.rep_a)
    # then
    assert (count, again) == (2, 0)
    assert [bearer(t) for t in mine] == [401, 401]
    assert bearer(theirs) == 200
    event = Event.objects.get(entity="user", entity_id=world.rep_a.pk, action="tokens_revoked")
    assert sorted(event.before["prefixes"]) == sorted(t[:12] for t in mine)
    assert Event.objects.filter(action="tokens_revoked").count() == 1  # nothing left: no event


@pytest.mark.parametrize("who", ["rep_a", "manager_east"])
def test_only_an_admin_revokes_tokens(world, who):
    # given
    raw = token_create(user=world.rep_a)
    # when
    with pytest.raises(PermissionDenied):
        token_revoke(actor=getattr(world, who), user=world.rep_a, prefix=raw[:12])
    with pytest.raises(PermissionDenied):
        token_revoke_all(actor=getattr(world, who), user=world.rep_a)
    # then
    assert bearer(raw) == 200
    assert ApiToken.objects.filter(revoked_at__isnull=False).count() == 0


# --- the command line ----------------------------------------------------------------

KAM = [sys.executable, "-m", "kam.cli"]


def run(data_dir: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "KAM_DATA_DIR": str(data_dir)}
    env.pop("KAM_DATABASE_URL", None)
    env.pop("DJANGO_SETTINGS_MODULE", None)
    return subprocess.run(
        [*KAM, *args], env=env, capture_output=True, text=True, timeout=120, check=False
    )


@pytest.mark.sqlite_cli
def test_kam_token_lists_and_revokes(tmp_path):
    # given
    assert run(tmp_path, "user", "add", "li", "--role", "rep").returncode == 0
    erp = run(tmp_path, "token", "li", "--label", "ERP").stdout.split()[-1]
    script = run(tmp_path, "token", "li", "--label", "script").stdout.split()[-1]
    # when
    listed = run(tmp_path, "token", "li", "--list")
    revoked = run(tmp_path, "token", "li", "--revoke", erp[:12])
    after = run(tmp_path, "token", "li", "--list")
    unknown = run(tmp_path, "token", "li", "--revoke", "kam_nope1234")
    twice = run(tmp_path, "token", "li", "--revoke", erp[:12])
    everything = run(tmp_path, "token", "li", "--revoke-all")
    nobody = run(tmp_path, "token", "nobody", "--revoke-all")
    both = run(tmp_path, "token", "li", "--list", "--revoke-all")
    # then
    lines = listed.stdout.splitlines()
    assert [line.split()[:2] for line in lines] == [[erp[:12], "ERP"], [script[:12], "script"]]
    assert all("last used -" in line and line.endswith("live") for line in lines)
    assert (revoked.returncode, revoked.stdout) == (0, f"Revoked {erp[:12]}… of li.\n")
    assert " revoked 20" in after.stdout.splitlines()[0]
    assert after.stdout.splitlines()[1].endswith("live")
    assert unknown.returncode == 2
    assert unknown.stderr == "kam: li has no token starting with “kam_nope1234”. (prefix)\n"
    assert twice.returncode == 2
    assert "was already revoked" in twice.stderr
    assert (everything.returncode, everything.stdout) == (0, "Revoked 1 token of li.\n")
    assert nobody.returncode == 2
    assert "kam user add nobody" in nobody.stderr
    assert both.returncode == 2
    assert "not allowed with argument" in both.stderr
    assert "Traceback" not in "".join(r.stderr for r in (unknown, twice, nobody, both))


@pytest.mark.sqlite_cli
def test_kam_user_disable_and_enable(tmp_path):
    # given
    assert run(tmp_path, "user", "add", "li", "--role", "rep").returncode == 0
    assert run(tmp_path, "token", "li").returncode == 0
    # when
    disabled = run(tmp_path, "user", "disable", "li")
    again = run(tmp_path, "user", "disable", "li")
    no_token = run(tmp_path, "token", "li")
    listed = run(tmp_path, "token", "li", "--list")
    enabled = run(tmp_path, "user", "enable", "li")
    unknown = run(tmp_path, "user", "disable", "nobody")
    # then
    assert (disabled.returncode, disabled.stdout) == (
        0,
        "Disabled li: 0 sessions ended, 1 API tokens revoked.\n",
    )
    assert again.stdout == "li is already disabled.\n"
    assert no_token.returncode == 2
    assert "'kam user enable li' first" in no_token.stderr
    assert " revoked 20" in listed.stdout
    assert enabled.stdout == "Enabled li; they sign in again and need new API tokens.\n"
    assert unknown.returncode == 2
    assert "No user named 'nobody'" in unknown.stderr
