"""Fixtures for the web UI tests: two teams, each rep with an account, an org
chart and an opportunity — all built through services, as a user would."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import pytest
from django.test import Client

from kam.accounts.services import account_create
from kam.contacts.services import contact_create
from kam.opportunities.services import opportunity_create
from kam.users.services import user_create

PASSWORD = "web-pass-123"


@dataclass
class People:
    admin: Any
    manager_east: Any
    rep_a: Any  # East
    rep_b: Any  # East
    manager_west: Any
    rep_c: Any  # West


@dataclass
class Book:
    account: Any
    boss: Any
    report: Any
    opportunity: Any


@pytest.fixture
def people(db) -> People:
    def make(username: str, role: str, team: str | None, display_name: str = ""):
        return user_create(
            username=username,
            role=role,
            team=team,
            password=PASSWORD,
            display_name=display_name,
        )

    return People(
        admin=make("w_admin", "admin", None),
        manager_east=make("w_m_east", "manager", "East"),
        rep_a=make("w_rep_a", "rep", "East", "Alice Rep"),
        rep_b=make("w_rep_b", "rep", "East"),
        manager_west=make("w_m_west", "manager", "West"),
        rep_c=make("w_rep_c", "rep", "West"),
    )


def make_book(rep, tag: str) -> Book:
    account = account_create(actor=rep, name=f"{tag} Steel Works", industry="Steel")
    boss = contact_create(
        actor=rep, account=account, name=f"{tag} Boss", title="General manager", layer="decision"
    )
    report = contact_create(
        actor=rep,
        account=account,
        name=f"{tag} Engineer",
        title="Chief engineer",
        department="Design",
        reports_to=boss,
        layer="management",
        disc="C",
    )
    opportunity = opportunity_create(
        actor=rep,
        account=account,
        name=f"{tag} Press line",
        amount="1250000",
        expected_close=dt.date(2027, 6, 30),
    )
    return Book(account=account, boss=boss, report=report, opportunity=opportunity)


@pytest.fixture
def books(people) -> dict[str, Book]:
    """One account with two contacts and one opportunity per rep."""
    return {
        "rep_a": make_book(people.rep_a, "Alpha"),
        "rep_b": make_book(people.rep_b, "Bravo"),
        "rep_c": make_book(people.rep_c, "Charlie"),
    }


@pytest.fixture
def client_for():
    """A signed-in test client for a user, with the client_for's language."""

    def make(user=None, language: str = "en") -> Client:
        client = Client(HTTP_ACCEPT_LANGUAGE=language)
        if user is not None:
            client.force_login(user)
        return client

    return make
