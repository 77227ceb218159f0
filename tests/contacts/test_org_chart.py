from kam.contacts.models import Contact
from kam.contacts.selectors import org_chart


def _c(pk, name, boss=None, layer="", status="active"):
    return Contact(pk=pk, name=name, reports_to_id=boss, layer=layer, status=status)


def test_children_follow_their_boss_and_leavers_come_last():
    people = [_c(1, "GM", layer="decision"), _c(2, "VP", 1, "decision"),
              _c(3, "Design", 1, "management"), _c(4, "Old VP", 1, "decision", "left"),
              _c(5, "Engineer", 3, "operation")]
    chart = [(d, c.name) for d, c in org_chart(people)]
    assert chart == [(0, "GM"), (1, "VP"), (1, "Design"), (2, "Engineer"), (1, "Old VP")]


def test_a_cycle_in_stored_data_does_not_lose_people():
    people = [_c(1, "A", 2), _c(2, "B", 1)]
    assert sorted(c.name for _, c in org_chart(people)) == ["A", "B"]
