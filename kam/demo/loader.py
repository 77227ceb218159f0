"""`kam demo`: load the demo into an empty database, in one transaction.

The contract the CLI relies on: `load_demo(out=...)` writes everything or nothing,
prints the demo users and their passwords, and raises `DemoRefused` when the
database is not empty — `already_loaded` tells a second `kam demo` (harmless, exit 0)
from a database holding real data (refused, exit 3). A finished load leaves an
Event(entity="demo", action="loaded") as its mark."""

from __future__ import annotations

import sys
import unicodedata
from dataclasses import dataclass
from typing import IO

from django.db import transaction

from kam.accounts import services as account_services
from kam.accounts.models import Account
from kam.contacts import services as contact_services
from kam.contacts.models import Contact
from kam.core import audit, clock
from kam.core.models import Event
from kam.demo import cases, synthetic
from kam.demo.timeline import Timeline
from kam.methodology import registry
from kam.opportunities import services as opportunity_services
from kam.opportunities.models import Opportunity
from kam.users import services as user_services
from kam.users.models import User

TEAM_1 = "大客户一部"
TEAM_2 = "大客户二部"
URL = "http://127.0.0.1:8000/"


@dataclass(frozen=True)
class DemoUser:
    username: str
    role: str
    team: str | None
    password: str
    display_name: str


DEMO_USERS: tuple[DemoUser, ...] = (
    DemoUser("admin", "admin", None, "kam-demo-admin", "系统管理员"),
    DemoUser("manager", "manager", TEAM_1, "kam-demo-manager", "陈经理"),
    DemoUser("rep1", "rep", TEAM_1, "kam-demo-rep1", "李明"),
    DemoUser("rep2", "rep", TEAM_1, "kam-demo-rep2", "王芳"),
    DemoUser("manager2", "manager", TEAM_2, "kam-demo-manager2", "周经理"),
    DemoUser("rep3", "rep", TEAM_2, "kam-demo-rep3", "张伟"),
)


class DemoRefused(Exception):
    """The demo was not loaded; nothing was written. `already_loaded` is True when
    this database holds the demo already, False when it holds other data."""

    def __init__(self, message: str, already_loaded: bool):
        super().__init__(message)
        self.already_loaded = already_loaded


@dataclass(frozen=True)
class DemoSummary:
    users: int
    accounts: int
    contacts: int
    opportunities: int
    events: int


def demo_loaded() -> bool:
    return Event.objects.filter(entity="demo", action="loaded").exists()


def _check_empty() -> None:
    if demo_loaded():
        raise DemoRefused(
            "The demo is already loaded in this database; nothing changed. "
            f"Sign in at {URL} (e.g. rep1 / kam-demo-rep1).",
            already_loaded=True,
        )
    counts = (
        Account.objects.count(),
        Contact.objects.count(),
        Opportunity.objects.count(),
    )
    if any(counts):
        accounts, contacts, opportunities = counts
        raise DemoRefused(
            f"This database already holds data ({accounts} accounts, {contacts} contacts, "
            f"{opportunities} opportunities); the demo loads only into an empty one, so "
            "nothing was written. Point KAM_DATA_DIR at a new folder to try the demo.",
            already_loaded=False,
        )
    wanted = [u.username for u in DEMO_USERS]
    taken = sorted(User.objects.filter(username__in=wanted).values_list("username", flat=True))
    if taken:
        raise DemoRefused(
            f"The demo needs the user name(s) {', '.join(taken)}, but they already exist "
            "here; nothing was written. Point KAM_DATA_DIR at a new folder to try the demo.",
            already_loaded=False,
        )


def _create_users(t: Timeline) -> dict[str, User]:
    with clock.freeze(t.at(430, 9 * 60)):
        return {
            u.username: user_services.user_create(
                username=u.username,
                role=u.role,
                team=u.team,
                password=u.password,
                display_name=u.display_name,
            )
            for u in DEMO_USERS
        }


def plan(t: Timeline) -> tuple[synthetic.AccountPlan, ...]:
    """The synthetic accounts for a load on `t`'s day."""
    return synthetic.build_plan(
        today=t.today,
        playbooks={key: registry.playbook(key) for key in synthetic.PLAYBOOK_SHARES},
        buyer=registry.buyer_process(),
        reserved_names=cases.ACCOUNT_NAMES,
    )


def _write_account(item: synthetic.AccountPlan, users: dict[str, User], t: Timeline) -> None:
    owner = users[item.owner]
    with clock.freeze(t.at(item.created_days_ago, 9 * 60 + 30)):
        account = account_services.account_create(
            actor=owner,
            owner=owner,
            name=item.name,
            industry=item.industry,
            region=item.region,
            nature=item.nature,
            size=item.size,
            account_type=item.account_type,
            annual_revenue=item.annual_revenue,
            collection_cycle_days=item.collection_cycle_days,
            receivables=item.receivables,
            credit_limit=item.credit_limit,
            notes=item.notes,
        )
        people: list[Contact] = []
        for c in item.contacts:
            people.append(
                contact_services.contact_create(
                    actor=owner,
                    account=account,
                    name=c.name,
                    title=c.title,
                    department=c.department,
                    layer=c.layer,
                    disc=c.disc,
                    reports_to=people[c.reports_to] if c.reports_to is not None else None,
                    joined_at=t.date(-c.joined_days_ago) if c.joined_days_ago else None,
                    notes=c.notes,
                )
            )
    for person, c in zip(people, item.contacts, strict=True):
        if c.left_days_ago is not None:
            with clock.freeze(t.at(c.left_days_ago, 17 * 60)):
                contact_services.contact_update(
                    actor=owner, contact=person, status="left", left_at=t.date(-c.left_days_ago)
                )
    for d in item.opportunities:
        deal_owner = users[d.owner]
        with clock.freeze(t.at(d.stage_days_ago, d.minute)):
            opp = opportunity_services.opportunity_create(
                actor=deal_owner,
                account=account,
                owner=deal_owner,
                name=d.name,
                amount=d.amount,
                expected_close=t.date(d.close_in_days),
                playbook=d.playbook,
                stage=d.stage,
                stage_entered_at=clock.now(),
                buyer_stage=d.earlier_buyer_stage or d.buyer_stage,
                description=d.description,
            )
        if d.earlier_buyer_stage is not None and d.buyer_moved_days_ago is not None:
            with clock.freeze(t.at(d.buyer_moved_days_ago, d.minute)):
                opportunity_services.opportunity_update(
                    actor=deal_owner, opportunity=opp, buyer_stage=d.buyer_stage
                )


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _table(rows: list[list[str]]) -> list[str]:
    widths = [max(_width(row[i]) for row in rows) for i in range(len(rows[0]))]
    return [
        "  ".join(
            cell + " " * (w - _width(cell)) for cell, w in zip(row, widths, strict=True)
        ).rstrip()
        for row in rows
    ]


def _print_summary(out: IO[str], summary: DemoSummary) -> None:
    lines = [
        f"KAM demo loaded: {summary.users} users, {summary.accounts} accounts, "
        f"{summary.contacts} contacts, {summary.opportunities} opportunities.",
        "All companies and people in it are fictional.",
        "",
        *_table(
            [
                ["username", "role", "team", "password", "display name"],
                *[
                    [u.username, u.role, u.team or "-", u.password, u.display_name]
                    for u in DEMO_USERS
                ],
            ]
        ),
        "",
        f"Open {URL} and sign in (start the server with: kam serve).",
    ]
    out.write("\n".join(lines) + "\n")
    out.flush()


def load_demo(out: IO[str] | None = None) -> DemoSummary:
    """Load the demo into an empty database, all or nothing, and print the users."""
    t = Timeline(now=clock.now())
    with transaction.atomic():
        _check_empty()
        users = _create_users(t)
        cases.tell_all(users, t)
        for item in plan(t):
            _write_account(item, users, t)
        summary = DemoSummary(
            users=len(users),
            accounts=Account.objects.count(),
            contacts=Contact.objects.count(),
            opportunities=Opportunity.objects.count(),
            events=Event.objects.count() + 1,
        )
        audit.record(
            actor=None,
            entity="demo",
            entity_id=0,
            action="loaded",
            after={
                "seed": synthetic.SEED,
                "users": summary.users,
                "accounts": summary.accounts,
                "contacts": summary.contacts,
                "opportunities": summary.opportunities,
            },
            note="kam demo",
        )
    _print_summary(out if out is not None else sys.stdout, summary)
    return summary
