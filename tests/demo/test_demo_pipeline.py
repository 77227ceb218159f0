"""The demo fills every panel of the manager's dashboard (issue 6, SPEC §8): the
demo manager, looking at the last 90 days (any day the demo is loaded on; the
dashboard's default, the current quarter, is thin in its first days), sees deals in both funnels, a
forecast over months, progress per rep including a customer sent back by a failed
tender (流标), stalled deals, forced moves, alerts of each severity, A deals at risk,
conversions, wins and losses."""

from __future__ import annotations

import datetime as dt

import pytest

from kam.core import clock
from kam.opportunities import assess, stored
from kam.opportunities.models import Opportunity
from kam.opportunities.pipeline import parse_filters, pipeline_report
from kam.users.models import User

pytestmark = pytest.mark.django_db


@pytest.fixture
def report(demo, db):
    manager = User.objects.get(username="manager")
    today = clock.today()
    span = parse_filters(manager, start=today - dt.timedelta(days=90), end=today)
    return pipeline_report(manager, span)


def test_both_funnels_and_the_forecast_have_deals(report):
    # then
    assert report.total.count > 20
    assert 0 < report.total.weighted < report.total.amount
    assert sum(1 for r in report.by_stage if r.open.count) >= 6
    assert sum(1 for r in report.by_buyer_stage if r.open.count) >= 6
    assert sum(1 for m in report.forecast if m.open.count) >= 6
    assert any(m.won_count for m in report.forecast)


def test_progress_shows_every_rep_and_a_failed_tender_moving_a_customer_back(report):
    # then
    assert len(report.advanced) > 10
    assert sum(1 for r in report.reps if r.stages_advanced) >= 2
    back = [m for m in report.moved_back if "流标" in m.opportunity.description]
    assert back and all(m.end_stage == "criteria" for m in back)


def test_stalled_forced_alerts_and_a_deals_at_risk_show(report):
    # then
    assert report.stalled and all(r.days > r.healthy_days for r in report.stalled)
    assert report.forced and any(r.still_unmet for r in report.forced)
    assert all(report.alerts_by_severity[s] > 0 for s in ("high", "medium", "low"))
    assert report.at_risk


def test_the_period_has_conversions_wins_and_losses(report):
    # then
    assert sum(r.advanced for r in report.conversion) > 20
    assert any(r.dropped for r in report.conversion)
    assert report.outcomes.won and report.outcomes.lost + report.outcomes.abandoned
    assert report.cycle.median is not None


# --- kept assessments (kam/opportunities/stored.py) ----------------------------------------
# On the demo's whole book (stalled deals, forced moves, lost champions, unverified
# intelligence, rivals ahead), what the dashboard and the alert scan read from the kept
# assessments equals a fresh assessment of every open deal — now, and as the weeks pass
# with nothing else changing.


def fresh_summaries() -> dict[int, stored.Summary]:
    deals = Opportunity.objects.filter(status="open")
    return {pk: stored.summary_of(a) for pk, a in assess.assess_many(deals).items()}


def kept_summaries() -> dict[int, stored.Summary]:
    return stored.summaries_of(list(Opportunity.objects.values_list("pk", flat=True)))


def test_kept_equals_fresh_on_the_whole_demo_book_as_time_passes(demo, db):
    # given: kept today
    now = clock.now()
    with clock.freeze(now):
        first = kept_summaries()
        assert first == fresh_summaries()
    codes = {code for s in first.values() for code, _ in s.alerts}
    assert {"stalled", "forced_gate", "key_person_changed"} <= codes
    # when / then: days and weeks later, what is read is what a fresh assessment says
    for days in (1, 3, 8, 15, 31, 45, 90, 180):
        with clock.freeze(now + dt.timedelta(days=days, hours=5)):
            assert kept_summaries() == fresh_summaries(), f"{days} days later"
