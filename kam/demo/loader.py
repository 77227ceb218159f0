"""`kam demo`: load the demo into an empty database, in one transaction.

The contract the CLI relies on: `load_demo(out=...)` writes everything or nothing,
prints the demo users and their passwords, and raises `DemoRefused` when the
database is not empty — `already_loaded` tells a second `kam demo` (harmless, exit 0)
from a database holding real data (refused, exit 3). A finished load leaves an
Event(entity="demo", action="loaded") as its mark."""

from __future__ import annotations

import os
import sys
import unicodedata
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from typing import IO

from django.contrib.auth.hashers import make_password
from django.db import transaction

from kam.accounts import needs, revenue
from kam.accounts import services as account_services
from kam.accounts.models import Account
from kam.competition import accounts as competition
from kam.competition import scoring
from kam.competition.competitors import competitor_get_or_create
from kam.contacts import services as contact_services
from kam.contacts.models import Contact
from kam.core import audit, clock
from kam.core.db import refresh_statistics
from kam.core.models import Event
from kam.demo import cases, market, steps, synthetic
from kam.demo.timeline import Timeline
from kam.methodology import registry
from kam.opportunities import process
from kam.opportunities import services as opportunity_services
from kam.opportunities.models import Opportunity
from kam.segments.services import segment_create
from kam.stakeholders import services as stakeholder_services
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


@contextmanager
def _hashing_passwords() -> Iterator[dict[str, Future[str]]]:
    """The demo passwords, hashed on worker threads while the loader writes.

    Django's password hasher is slow on purpose (about 0.4 s a password, ~40% of the
    whole load for six users) and releases the GIL, so hashing beside the writes
    instead of before them keeps `kam demo` quick. The hashes are what
    `User.set_password` would store: Django's `make_password` with its configured
    hashers."""
    workers = max(1, min(len(DEMO_USERS), (os.cpu_count() or 2) - 1))
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="kam-demo-hash")
    try:
        yield {u.username: pool.submit(make_password, u.password) for u in DEMO_USERS}
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _create_users(t: Timeline, days_ago: int) -> dict[str, User]:
    """The demo team, created through the users service; their passwords are set by
    `_set_passwords` once hashed."""
    with clock.freeze(t.at(days_ago, 9 * 60)):
        return {
            u.username: user_services.user_create(
                username=u.username,
                role=u.role,
                team=u.team,
                display_name=u.display_name,
            )
            for u in DEMO_USERS
        }


def _set_passwords(users: dict[str, User], hashed: dict[str, Future[str]]) -> None:
    for username, user in users.items():
        user.password = hashed[username].result()
        user.save(update_fields=["password"])


def plan(t: Timeline) -> tuple[synthetic.AccountPlan, ...]:
    """The synthetic accounts for a load on `t`'s day."""
    return synthetic.build_plan(
        today=t.today,
        playbooks={key: registry.playbook(key) for key in synthetic.PLAYBOOK_SHARES},
        buyer=registry.buyer_process(),
        evaluation=registry.current().evaluation,
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
    deals = [
        replay(d, account=account, people=people, users=users, t=t) for d in item.opportunities
    ]
    _write_market(item, account, deals, owner, t)


def _write_market(
    item: synthetic.AccountPlan,
    account: Account,
    deals: list[Opportunity],
    owner: User,
    t: Timeline,
) -> None:
    """The account's market side (kam.demo.market): ERP revenue imported a month ago,
    the profile, needs and satisfaction, the competition map, and the scoring tables
    of its deals that got past entry."""
    plan = market.plan_account(
        item.name,
        size=item.size,
        nature=item.nature,
        account_type=item.account_type,
        products=tuple(d.name for d in item.opportunities),
    )
    with clock.freeze(t.at(30, 16 * 60)):
        for i, (days_ago, amount, profit) in enumerate(plan.revenue):
            revenue.revenue_record_add(
                actor=owner,
                account=account,
                date=t.date(-days_ago),
                amount=amount,
                profit=profit,
                source="ERP",
                external_key=f"ERP-{account.pk}-{i + 1}",
            )
        account_services.account_update(
            actor=owner,
            account=account,
            value_positioning=plan.value_positioning,
            attributes=plan.attributes,
        )
        if plan.needs:
            needs.needs_set(
                actor=owner,
                account=account,
                needs=[{"dimension": d, "importance": i, "our_fit": f} for d, i, f in plan.needs],
            )
        if plan.competition_map:
            year = t.today.year
            competition.competition_map_set(
                actor=owner,
                account=account,
                entries=[
                    {
                        **({"us": True} if e.rival is None else {"competitor_name": e.rival}),
                        "share": e.share,
                        "relationship": e.relationship,
                        "satisfaction": e.satisfaction,
                        "incumbent": e.incumbent,
                        "since": year - e.since,
                        "history": e.history.replace("{year}", str(year - e.since)),
                    }
                    for e in plan.competition_map
                ],
            )
            competition.position_set(
                actor=owner,
                account=account,
                posture=plan.posture,
                **{f"barrier_{b}": True for b in plan.barriers},
            )
    for days_ago, score in plan.satisfaction:
        with clock.freeze(t.at(days_ago, 11 * 60)):
            needs.satisfaction_record_add(
                actor=owner, account=account, score=score, date=t.date(-days_ago)
            )
    for d, opp in zip(item.opportunities, deals, strict=True):
        book = registry.playbook(opp.playbook)
        if book.stage_keys.index(opp.stage) < 2:
            continue
        table = market.plan_table(d.name, d.amount, plan.rivals)
        if table is None:
            continue
        with clock.freeze(t.at(max(1, d.stage_days_ago // 2), 15 * 60)):
            scores = {
                "us" if rival is None else competitor_get_or_create(actor=owner, name=rival): row
                for rival, row in table.items()
            }
            scoring.competition_set(actor=opp.owner, opportunity=opp, scores=scores)


def replay(
    d: synthetic.OpportunityPlan,
    *,
    account: Account,
    people: list[Contact],
    users: dict[str, User],
    t: Timeline,
) -> Opportunity:
    """Record the deal at its playbook's first stage and replay its story through the
    process services, each step under the clock of its day: every advance passes a
    key node on evidence (or is forced by a manager with a reason), so the history
    and the gates tell the same story."""
    owner = users[d.owner]
    opp: Opportunity | None = None
    for step in d.steps:
        action = step.action
        with clock.freeze(t.at(step.days_ago, step.minute)):
            if isinstance(action, steps.Create):
                opp = opportunity_services.opportunity_create(
                    actor=owner,
                    account=account,
                    owner=owner,
                    name=d.name,
                    amount=d.amount,
                    expected_close=t.date(d.close_in_days),
                    playbook=d.playbook,
                    buyer_stage=action.buyer_stage,
                    description=d.description,
                )
                continue
            assert opp is not None, "a deal's story starts with its creation"
            _act(action, opp, day=t.date(-step.days_ago), owner=owner, users=users, people=people)
    assert opp is not None
    return opp


def _act(action, opp: Opportunity, *, day, owner: User, users, people: list[Contact]) -> None:
    if isinstance(action, steps.Evaluate):
        process.evaluation_record(actor=owner, opportunity=opp, scores=dict(action.scores))
    elif isinstance(action, steps.Person):
        contact = people[action.contact]
        stakeholder_services.stakeholder_add(
            actor=owner,
            opportunity=opp,
            contact=contact,
            roles=list(action.roles),
            stance=action.stance,
            is_coach=action.coach,
            influence=action.influence,
            relationship=action.relationship,
            disc=contact.disc,
        )
    elif isinstance(action, steps.Stance):
        link = opp.stakeholders.get(contact=people[action.contact])
        coach = {} if action.coach is None else {"is_coach": action.coach}
        stakeholder_services.stakeholder_update(
            actor=owner, stakeholder=link, stance=action.stance, **coach
        )
    elif isinstance(action, steps.Criterion):
        process.criterion_add(
            actor=owner,
            opportunity=opp,
            text=action.text,
            shaped_by_us=action.shaped_by_us,
            favourable=action.favourable,
        )
    elif isinstance(action, steps.Milestone):
        process.milestone_record(
            actor=owner,
            opportunity=opp,
            kind=action.kind,
            date=day,
            price=action.price,
            margin=action.margin,
            note=action.note,
        )
    elif isinstance(action, steps.BuyerMove):
        opportunity_services.opportunity_update(
            actor=owner, opportunity=opp, buyer_stage=action.stage
        )
    elif isinstance(action, steps.Advance):
        process.opportunity_advance(
            actor=users[action.by] if action.by else owner,
            opportunity=opp,
            force=action.force,
            reason=action.reason,
        )
    elif isinstance(action, steps.Override):
        process.priority_override(
            actor=users[action.by], opportunity=opp, grade=action.grade, reason=action.reason
        )
    elif isinstance(action, steps.Close):
        process.opportunity_close(
            actor=owner, opportunity=opp, outcome=action.outcome, reason=action.reason
        )
    else:  # pragma: no cover - a new kind of step needs its service here
        raise TypeError(f"unknown demo step {action!r}")


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
        with _hashing_passwords() as hashed:
            accounts = plan(t)
            # the team existed before anything it recorded
            oldest = max([a.created_days_ago for a in accounts] + [cases.OLDEST_DAYS_AGO])
            users = _create_users(t, oldest + 30)
            cases.tell_all(users, t)
            for item in accounts:
                _write_account(item, users, t)
            with clock.freeze(t.at(20, 9 * 60)):
                for name, description, definition, scores in market.SEGMENTS:
                    segment_create(
                        actor=users["manager"],
                        name=name,
                        description=description,
                        definition=definition,
                        scores=scores,
                    )
            _set_passwords(users, hashed)
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
        refresh_statistics()
    _print_summary(out if out is not None else sys.stdout, summary)
    return summary
