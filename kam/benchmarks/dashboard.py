# ruff: noqa: S608  (SQL from quoted table names and fixed text: the hand-written side)
"""The pipeline dashboard (GET /api/v1/pipeline) against the same aggregates written by
hand in SQL, as a manager (their team's book) and as the admin (the whole book).
Goal: the API within 1.5× of the SQL.

The SQL side computes what the dashboard's funnels, forecast and period figures show,
over the deals the user may see (their team's, the deals and accounts shared with them):
of the open deals, count, amount and weighted amount by our stage, by the buyer's stage
and by expected-close month; the amount won per month; and of the period (this
quarter), the buyer-stage steps forward and back per deal, our stage advances by stage
and whole days in it and by owner, the deals closed by outcome, stage and owner, and the
won by days from creation — in nine grouped queries. Its weighted amount
is Σ amount × the stage's base probability; the API's uses each deal's win
probability, which the alerts adjust (the rules run in Python over each deal's facts:
no SQL computes that). Counts and amounts must agree; the run checks that they do and
prints how far the weighted totals differ. The API does more besides (the open deals'
alerts from their kept assessments, the stalled and at-risk lists assessed in full,
forced moves, the people): that is the price of the page, and the point of measuring
it against its floor."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from kam.benchmarks.common import (
    Context,
    Outcome,
    cold,
    fetch,
    get_json,
    json_text,
    measure,
    month_of,
    seconds,
    table,
    verdict,
    whole_days,
)

GOAL = 1.5
CENT = Decimal("0.01")


def visible(user) -> tuple[str, list[Any]]:
    """SQL (over `o`, the opportunities) for the deals `user` may see, as
    opportunities_for_user decides: everything for an admin; their own (their team's,
    for a manager) plus the deals and the accounts' deals shared with them."""
    from kam.accounts.models import AccountMember
    from kam.opportunities.models import OpportunityMember
    from kam.users.models import Role, User

    if user.role == Role.ADMIN:
        return "1 = 1", []
    if user.role == Role.MANAGER and user.team_id is not None:
        own = (
            f"(o.owner_id = %s OR o.owner_id IN (SELECT id FROM {table(User)} WHERE team_id = %s))"
        )
        params: list[Any] = [user.pk, user.team_id]
    else:
        own = "o.owner_id = %s"
        params = [user.pk]
    sql = (
        f"({own} OR o.id IN (SELECT opportunity_id FROM {table(OpportunityMember)} "
        f"WHERE user_id = %s) OR o.account_id IN (SELECT account_id FROM "
        f"{table(AccountMember)} WHERE user_id = %s))"
    )
    return sql, [*params, user.pk, user.pk]


def base_probability_case() -> tuple[str, list[Any]]:
    """SQL: the base win probability of the deal's stage (0 when unknown)."""
    from kam.methodology import registry

    whens, params = [], []
    for key in registry.playbook_keys():
        for stage in registry.playbook(key).stages:
            whens.append("WHEN o.playbook = %s AND o.stage = %s THEN %s")
            params += [key, stage.key, Decimal(str(stage.base_probability))]
    return f"CASE {' '.join(whens)} ELSE 0 END", params


def buyer_index_case(column: str) -> tuple[str, list[Any]]:
    """SQL: the place of the buyer's stage held in JSON `column` in the buyer's process."""
    from kam.methodology import registry

    keys = registry.buyer_process().keys
    whens = " ".join(
        f"WHEN {json_text(column, 'buyer_stage')} = %s THEN {i}" for i in range(len(keys))
    )
    return f"CASE {whens} ELSE 0 END", list(keys)


def dashboard_sql(user, first_month: str, lo, hi) -> dict[str, list[tuple]]:
    """The funnels, the forecast, the won amounts and the period's figures in [lo, hi),
    by hand: nine grouped queries."""
    from kam.core.models import Event
    from kam.opportunities.models import Opportunity

    where, wparams = visible(user)
    case, cparams = base_probability_case()
    opp, events = table(Opportunity), table(Event)
    measures = f"COUNT(*), SUM(o.amount), SUM(ROUND(o.amount * {case}, 2))"
    open_deals = f"FROM {opp} o WHERE o.status = 'open' AND {where}"
    month = month_of("o.expected_close")
    won_month = month_of("o.closed_at")
    after, aparams = buyer_index_case("e.after")
    before, bparams = buyer_index_case("e.before")
    step = f"({after}) - ({before})"
    # the period's events of the deals in view (d): for a team, an IN over the ids of
    # the deals it may see, so that each deal's events are read by their index, not
    # every event of the period; for the whole book, no IN
    in_view = (
        "" if not wparams else f" AND e.opportunity_id IN (SELECT o.id FROM {opp} o WHERE {where})"
    )
    period_events = (
        f"FROM {events} e JOIN {opp} d ON d.id = e.opportunity_id "
        f"WHERE e.entity = 'opportunity' AND e.action {{}} AND e.at >= %s AND e.at < %s{in_view}"
    )
    advances = period_events.format("IN ('advanced', 'force_advanced')")
    moves = period_events.format("= 'buyer_stage_changed'")
    closed = f"FROM {opp} o WHERE o.closed_at >= %s AND o.closed_at < %s AND {where}"
    stage_days = whole_days("e.at", json_text("e.before", "stage_entered_at"))
    return {
        "by_stage": fetch(
            f"SELECT o.playbook, o.stage, {measures} {open_deals} GROUP BY o.playbook, o.stage",
            [*cparams, *wparams],
        ),
        "by_buyer_stage": fetch(
            f"SELECT o.buyer_stage, {measures} {open_deals} GROUP BY o.buyer_stage",
            [*cparams, *wparams],
        ),
        "forecast": fetch(
            f"SELECT {month}, {measures} {open_deals} GROUP BY {month} ORDER BY 1",
            [*cparams, *wparams],
        ),
        "won": fetch(
            f"SELECT {won_month}, COUNT(*), SUM(o.amount) FROM {opp} o WHERE o.status = 'won' "
            f"AND o.closed_at >= %s AND {where} GROUP BY {won_month} ORDER BY 1",
            [first_month, *wparams],
        ),
        "progress": fetch(
            f"SELECT e.opportunity_id, SUM(CASE WHEN {step} > 0 THEN {step} ELSE 0 END), "
            f"SUM(CASE WHEN {step} < 0 THEN -({step}) ELSE 0 END), COUNT(*) "
            f"{moves} GROUP BY e.opportunity_id",
            [*aparams, *bparams] * 4 + [lo, hi, *wparams],
        ),
        "advances": fetch(
            f"SELECT d.playbook, {json_text('e.before', 'stage')}, {stage_days}, COUNT(*), "
            f"SUM(CASE WHEN e.action = 'force_advanced' THEN 1 ELSE 0 END) {advances} "
            "GROUP BY 1, 2, 3",
            [lo, hi, *wparams],
        ),
        "advances_by_owner": fetch(
            f"SELECT d.owner_id, COUNT(*), COUNT(DISTINCT d.id) {advances} GROUP BY d.owner_id",
            [lo, hi, *wparams],
        ),
        "closed": fetch(
            f"SELECT o.status, o.playbook, o.stage, o.owner_id, COUNT(*), SUM(o.amount) {closed} "
            "AND o.status IN ('won', 'lost', 'abandoned') GROUP BY 1, 2, 3, 4",
            [lo, hi, *wparams],
        ),
        "cycle": fetch(
            f"SELECT {whole_days('o.closed_at', 'o.created_at')}, COUNT(*) {closed} "
            "AND o.status = 'won' GROUP BY 1",
            [lo, hi, *wparams],
        ),
    }


def compare(api: dict, sql: dict[str, list[tuple]]) -> tuple[list[str], Decimal, Decimal]:
    """Where the API's counts and amounts differ from the SQL's (nothing, when they
    agree), and the two total weighted amounts."""
    wrong = []
    by_stage = {(p, s): (n, amt) for p, s, n, amt, _w in sql["by_stage"]}
    for row in api["by_stage"]:
        n, amount = by_stage.get((row["playbook"], row["stage"]), (0, 0))
        if (row["count"], Decimal(str(row["amount"]))) != (n, Decimal(str(amount or 0))):
            wrong.append(f"stage {row['playbook']}/{row['stage']}")
    buyers = {b: (n, amt) for b, n, amt, _w in sql["by_buyer_stage"]}
    for row in api["by_buyer_stage"]:
        n, amount = buyers.get(row["stage"], (0, 0))
        if (row["count"], Decimal(str(row["amount"]))) != (n, Decimal(str(amount or 0))):
            wrong.append(f"buyer stage {row['stage']}")
    months = {m: (n, amt) for m, n, amt, _w in sql["forecast"]}
    for row in api["forecast"]:
        if row["count"] or row["month"] in months:
            n, amount = months.get(row["month"], (0, 0))
            if (row["count"], Decimal(str(row["amount"]))) != (n, Decimal(str(amount or 0))):
                wrong.append(f"month {row['month']}")
    outcomes: dict[str, list] = {}
    for status, _p, _s, _o, n, amount in sql["closed"]:
        found = outcomes.setdefault(status, [0, Decimal(0)])
        found[0] += n
        found[1] += Decimal(str(amount or 0))
    for status in ("won", "lost", "abandoned"):
        n, amount = outcomes.get(status, (0, Decimal(0)))
        rate = api["win_rate"]
        if (rate[status], Decimal(str(rate[f"{status}_amount"]))) != (n, amount.quantize(CENT)):
            wrong.append(f"{status} in the period")
    advanced: dict[tuple[str, str], int] = {}
    for playbook, stage, _days, n, _forced in sql["advances"]:
        advanced[(playbook, stage)] = advanced.get((playbook, stage), 0) + n
    for row in api["conversion"]:
        if row["advanced"] != advanced.get((row["playbook"], row["stage"]), 0):
            wrong.append(f"advances {row['playbook']}/{row['stage']}")
    if api["cycle"]["won"] != sum(n for _d, n in sql["cycle"]):
        wrong.append("cycle")
    sql_weighted = sum((Decimal(str(w or 0)) for *_r, w in sql["by_buyer_stage"]), Decimal(0))
    return wrong, Decimal(str(api["totals"]["weighted"])), sql_weighted


def run(ctx: Context) -> None:
    from kam.core import clock
    from kam.core.periods import quarter_of

    ctx.say("== dashboard: GET /api/v1/pipeline (test client) vs the same aggregates in SQL ==")
    quarter = quarter_of(clock.today())
    first_month = quarter.start.replace(day=1).isoformat()
    lo, hi = quarter.bounds()
    manager = ctx.plan.people[1].username  # the first team's manager
    for username in (manager, "admin"):
        user = ctx.people[username]
        client = ctx.client(username)
        try:
            first = cold(lambda client=client: get_json(client, "/api/v1/pipeline"))
            samples = measure(
                {
                    "api": lambda client=client: get_json(client, "/api/v1/pipeline"),
                    "sql": lambda user=user: dashboard_sql(user, first_month, lo, hi),
                },
                runs=ctx.runs,
            )
        except Exception as exc:  # e.g. too many SQL variables: say so and go on
            ctx.say(f"  {username}: FAILED — {type(exc).__name__}: {str(exc)[:300]}")
            ctx.record(
                Outcome(
                    "dashboard",
                    f"pipeline API vs SQL, {username}",
                    None,
                    "≤ 1.5×",
                    None,
                    f"failed: {type(exc).__name__}",
                )
            )
            continue
        api, sql = samples["api"], samples["sql"]
        body = api.result
        wrong, api_w, sql_w = compare(body, sql.result)
        ratio = api.median / sql.median
        who = "the whole book" if user.role == "admin" else f"team {user.team}"
        ctx.say(
            f"  {username} ({who}, {body['totals']['count']:,} open deals): "
            f"API {seconds(api.median)} vs SQL {seconds(sql.median)} = {ratio:.2f}× "
            f"(goal ≤ {GOAL}×) {verdict(ratio <= GOAL)}   [median of {api.runs}/{sql.runs}]"
        )
        ctx.say(
            f"    the first read with no assessment kept (all assessed and kept): "
            f"{seconds(first)} = {first / sql.median:.1f}× SQL"
        )
        diff = (api_w - sql_w) / sql_w if sql_w else Decimal(0)
        ctx.say(
            "    counts and amounts by stage, buyer stage and month, advances, outcomes: "
            + ("agree" if not wrong else f"DIFFER at {', '.join(wrong[:6])}")
            + f"; weighted {api_w:,.0f} (API, alert-adjusted) vs {sql_w:,.0f} (SQL, stage base) "
            f"{diff:+.1%}"
        )
        ctx.record(
            Outcome(
                "dashboard",
                f"pipeline API vs SQL, {username}",
                ratio,
                f"≤ {GOAL}×",
                ratio <= GOAL,
                f"{seconds(api.median)} vs {seconds(sql.median)}",
            )
        )


def profiled(ctx: Context):
    """The call --profile profiles: the admin's dashboard."""
    client = ctx.client("admin")
    return lambda: get_json(client, "/api/v1/pipeline")
