import datetime as dt

import pytest
from django.utils import timezone

from kam.core.models import Event


def test_events_cannot_be_edited_or_deleted(world, book):
    # given
    event = Event.objects.filter(entity="opportunity").first()
    # when / then
    event.action = "tampered"
    with pytest.raises(RuntimeError, match="append-only"):
        event.save()
    with pytest.raises(RuntimeError, match="append-only"):
        event.delete()
    assert Event.objects.get(pk=event.pk).action == "created"


def test_every_service_write_leaves_one_event(world, book):
    # then: users, accounts, contacts, opportunities of the fixture, one 'created' each
    created = Event.objects.filter(action="created")
    assert created.filter(entity="user").count() == 6
    assert created.filter(entity="account").count() == 3
    assert created.filter(entity="contact").count() == 3
    assert created.filter(entity="opportunity").count() == 3
    opp = book["rep_a"]["opportunity"]
    event = created.get(entity="opportunity", entity_id=opp.pk)
    assert event.actor_id == opp.owner_id
    assert event.opportunity_id == opp.pk
    assert event.after["stage"] == "development"


def test_a_frozen_clock_holds_only_in_the_thread_that_froze_it():
    # given: one thread pins the clock to 2020 (as an import recording history does)
    import threading

    from kam.core import clock

    pinned = timezone.make_aware(dt.datetime(2020, 1, 1, 9, 0))
    seen: list = []
    with clock.freeze(pinned):
        # when: another thread (another request) asks the time meanwhile
        other = threading.Thread(target=lambda: seen.append(clock.now()))
        other.start()
        other.join()
        mine = clock.now()
    # then: only the freezing thread sees 2020
    assert mine == pinned
    assert seen[0].year >= 2026
