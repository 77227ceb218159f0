"""Audit completeness (issue 9): the event log alone rebuilds every record.

N random changes (fixed seed) go through the HTTP API as a rep, their manager, a
colleague and an admin, a few through the web forms and one through the importer;
then for every record of every replayable entity — each row in its table and each id
the log names — `kam.core.replay.replay` (the events folded in order) must equal
`kam.core.replay.current` (the row as stored), and None for what was deleted. The
figures go to docs/security.md ("Audit trail")."""

from __future__ import annotations

import datetime as dt
import random
import time
from collections import Counter
from dataclasses import dataclass, field

import pytest
from django.forms import model_to_dict
from django.test import Client
from django.urls import resolve, reverse
from django.utils import timezone

from kam.accounts.models import Account
from kam.contacts.models import Contact
from kam.core import clock, replay
from kam.core.models import Event
from kam.methodology import registry
from kam.opportunities.models import Opportunity
from kam.transfer import importer
from kam.web.forms import ACCOUNT_FIELDS
from tests.transfer.conftest import (
    ACCOUNT_HEADERS,
    CONTACT_HEADERS,
    DEAL_HEADERS,
    account_row,
    deal_row,
    write_xlsx,
)

SEED = 9_2026
CHANGES = 320  # successful writes through the API, before the UI posts and the import
START = timezone.make_aware(dt.datetime(2026, 6, 15, 9, 0))

# Who may change a record owned by whom (kam.core.permissions: the owner, the owner's
# team manager, an admin).
EDITORS = {
    "rep_a": ("rep_a", "m_east", "admin"),
    "rep_b": ("rep_b", "m_east", "admin"),
    "m_east": ("m_east", "admin"),
    "admin": ("admin",),
}
# Whom each user may make an owner.
GIVES_TO = {
    "rep_a": ("rep_a",),
    "rep_b": ("rep_b",),
    "m_east": ("rep_a", "rep_b", "m_east"),
    "admin": ("rep_a", "rep_b", "m_east", "admin"),
}
# Refusals the random walk may meet (a reporting circle, a gate that cannot be forced,
# a contact already in the buying centre …); anything else fails the test.
REFUSED = {409, 422}
SYSTEM_EVENTS = {("user", "created")}  # users made by `kam user add` / the fixtures


@dataclass
class Book:
    """What the walk made and who owns it, so each step picks a record and a user
    who may change it."""

    accounts: dict[int, str] = field(default_factory=dict)  # id → owner
    contacts: dict[int, int] = field(default_factory=dict)  # id → account
    deals: dict[int, dict] = field(default_factory=dict)  # id → {account, owner, open}
    stakeholders: dict[int, tuple[int, int]] = field(default_factory=dict)  # → (deal, contact)
    criteria: dict[int, int] = field(default_factory=dict)  # id → deal


class Walk:
    def __init__(self, rng: random.Random, clients: dict, users: dict):
        self.rng = rng
        self.clients = clients
        self.users = users
        self.book = Book()
        self.done: Counter = Counter()
        self.refused: Counter = Counter()
        self.reassigned = 0  # owner changes by a manager or an admin
        self.buyer_stages = list(registry.buyer_process().keys)
        self.factors = list(registry.current().evaluation.keys)

    # --- helpers ---------------------------------------------------------------------

    def pick(self, items):
        items = sorted(items)
        return self.rng.choice(items) if items else None

    def deal_editors(self, deal_id: int) -> tuple[str, ...]:
        deal = self.book.deals[deal_id]
        account_owner = self.book.accounts[deal["account"]]
        return tuple(u for u in EDITORS[deal["owner"]] if u in EDITORS[account_owner])

    def send(self, name: str, who: str, method: str, path: str, body=None):
        client = self.clients[who]
        response = (
            getattr(client, method)(path)
            if method == "delete"
            else getattr(client, method)(path, body)
        )
        if response.status_code in REFUSED:
            self.refused[name] += 1
            return None
        assert response.status_code in (200, 201, 204), (
            name,
            who,
            path,
            body,
            response.status_code,
            response.content[:500],
        )
        self.done[name] += 1
        return response.json() if response.status_code != 204 else {}

    # --- accounts --------------------------------------------------------------------

    def account_create(self):
        who = self.rng.choice(list(EDITORS))
        owner = self.rng.choice(GIVES_TO[who])
        body = {
            "name": f"客户 {self.rng.randrange(10**6)}",
            "industry": self.rng.choice(["", "钢铁", "汽车", "Machinery"]),
            "owner_id": self.users[owner].pk,
        }
        if self.rng.random() < 0.5:
            body["annual_revenue"] = str(self.rng.randrange(1, 10**7))
        out = self.send("account_create", who, "post", "accounts", body)
        if out:
            self.book.accounts[out["id"]] = owner

    def account_patch(self):
        account = self.pick(self.book.accounts)
        if account is None:
            return
        who = self.rng.choice(EDITORS[self.book.accounts[account]])
        choices = {
            "region": lambda: self.rng.choice(["上海", "苏州", "", "Hangzhou"]),
            "notes": lambda: f"note {self.rng.randrange(1000)}",
            "annual_revenue": lambda: self.rng.choice([None, "12345.6", "5000000"]),
            "size": lambda: self.rng.choice(["", "small", "large"]),
            "nature": lambda: self.rng.choice(["soe", "private", ""]),
            "value_positioning": lambda: self.rng.choice([None, 1, 3, 5]),
            "collection_cycle_days": lambda: self.rng.choice([None, 30, 90]),
        }
        keys = self.rng.sample(sorted(choices), self.rng.randint(1, 3))
        body = {k: choices[k]() for k in keys}
        owner = None
        if who != "rep_a" and who != "rep_b" and self.rng.random() < 0.3:
            owner = self.rng.choice(GIVES_TO[who])
            body["owner_id"] = self.users[owner].pk
        changed = self.send("account_patch", who, "patch", f"accounts/{account}", body)
        if changed is not None and owner:
            self.book.accounts[account] = owner
            self.reassigned += 1

    def account_delete(self):
        busy = set(self.book.contacts.values()) | {d["account"] for d in self.book.deals.values()}
        account = self.pick(set(self.book.accounts) - busy)
        if account is None:
            return
        who = self.rng.choice(EDITORS[self.book.accounts[account]])
        if self.send("account_delete", who, "delete", f"accounts/{account}") is not None:
            del self.book.accounts[account]

    # --- contacts --------------------------------------------------------------------

    def contact_create(self):
        account = self.pick(self.book.accounts)
        if account is None:
            return
        who = self.rng.choice(EDITORS[self.book.accounts[account]])
        body = {
            "account_id": account,
            "name": f"联系人 {self.rng.randrange(10**6)}",
            "title": self.rng.choice(["", "采购经理", "总工"]),
            "layer": self.rng.choice(["", "decision", "management", "operation"]),
        }
        boss = self.pick(c for c, a in self.book.contacts.items() if a == account)
        if boss and self.rng.random() < 0.6:
            body["reports_to_id"] = boss
        out = self.send("contact_create", who, "post", "contacts", body)
        if out:
            self.book.contacts[out["id"]] = account

    def contact_patch(self):
        contact = self.pick(self.book.contacts)
        if contact is None:
            return
        account = self.book.contacts[contact]
        who = self.rng.choice(EDITORS[self.book.accounts[account]])
        roll = self.rng.random()
        if roll < 0.25:
            others = [c for c, a in self.book.contacts.items() if a == account and c != contact]
            body = {"reports_to_id": self.pick(others) if others else None}
        elif roll < 0.4:
            body = {"status": "left"}
        elif roll < 0.5:
            body = {"status": "active"}
        else:
            body = {
                "title": self.rng.choice(["副总", "工程师", ""]),
                "disc": self.rng.choice(["", "D", "I", "S", "C"]),
                "phone": str(self.rng.randrange(10**8)),
            }
        self.send("contact_patch", who, "patch", f"contacts/{contact}", body)

    def contact_delete(self):
        held = {c for _d, c in self.book.stakeholders.values()}
        contact = self.pick(set(self.book.contacts) - held)
        if contact is None:
            return
        who = self.rng.choice(EDITORS[self.book.accounts[self.book.contacts[contact]]])
        if self.send("contact_delete", who, "delete", f"contacts/{contact}") is not None:
            del self.book.contacts[contact]

    # --- opportunities ---------------------------------------------------------------

    def deal_create(self):
        account = self.pick(self.book.accounts)
        if account is None:
            return
        who = self.rng.choice(EDITORS[self.book.accounts[account]])
        owner = self.rng.choice(GIVES_TO[who])
        if owner not in EDITORS or who not in EDITORS[owner]:
            owner = who
        body = {
            "account_id": account,
            "name": f"项目 {self.rng.randrange(10**6)}",
            "amount": str(self.rng.randrange(10_000, 5_000_000)),
            "expected_close": (
                START.date() + dt.timedelta(days=self.rng.randrange(20, 600))
            ).isoformat(),
            "owner_id": self.users[owner].pk,
        }
        out = self.send("deal_create", who, "post", "opportunities", body)
        if out:
            self.book.deals[out["id"]] = {"account": account, "owner": owner, "open": True}

    def _deal(self, *, open_only: bool = False):
        deals = [d for d, v in self.book.deals.items() if v["open"] or not open_only]
        deal = self.pick(deals)
        if deal is None or not self.deal_editors(deal):
            return None, None
        return deal, self.rng.choice(self.deal_editors(deal))

    def deal_patch(self):
        deal, who = self._deal()
        if deal is None:
            return
        choices = {
            "amount": lambda: str(self.rng.randrange(10_000, 5_000_000)),
            "expected_close": lambda: (
                START.date() + dt.timedelta(days=self.rng.randrange(20, 600))
            ).isoformat(),
            "buyer_stage": lambda: self.rng.choice(self.buyer_stages),
            "description": lambda: self.rng.choice(["", "二期", "Phase 2"]),
        }
        keys = self.rng.sample(sorted(choices), self.rng.randint(1, 2))
        body = {k: choices[k]() for k in keys}
        owner = None
        if who in ("m_east", "admin") and self.rng.random() < 0.3:
            owner = self.rng.choice(GIVES_TO[who])
            body["owner_id"] = self.users[owner].pk
        changed = self.send("deal_patch", who, "patch", f"opportunities/{deal}", body)
        if changed is not None and owner:
            self.book.deals[deal]["owner"] = owner
            self.reassigned += 1

    def deal_advance(self):
        deal, who = self._deal(open_only=True)
        if deal is None:
            return
        managers = [u for u in self.deal_editors(deal) if u in ("m_east", "admin")]
        if not managers:
            return
        who = self.rng.choice(managers)
        body = {"force": True, "reason": "客户高层已拍板"}
        self.send("deal_advance", who, "post", f"opportunities/{deal}/advance", body)

    def deal_close(self):
        deal, who = self._deal(open_only=True)
        if deal is None:
            return
        body = {"outcome": self.rng.choice(["lost", "abandoned"]), "reason": "预算取消"}
        if self.send("deal_close", who, "post", f"opportunities/{deal}/close", body):
            self.book.deals[deal]["open"] = False

    def deal_delete(self):
        deal, who = self._deal()
        if deal is None:
            return
        if self.send("deal_delete", who, "delete", f"opportunities/{deal}") is not None:
            del self.book.deals[deal]
            for gone in [s for s, (d, _c) in self.book.stakeholders.items() if d == deal]:
                del self.book.stakeholders[gone]
            for gone in [c for c, d in self.book.criteria.items() if d == deal]:
                del self.book.criteria[gone]

    def evaluate(self):
        deal, who = self._deal()
        if deal is None:
            return
        scores = {k: self.rng.randint(1, 5) for k in self.factors}
        self.send("evaluate", who, "put", f"opportunities/{deal}/evaluation", {"scores": scores})

    def priority(self):
        deal, _who = self._deal()
        if deal is None:
            return
        managers = [u for u in self.deal_editors(deal) if u in ("m_east", "admin")]
        if not managers:
            return
        grade = self.rng.choice(["A", "B", "C", None])
        body = {"grade": grade, "reason": "集团重点项目" if grade else ""}
        self.send(
            "priority", self.rng.choice(managers), "put", f"opportunities/{deal}/priority", body
        )

    # --- buying centre and criteria -------------------------------------------------------

    def stakeholder_add(self):
        deal, who = self._deal()
        if deal is None:
            return
        taken = {c for d, c in self.book.stakeholders.values() if d == deal}
        account = self.book.deals[deal]["account"]
        contact = self.pick(
            c for c, a in self.book.contacts.items() if a == account and c not in taken
        )
        if contact is None:
            return
        body = {
            "contact_id": contact,
            "roles": self.rng.sample(["decision_maker", "technical", "user", "purchaser"], 2),
            "stance": self.rng.choice(["champion", "neutral", "enemy", "unknown"]),
            "influence": self.rng.randint(1, 5),
        }
        out = self.send("stakeholder_add", who, "post", f"opportunities/{deal}/stakeholders", body)
        if out:
            self.book.stakeholders[out["id"]] = (deal, contact)

    def stakeholder_patch(self):
        sid = self.pick(s for s, (d, _c) in self.book.stakeholders.items() if self.deal_editors(d))
        if sid is None:
            return
        deal = self.book.stakeholders[sid][0]
        who = self.rng.choice(self.deal_editors(deal))
        choices = {
            "roles": lambda: self.rng.sample(["influencer", "technical", "finance", "user"], 2),
            "stance": lambda: self.rng.choice(["supporter", "blocker", "neutral"]),
            "influence": lambda: self.rng.choice([None, 2, 5]),
            "is_coach": lambda: self.rng.random() < 0.5,
        }
        keys = self.rng.sample(sorted(choices), self.rng.randint(1, 3))
        body = {k: choices[k]() for k in keys}
        path = f"opportunities/{deal}/stakeholders/{sid}"
        self.send("stakeholder_patch", who, "patch", path, body)

    def stakeholder_delete(self):
        sid = self.pick(s for s, (d, _c) in self.book.stakeholders.items() if self.deal_editors(d))
        if sid is None:
            return
        deal = self.book.stakeholders[sid][0]
        who = self.rng.choice(self.deal_editors(deal))
        path = f"opportunities/{deal}/stakeholders/{sid}"
        if self.send("stakeholder_delete", who, "delete", path) is not None:
            del self.book.stakeholders[sid]

    def criterion_add(self):
        deal, who = self._deal()
        if deal is None:
            return
        body = {
            "text": f"交货期 {self.rng.randrange(30, 120)} 天",
            "shaped_by_us": self.rng.random() < 0.5,
            "favourable": self.rng.choice([True, False, None]),
        }
        out = self.send("criterion_add", who, "post", f"opportunities/{deal}/criteria", body)
        if out:
            self.book.criteria[out["id"]] = deal

    def criterion_patch(self):
        cid = self.pick(c for c, d in self.book.criteria.items() if self.deal_editors(d))
        if cid is None:
            return
        deal = self.book.criteria[cid]
        body = {"favourable": self.rng.choice([True, False, None]), "text": "精度 ≤ 2 µm"}
        self.send(
            "criterion_patch",
            self.rng.choice(self.deal_editors(deal)),
            "patch",
            f"opportunities/{deal}/criteria/{cid}",
            body,
        )

    def criterion_delete(self):
        cid = self.pick(c for c, d in self.book.criteria.items() if self.deal_editors(d))
        if cid is None:
            return
        deal = self.book.criteria[cid]
        path = f"opportunities/{deal}/criteria/{cid}"
        who = self.rng.choice(self.deal_editors(deal))
        if self.send("criterion_delete", who, "delete", path) is not None:
            del self.book.criteria[cid]

    STEPS = {
        "account_create": 6,
        "account_patch": 8,
        "account_delete": 2,
        "contact_create": 12,
        "contact_patch": 10,
        "contact_delete": 2,
        "deal_create": 9,
        "deal_patch": 14,
        "deal_advance": 4,
        "deal_close": 2,
        "deal_delete": 2,
        "evaluate": 3,
        "priority": 2,
        "stakeholder_add": 9,
        "stakeholder_patch": 8,
        "stakeholder_delete": 3,
        "criterion_add": 5,
        "criterion_patch": 3,
        "criterion_delete": 2,
    }

    def run(self, changes: int) -> int:
        names = list(self.STEPS)
        weights = [self.STEPS[n] for n in names]
        steps = 0
        while sum(self.done.values()) < changes:
            steps += 1
            assert steps < changes * 4, (self.done, self.refused)
            with clock.freeze(START + dt.timedelta(minutes=7 * steps)):
                getattr(self, self.rng.choices(names, weights)[0])()
        return steps


# --- the web forms and the import --------------------------------------------------------


def _ui_changes(walk: Walk, users: dict) -> int:
    """Five changes through the pages' forms, each by someone who may make it."""
    book = walk.book
    done = 0

    def post(who: str, url: str, data: dict) -> None:
        nonlocal done
        client = Client()
        client.force_login(users[who])
        response = client.post(url, data)
        assert response.status_code == 302, (url, response.status_code)
        done += 1

    account = Account.objects.get(pk=walk.pick(book.accounts))
    data = {k: ("" if v is None else v) for k, v in model_to_dict(account, ACCOUNT_FIELDS).items()}
    post(
        book.accounts[account.pk],
        reverse("account-edit", args=[account.pk]),
        {**data, "region": "宁波", "notes": "edited on the page"},
    )

    contact = Contact.objects.get(pk=walk.pick(book.contacts))
    post(
        EDITORS[book.accounts[contact.account_id]][-1],
        reverse("contact-edit", args=[contact.pk]),
        {
            "name": contact.name,
            "title": "页面上改的职务",
            "department": contact.department,
            "reports_to": contact.reports_to_id or "",
            "layer": contact.layer,
            "disc": contact.disc,
            "status": contact.status,
            "joined_at": contact.joined_at.isoformat() if contact.joined_at else "",
            "left_at": contact.left_at.isoformat() if contact.left_at else "",
            "phone": contact.phone,
            "email": contact.email,
            "notes": contact.notes,
        },
    )

    deal = Opportunity.objects.get(pk=walk.pick(d for d in book.deals if walk.deal_editors(d)))
    who = walk.deal_editors(deal.pk)[-1]
    post(
        who,
        reverse("opportunity-edit", args=[deal.pk]),
        {
            "name": deal.name,
            "code": deal.code or "",
            "owner": deal.owner_id,
            "amount": "777777.70",
            "currency": deal.currency,
            "expected_close": deal.expected_close.isoformat(),
            "buyer_stage": deal.buyer_stage,
            "description": "edited on the page",
        },
    )
    post(
        who,
        reverse("criterion-add", args=[deal.pk]),
        {"text": "页面添加的标准", "shaped_by_us": "on", "favourable": "yes"},
    )
    taken = set(deal.stakeholders.values_list("contact_id", flat=True))
    free = Contact.objects.filter(account_id=deal.account_id, status="active").exclude(pk__in=taken)
    contact = free.order_by("id").first()
    if contact is None:  # give the deal's account someone new, through the API
        contact = Contact.objects.get(
            pk=walk.clients["admin"]
            .post("contacts", {"account_id": deal.account_id, "name": "页面上的新人"})
            .json()["id"]
        )
    post(
        who,
        reverse("stakeholder-add", args=[deal.pk]),
        {"contact": contact.pk, "roles": ["technical"], "stance": "supporter"},
    )
    return done


def _import(tmp_path, users: dict) -> int:
    """A workbook with a new account, two people (one the other's boss) and two deals
    with their past, written by the manager; returns how many events it wrote."""
    first = Event.objects.order_by("-id").values_list("id", flat=True).first()
    path = write_xlsx(
        tmp_path / "audit.xlsx",
        {
            "客户": [
                ACCOUNT_HEADERS,
                account_row("IMP-1", "导入客户", owner="rep_a", nature="民营"),
            ],
            "联系人": [
                CONTACT_HEADERS,
                ["IC-1", "IMP-1", "王工", "采购经理", "IC-2"],
                ["IC-2", "IMP-1", "李总", "副总经理", ""],
            ],
            "销售机会": [
                DEAL_HEADERS,
                deal_row(
                    "ID-1",
                    "IMP-1",
                    "导入项目",
                    "rep_a",
                    "250000",
                    "2026-12-31",
                    "proposal",
                    "2026-01-05; 2026-02-10; 2026-03-01",
                ),
                deal_row(
                    "ID-2",
                    "IMP-1",
                    "已丢的项目",
                    "rep_a",
                    "90000",
                    "2026-05-31",
                    status="lost",
                    closed_on="2026-05-20",
                    reason="价格",
                ),
            ],
        },
    )
    report = importer.write(path, actor=users["m_east"])
    assert report.written is True, [(p.sheet, p.row, p.message) for p in report.problems]
    written = Event.objects.filter(id__gt=first)
    assert set(written.values_list("actor__username", flat=True)) == {"m_east"}
    return written.count()


# --- the test ------------------------------------------------------------------------------


@pytest.fixture
def users(world) -> dict:
    return {
        "rep_a": world.rep_a,
        "rep_b": world.rep_b,
        "m_east": world.manager_east,
        "admin": world.admin,
    }


def test_replaying_the_events_of_random_changes_rebuilds_every_record(
    api_as, users, tmp_path, capsys
):
    # given: a random walk of API changes, some page posts and one import (timed after
    # the URL configuration loaded: building the API's schemas once takes seconds)
    resolve("/api/v1/accounts")
    started = time.perf_counter()
    walk = Walk(random.Random(SEED), {n: api_as(u) for n, u in users.items()}, users)
    steps = walk.run(CHANGES)
    with clock.freeze(START + dt.timedelta(days=3)):
        ui = _ui_changes(walk, users)
        imported = _import(tmp_path, users)
    # when: every record of every replayable entity is rebuilt from its events
    compared: Counter = Counter()
    deleted: Counter = Counter()
    mismatches = {}
    for entity, spec in replay.AUDITED.items():
        ids = set(spec.model_class()._base_manager.values_list("pk", flat=True))
        ids |= set(Event.objects.filter(entity=entity).values_list("entity_id", flat=True))
        for pk in sorted(ids):
            replayed, stored = replay.replay(entity, pk), replay.current(entity, pk)
            compared[entity] += 1
            deleted[entity] += stored is None
            if replayed != stored:
                mismatches[(entity, pk)] = replay.differences(entity, pk)
    elapsed = time.perf_counter() - started
    # then
    assert mismatches == {}
    assert sum(walk.done.values()) == CHANGES
    assert min(walk.done[name] for name in Walk.STEPS) >= 1, walk.done
    assert (ui, imported >= 8, walk.reassigned >= 5) == (5, True, True)
    assert Contact.objects.filter(status="left").exists()
    for kind in ("account", "contact", "opportunity", "stakeholder", "criterion"):
        assert compared[kind] - deleted[kind] >= 5, (kind, compared, deleted)
    assert deleted["opportunity"] >= 1 and deleted["stakeholder"] >= 1
    # every event says who and when; the only ones without an actor are documented
    anonymous = set(
        Event.objects.filter(actor__isnull=True).values_list("entity", "action").distinct()
    )
    assert anonymous <= SYSTEM_EVENTS
    assert not Event.objects.filter(at__isnull=True).exists()
    with capsys.disabled():
        print(
            f"\naudit replay: {CHANGES} API changes in {steps} steps "
            f"(refused {sum(walk.refused.values())}: {dict(walk.refused)}), {ui} page posts, "
            f"1 import ({imported} events); {sum(compared.values())} records compared "
            f"({sum(deleted.values())} deleted) {dict(compared)}; "
            f"{len(mismatches)} mismatches; {Event.objects.count()} events; {elapsed:.1f} s"
        )
