"""On the demo's whole book (every kind of deal the story makes: stalled, forced,
lost champions, unverified intelligence, rivals ahead), the kept assessments the
dashboard and the alert scan read equal a fresh assessment of every open deal — now,
and as the weeks pass with nothing else changing (kam/opportunities/stored.py)."""

from __future__ import annotations

import datetime as dt

import pytest

from kam.core import clock
from kam.opportunities import assess, stored
from kam.opportunities.models import Opportunity

pytestmark = pytest.mark.django_db


def fresh() -> dict[int, stored.Summary]:
    deals = Opportunity.objects.filter(status="open")
    return {pk: stored.summary_of(a) for pk, a in assess.assess_many(deals).items()}


def kept() -> dict[int, stored.Summary]:
    return stored.summaries_of(list(Opportunity.objects.values_list("pk", flat=True)))


def test_kept_equals_fresh_on_the_whole_demo_book_as_time_passes(demo, db):
    # given: kept today
    now = clock.now()
    with clock.freeze(now):
        first = kept()
        assert first == fresh()
    codes = {code for s in first.values() for code, _ in s.alerts}
    assert {"stalled", "forced_gate", "key_person_changed"} <= codes
    # when / then: days and weeks later, what is read is what a fresh assessment says
    for days in (1, 3, 8, 15, 31, 45, 90, 180):
        with clock.freeze(now + dt.timedelta(days=days, hours=5)):
            assert kept() == fresh(), f"{days} days later"
