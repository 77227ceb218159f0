# ruff: noqa: S608  (SQL from quoted table names and fixed text: the hand-written side)
"""The whole-book risk scan (GET /api/v1/risks as the admin: every alert of every open
deal) against a raw scan of what it reads. The scan reads each open deal's kept
assessment (kam/opportunities/stored.py); its raw counterpart is a cursor fetching the
open deals in the scan's order with their kept rows and revisions (`raw_kept_scan`).
Goal: the scan within 3× of that.

Once, with nothing kept (after a release or an edited methodology), the scan assesses
every deal: that run is compared with a raw read of every table the rules read
(`raw_scan`: the open deals with account and owner, evaluations, stakeholders with
their contacts, criteria, milestones, forced moves, the change window's events,
intelligence with source counts, competition scores) — the rules are the difference."""

from __future__ import annotations

import datetime as dt

from kam.benchmarks.common import (
    Context,
    Outcome,
    cold,
    fetch,
    get_json,
    measure,
    seconds,
    table,
    verdict,
)

GOAL = 3.0


def raw_scan() -> int:
    """Every row the scan reads, fetched by hand; how many rows."""
    from kam.accounts.models import Account
    from kam.competition.models import CompetitionScore, Competitor
    from kam.contacts.models import Contact
    from kam.core import clock
    from kam.core.models import Event
    from kam.intel.models import IntelItem, IntelSource
    from kam.opportunities.facts import change_window_days
    from kam.opportunities.models import (
        Evaluation,
        ForcedMove,
        Milestone,
        Opportunity,
        PurchaseCriterion,
    )
    from kam.stakeholders.models import Stakeholder
    from kam.users.models import User

    opp = table(Opportunity)
    open_ids = f"(SELECT id FROM {opp} WHERE status = 'open')"
    since = clock.now() - dt.timedelta(days=change_window_days())
    queries = [
        (
            f"SELECT o.id, o.name, o.account_id, a.name, o.owner_id, u.username, u.display_name, "
            f"o.playbook, o.stage, o.stage_entered_at, o.buyer_stage, o.status, o.priority, "
            f"o.expected_close, o.amount, o.currency FROM {opp} o "
            f"JOIN {table(Account)} a ON a.id = o.account_id "
            f"JOIN {table(User)} u ON u.id = o.owner_id "
            f"WHERE o.status = 'open' ORDER BY o.expected_close, o.id",
            [],
        ),
        (
            f"SELECT opportunity_id, score, passed, knocked_out FROM {table(Evaluation)} "
            f"WHERE opportunity_id IN {open_ids}",
            [],
        ),
        (
            f"SELECT s.id, s.opportunity_id, s.contact_id, c.name, s.roles, s.stance, s.is_coach, "
            f"c.status, c.joined_at, c.left_at, s.influence FROM {table(Stakeholder)} s "
            f"JOIN {table(Contact)} c ON c.id = s.contact_id "
            f"WHERE s.opportunity_id IN {open_ids} ORDER BY s.id",
            [],
        ),
        (
            f"SELECT id, opportunity_id, shaped_by_us, favourable FROM {table(PurchaseCriterion)} "
            f"WHERE opportunity_id IN {open_ids} ORDER BY id",
            [],
        ),
        (
            f"SELECT id, opportunity_id, kind, date, price, margin FROM {table(Milestone)} "
            f"WHERE opportunity_id IN {open_ids} ORDER BY date, id",
            [],
        ),
        (
            f"SELECT f.id, f.opportunity_id, f.event_id, f.from_stage, f.unmet, f.at, u.username "
            f"FROM {table(ForcedMove)} f LEFT JOIN {table(User)} u ON u.id = f.actor_id "
            f"WHERE f.opportunity_id IN {open_ids}",
            [],
        ),
        (
            f"SELECT id, opportunity_id, entity_id, action, at, before, after FROM {table(Event)} "
            f"WHERE entity = 'stakeholder' AND action IN ('updated', 'deleted') AND at >= %s "
            f"AND opportunity_id IN {open_ids} ORDER BY at, id",
            [since],
        ),
        (
            f"SELECT i.id, i.opportunity_id, i.text, i.critical, COUNT(DISTINCT s.contact_id) "
            f"FROM {table(IntelItem)} i LEFT JOIN {table(IntelSource)} s ON s.item_id = i.id "
            f"WHERE i.opportunity_id IN {open_ids} GROUP BY i.id, i.opportunity_id, i.text, "
            f"i.critical",
            [],
        ),
        (
            f"SELECT cs.opportunity_id, cs.competitor_id, c.name, cs.criterion, cs.score "
            f"FROM {table(CompetitionScore)} cs LEFT JOIN {table(Competitor)} c "
            f"ON c.id = cs.competitor_id WHERE cs.opportunity_id IN {open_ids} "
            f"ORDER BY cs.opportunity_id, c.name, cs.competitor_id, cs.criterion",
            [],
        ),
    ]
    return sum(len(fetch(sql, params)) for sql, params in queries)


def raw_kept_scan() -> int:
    """The open deals in the scan's order with their kept assessments; how many rows."""
    from kam.opportunities.models import FactsRevision, Opportunity, StoredAssessment

    sql = (
        f"SELECT o.id, s.rev, r.rev, s.config, s.computed_at, s.valid_until, s.probability, "
        f"s.alerts FROM {table(Opportunity)} o "
        f"LEFT JOIN {table(StoredAssessment)} s ON s.opportunity_id = o.id "
        f"LEFT JOIN {table(FactsRevision)} r ON r.opportunity_id = o.id "
        f"WHERE o.status = 'open' ORDER BY o.expected_close, o.id"
    )
    return len(fetch(sql, []))


def run(ctx: Context) -> None:
    from kam.opportunities.models import Opportunity, Status

    ctx.say("== risks: GET /api/v1/risks as the admin (whole book) vs a raw scan of its tables ==")
    client = ctx.client("admin")
    open_deals = Opportunity.objects.filter(status=Status.OPEN).count()
    scan = lambda: get_json(client, "/api/v1/risks?limit=100")  # noqa: E731
    try:
        first = cold(scan)
        facts_read = measure({"raw": raw_scan}, runs=1)["raw"]
        samples = measure({"api": scan, "raw": raw_kept_scan}, runs=ctx.runs)
    except Exception as exc:  # e.g. too many SQL variables: say so and go on
        ctx.say(f"  FAILED over {open_deals:,} open deals — {type(exc).__name__}: {str(exc)[:300]}")
        ctx.record(
            Outcome(
                "risks",
                "whole-book risk scan vs raw scan",
                None,
                f"≤ {GOAL:g}×",
                None,
                f"failed: {type(exc).__name__}",
            )
        )
        return
    api, raw = samples["api"], samples["raw"]
    ratio = api.median / raw.median
    ctx.say(
        f"  {open_deals:,} open deals, {api.result['total']:,} alerts; raw scan of the kept "
        f"rows {raw.result:,} rows: "
        f"API {seconds(api.median)} vs raw {seconds(raw.median)} = {ratio:.2f}× "
        f"(goal ≤ {GOAL:g}×) {verdict(ratio <= GOAL)}   [median of {api.runs}/{raw.runs}]"
    )
    ctx.say(
        f"  the first scan with no assessment kept (every deal assessed and kept): "
        f"{seconds(first)} vs a raw read of every table the rules read "
        f"({facts_read.result:,} rows) {seconds(facts_read.median)} = "
        f"{first / facts_read.median:.1f}×"
    )
    ctx.record(
        Outcome(
            "risks",
            "whole-book risk scan vs raw scan",
            ratio,
            f"≤ {GOAL:g}×",
            ratio <= GOAL,
            f"{seconds(api.median)} vs {seconds(raw.median)}",
        )
    )


def profiled(ctx: Context):
    """The call --profile profiles: the admin's whole-book scan."""
    client = ctx.client("admin")
    return lambda: get_json(client, "/api/v1/risks?limit=100")
