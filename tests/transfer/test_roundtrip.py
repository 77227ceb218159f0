"""An exported workbook imports back: what people will do (export, edit in Excel,
import) must neither lose nor duplicate anything."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.utils import timezone, translation

from kam.accounts.models import Account, RevenueRecord
from kam.accounts.revenue import revenue_record_add
from kam.accounts.services import account_create, account_delete
from kam.contacts.models import Contact
from kam.contacts.services import contact_create, contact_delete
from kam.core import clock
from kam.opportunities.models import Opportunity
from kam.opportunities.services import opportunity_bring_in, opportunity_delete
from kam.transfer import importer
from kam.transfer.workbook import write_workbook

NOW = timezone.make_aware(dt.datetime(2026, 6, 15, 10, 0))


def _dataset(world):
    admin, rep = world.admin, world.rep_a
    one = account_create(
        actor=admin,
        owner=rep,
        name="上海精工",
        code="A-1",
        nature="soe",
        size="large",
        annual_revenue="1250000000.00",
        notes='=HYPERLINK("http://x")',
    )
    two = account_create(actor=admin, owner=rep, name="苏州新材", industry="材料")
    boss = contact_create(actor=admin, account=one, name="王总", code="C-1", layer="decision")
    contact_create(
        actor=admin,
        account=one,
        name="李工",
        reports_to=boss,
        disc="C",
        phone="+86 21 5555 0000",
        joined_at=dt.date(2025, 3, 5),
    )
    opportunity_bring_in(
        actor=admin,
        account=one,
        owner=rep,
        name="精工2027设备",
        code="O-1",
        amount="2500000.00",
        expected_close=dt.date(2027, 3, 31),
        stage="proposal",
        stage_dates=[dt.date(2026, 1, 5), dt.date(2026, 2, 10), dt.date(2026, 4, 1)],
    )
    opportunity_bring_in(
        actor=admin,
        account=two,
        owner=rep,
        name="新材一期",
        amount="800000.00",
        expected_close=dt.date(2026, 5, 30),
        stage_dates=[dt.date(2026, 3, 1)],
        status="lost",
        closed_on=dt.date(2026, 5, 20),
        close_reason="价格",
    )
    revenue_record_add(
        actor=admin,
        account=one,
        date=dt.date(2025, 12, 31),
        amount="300000.00",
        profit="45000.00",
        external_key="ERP-9",
    )


def _facts() -> dict:
    """Everything the import carries, without ids or timestamps."""
    return {k: sorted(v, key=repr) for k, v in _rows().items()}


def _rows() -> dict:
    return {
        "accounts": list(
            Account.objects.values_list(
                "code",
                "name",
                "owner__username",
                "industry",
                "size",
                "nature",
                "annual_revenue",
                "notes",
            )
        ),
        "contacts": list(
            Contact.objects.values_list(
                "code",
                "account__name",
                "name",
                "reports_to__name",
                "layer",
                "disc",
                "phone",
                "joined_at",
            )
        ),
        "opportunities": [
            (
                o.code,
                o.account.name,
                o.name,
                o.owner.username,
                o.amount,
                o.expected_close,
                o.playbook,
                o.stage,
                timezone.localdate(o.stage_entered_at),
                o.buyer_stage,
                o.status,
                o.closed_at and timezone.localdate(o.closed_at),
                o.close_reason,
            )
            for o in Opportunity.objects.select_related("account", "owner")
        ],
        "revenue": list(
            RevenueRecord.objects.values_list(
                "external_key", "account__name", "date", "amount", "profit"
            )
        ),
    }


def _wipe(actor) -> None:
    for opp in Opportunity.objects.all():
        opportunity_delete(actor=actor, opportunity=opp)
    RevenueRecord.objects.all().delete()
    Contact.objects.update(reports_to=None)
    for contact in Contact.objects.all():
        contact_delete(actor=actor, contact=contact)
    for account in Account.objects.all():
        account_delete(actor=actor, account=account)


def test_an_exported_workbook_imports_back_into_the_same_records(world, tmp_path):
    # given: a dataset with codes, a reporting line, a deal with its stage history,
    # a lost deal and revenue, exported in Chinese
    with clock.freeze(NOW):
        _dataset(world)
        before = _facts()
        path = tmp_path / "kam.xlsx"
        with translation.override("zh-hans"):
            write_workbook(path)
            # when: imported again over the same data
            again = importer.write(path, actor=world.admin)
    # then: nothing new, nothing changed
    assert again.written is True
    assert again.error_count == 0
    assert [(t.kind.key, t.created, t.updated) for t in again.tallies] == [
        ("accounts", 0, 0),
        ("contacts", 0, 0),
        ("opportunities", 0, 0),
        ("revenue", 0, 0),
    ]
    assert _facts() == before


def test_an_exported_workbook_rebuilds_the_records_once_they_are_gone(world, tmp_path):
    # given: the dataset exported in English, then every record removed
    with clock.freeze(NOW):
        _dataset(world)
        before = _facts()
        path = tmp_path / "kam.xlsx"
        with translation.override("en"):
            write_workbook(path)
        _wipe(world.admin)
        assert Account.objects.count() == 0
        # when
        report = importer.write(path, actor=world.admin)
    # then: the same accounts, people, deals (stage, its day, status) and revenue
    assert report.error_count == 0, report.problems
    assert [(t.kind.key, t.created) for t in report.tallies] == [
        ("accounts", 2),
        ("contacts", 2),
        ("opportunities", 2),
        ("revenue", 1),
    ]
    assert _facts() == before
    assert Account.objects.get(code="A-1").annual_revenue == Decimal("1250000000.00")
