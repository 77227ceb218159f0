"""The seeded generator of the synthetic demo (kam.demo.synthetic.build_plan): pure,
so its shape and its determinism are checked without a database."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections import Counter
from decimal import Decimal

import pytest

from kam.demo import cases, steps, synthetic
from kam.methodology import registry


def _plan(today: dt.date = dt.date(2026, 11, 23), seed: int = synthetic.SEED):
    return synthetic.build_plan(
        today=today,
        playbooks={key: registry.playbook(key) for key in synthetic.PLAYBOOK_SHARES},
        buyer=registry.buyer_process(),
        evaluation=registry.current().evaluation,
        reserved_names=cases.ACCOUNT_NAMES,
        seed=seed,
    )


def _fingerprint(plan) -> str:
    text = "\n".join(
        f"{a.name}|{a.owner}|" + ",".join(f"{d.amount}:{d.stage}" for d in a.opportunities)
        for a in plan
    )
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def deals(plan):
    return [d for a in plan for d in a.opportunities]


def test_same_seed_same_plan_on_any_day():
    # given the seed
    # when the plan is built twice on one day, and once years later
    first, second, later = _plan(), _plan(), _plan(today=dt.date(2030, 3, 1))

    # then names, owners, amounts and stages agree (the day only dates the text)
    assert first == second
    assert _fingerprint(first) == _fingerprint(later)
    assert [a.name for a in first] == [a.name for a in later]


def test_another_seed_gives_another_plan():
    # given / when
    ours, other = _plan(), _plan(seed=7)

    # then
    assert _fingerprint(ours) != _fingerprint(other)


def test_plan_has_forty_accounts_and_a_hundred_and_fifty_deals():
    # given / when
    plan = _plan()

    # then
    assert len(plan) == 40
    assert len({a.name for a in plan}) == 40
    assert not {a.name for a in plan} & set(cases.ACCOUNT_NAMES)
    assert len(deals(plan)) == 150
    assert all(1 <= len(a.opportunities) <= 8 for a in plan)
    assert all(3 <= len(a.contacts) <= 8 for a in plan)


def test_both_playbooks_in_funnel_proportions_with_every_stage():
    # given / when
    books = Counter((d.playbook, d.stage) for d in deals(_plan()))

    # then 80/20 between the playbooks, more deals early than late, none missing
    assert sum(n for (book, _), n in books.items() if book == "milestones-5") == 30
    assert sum(n for (book, _), n in books.items() if book == "standard-6") == 120
    standard = [books[("standard-6", s)] for s in registry.playbook("standard-6").stage_keys]
    milestones = [books[("milestones-5", s)] for s in registry.playbook("milestones-5").stage_keys]
    assert standard == [27, 26, 24, 18, 13, 12]
    assert milestones == [8, 7, 7, 4, 4]


def test_amounts_are_skewed_between_fifty_thousand_and_twenty_million():
    # given / when
    amounts = sorted(d.amount for d in deals(_plan()))

    # then many small deals, a few large ones
    assert amounts[0] >= Decimal(50_000)
    assert amounts[-1] <= Decimal(20_000_000)
    median = amounts[len(amounts) // 2]
    mean = sum(amounts) / len(amounts)
    assert Decimal(300_000) < median < Decimal(3_000_000)
    assert mean > median


def test_buyer_stages_mostly_follow_the_mapping_with_some_off_it():
    # given
    buyer = registry.buyer_process()
    on, off = 0, 0

    # when each deal's buyer stage is compared with its stage's mapping
    for deal in deals(_plan()):
        mapped = registry.playbook(deal.playbook).stage(deal.stage).buyer_stages
        assert deal.buyer_stage in buyer.keys
        if not mapped or deal.buyer_stage in mapped:
            on += 1
        else:
            off += 1
        if deal.earlier_buyer_stage is not None:
            assert buyer.index(deal.earlier_buyer_stage) == buyer.index(deal.buyer_stage) - 1
            assert 1 <= deal.buyer_moved_days_ago < deal.stage_days_ago

    # then most are aligned, and some are deliberately ahead or behind
    assert on + off == 150
    assert 10 <= off <= 40


def test_times_are_relative_and_some_deals_are_stalled_or_overdue():
    # given / when
    plan = _plan()

    # then
    stalled = overdue = 0
    for account in plan:
        for deal in account.opportunities:
            stage = registry.playbook(deal.playbook).stage(deal.stage)
            assert deal.stage_days_ago >= 1
            assert account.created_days_ago > deal.created_days_ago >= deal.stage_days_ago
            stalled += deal.stage_days_ago > stage.healthy_dwell_days
            overdue += deal.close_in_days < 0 and stage.base_probability < 1
            assert deal.close_in_days <= 366
    assert 20 <= stalled <= 75
    assert overdue >= 3


@pytest.mark.parametrize("owner", ["rep1", "rep2", "rep3", "manager", "manager2"])
def test_every_seller_owns_accounts(owner):
    # given / when
    owners = Counter(a.owner for a in _plan())

    # then
    assert owners[owner] == dict(synthetic.ACCOUNT_OWNERS)[owner]


def test_org_charts_are_trees_with_layers():
    # given / when
    for account in _plan():
        contacts = account.contacts

        # then the first is the top, everyone else reports to someone earlier
        assert contacts[0].reports_to is None
        assert contacts[0].layer == "decision"
        for i, person in enumerate(contacts[1:], start=1):
            assert person.reports_to is not None and person.reports_to < i
            assert person.layer in ("decision", "management", "operation")
            assert len({c.name for c in contacts}) == len(contacts)


def test_every_deal_has_a_story_from_its_creation_at_the_first_stage():
    # given / when
    plan = _plan()

    # then each deal starts at its playbook's first stage and moves one key node at a
    # time, in the past, ending as its status says
    for deal in deals(plan):
        book = registry.playbook(deal.playbook)
        story = deal.steps
        assert isinstance(story[0].action, steps.Create)
        assert story[0].days_ago == deal.created_days_ago
        assert [s.days_ago for s in story] == sorted((s.days_ago for s in story), reverse=True)
        assert all(s.days_ago >= 1 and 0 <= s.minute < 24 * 60 for s in story)
        advances = [s for s in story if isinstance(s.action, steps.Advance)]
        signed_here = deal.status == "won" and book.stage(deal.stage).wins
        completed = any(
            isinstance(s.action, steps.Milestone) and s.action.kind == "acceptance" for s in story
        )
        position = book.stage_keys.index(deal.stage)
        assert len(advances) == position + signed_here + completed
        closes = [s.action.outcome for s in story if isinstance(s.action, steps.Close)]
        assert closes == ([deal.status] if deal.status in ("lost", "abandoned") else [])


def test_the_book_has_its_exceptions_in_measure():
    # given / when
    planned = deals(_plan())
    actions = [s.action for d in planned for s in d.steps]

    # then a handful forced by managers with reasons, two grades overridden, ten ended
    forced = [a for a in actions if isinstance(a, steps.Advance) and a.force]
    assert len(forced) == 6
    assert all(a.by in ("manager", "manager2") and a.reason for a in forced)
    overrides = [a for a in actions if isinstance(a, steps.Override)]
    assert sorted(a.grade for a in overrides) == ["A", "D"]
    assert Counter(d.status for d in planned) == {"open": 126, "won": 14, "lost": 5, "abandoned": 5}
