"""Shared fixtures: a small organisation with two teams, built through services,
and an API client that authenticates with a real bearer token."""

from __future__ import annotations

import datetime as dt
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from hypothesis import settings as hypothesis_settings

from kam.accounts.services import account_create
from kam.contacts.services import contact_create
from kam.opportunities.services import opportunity_create
from kam.users.services import token_create, user_create

# Property tests draw the same examples on every run (CI must not fail one day in
# ten on a case no one changed); no example database is written into the checkout.
# A new property is explored with HYPOTHESIS_PROFILE=explore (random, more examples).
hypothesis_settings.register_profile("kam", derandomize=True, database=None)
hypothesis_settings.register_profile("explore", derandomize=False, database=None)
hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "kam"))

TESTS_DIR = Path(__file__).resolve().parent
# Folders whose tests meet the database only through selectors and services that the
# API, service and security tests run on both databases: they run once, on SQLite
# (marker `single_db`). The demo's pipeline test stays in both runs: it is where
# PostgreSQL's planner once took 20 s over the freshly loaded demo (no ANALYZE).
SINGLE_DB_FOLDERS = ("web", "methodology", "demo")
BOTH_DB_MODULES = ("test_demo_pipeline.py",)


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    for item in items:
        path = Path(str(item.path))
        try:
            parts = path.relative_to(TESTS_DIR).parts
        except ValueError:  # e2e/
            continue
        if len(parts) > 1 and parts[0] in SINGLE_DB_FOLDERS and path.name not in BOTH_DB_MODULES:
            item.add_marker(pytest.mark.single_db)


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    """PBKDF2 at production strength costs ~0.3 s a user; tests make dozens."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _uploads_in_tmp(settings, tmp_path_factory):
    """Uploaded documents go to a temporary folder, not the developer's data folder."""
    settings.KAM_UPLOAD_DIR = tmp_path_factory.getbasetemp() / "uploads"


@pytest.fixture(autouse=True)
def _english_unless_told():
    """Each test starts in the default language: a request in Chinese made by an
    earlier test on the same worker leaves Chinese active in the thread (Django's
    LocaleMiddleware activates the request's language and nothing resets it)."""
    from django.utils import translation

    translation.activate("en")
    yield
    translation.deactivate()


@dataclass
class World:
    admin: Any
    manager_east: Any
    rep_a: Any  # East
    rep_b: Any  # East
    manager_west: Any
    rep_c: Any  # West


@pytest.fixture
def world(db) -> World:
    return World(
        admin=user_create(username="admin", role="admin", password="admin-pass-123"),
        manager_east=user_create(username="m_east", role="manager", team="East",
                                 password="manager-pass-123"),
        rep_a=user_create(username="rep_a", role="rep", team="East", password="rep-pass-123"),
        rep_b=user_create(username="rep_b", role="rep", team="East", password="rep-pass-123"),
        manager_west=user_create(username="m_west", role="manager", team="West",
                                 password="manager-pass-123"),
        rep_c=user_create(username="rep_c", role="rep", team="West", password="rep-pass-123"),
    )


class ApiClient:
    """The HTTP API as a script would use it: JSON in, JSON out, a bearer token."""

    def __init__(self, user=None, language: str = "en"):
        self.client = Client()
        self.headers: dict[str, str] = {"HTTP_ACCEPT_LANGUAGE": language}
        if user is not None:
            self.headers["HTTP_AUTHORIZATION"] = f"Bearer {token_create(user=user)}"

    def _send(self, method: str, path: str, body: Any = None, headers=None, **params):
        url = path if path.startswith("/") else f"/api/v1/{path}"
        kwargs: dict[str, Any] = {**self.headers, **(headers or {})}
        if body is not None:
            kwargs["data"] = body if isinstance(body, str | bytes) else json.dumps(body)
            kwargs["content_type"] = "application/json"
        if params:
            kwargs["data"] = params
        return getattr(self.client, method)(url, **kwargs)

    def get(self, path: str, **params):
        return self._send("get", path, **params)

    def post(self, path: str, body: Any = None):
        return self._send("post", path, body if body is not None else {})

    def patch(self, path: str, body: Any):
        return self._send("patch", path, body)

    def put(self, path: str, body: Any):
        return self._send("put", path, body)

    def delete(self, path: str):
        return self._send("delete", path)

    # Writes that name the version they were based on (If-Match: the ETag of a read).
    def patch_with(self, path: str, body: Any, *, if_match: str):
        return self._send("patch", path, body, headers={"HTTP_IF_MATCH": if_match})

    def post_with(self, path: str, body: Any, *, if_match: str):
        return self._send("post", path, body, headers={"HTTP_IF_MATCH": if_match})

    def delete_with(self, path: str, *, if_match: str):
        return self._send("delete", path, headers={"HTTP_IF_MATCH": if_match})


@pytest.fixture
def api_as():
    return lambda user, language="en": ApiClient(user, language)


@pytest.fixture
def book(world):
    """One account, contact and opportunity per rep."""
    out = {}
    for rep in (world.rep_a, world.rep_b, world.rep_c):
        account = account_create(actor=rep, name=f"Account of {rep.username}")
        contact = contact_create(actor=rep, account=account, name=f"Buyer of {rep.username}")
        opp = opportunity_create(actor=rep, account=account, name=f"Deal of {rep.username}",
                                 amount="100000", expected_close=dt.date(2027, 6, 30))
        out[rep.username] = {"account": account, "contact": contact, "opportunity": opp}
    return out


PROCESS_RULES = ("forced_gate", "behind_buyer", "ahead_of_buyer", "stalled")


@pytest.fixture
def only_rules(monkeypatch):
    """`only_rules(codes)` runs just those alert rules, so a test sees exactly the
    alerts its deals are built to raise (the buying-centre rules fire on every bare
    deal; they have tests of their own)."""
    from kam.methodology import registry
    from kam.methodology.risks import RiskConfig

    m = registry.current()
    shipped = m.risks

    def only(codes) -> None:
        monkeypatch.setattr(m, "risks", RiskConfig(rules={c: shipped.rules[c] for c in codes}))

    return only


@pytest.fixture
def process_rules_only(only_rules):
    """Only the process alerts (SPEC §2.2) are on: for tests of the process engine
    whose deals have no buying centre."""
    only_rules(PROCESS_RULES)


@pytest.fixture
def linear_grading(monkeypatch):
    """The shipped grading model with the transaction indicators on a linear scale
    (`relative`) instead of the shipped `log`, so grades of small hand-made books can
    be checked by hand. The log scale has tests of its own."""
    import re
    import tomllib

    from kam.methodology import registry
    from kam.methodology.grading import GradingModel

    text = (registry.MODELS_DIR / "grading.toml").read_text(encoding="utf-8")
    text = re.sub(r'method = "log"\nfloor = \d+[^\n]*', 'method = "relative"', text)
    monkeypatch.setattr(
        registry.current(), "grading", GradingModel.model_validate(tomllib.loads(text))
    )
