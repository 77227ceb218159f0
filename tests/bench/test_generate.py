"""The bench data set's generator (kam/benchmarks/generate.py), without a database: the
same arguments give the same rows whatever the chunk size, and the rows have the shape
its docstring promises."""

from __future__ import annotations

import datetime as dt
import statistics
from collections import Counter

from kam.benchmarks.generate import HEADERS, Generator, Plan, apportion
from kam.methodology import registry

TODAY = dt.date(2026, 6, 15)


def rows(plan: Plan, chunk: int = 10**9) -> dict[str, list[tuple]]:
    out: dict[str, list[tuple]] = {}
    for c in Generator(plan).chunks(chunk):
        for kind, found in c.rows.items():
            out.setdefault(kind, []).extend(found)
    return out


def as_dicts(found: dict[str, list[tuple]]) -> dict[str, list[dict]]:
    return {
        kind: [dict(zip(HEADERS[kind], r, strict=True)) for r in rs] for kind, rs in found.items()
    }


def test_the_same_seed_gives_the_same_rows_whatever_the_chunk_size():
    # given
    plan = Plan(opportunities=500, seed=7, today=TODAY)
    # when
    once = rows(plan)
    again = rows(Plan(opportunities=500, seed=7, today=TODAY))
    in_chunks = rows(plan, 120)
    # then
    assert once == again == in_chunks
    assert sum(len(r) for r in once.values()) > 500


def test_another_seed_gives_other_rows():
    assert rows(Plan(opportunities=500, seed=1, today=TODAY)) != rows(
        Plan(opportunities=500, seed=2, today=TODAY)
    )


def test_chunks_hold_whole_accounts_of_about_the_asked_size():
    plan = Plan(opportunities=2000, seed=1, today=TODAY)
    chunks = list(Generator(plan).chunks(500))
    assert [c.first for c in chunks[1:]] == [c.last for c in chunks[:-1]]
    assert chunks[-1].last == plan.accounts
    assert all(c.size >= 500 for c in chunks[:-1])
    assert all(c.size < 500 + 200 for c in chunks)  # one account at most past the size


def test_apportion_splits_exactly_by_weight():
    assert apportion(10, [1, 1, 2]) == [3, 2, 5]
    assert sum(apportion(1_000_003, [0.3, 7.1, 2.2, 0.01])) == 1_000_003


def test_people_are_an_admin_and_teams_of_reps_with_a_manager_each():
    plan = Plan(opportunities=1_000_000, today=TODAY)
    roles = Counter(p.role for p in plan.people)
    assert roles == {"admin": 1, "manager": plan.teams, "rep": 334}
    per_team = Counter(p.team for p in plan.people if p.role == "rep")
    assert set(per_team.values()) <= {10, 11}
    assert len({p.username for p in plan.people}) == len(plan.people)
    # a tiny data set still has two teams
    small = Plan(opportunities=500, today=TODAY)
    assert (small.reps, small.teams) == (8, 2)


def test_the_rows_have_the_documented_shape():
    # given
    plan = Plan(opportunities=6000, seed=3, today=TODAY)
    # when
    found = as_dicts(rows(plan))
    accounts, contacts, deals = found["accounts"], found["contacts"], found["opportunities"]
    # then: ~N/10 accounts, ~5 contacts each, N deals, every code unique
    assert len(accounts) == 600 and len(deals) == 6000
    assert 4.5 <= len(contacts) / len(accounts) <= 5.5
    for kind in found.values():
        assert len({r["code"] for r in kind}) == len(kind)
    # every reference resolves
    account_codes = {a["code"] for a in accounts}
    contact_codes = {c["code"] for c in contacts}
    assert {c["account"] for c in contacts} <= account_codes
    assert {c["reports_to"] for c in contacts} - {None} <= contact_codes
    assert {d["account"] for d in deals} <= account_codes
    usernames = {p.username for p in plan.rep_list}
    assert {d["owner"] for d in deals} | {a["owner"] for a in accounts} <= usernames
    # statuses: ~30 % open, 25 % won, 25 % lost, 20 % abandoned
    status = Counter(d["status"] for d in deals)
    assert 0.27 <= status["open"] / 6000 <= 0.33
    assert 0.22 <= status["won"] / 6000 <= 0.28
    # open deals skewed to the early stages of each playbook
    for key in ("standard-6", "milestones-5"):
        keys = registry.playbook(key).stage_keys
        at = Counter(d["stage"] for d in deals if d["status"] == "open" and d["playbook"] == key)
        assert at[keys[0]] > at[keys[1]] > at[keys[2]] > at[keys[4]] > 0
    assert 0.1 <= sum(d["playbook"] == "milestones-5" for d in deals) / 6000 <= 0.2
    # one stage date per stage reached, in order, none in the future; closed after the last
    for d in deals:
        days = [dt.date.fromisoformat(x) for x in d["stage_dates"].split("; ")]
        assert len(days) == registry.playbook(d["playbook"]).stage_keys.index(d["stage"]) + 1
        assert days == sorted(days) and days[-1] <= TODAY
        if d["status"] == "open":
            assert d["closed_on"] is None and d["close_reason"] is None
        else:
            assert days[-1] <= d["closed_on"] <= TODAY
            assert (d["close_reason"] is None) == (d["status"] == "won")
    # closed deals spread over four years, more of them recent
    ages = [(TODAY - d["closed_on"]).days for d in deals if d["closed_on"]]
    assert max(ages) <= 4 * 365 and statistics.median(ages) < 2 * 365
    # most open deals expected ahead, some overdue
    ahead = [d["expected_close"] >= TODAY for d in deals if d["status"] == "open"]
    assert 0.85 <= sum(ahead) / len(ahead) < 1
    # amounts log-normal: many small, a few large
    amounts = sorted(d["amount"] for d in deals)
    assert amounts[0] >= 50_000 and amounts[-1] <= 50_000_000
    assert 300_000 <= statistics.median(amounts) <= 1_500_000 < amounts[-60]
    # deals skewed across reps and accounts
    per_rep = Counter(d["owner"] for d in deals)
    assert max(per_rep.values()) > 2 * min(per_rep.values())
    per_account = Counter(d["account"] for d in deals)
    assert len(per_account) < len(accounts)  # some accounts buy nothing
    assert max(per_account.values()) > 5 * statistics.median(per_account.values())
