"""What the three cases share: the names the tests and the synthetic generator
refer to, and small helpers that write through the services under the case's clock."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from kam.contacts import services as contact_services
from kam.core import clock
from kam.demo.timeline import Timeline
from kam.opportunities import process
from kam.stakeholders.services import stakeholder_add

FICTION = "(演示数据:公司与人物均为虚构。)"

LIAO_ACCOUNT = "上海华鼎精密制造股份有限公司"
CROWN_ACCOUNT = "杭州锦绣华裳服饰股份有限公司"
B_ACCOUNT = "苏州博远精密机械有限公司"
B_INDIRECT_ACCOUNT = "无锡启航自动化设备有限公司"
ACCOUNT_NAMES = (LIAO_ACCOUNT, CROWN_ACCOUNT, B_ACCOUNT, B_INDIRECT_ACCOUNT)

LIAO_VP = "刘建华"
LIAO_DESIGN_HEAD = "王立新"
LIAO_NEW_GM = "高振宇"
LISI = "李四"
OLDEST_DAYS_AGO = 420  # the first thing the cases record: 廖总's customer


@dataclass
class CaseRecords:
    """What the cases made, for the loader's summary and the tests."""

    accounts: list[Any]
    opportunities: list[Any]


def add_contact(actor, account, name: str, **fields: Any):
    return contact_services.contact_create(actor=actor, account=account, name=name, **fields)


@contextmanager
def at(t: Timeline, days_ago: int, minute: int) -> Iterator[None]:
    with clock.freeze(t.at(days_ago, minute)):
        yield


def eval_scores(*values: int) -> dict[str, int]:
    """Evaluation scores in the model's order (SPEC §3): project grade, funding,
    technical fit, relationship, credit; then product, price, solution, service."""
    keys = ("project_grade", "funding", "technical_fit", "relationship", "credit")
    keys += ("product", "price", "solution", "service")
    return dict(zip(keys, values, strict=True))


def add_stakeholder(rep, opp, contact, roles, stance, **fields: Any):
    return stakeholder_add(
        actor=rep, opportunity=opp, contact=contact, roles=roles, stance=stance,
        disc=contact.disc, **fields,
    )  # fmt: skip


def add_milestone(rep, opp, t: Timeline, days_ago: int, kind: str, **fields: Any):
    return process.milestone_record(
        actor=rep, opportunity=opp, kind=kind, date=t.date(-days_ago), **fields
    )
