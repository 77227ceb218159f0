import pytest

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
