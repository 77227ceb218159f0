"""How each synthetic demo deal got where it is (SPEC §2–§3): the fates of the
whole book (won, lost, forced past a gate, re-graded by a manager, caught in the
state-owned customer's budget trap), then each deal's dated steps, told by
`kam.demo.teller` and replayed by the loader through the process services.

Pure and seeded like `synthetic`: no database, no wall clock, times in days ago."""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from kam.demo import vocab
from kam.demo.steps import WON, Fate, Story
from kam.demo.teller import Teller, weighted
from kam.methodology.evaluation import EvaluationModel
from kam.methodology.schema import BuyerProcess, Playbook


def assign_fates(
    rng: random.Random,
    deals: Sequence[Any],
    *,
    natures: Sequence[str],
    playbooks: Mapping[str, Playbook],
    managers: Mapping[str, str],
) -> list[Fate]:
    """One fate per deal (same order as `deals`, each an OpportunityPlan; `natures`
    is its account's ownership). Won: every deal beyond the winning stage, and half
    of those at a winning stage that ends the playbook. Then the rows of
    vocab.CLOSINGS, FORCED and OVERRIDES each take one deal that fits, two
    state-owned customers get the budget trap, and the open deals still on a first
    stage get an evaluation state."""
    fates = [Fate() for _ in deals]

    def position(d) -> int:
        return playbooks[d.playbook].stage_keys.index(d.stage)

    def winning(d) -> int | None:
        book = playbooks[d.playbook]
        stage = book.winning_stage
        return book.stage_keys.index(stage.key) if stage else None

    def free(i: int) -> bool:
        return fates[i] == Fate()

    signing: dict[str, list[int]] = {}
    for i, d in enumerate(deals):
        win = winning(d)
        if win is None:
            continue
        if position(d) > win:
            fates[i] = Fate(outcome=WON, evidence="partial")
        elif position(d) == win and playbooks[d.playbook].next_stage(d.stage) is None:
            signing.setdefault(d.playbook, []).append(i)
    for group in signing.values():
        for i in rng.sample(group, (len(group) + 1) // 2):
            fates[i] = Fate(outcome=WON, evidence="full")

    for book_key, stage, outcome, reason, evidence in vocab.CLOSINGS:
        pool = [
            i
            for i, d in enumerate(deals)
            if free(i) and d.playbook == book_key and d.stage == stage and d.stage_days_ago >= 3
        ]
        if pool:
            fates[rng.choice(pool)] = Fate(outcome=outcome, reason=reason, evidence=evidence)

    for book_key, stage, criterion, reason in vocab.FORCED:
        if book_key not in playbooks or stage not in playbooks[book_key].stage_keys:
            continue
        after = playbooks[book_key].stage_keys.index(stage)
        pool = [
            i
            for i, d in enumerate(deals)
            if free(i) and d.playbook == book_key and position(d) > after
        ]
        if pool:
            i = rng.choice(pool)
            fates[i] = Fate(forced=(stage, criterion, reason, managers[deals[i].owner]))

    for grade, reason, band in vocab.OVERRIDES:
        pool = [i for i, d in enumerate(deals) if free(i) and position(d) >= 1]
        if pool:
            i = rng.choice(pool)
            fates[i] = Fate(override=(grade, reason, managers[deals[i].owner]), band=band)

    trap = [
        i
        for i, d in enumerate(deals)
        if free(i) and natures[i] == "soe" and d.stage in ("bidding", "negotiation")
    ]
    for i in rng.sample(trap, min(2, len(trap))):
        fates[i] = Fate(soe_trap=True)

    # Its own random stream, so the rest of the book's fates stay as they were.
    again = random.Random("setback")  # noqa: S311
    failed = [
        i
        for i, d in enumerate(deals)
        if free(i)
        and d.stage == "bidding"
        and d.buyer_stage in ("evaluation", "selection")
        and d.stage_days_ago >= 10
    ]
    for i in again.sample(failed, min(2, len(failed))):
        fates[i] = Fate(setback=True)

    first = [i for i, d in enumerate(deals) if free(i) and position(d) == 0]
    rng.shuffle(first)
    for n, i in enumerate(first):
        state = "knockout" if n == 0 else weighted(
            rng, (("none", 30), ("pass", 45), ("fail", 20))
        )  # fmt: skip
        fates[i] = Fate(evidence=state)
    return fates


def tell(
    rng: random.Random,
    *,
    deal: Any,
    contacts: Sequence[Any],
    fate: Fate,
    book: Playbook,
    buyer: BuyerProcess,
    evaluation: EvaluationModel,
) -> Story:
    """The dated steps of `deal` (an OpportunityPlan, already set to its final stage,
    buyer stage and dwell), from its creation at the playbook's first stage."""
    return Teller(rng, deal, contacts, fate, book, buyer, evaluation).tell()


def prepare(deal: Any, fate: Fate, buyer: BuyerProcess) -> Any:
    """The plan of `deal` as its fate needs it before the story is told: a won deal's
    customer has signed; a state-owned customer in the budget trap is still at its
    project approval while we bid or negotiate."""
    if fate.outcome == WON:
        return replace(
            deal, buyer_stage=buyer.keys[-1], earlier_buyer_stage=None, buyer_moved_days_ago=None
        )
    if fate.soe_trap:
        return replace(
            deal,
            buyer_stage="approval",
            earlier_buyer_stage=None,
            buyer_moved_days_ago=None,
            description=deal.description + vocab.SOE_TRAP,
        )
    if fate.setback:
        return replace(
            deal,
            earlier_buyer_stage=None,
            buyer_moved_days_ago=None,
            description=deal.description + vocab.SETBACK,
        )
    return deal


def finish(deal: Any, story: Story, fate: Fate) -> Any:
    """The plan of `deal` with its status and its story; a won deal was expected to
    close the day it was signed."""
    close = deal.close_in_days
    if fate.outcome == WON and story.closed_days_ago is not None:
        close = -story.closed_days_ago
    if fate.setback:  # where the customer is after the failed tender
        deal = replace(deal, buyer_stage=vocab.SETBACK_STAGE)
    return replace(
        deal,
        status=fate.outcome,
        created_days_ago=story.created_days_ago,
        close_in_days=close,
        steps=story.steps,
    )
