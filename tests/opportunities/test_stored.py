"""Kept assessments (kam/opportunities/stored.py): the database raises a deal's facts
revision on every change the rules could see, and what the dashboard and the alert
scan read from the kept rows always equals a fresh assessment — after the facts change
through the services, after time passes, after the methodology changes."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection

from kam.competition.models import CompetitionScore, Competitor
from kam.contacts.models import Contact
from kam.core import clock
from kam.intel.models import IntelItem, IntelSource
from kam.methodology import registry
from kam.opportunities import assess, stored, triggers
from kam.opportunities.models import (
    Evaluation,
    FactsRevision,
    ForcedMove,
    Milestone,
    Opportunity,
    PurchaseCriterion,
    StoredAssessment,
)
from kam.opportunities.pipeline import _weighted, parse_filters, pipeline_report
from kam.stakeholders.models import Stakeholder

NOW = dt.datetime(2026, 11, 2, 9, 0, tzinfo=dt.UTC)


def rev(opp) -> int:
    found = FactsRevision.objects.filter(opportunity_id=opp.pk).values_list("rev", flat=True)
    return found[0] if found else 0


def fresh(deals) -> dict[int, stored.Summary]:
    """Every open deal assessed now, nothing kept."""
    return {
        pk: stored.summary_of(a)
        for pk, a in assess.assess_many(Opportunity.objects.filter(status="open")).items()
        if pk in {d.pk for d in deals}
    }


def kept(deals) -> dict[int, stored.Summary]:
    return stored.summaries_of([d.pk for d in deals])


# --- the revision --------------------------------------------------------------------------


def test_every_table_the_rules_read_raises_the_deals_revision(book):
    # given: a deal and, at another account, one that must not move
    opp = book["rep_a"]["opportunity"]
    other = book["rep_c"]["opportunity"]
    contact = book["rep_a"]["contact"]
    rival = Competitor.objects.create(name="Rival")
    steps = []

    def step(name, change):
        before, before_other = rev(opp), rev(other)
        change()
        steps.append((name, rev(opp) > before, rev(other) == before_other))

    # when: a row of every table of triggers.SOURCES is added, changed and removed
    holder: dict = {}
    step(
        "stakeholder +",
        lambda: holder.setdefault(
            "s", Stakeholder.objects.create(opportunity=opp, contact=contact, roles=["technical"])
        ),
    )
    step(
        "stakeholder ~",
        lambda: Stakeholder.objects.filter(pk=holder["s"].pk).update(stance="champion"),
    )
    step("contact ~", lambda: Contact.objects.filter(pk=contact.pk).update(status="left"))
    step(
        "evaluation +",
        lambda: holder.setdefault(
            "e", Evaluation.objects.create(opportunity=opp, score=Decimal("70"), passed=True)
        ),
    )
    step("evaluation ~", lambda: Evaluation.objects.filter(opportunity=opp).update(passed=False))
    step(
        "criterion +",
        lambda: holder.setdefault(
            "c", PurchaseCriterion.objects.create(opportunity=opp, text="price")
        ),
    )
    step(
        "criterion ~",
        lambda: PurchaseCriterion.objects.filter(opportunity=opp).update(shaped_by_us=True),
    )
    step(
        "milestone +",
        lambda: Milestone.objects.create(opportunity=opp, kind="tender", date=dt.date(2026, 10, 1)),
    )
    step(
        "forced move +",
        lambda: ForcedMove.objects.create(
            opportunity=opp, from_stage="entry", to_stage="development", reason="x"
        ),
    )
    step(
        "intel +",
        lambda: holder.setdefault(
            "i", IntelItem.objects.create(opportunity=opp, text="budget cut", critical=True)
        ),
    )
    step("intel source +", lambda: IntelSource.objects.create(item=holder["i"], contact=contact))
    step(
        "score +",
        lambda: CompetitionScore.objects.create(
            opportunity=opp, competitor=rival, criterion="price", score=3
        ),
    )
    step("competitor ~", lambda: Competitor.objects.filter(pk=rival.pk).update(name="Rival Co"))
    step("deal ~", lambda: Opportunity.objects.filter(pk=opp.pk).update(stage="entry"))
    step("intel source -", lambda: IntelSource.objects.filter(item=holder["i"]).delete())
    step("score -", lambda: CompetitionScore.objects.filter(opportunity=opp).delete())
    step("milestone -", lambda: Milestone.objects.filter(opportunity=opp).delete())
    step("stakeholder -", lambda: Stakeholder.objects.filter(opportunity=opp).delete())
    # then: each moved the deal's revision and no other deal's
    assert [s for s in steps if not (s[1] and s[2])] == []
    tables = {s.table for s in triggers.SOURCES}
    assert tables == {
        "opportunities_opportunity",
        "opportunities_evaluation",
        "stakeholders_stakeholder",
        "opportunities_purchasecriterion",
        "opportunities_milestone",
        "opportunities_forcedmove",
        "intel_intelitem",
        "intel_intelsource",
        "competition_competitionscore",
        "contacts_contact",
        "competition_competitor",
    }


def test_a_change_the_rules_do_not_read_leaves_the_revision(book):
    opp = book["rep_a"]["opportunity"]
    before = rev(opp)
    Opportunity.objects.filter(pk=opp.pk).update(description="notes", amount=Decimal("5"))
    Contact.objects.filter(pk=book["rep_a"]["contact"].pk).update(phone="123")
    # an update that writes the watched columns unchanged (as a model's save does)
    Opportunity.objects.get(pk=opp.pk).save()
    assert rev(opp) == before


def test_a_deleted_deal_takes_its_revision_and_kept_row_along(book):
    opp = book["rep_a"]["opportunity"]
    Stakeholder.objects.create(opportunity=opp, contact=book["rep_a"]["contact"])
    stored.summaries_of([opp.pk])
    assert StoredAssessment.objects.filter(opportunity_id=opp.pk).exists()
    # when: the deal goes (its children first, whose triggers raise its revision)
    Opportunity.objects.filter(pk=opp.pk).delete()
    # then
    assert not FactsRevision.objects.filter(opportunity_id=opp.pk).exists()
    assert not StoredAssessment.objects.filter(opportunity_id=opp.pk).exists()


def test_the_triggers_exist_on_this_database(db):
    made = triggers.create_sql(connection.vendor)
    names = {s.split()[2] for s in made if s.startswith("CREATE TRIGGER")}
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")
        else:
            cursor.execute("SELECT tgname FROM pg_trigger WHERE NOT tgisinternal")
        present = {row[0] for row in cursor.fetchall()}
    assert names and names <= present


# --- kept equals fresh ---------------------------------------------------------------------


@pytest.fixture
def deals(book, world):
    """The three deals with people, one stalled for long, an A deal with a forced move."""
    out = [b["opportunity"] for b in book.values()]
    a = out[0]
    Opportunity.objects.filter(pk=a.pk).update(
        stage_entered_at=NOW - dt.timedelta(days=200), priority="A"
    )
    Opportunity.objects.filter(pk=out[1].pk).update(stage_entered_at=NOW - dt.timedelta(days=20))
    Stakeholder.objects.create(
        opportunity=a,
        contact=book["rep_a"]["contact"],
        roles=["decision_maker"],
        stance="champion",
    )
    ForcedMove.objects.create(
        opportunity=a,
        from_stage="entry",
        to_stage="development",
        reason="x",
        unmet=["entry.need_confirmed"],
    )
    return out


def test_kept_rows_are_used_and_equal_a_fresh_assessment(deals, django_assert_max_num_queries):
    with clock.freeze(NOW):
        first = kept(deals)
        assert StoredAssessment.objects.count() == 3
        assert first == fresh(deals)
        assert any(s.alerts for s in first.values())
        # when: read again, nothing changed: one query, nothing computed
        with django_assert_max_num_queries(1):
            again = kept(deals)
    assert again == first


def test_a_fact_change_is_seen_at_once(deals, book):
    with clock.freeze(NOW):
        before = kept(deals)
        # when: the champion leaves the account, and a deal moves on
        Contact.objects.filter(pk=book["rep_a"]["contact"].pk).update(
            status="left", left_at=NOW.date()
        )
        Opportunity.objects.filter(pk=deals[1].pk).update(stage_entered_at=NOW)
        after = kept(deals)
    assert after == fresh_at(deals, NOW)
    assert after != before


def fresh_at(deals, when):
    with clock.freeze(when):
        return fresh(deals)


@pytest.mark.parametrize("days", [1, 9, 31, 59, 200, 400])
def test_time_passing_alone_is_seen(deals, days):
    # given: kept now
    with clock.freeze(NOW):
        kept(deals)
    # when / then: later, what is read equals a fresh assessment then
    later = NOW + dt.timedelta(days=days, hours=3)
    with clock.freeze(later):
        assert kept(deals) == fresh(deals)


def test_a_kept_row_from_the_future_is_not_used(deals):
    with clock.freeze(NOW + dt.timedelta(days=300)):
        kept(deals)
    with clock.freeze(NOW):
        assert kept(deals) == fresh(deals)


def test_a_methodology_change_recomputes_every_deal(deals, monkeypatch):
    with clock.freeze(NOW):
        kept(deals)
        m = registry.current()
        before = stored.fingerprint()
        # when: the stalled alert is switched off in risks.toml (here: in memory)
        rules = dict(m.risks.rules)
        rules["stalled"] = rules["stalled"].model_copy(update={"enabled": False})
        monkeypatch.setattr(m, "risks", m.risks.model_copy(update={"rules": rules}))
        monkeypatch.setattr(m, "_assessment_fingerprint", None, raising=False)
        # then
        assert stored.fingerprint() != before
        after = kept(deals)
        assert after == fresh(deals)
        assert all(code != "stalled" for s in after.values() for code, _ in s.alerts)


def test_the_dashboard_from_kept_rows_equals_the_one_computed_afresh(deals, world):
    with clock.freeze(NOW):
        filters = parse_filters(world.admin, period="2026Q4")
        cold = pipeline_report(world.admin, filters)
        warm = pipeline_report(world.admin, filters)
        # a stale kept row (a wrong probability at the current revision and methodology)
        # would show: the dashboard reads the kept rows
        kept = StoredAssessment.objects.get(opportunity_id=deals[0].pk)
        StoredAssessment.objects.filter(opportunity_id=deals[0].pk).update(probability=99)
        tampered = pipeline_report(world.admin, filters)
    assert warm == cold
    assert cold.stalled and cold.at_risk
    amount = deals[0].amount
    assert tampered.total.weighted - warm.total.weighted == (
        _weighted(amount, 99) - _weighted(amount, kept.probability)
    )


def test_a_busy_database_leaves_the_rows_unkept_and_the_answer_right(deals, monkeypatch):
    from django.db import OperationalError

    def busy(*args, **kwargs):
        raise OperationalError("database is locked")

    monkeypatch.setattr(StoredAssessment.objects, "bulk_create", busy)
    with clock.freeze(NOW):
        assert kept(deals) == fresh(deals)
    assert StoredAssessment.objects.count() == 0


def test_the_stalled_deals_keep_their_order_whether_kept_computed_or_mixed(book, world):
    # The stalled list is ordered in SQL over the kept rows (days in the stage ÷ the
    # stage's healthy days, then the expected close, then the id) and the deals whose
    # kept row does not hold are put in place in Python: the same order either way.
    from kam.opportunities.services import opportunity_create

    healthy = {s.key: s.healthy_dwell_days for s in registry.playbook("standard-6").stages}
    assert (healthy["development"], healthy["entry"], healthy["proposal"]) == (45, 60, 60)
    spec = [  # stage, days in it, expected close
        ("development", 90, dt.date(2027, 3, 1)),  # 2.0
        ("entry", 120, dt.date(2027, 2, 1)),  # 2.0, closes earlier
        ("entry", 120, dt.date(2027, 2, 1)),  # the same: by id
        ("development", 50, dt.date(2027, 1, 1)),  # 1.11
        ("proposal", 200, dt.date(2027, 6, 1)),  # 3.33
        ("development", 46, dt.date(2027, 1, 1)),  # 1.02
        ("entry", 61, dt.date(2026, 12, 1)),  # 1.02, closes earlier
        ("development", 10, dt.date(2027, 1, 1)),  # not stalled
    ]
    with clock.freeze(NOW):
        made = [
            opportunity_create(
                actor=world.rep_a,
                account=book["rep_a"]["account"],
                name=f"Deal {i}",
                amount=Decimal(1000 + i),
                expected_close=close,
                stage=stage,
                stage_entered_at=NOW - dt.timedelta(days=days, hours=1),
            )
            for i, (stage, days, close) in enumerate(spec)
        ]
        filters = parse_filters(world.admin, period="2026Q4")
        cold = pipeline_report(world.admin, filters)  # every deal assessed in Python
        warm = pipeline_report(world.admin, filters)  # every deal from its kept row
        StoredAssessment.objects.filter(opportunity_id__in=[d.pk for d in made[::2]]).delete()
        mixed = pipeline_report(world.admin, filters, listed=3)
    expected = [
        d.pk
        for (stage, days, close), d in sorted(
            zip(spec, made, strict=True),
            key=lambda x: (-x[0][1] / healthy[x[0][0]], x[0][2], x[1].pk),
        )
        if days > healthy[stage]
    ]
    assert len(expected) == 7
    assert [r.opportunity.pk for r in cold.stalled] == expected
    assert [r.opportunity.pk for r in warm.stalled] == expected
    assert [r.opportunity.pk for r in mixed.stalled] == expected[:3]
    days_of = {d.pk: days for (_s, days, _c), d in zip(spec, made, strict=True)}
    assert [(r.days, r.healthy_days) for r in warm.stalled] == [
        (r.days, r.healthy_days) for r in cold.stalled
    ]
    assert [r.days for r in warm.stalled] == [days_of[pk] for pk in expected]
    for r in (cold, warm, mixed):
        assert r.drill.count("stalled") == 7
        assert r.drill["stalled"] == expected


def test_the_api_list_reads_the_kept_rows_and_agrees_with_each_deal(
    deals, world, api_as, django_assert_num_queries
):
    # given: one deal behind its buyer, one lost; a code, a priority set by hand, a
    # description, an owner with a display name and one without
    buyer_stages = registry.current().check_context.buyer_stages
    Opportunity.objects.filter(pk=deals[1].pk).update(
        buyer_stage=buyer_stages[-1], code="D-2", description="多行\n说明"
    )
    Opportunity.objects.filter(pk=deals[2].pk).update(
        status="lost", closed_at=NOW, close_reason="价格", priority="B",
        priority_overridden=True, priority_reason="客户战略地位"
    )
    type(world.rep_a).objects.filter(pk=world.rep_a.pk).update(display_name="张伟")
    client = api_as(world.admin)

    def listed():
        items = client.get("opportunities?page_size=10").json()["items"]
        return {d["id"]: (d["win_probability"], d["alignment"]) for d in items}

    with clock.freeze(NOW):
        # when: listed with nothing kept, again with the rows kept, deal by deal
        cold = listed()
        assert StoredAssessment.objects.count() == 2  # the open deals only
        with django_assert_num_queries(4):  # token, count, the page's ids, its rows and kept ones
            warm = listed()
        bodies = {d.pk: client.get(f"opportunities/{d.pk}").json() for d in deals}
        each = {pk: (b["win_probability"], b["alignment"]) for pk, b in bodies.items()}
        # the list writes every field as the deal's own GET does (it builds its items
        # from columns, not through the schema)
        items = client.get("opportunities?page_size=10").json()["items"]
        assert items == [bodies[item["id"]] for item in items]
        assert list(items[0]) == list(bodies[items[0]["id"]])  # the same order, too
        # a kept row that said something else would show: the list reads it
        StoredAssessment.objects.filter(opportunity_id=deals[0].pk).update(probability=99)
        tampered = listed()
    # then
    assert cold == warm == each
    assert each[deals[1].pk][1] == "behind_buyer"
    assert each[deals[2].pk][0] == 0
    assert each[deals[1].pk][0] < 10  # behind its buyer: lower than the stage base
    assert tampered == {**each, deals[0].pk: (99, each[deals[0].pk][1])}
