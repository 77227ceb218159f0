"""History is append-only: no code path changes or removes a recorded event.

- the ORM refuses: an event's save (once written) and delete, and the bulk paths
  `Event.objects….update()`, `.delete()` and `bulk_update` raise;
- no API operation and no page writes to history: the OpenAPI schema's only history
  path is a GET, no path takes an event id, and no page URL names history or events;
  a write method on the history path is 405 for the owner and for an admin;
- every DELETE operation of the API, run on a real record, leaves every earlier event
  as it was (and records its own)."""

from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

import pytest
from django.db import transaction
from django.urls import URLPattern, URLResolver

from kam.accounts import needs, revenue
from kam.accounts.services import account_create
from kam.competition import accounts as account_competition
from kam.config.api import api
from kam.contacts.services import contact_create
from kam.core import clock
from kam.core.models import Event, HistoryIsAppendOnly
from kam.intel.services import intel_add, intel_confirm
from kam.opportunities import process
from kam.opportunities.services import opportunity_create
from kam.partners import services as partners
from kam.segments.services import segment_create
from kam.stakeholders.services import stakeholder_add

CST = ZoneInfo("Asia/Shanghai")
WRITES = ("post", "put", "patch", "delete")


def _events() -> list[dict]:
    return list(Event.objects.order_by("id").values())


@pytest.fixture
def recorded(world):
    """An account with a deal and three events, as a rep makes them."""
    with clock.freeze(dt.datetime(2026, 3, 2, 9, 0, tzinfo=CST)):
        account = account_create(actor=world.rep_a, name="常州精密机械")
        contact = contact_create(actor=world.rep_a, account=account, name="周建华")
        deal = opportunity_create(
            actor=world.rep_a,
            account=account,
            name="新产线改造",
            amount="1250000",
            expected_close=dt.date(2026, 12, 31),
        )
    return account, contact, deal


# --- the ORM ---------------------------------------------------------------------------


def test_a_queryset_update_of_events_raises_and_changes_nothing(recorded):
    # given
    before = _events()
    # when / then
    with pytest.raises(HistoryIsAppendOnly, match="cannot be updated"):
        Event.objects.filter(entity="opportunity").update(action="deleted")
    with pytest.raises(HistoryIsAppendOnly, match="cannot be updated"):
        Event.objects.all().update(note="rewritten")
    assert _events() == before
    assert [e["entity"] for e in before] == ["user"] * 6 + ["account", "contact", "opportunity"]


def test_a_queryset_delete_of_events_raises_and_removes_nothing(recorded):
    # given
    before = _events()
    # when / then
    with pytest.raises(HistoryIsAppendOnly, match="cannot be deleted"):
        Event.objects.filter(entity="contact").delete()
    with pytest.raises(HistoryIsAppendOnly, match="cannot be deleted"):
        Event.objects.all().delete()
    assert _events() == before


def test_bulk_update_of_events_raises(recorded):
    # given
    events = list(Event.objects.all())
    for event in events:
        event.note = "rewritten"
    # when / then (bulk_update runs in a transaction of its own: a savepoint here)
    with pytest.raises(HistoryIsAppendOnly), transaction.atomic():
        Event.objects.bulk_update(events, ["note"])
    assert set(Event.objects.values_list("note", flat=True)) == {""}


def test_an_event_once_written_cannot_be_saved_or_deleted(recorded):
    # given
    event = Event.objects.filter(entity="opportunity").get()
    event.action = "deleted"
    # when / then
    with pytest.raises(HistoryIsAppendOnly):
        event.save()
    with pytest.raises(HistoryIsAppendOnly):
        event.delete()
    assert Event.objects.filter(entity="opportunity").get().action == "created"


def test_the_manager_itself_refuses_too(recorded):
    # given
    before = _events()
    # when / then: Event.objects.update() goes to the same queryset
    with pytest.raises(HistoryIsAppendOnly):
        Event.objects.update(note="rewritten")
    assert not hasattr(Event.objects, "delete")  # a manager has no delete of its own
    assert _events() == before


# --- no API operation and no page writes to history -------------------------------------


def _operations() -> list[tuple[str, str]]:
    schema = api.get_openapi_schema()
    return [(path, method) for path, ops in schema["paths"].items() for method in ops]


def test_the_api_offers_history_for_reading_only(db):
    # when
    ops = _operations()
    history = [(p, m) for p, m in ops if re.search(r"histor|event", p, re.I)]
    # then
    assert history == [("/api/v1/opportunities/{opportunity_id}/history", "get")]
    assert [p for p, _m in ops if re.search(r"\{[^}]*event[^}]*\}", p, re.I)] == []
    assert len(ops) > 50  # the walk saw the whole API


def _routes(patterns, prefix: str = "") -> list[str]:
    out = []
    for entry in patterns:
        if isinstance(entry, URLResolver):
            out += _routes(entry.url_patterns, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern):
            out.append(prefix + str(entry.pattern))
    return out


def test_no_page_url_writes_history(db):
    # given the pages (the UI's URLs; the API's are walked above)
    from kam.web import urls

    routes = _routes(urls.urlpatterns)
    # then
    assert [r for r in routes if re.search(r"histor|event", r, re.I)] == []
    assert "opportunities/<int:opportunity_id>/" in routes  # the walk saw the pages


@pytest.mark.parametrize("who", ["rep_a", "admin"])
@pytest.mark.parametrize("method", WRITES)
def test_a_write_on_the_history_path_is_not_allowed(world, recorded, api_as, who, method):
    # given the deal's history, by its owner or an admin
    _account, _contact, deal = recorded
    client = api_as(getattr(world, who))
    path = f"opportunities/{deal.pk}/history"
    before = _events()
    # when
    response = getattr(client, method)(path, {}) if method != "delete" else client.delete(path)
    # then
    assert response.status_code == 405
    assert _events() == before
    assert client.get(path).status_code == 200


# --- every DELETE of the API keeps the events before it ------------------------------------


@pytest.fixture
def everything(world):
    """One record behind each DELETE operation of the API, owned by rep_a."""
    rep = world.rep_a
    at = dt.datetime(2026, 2, 2, 10, 0, tzinfo=CST)
    with clock.freeze(at):
        account = account_create(actor=rep, name="常州精密机械")
        spare_account = account_create(actor=rep, name="空客户")
        boss = contact_create(actor=rep, account=account, name="周建华")
        engineer = contact_create(actor=rep, account=account, name="陈立")
        spare_contact = contact_create(actor=rep, account=account, name="王芳")
        deal = opportunity_create(
            actor=rep,
            account=account,
            name="新产线改造",
            amount="1250000",
            expected_close=dt.date(2026, 12, 31),
        )
        spare_deal = opportunity_create(
            actor=rep,
            account=account,
            name="备件",
            amount="10000",
            expected_close=dt.date(2026, 12, 31),
        )
        criterion = process.criterion_add(actor=rep, opportunity=deal, text="国产化率不低于60%")
        milestone = process.milestone_record(
            actor=rep, opportunity=deal, kind="candidate_confirmed"
        )
        stakeholder = stakeholder_add(
            actor=rep, opportunity=deal, contact=boss, roles=["decision_maker"], stance="supporter"
        )
        item = intel_add(actor=rep, opportunity=deal, text="预算已批", sources=[boss])
        source = intel_confirm(actor=rep, item=item, contact=engineer)
        record = revenue.revenue_record_add(
            actor=rep, account=account, date=dt.date(2025, 12, 1), amount="50000"
        )
        satisfaction = needs.satisfaction_record_add(actor=rep, account=account, score=4)
        swot = account_competition.swot_item_add(
            actor=rep, account=account, quadrant="strength", text="交期快"
        )
        segment = segment_create(actor=world.manager_east, name="汽车零部件")
        won = opportunity_create(
            actor=rep,
            account=account,
            name="数控转台",
            amount="60000",
            expected_close=dt.date(2026, 3, 1),
            stage="negotiation",
            buyer_stage="negotiation",
        )
        process.milestone_record(actor=rep, opportunity=won, kind="contract_signed")
        process.opportunity_close(actor=rep, opportunity=won, outcome="won")
        partner = partners.partner_create(
            actor=rep, name="李四", agreement_date=dt.date(2026, 1, 2)
        )
        referral = partners.referral_add(actor=rep, partner=partner, opportunity=won, kind="direct")
        payment = partners.payment_record(
            actor=rep, opportunity=won, amount="20000", date=dt.date(2026, 2, 2)
        )
    ids = {
        "user_id": world.rep_b.pk,
        "account_id": account.pk,
        "opportunity_id": deal.pk,
        "criterion_id": criterion.pk,
        "milestone_id": milestone.pk,
        "stakeholder_id": stakeholder.pk,
        "item_id": item.pk,
        "source_id": source.pk,
        "segment_id": segment.pk,
        "partner_id": partner.pk,
        "referral_id": referral.pk,
    }
    # (OpenAPI path, the ids that differ from `ids` for it) in an order that removes
    # the leaves before what holds them
    return [
        ("/api/v1/accounts/{account_id}/members/{user_id}", {}),
        ("/api/v1/opportunities/{opportunity_id}/members/{user_id}", {}),
        ("/api/v1/opportunities/{opportunity_id}/intel/{item_id}/sources/{source_id}", {}),
        ("/api/v1/opportunities/{opportunity_id}/intel/{item_id}", {}),
        ("/api/v1/opportunities/{opportunity_id}/stakeholders/{stakeholder_id}", {}),
        ("/api/v1/opportunities/{opportunity_id}/criteria/{criterion_id}", {}),
        ("/api/v1/opportunities/{opportunity_id}/milestones/{milestone_id}", {}),
        ("/api/v1/opportunities/{opportunity_id}/payments/{payment_id}",
         {"opportunity_id": won.pk, "payment_id": payment.pk}),
        ("/api/v1/partners/{partner_id}/referrals/{referral_id}", {}),
        ("/api/v1/accounts/{account_id}/revenue/{record_id}", {"record_id": record.pk}),
        ("/api/v1/accounts/{account_id}/satisfaction/{record_id}",
         {"record_id": satisfaction.pk}),
        ("/api/v1/accounts/{account_id}/swot/{item_id}", {"item_id": swot.pk}),
        ("/api/v1/segments/{segment_id}", {}),
        ("/api/v1/contacts/{contact_id}", {"contact_id": spare_contact.pk}),
        ("/api/v1/opportunities/{opportunity_id}", {"opportunity_id": spare_deal.pk}),
        ("/api/v1/accounts/{account_id}", {"account_id": spare_account.pk}),
    ], ids  # fmt: skip


def test_every_delete_of_the_api_keeps_the_events_before_it(world, everything, api_as):
    # given every DELETE operation of the API, each with a real record
    plan, ids = everything
    deletes = sorted(p for p, m in _operations() if m == "delete")
    assert sorted(p for p, _ in plan) == deletes  # a new DELETE operation needs a line here
    client = api_as(world.admin)
    for kind, key in (("accounts", "account_id"), ("opportunities", "opportunity_id")):
        shared = client.put(f"{kind}/{ids[key]}/members/{ids['user_id']}", {"access": "read"})
        assert shared.status_code == 200, shared.content
    answers = []
    for template, own in plan:
        before = _events()
        url = template.format(**{**ids, **own})
        # when
        response = client.delete(url)
        # then the record went, the events before it are as they were, and one or more
        # events say what went
        answers.append((template, response.status_code))
        after = _events()
        assert after[: len(before)] == before, template
        assert len(after) > len(before), template
    # (removing an intelligence source answers 200 with the item that stays)
    assert [(t, s) for t, s in answers if s != 204] == [
        ("/api/v1/opportunities/{opportunity_id}/intel/{item_id}/sources/{source_id}", 200)
    ]
    # the deleted deal's history is still readable from the event log
    spare = dict(plan)["/api/v1/opportunities/{opportunity_id}"]["opportunity_id"]
    assert list(
        Event.objects.filter(entity="opportunity", entity_id=spare).values_list("action", flat=True)
    ) == ["created", "deleted"]
