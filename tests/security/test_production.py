"""Production mode: `kam manage check --deploy --fail-level WARNING` passes with
KAM_HTTPS and a strong secret and fails, naming the warning, without; security headers
on every answer; secrets readable from files; behind a TLS proxy (KAM_BEHIND_PROXY)
`kam serve` sees https. The defaults stay plain http for `make demo`."""

from __future__ import annotations

import http.client
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import Client

from kam.config.settings import _env_secret

pytestmark = pytest.mark.sqlite_cli

KAM = [sys.executable, "-m", "kam.cli"]
STRONG_KEY = "q7V-3xJr_P0aLm9ZkT2wYc8NfB5uHsE1dG6iR4oWnXvQjKtMpC"  # 50 characters, varied
PRODUCTION = {
    "KAM_HTTPS": "1",
    "KAM_SECRET_KEY": STRONG_KEY,
    "KAM_ALLOWED_HOSTS": "kam.example.com",
}
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self'; connect-src 'self'; object-src 'none'; "
    "base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)


def kam_env(data_dir: Path, **env: str) -> dict[str, str]:
    """A clean environment: none of the developer's KAM_* or DJANGO_* settings (e.g. the
    e2e run's DJANGO_ALLOW_ASYNC_UNSAFE, which `check --deploy` refuses), SQLite in
    data_dir."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("KAM_", "DJANGO_"))}
    return {**clean, "KAM_DATA_DIR": str(data_dir), **env}


def run(data_dir: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*KAM, *args],
        env=kam_env(data_dir, **env),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def check_deploy(data_dir: Path, **env: str) -> subprocess.CompletedProcess:
    return run(data_dir, "manage", "check", "--deploy", "--fail-level", "WARNING", **env)


def settings_in_a_fresh_process(data_dir: Path, **env: str) -> dict:
    names = [
        "DEBUG",
        "SECRET_KEY",
        "SESSION_COOKIE_SECURE",
        "CSRF_COOKIE_SECURE",
        "SECURE_SSL_REDIRECT",
        "SECURE_HSTS_SECONDS",
        "SECURE_HSTS_INCLUDE_SUBDOMAINS",
        "SECURE_HSTS_PRELOAD",
        "SECURE_PROXY_SSL_HEADER",
    ]
    code = (
        "import django, json; django.setup(); from django.conf import settings as s; "
        f"print(json.dumps({{n: getattr(s, n) for n in {names!r}}}))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        env={**kam_env(data_dir, **env), "DJANGO_SETTINGS_MODULE": "kam.config.settings"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


# --- manage.py check --deploy --------------------------------------------------------


def test_the_deploy_check_passes_with_https_settings_and_a_strong_secret(tmp_path):
    result = check_deploy(tmp_path, **PRODUCTION)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "System check identified no issues (0 silenced)."


@pytest.mark.parametrize(
    ("env", "warnings"),
    [
        ({**PRODUCTION, "KAM_DEBUG": "1"}, ["security.W018"]),
        (
            {"KAM_SECRET_KEY": STRONG_KEY},
            ["security.W004", "security.W008", "security.W012", "security.W016"],
        ),
        (
            {"KAM_SECRET_KEY": STRONG_KEY, "KAM_SECURE_COOKIES": "1"},
            ["security.W004", "security.W008"],
        ),
        ({**PRODUCTION, "KAM_SECRET_KEY": "change-me"}, ["security.W009"]),
        ({**PRODUCTION, "KAM_HSTS_SECONDS": "0"}, ["security.W004"]),
    ],
    ids=["debug-on", "no-https", "secure-cookies-only", "weak-secret", "no-hsts"],
)
def test_the_deploy_check_fails_and_names_each_warning(tmp_path, env, warnings):
    # when
    result = check_deploy(tmp_path, **env)
    # then
    assert result.returncode == 1
    named = sorted({w for w in result.stderr.split() if w.startswith("(security.")})
    assert named == [f"({w})" for w in warnings]


# --- what the environment turns on ---------------------------------------------------


def test_by_default_kam_runs_on_plain_http_for_the_demo(tmp_path):
    assert settings_in_a_fresh_process(tmp_path) | {"SECRET_KEY": "…"} == {
        "DEBUG": False,
        "SECRET_KEY": "…",
        "SESSION_COOKIE_SECURE": False,
        "CSRF_COOKIE_SECURE": False,
        "SECURE_SSL_REDIRECT": False,
        "SECURE_HSTS_SECONDS": 0,
        "SECURE_HSTS_INCLUDE_SUBDOMAINS": False,
        "SECURE_HSTS_PRELOAD": False,
        "SECURE_PROXY_SSL_HEADER": None,
    }


def test_kam_https_turns_on_secure_cookies_the_redirect_and_hsts(tmp_path):
    assert settings_in_a_fresh_process(
        tmp_path, **PRODUCTION, KAM_HSTS_SECONDS="600", KAM_BEHIND_PROXY="1"
    ) == {
        "DEBUG": False,
        "SECRET_KEY": STRONG_KEY,
        "SESSION_COOKIE_SECURE": True,
        "CSRF_COOKIE_SECURE": True,
        "SECURE_SSL_REDIRECT": True,
        "SECURE_HSTS_SECONDS": 600,
        "SECURE_HSTS_INCLUDE_SUBDOMAINS": True,
        "SECURE_HSTS_PRELOAD": True,
        "SECURE_PROXY_SSL_HEADER": ["HTTP_X_FORWARDED_PROTO", "https"],
    }


def test_secrets_come_from_files(tmp_path):
    # given
    key_file = tmp_path / "secret_key.txt"
    key_file.write_text(f"  {STRONG_KEY}\n", encoding="utf-8")
    # when
    found = settings_in_a_fresh_process(tmp_path / "data", KAM_SECRET_KEY_FILE=str(key_file))
    # then
    assert found["SECRET_KEY"] == STRONG_KEY
    assert not (tmp_path / "data" / "secret_key").exists()  # none generated


def test_the_database_url_comes_from_a_file(tmp_path):
    # given
    url_file = tmp_path / "database_url"
    url_file.write_text(f"sqlite:///{tmp_path / 'elsewhere.sqlite3'}\n", encoding="utf-8")
    # when
    result = run(
        tmp_path / "data", "user", "add", "li", "--role", "rep", KAM_DATABASE_URL_FILE=str(url_file)
    )
    # then
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "elsewhere.sqlite3").exists()
    assert not (tmp_path / "data" / "kam.sqlite3").exists()


def test_a_secret_file_that_is_missing_or_empty_is_a_clear_error(tmp_path, monkeypatch):
    # given
    empty = tmp_path / "empty"
    empty.write_text(" \n", encoding="utf-8")
    monkeypatch.delenv("KAM_SECRET_KEY", raising=False)
    # when / then
    monkeypatch.setenv("KAM_SECRET_KEY_FILE", str(tmp_path / "missing"))
    with pytest.raises(ImproperlyConfigured) as missing:
        _env_secret("KAM_SECRET_KEY")
    monkeypatch.setenv("KAM_SECRET_KEY_FILE", str(empty))
    with pytest.raises(ImproperlyConfigured) as blank:
        _env_secret("KAM_SECRET_KEY")
    assert str(missing.value) == (
        f"KAM_SECRET_KEY_FILE={str(tmp_path / 'missing')!r}: there is no such file."
    )
    assert str(blank.value) == f"KAM_SECRET_KEY_FILE={str(empty)!r} is empty."


def test_a_secret_set_both_ways_is_refused(tmp_path, monkeypatch):
    # given
    url_file = tmp_path / "url"
    url_file.write_text("postgres://kam:x@127.0.0.1/kam", encoding="utf-8")
    monkeypatch.setenv("KAM_DATABASE_URL", "postgres://kam:y@127.0.0.1/kam")
    monkeypatch.setenv("KAM_DATABASE_URL_FILE", str(url_file))
    # when
    with pytest.raises(ImproperlyConfigured) as refused:
        _env_secret("KAM_DATABASE_URL")
    # then
    assert str(refused.value) == "Set KAM_DATABASE_URL or KAM_DATABASE_URL_FILE, not both."


def test_kam_stops_with_the_variable_named_when_a_secret_file_is_missing(tmp_path):
    result = run(
        tmp_path, "user", "add", "li", "--role", "rep", KAM_DATABASE_URL_FILE=str(tmp_path / "nope")
    )
    assert result.returncode == 2
    assert result.stderr == (
        f"kam: configuration error: KAM_DATABASE_URL_FILE={str(tmp_path / 'nope')!r}: "
        "there is no such file.\n"
    )


# --- headers -------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/login/", "/api/v1/accounts", "/no-such-page/", "/healthz"])
def test_every_answer_carries_the_security_headers(db, path):
    # when
    response = Client().get(path)
    # then
    assert {
        name: response.get(name)
        for name in (
            "X-Content-Type-Options",
            "X-Frame-Options",
            "Referrer-Policy",
            "Cross-Origin-Opener-Policy",
            "Content-Security-Policy",
        )
    } == {
        "X-Content-Type-Options": "nosniff",
        "X-Frame-Options": "DENY",
        "Referrer-Policy": "same-origin",
        "Cross-Origin-Opener-Policy": "same-origin",
        "Content-Security-Policy": CSP,
    }


def test_no_template_has_an_inline_script_or_event_handler():
    """What lets the policy say script-src 'self' without a nonce; a json_script block
    is data (type application/json), which a browser does not run."""
    import re

    templates = Path(__file__).resolve().parents[2] / "kam" / "web" / "templates"
    inline = re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*application/json)[^>]*>", re.I)
    handler = re.compile(r"\son[a-z]+\s*=", re.I)
    offenders = [
        str(path.relative_to(templates))
        for path in sorted(templates.rglob("*.html"))
        if inline.search(text := path.read_text(encoding="utf-8")) or handler.search(text)
    ]
    assert offenders == []


def test_under_kam_https_http_is_redirected_and_https_gets_hsts(db, settings):
    # given what KAM_HTTPS sets (the mapping is tested above in a fresh process)
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_HSTS_SECONDS = 31536000
    settings.SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    settings.SECURE_HSTS_PRELOAD = True
    client = Client()
    # when
    plain = client.get("/login/?next=/pipeline/")
    secure = client.get("/login/", secure=True)
    health = client.get("/healthz")
    # then
    assert (plain.status_code, plain["Location"]) == (
        301,
        "https://testserver/login/?next=/pipeline/",
    )
    assert secure.status_code == 200
    assert secure["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload"
    assert health.status_code == 200  # the proxy's check on plain http is not redirected


# --- behind a TLS proxy --------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(port: int, path: str, headers: dict[str, str]) -> http.client.HTTPResponse:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("GET", path, headers=headers)
    response = conn.getresponse()
    response.read()
    conn.close()
    return response


def test_behind_a_trusted_proxy_kam_serve_sees_https(tmp_path):
    # given kam serve as docs/deploy.md runs it behind nginx, with KAM_HTTPS
    port = _free_port()
    env = kam_env(
        tmp_path, **{**PRODUCTION, "KAM_ALLOWED_HOSTS": "127.0.0.1"}, KAM_BEHIND_PROXY="1"
    )
    server = subprocess.Popen(
        [*KAM, "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                health = _get(port, "/healthz", {})
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    server.terminate()
                    pytest.fail("kam serve did not answer: " + server.communicate(timeout=20)[0])
                time.sleep(0.3)
        # when
        from_proxy = _get(port, "/login/", {"X-Forwarded-Proto": "https"})
        plain = _get(port, "/login/", {})
    finally:
        server.terminate()
        server.wait(timeout=20)
    # then
    assert health.status == 200
    assert from_proxy.status == 200  # no redirect loop behind the proxy
    assert from_proxy.getheader("Strict-Transport-Security") == (
        "max-age=31536000; includeSubDomains; preload"
    )
    assert "Secure" in from_proxy.getheader("Set-Cookie")  # the CSRF cookie
    assert (plain.status, plain.getheader("Location")) == (301, f"https://127.0.0.1:{port}/login/")
