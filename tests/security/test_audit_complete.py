"""Audit completeness (issue 9): every write operation of the API records who did it.

The operations come from the served OpenAPI schema (every POST, PUT, PATCH and
DELETE), so a new endpoint is in this test the day it is added: it fails until
`CASES` says how to call it, and then fails if a successful call wrote no event
naming the caller. Each case builds what it needs through the services."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from kam.accounts import needs as account_needs
from kam.accounts import revenue
from kam.accounts.services import account_create
from kam.competition import accounts as account_competition
from kam.competition.competitors import competitor_create
from kam.config.api import api
from kam.contacts.services import contact_create
from kam.core import clock
from kam.core.models import Event
from kam.intel.services import intel_add
from kam.opportunities import process
from kam.opportunities.services import opportunity_create
from kam.segments.services import segment_create
from kam.stakeholders.services import stakeholder_add
from tests.partners.conftest import TODAY, at, make_partner, pay, refer, won_deal, worked_example

WRITES = ("post", "put", "patch", "delete")


def _operations() -> list[str]:
    schema = api.get_openapi_schema()
    return sorted(
        f"{method.upper()} {path}"
        for path, operations in schema["paths"].items()
        for method in operations
        if method in WRITES
    )


OPERATIONS = _operations()


@dataclass
class Call:
    user: Any
    path: str  # under /api/v1/
    body: Any = None
    multipart: bool = False


class Ctx:
    """The records a case needs, each built through the services on first use (rep_a's
    account with two contacts and a deal, and what hangs off them)."""

    def __init__(self, world):
        self.w = world
        self.rep = world.rep_a

    @cached_property
    def account(self):
        return account_create(actor=self.rep, name="华东机械")

    @cached_property
    def empty_account(self):
        return account_create(actor=self.rep, name="录错的客户")

    @cached_property
    def contact(self):
        return contact_create(actor=self.rep, account=self.account, name="王工")

    @cached_property
    def contact2(self):
        return contact_create(actor=self.rep, account=self.account, name="李总")

    @cached_property
    def deal(self):
        return opportunity_create(
            actor=self.rep,
            account=self.account,
            name="三号线改造",
            amount="500000",
            expected_close=dt.date(2026, 12, 31),
        )

    @cached_property
    def stakeholder(self):
        return stakeholder_add(
            actor=self.rep, opportunity=self.deal, contact=self.contact, roles=["technical"]
        )

    @cached_property
    def criterion(self):
        return process.criterion_add(actor=self.rep, opportunity=self.deal, text="交货期 60 天")

    @cached_property
    def milestone(self):
        return process.milestone_record(
            actor=self.rep, opportunity=self.deal, kind="proposal_submitted"
        )

    @cached_property
    def intel(self):
        return intel_add(
            actor=self.rep,
            opportunity=self.deal,
            text="预算已批",
            sources=[self.contact, self.contact2],
        )

    @cached_property
    def revenue(self):
        return revenue.revenue_record_add(
            actor=self.rep, account=self.account, date="2025-03-31", amount="80000"
        )

    @cached_property
    def satisfaction(self):
        return account_needs.satisfaction_record_add(actor=self.rep, account=self.account, score=4)

    @cached_property
    def swot_item(self):
        return account_competition.swot_item_add(
            actor=self.rep, account=self.account, quadrant="strength", text="本地服务"
        )

    @cached_property
    def competitor(self):
        return competitor_create(actor=self.rep, name="精工机床")

    @cached_property
    def segment(self):
        return segment_create(actor=self.w.admin, name="大型国企", definition={"size": ["large"]})

    @cached_property
    def partner(self):
        return make_partner(self.rep, "王五")

    @cached_property
    def won(self):
        return won_deal(self.rep, self.account, "已签的项目", "60000", at(2026, 3, 15))

    @cached_property
    def payment(self):
        return pay(self.rep, self.won, "30000", dt.date(2026, 4, 1))

    @cached_property
    def referral(self):
        return refer(self.rep, self.partner, self.deal)

    @cached_property
    def held(self):
        """A referral held for a conflict: the partner works for the deal's customer."""
        partner = make_partner(self.rep, "李四", employer=self.account)
        return refer(self.rep, partner, self.won)

    def member(self, record):
        """rep_b on the record's team (read access); returns rep_b."""
        from kam.accounts.models import AccountMember
        from kam.core.sharing import member_set
        from kam.opportunities.models import OpportunityMember

        model = AccountMember if record is self.account else OpportunityMember
        member_set(
            actor=self.rep, record=record, member_model=model, user=self.w.rep_b, access="read"
        )
        return self.w.rep_b

    @cached_property
    def worked_example(self):
        return worked_example(self.rep, name="赵六")


ACC = "/api/v1/accounts/{account_id}"
OPP = "/api/v1/opportunities/{opportunity_id}"
PAR = "/api/v1/partners/{partner_id}"
GOOD_SCORES = {
    "project_grade": 4,
    "funding": 4,
    "technical_fit": 4,
    "relationship": 4,
    "credit": 4,
    "product": 4,
    "price": 4,
    "solution": 4,
    "service": 4,
}
PDF = b"%PDF-1.4\n% disclosure\n"

# How to call each write operation successfully: "METHOD path" → the call.
CASES: dict[str, Callable[[Ctx], Call]] = {
    # accounts
    "POST /api/v1/accounts": lambda c: Call(c.rep, "accounts", {"name": "新客户"}),
    f"PATCH {ACC}": lambda c: Call(c.rep, f"accounts/{c.account.pk}", {"region": "苏州"}),
    f"DELETE {ACC}": lambda c: Call(c.rep, f"accounts/{c.empty_account.pk}"),
    f"PUT {ACC}/competition-map": lambda c: Call(
        c.rep,
        f"accounts/{c.account.pk}/competition-map",
        {"entries": [{"us": True, "share": "40"}, {"competitor_name": "精工机床", "share": "30"}]},
    ),
    f"PUT {ACC}/needs": lambda c: Call(
        c.rep,
        f"accounts/{c.account.pk}/needs",
        {"needs": [{"dimension": "交期", "importance": 5, "our_fit": 3}]},
    ),
    f"PUT {ACC}/position": lambda c: Call(
        c.rep, f"accounts/{c.account.pk}/position", {"posture": "attack"}
    ),
    f"POST {ACC}/revenue": lambda c: Call(
        c.rep, f"accounts/{c.account.pk}/revenue", {"date": "2025-06-30", "amount": "12000"}
    ),
    f"DELETE {ACC}/revenue/{{record_id}}": lambda c: Call(
        c.rep, f"accounts/{c.account.pk}/revenue/{c.revenue.pk}"
    ),
    f"POST {ACC}/satisfaction": lambda c: Call(
        c.rep, f"accounts/{c.account.pk}/satisfaction", {"score": 3}
    ),
    f"DELETE {ACC}/satisfaction/{{record_id}}": lambda c: Call(
        c.rep, f"accounts/{c.account.pk}/satisfaction/{c.satisfaction.pk}"
    ),
    f"POST {ACC}/swot": lambda c: Call(
        c.rep, f"accounts/{c.account.pk}/swot", {"quadrant": "threat", "text": "价格战"}
    ),
    f"PUT {ACC}/swot": lambda c: Call(
        c.rep, f"accounts/{c.account.pk}/swot", {"strength": ["本地服务"], "threat": ["价格战"]}
    ),
    f"PATCH {ACC}/swot/{{item_id}}": lambda c: Call(
        c.rep, f"accounts/{c.account.pk}/swot/{c.swot_item.pk}", {"text": "本地服务团队"}
    ),
    f"DELETE {ACC}/swot/{{item_id}}": lambda c: Call(
        c.rep, f"accounts/{c.account.pk}/swot/{c.swot_item.pk}"
    ),
    f"POST {ACC}/type-questionnaire": lambda c: Call(
        c.rep,
        f"accounts/{c.account.pk}/type-questionnaire",
        {"answers": {"offering": "codeveloped", "switching": "hardly"}, "apply": True},
    ),
    f"PUT {ACC}/members/{{user_id}}": lambda c: Call(
        c.rep, f"accounts/{c.account.pk}/members/{c.w.rep_b.pk}", {"access": "read"}
    ),
    f"DELETE {ACC}/members/{{user_id}}": lambda c: Call(
        c.rep, f"accounts/{c.account.pk}/members/{c.member(c.account).pk}"
    ),
    # competitors
    "POST /api/v1/competitors": lambda c: Call(c.rep, "competitors", {"name": "德国某厂"}),
    "PATCH /api/v1/competitors/{competitor_id}": lambda c: Call(
        c.rep, f"competitors/{c.competitor.pk}", {"notes": "价格低 10%"}
    ),
    # contacts
    "POST /api/v1/contacts": lambda c: Call(
        c.rep, "contacts", {"account_id": c.account.pk, "name": "赵工"}
    ),
    "PATCH /api/v1/contacts/{contact_id}": lambda c: Call(
        c.rep, f"contacts/{c.contact.pk}", {"title": "总工"}
    ),
    "DELETE /api/v1/contacts/{contact_id}": lambda c: Call(c.rep, f"contacts/{c.contact.pk}"),
    # opportunities and the process engine
    "POST /api/v1/opportunities": lambda c: Call(
        c.rep,
        "opportunities",
        {
            "account_id": c.account.pk,
            "name": "备件",
            "amount": "5000",
            "expected_close": "2026-12-31",
        },
    ),
    f"PATCH {OPP}": lambda c: Call(c.rep, f"opportunities/{c.deal.pk}", {"amount": "450000"}),
    f"DELETE {OPP}": lambda c: Call(c.rep, f"opportunities/{c.deal.pk}"),
    f"POST {OPP}/advance": lambda c: Call(
        c.w.manager_east, f"opportunities/{c.deal.pk}/advance", {"force": True, "reason": "拍板"}
    ),
    f"POST {OPP}/close": lambda c: Call(
        c.rep, f"opportunities/{c.deal.pk}/close", {"outcome": "lost", "reason": "价格"}
    ),
    f"PUT {OPP}/competition": lambda c: Call(
        c.rep,
        f"opportunities/{c.deal.pk}/competition",
        {"scores": {"us": {"purchase_share": 3}, str(c.competitor.pk): {"purchase_share": 4}}},
    ),
    f"POST {OPP}/criteria": lambda c: Call(
        c.rep, f"opportunities/{c.deal.pk}/criteria", {"text": "精度 ≤ 2 µm"}
    ),
    f"PATCH {OPP}/criteria/{{criterion_id}}": lambda c: Call(
        c.rep, f"opportunities/{c.deal.pk}/criteria/{c.criterion.pk}", {"favourable": True}
    ),
    f"DELETE {OPP}/criteria/{{criterion_id}}": lambda c: Call(
        c.rep, f"opportunities/{c.deal.pk}/criteria/{c.criterion.pk}"
    ),
    f"PUT {OPP}/evaluation": lambda c: Call(
        c.rep, f"opportunities/{c.deal.pk}/evaluation", {"scores": GOOD_SCORES}
    ),
    f"PUT {OPP}/priority": lambda c: Call(
        c.w.manager_east, f"opportunities/{c.deal.pk}/priority", {"grade": "B", "reason": "重点"}
    ),
    f"POST {OPP}/milestones": lambda c: Call(
        c.rep, f"opportunities/{c.deal.pk}/milestones", {"kind": "proposal_submitted"}
    ),
    f"DELETE {OPP}/milestones/{{milestone_id}}": lambda c: Call(
        c.rep, f"opportunities/{c.deal.pk}/milestones/{c.milestone.pk}"
    ),
    f"PUT {OPP}/members/{{user_id}}": lambda c: Call(
        c.rep, f"opportunities/{c.deal.pk}/members/{c.w.rep_b.pk}", {"access": "edit"}
    ),
    f"DELETE {OPP}/members/{{user_id}}": lambda c: Call(
        c.rep, f"opportunities/{c.deal.pk}/members/{c.member(c.deal).pk}"
    ),
    # buying centre and intelligence
    f"POST {OPP}/stakeholders": lambda c: Call(
        c.rep,
        f"opportunities/{c.deal.pk}/stakeholders",
        {"contact_id": c.contact.pk, "roles": ["decision_maker"], "stance": "supporter"},
    ),
    f"PATCH {OPP}/stakeholders/{{stakeholder_id}}": lambda c: Call(
        c.rep, f"opportunities/{c.deal.pk}/stakeholders/{c.stakeholder.pk}", {"stance": "enemy"}
    ),
    f"DELETE {OPP}/stakeholders/{{stakeholder_id}}": lambda c: Call(
        c.rep, f"opportunities/{c.deal.pk}/stakeholders/{c.stakeholder.pk}"
    ),
    f"POST {OPP}/intel": lambda c: Call(
        c.rep,
        f"opportunities/{c.deal.pk}/intel",
        {"text": "新总经理主持招标", "source_contact_ids": [c.contact.pk]},
    ),
    f"PATCH {OPP}/intel/{{item_id}}": lambda c: Call(
        c.rep, f"opportunities/{c.deal.pk}/intel/{c.intel.pk}", {"critical": True}
    ),
    f"DELETE {OPP}/intel/{{item_id}}": lambda c: Call(
        c.rep, f"opportunities/{c.deal.pk}/intel/{c.intel.pk}"
    ),
    f"POST {OPP}/intel/{{item_id}}/sources": lambda c: Call(
        c.rep,
        f"opportunities/{c.deal.pk}/intel/{c.intel.pk}/sources",
        {"contact_id": contact_create(actor=c.rep, account=c.account, name="孙经理").pk},
    ),
    f"DELETE {OPP}/intel/{{item_id}}/sources/{{source_id}}": lambda c: Call(
        c.rep,
        f"opportunities/{c.deal.pk}/intel/{c.intel.pk}/sources/"
        f"{c.intel.sources.order_by('id').last().pk}",
    ),
    # payments and the referral programme
    f"POST {OPP}/payments": lambda c: Call(
        c.rep, f"opportunities/{c.won.pk}/payments", {"amount": "10000", "date": "2026-05-01"}
    ),
    f"DELETE {OPP}/payments/{{payment_id}}": lambda c: Call(
        c.rep, f"opportunities/{c.won.pk}/payments/{c.payment.pk}"
    ),
    "POST /api/v1/partners": lambda c: Call(c.rep, "partners", {"name": "张三"}),
    f"PATCH {PAR}": lambda c: Call(c.rep, f"partners/{c.partner.pk}", {"phone": "139 0000 0000"}),
    f"POST {PAR}/referrals": lambda c: Call(
        c.rep,
        f"partners/{c.partner.pk}/referrals",
        {"opportunity_id": c.deal.pk, "kind": "direct"},
    ),
    f"DELETE {PAR}/referrals/{{referral_id}}": lambda c: Call(
        c.rep, f"partners/{c.referral.partner_id}/referrals/{c.referral.pk}"
    ),
    f"POST {PAR}/referrals/{{referral_id}}/release": lambda c: Call(
        c.w.admin,
        f"partners/{c.held.partner_id}/referrals/{c.held.pk}/release",
        {"note": "客户书面同意", "file": SimpleUploadedFile("同意函.pdf", PDF, "application/pdf")},
        multipart=True,
    ),
    f"POST {PAR}/payouts": lambda c: Call(
        c.w.admin, f"partners/{c.worked_example['partner'].pk}/payouts", {"period": "2026H1"}
    ),
    # segments
    "POST /api/v1/segments": lambda c: Call(
        c.w.admin, "segments", {"name": "集中采购", "definition": {"size": ["large"]}}
    ),
    "PATCH /api/v1/segments/{segment_id}": lambda c: Call(
        c.w.admin, f"segments/{c.segment.pk}", {"description": "年采购额过亿"}
    ),
    "DELETE /api/v1/segments/{segment_id}": lambda c: Call(c.w.admin, f"segments/{c.segment.pk}"),
}


def test_every_case_is_a_served_operation():
    # then: no case is left over from an endpoint that has gone or moved
    assert sorted(set(CASES) - set(OPERATIONS)) == []


@pytest.mark.parametrize("operation", OPERATIONS)
def test_a_successful_write_records_an_event_by_the_caller(operation, world, api_as):
    if operation not in CASES:
        pytest.fail(
            f"{operation} is not in CASES of {__file__}: say there how to call it, so the "
            "test can check that it writes its audit event"
        )
    method, _path = operation.split(" ", 1)
    with clock.freeze(TODAY):
        # given
        call = CASES[operation](Ctx(world))
        client = api_as(call.user)
        last = Event.objects.order_by("-id").values_list("id", flat=True).first() or 0
        # when
        if call.multipart:
            response = client.client.post(f"/api/v1/{call.path}", call.body, **client.headers)
        elif method == "DELETE":
            response = client.delete(call.path)
        else:
            response = getattr(client, method.lower())(call.path, call.body)
    # then
    assert response.status_code in (200, 201, 204), response.content[:500]
    written = list(Event.objects.filter(id__gt=last).values_list("actor_id", "entity", "action"))
    assert written, f"{operation} changed something and wrote no event"
    assert {actor for actor, _entity, _action in written} == {call.user.pk}, written
