"""The deal-health alert engine (红旗, SPEC §5): one registry of rules, each a pure
function from a deal's facts to alerts. Thresholds, severities and the factor
each alert applies to the win probability are data (models/risks.toml).

This module holds the engine and the process rules (forced_gate, behind_buyer,
ahead_of_buyer, stalled); the buying-centre rules (centre_risks.py) register the
same way and are imported at the end of this module."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, model_validator

from kam.methodology import checks
from kam.methodology.facts import DealFacts
from kam.methodology.text import Msg, gettext_noop

Severity = Literal["high", "medium", "low"]
SEVERITY_ORDER = {"high": 0, "medium": 1, "low": 2}


@dataclass(frozen=True)
class Evidence:
    kind: str  # "event", "stakeholder", "criterion", "milestone", "intel", ...
    id: int


@dataclass(frozen=True)
class Alert:
    code: str
    severity: str
    title: Msg  # short: the alert's heading and its win-probability factor's label
    message: Msg  # what the data shows
    action: Msg  # what to do about it
    evidence: tuple[Evidence, ...] = ()
    probability_factor: float | None = None


@dataclass(frozen=True)
class RiskContext:
    playbook: Any  # schema.Playbook
    checks: checks.Context
    now: dt.datetime
    buyer_seller_work: Mapping[str, Any] = field(default_factory=dict)
    buying_centre: Any = None  # buying_centre.BuyingCentreModel: key roles, sources to verify
    competition: Any = None  # competition.CompetitionModel: the scoring table's weights
    # Answers that depend only on the playbook and the stages (alignment, how far a stage
    # reaches), kept for as long as this context: a scan shares one per playbook.
    memo: dict = field(default_factory=dict, compare=False, repr=False)


class RuleParams(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


@dataclass(frozen=True)
class RuleType:
    code: str
    name: str  # what the alert is called in lists and filters (gettext_noop template)
    params: type[RuleParams]
    decide: Callable[[DealFacts, RiskContext, Any, RuleConfig], list[Alert]]
    # For a rule that reads the clock (ctx.now): the first moment after ctx.now at which
    # the passing of time alone may change which alerts it raises, or their severity
    # (None: not before the facts change). A rule without it never reads the clock.
    until: Callable[[DealFacts, RiskContext, Any], dt.datetime | None] | None = None


RULES: dict[str, RuleType] = {}


def risk_rule(
    code: str,
    params: type[RuleParams] = RuleParams,
    *,
    name: str,
    until: Callable[[DealFacts, RiskContext, Any], dt.datetime | None] | None = None,
):
    def register(decide):
        RULES[code] = RuleType(code=code, name=name, params=params, decide=decide, until=until)
        return decide

    return register


class RuleConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = True
    severity: Severity = "medium"
    # Multiplies the win probability once per alert of this code (None: no effect).
    probability_factor: float | None = Field(None, gt=0, le=1)
    params: dict[str, Any] = Field(default_factory=dict)
    # The params read into the rule's own type, once per code (a whole-book scan asks
    # once per deal and rule); kept with the dict they were read from, since
    # `model_copy(update=…)` shares this cache with the copy.
    _parsed: dict[str, tuple[dict, RuleParams]] = PrivateAttr(default_factory=dict)

    def parsed(self, code: str) -> RuleParams:
        kept = self._parsed.get(code)
        if kept is None or kept[0] is not self.params:
            kept = self._parsed[code] = (
                self.params,
                RULES[code].params.model_validate(self.params),
            )
        return kept[1]


class RiskConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    rules: dict[str, RuleConfig]
    # [(rules, the enabled rules in rule order as (decide, params, conf))], made once and
    # kept with the dict it was made of (a model_copy shares this cache).
    _active: list = PrivateAttr(default_factory=list)

    def active(self) -> list[tuple[Callable, RuleParams, RuleConfig]]:
        return self._made()[1]

    def timed(self) -> list[tuple[Callable, RuleParams]]:
        """(until, params) of the enabled rules that read the clock."""
        return self._made()[2]

    def _made(self) -> tuple:
        if not self._active or self._active[0][0] is not self.rules:
            on = [
                (rule, conf)
                for code, rule in RULES.items()
                if (conf := self.rules.get(code)) is not None and conf.enabled
            ]
            found = [(rule.decide, conf.parsed(rule.code), conf) for rule, conf in on]
            timed = [(rule.until, conf.parsed(rule.code)) for rule, conf in on if rule.until]
            self._active[:] = [(self.rules, found, timed)]
        return self._active[0]

    @model_validator(mode="after")
    def _known(self) -> RiskConfig:
        for code, conf in self.rules.items():
            if code not in RULES:
                raise ValueError(
                    f"rules.{code}: unknown alert code; known: {', '.join(sorted(RULES))}"
                )
            try:
                conf.parsed(code)
            except ValidationError as exc:
                problems = "; ".join(
                    f"rules.{code}.params.{'.'.join(map(str, e['loc']))}: {e['msg']}"
                    for e in exc.errors(include_url=False)
                )
                raise ValueError(problems) from None
        return self


def evaluate(facts: DealFacts, ctx: RiskContext, config: RiskConfig) -> list[Alert]:
    """Every alert of an open deal, most severe first. Closed deals raise none:
    their outcome is known."""
    if not facts.is_open:
        return []
    alerts: list[Alert] = []
    for decide, params, conf in config.active():
        alerts.extend(decide(facts, ctx, params, conf))
    return sorted(alerts, key=lambda a: SEVERITY_ORDER[a.severity])


def valid_until(facts: DealFacts, ctx: RiskContext, config: RiskConfig) -> dt.datetime | None:
    """Until when `evaluate` at ctx.now keeps raising the same alerts (codes and
    severities) while the facts stay as they are: the earliest `until` of the active
    rules that read the clock; None if none of them will change."""
    if not facts.is_open:
        return None
    found: dt.datetime | None = None
    for until, params in config.timed():
        moment = until(facts, ctx, params)
        if moment is not None and (found is None or moment < found):
            found = moment
    return found


def next_midnight_after(day: dt.date, now: dt.datetime) -> dt.datetime:
    """The start of the day after `day`, in the time zone of `now` (which a rule's
    `now.date()` follows)."""
    return dt.datetime.combine(day + dt.timedelta(days=1), dt.time.min, tzinfo=now.tzinfo)


# --- alignment (SPEC §2.2) ----------------------------------------------------------


@dataclass(frozen=True)
class Alignment:
    verdict: str  # "aligned", "behind_buyer", "ahead_of_buyer" or "unmapped"
    gap: int  # buyer stages between where the customer is and what our stage maps to
    expected: tuple[str, ...]  # the buyer stages our seller stage maps to


def alignment(playbook, buyer_stages: tuple[str, ...], stage: str, buyer_stage: str) -> Alignment:
    """Compare the customer's stage with the buyer stages our stage maps to.
    A seller stage without a mapping (e.g. implementation) gives no verdict."""
    expected = tuple(playbook.stage(stage).buyer_stages)
    order = list(buyer_stages)
    if not expected or buyer_stage not in order:
        return Alignment("unmapped", 0, expected)
    lo = min(order.index(b) for b in expected)
    hi = max(order.index(b) for b in expected)
    at = order.index(buyer_stage)
    if at > hi:
        return Alignment("behind_buyer", at - hi, expected)
    if at < lo:
        return Alignment("ahead_of_buyer", lo - at, expected)
    return Alignment("aligned", 0, expected)


def stage_reaches(ctx: RiskContext, stage_key: str, buyer_stage: str | None) -> bool:
    """Whether our stage has reached the point of the customer's process named by
    `buyer_stage`: the latest buyer stage our stage maps to is that one or later.
    Thresholds are named by buyer stage so that one setting fits every playbook
    (standard-6: "approval" = from entry on, "criteria" = from proposal on). A stage
    with no mapping (implementation) counts as far as the last mapped stage before it."""
    if buyer_stage is None:
        return True
    key = ("reaches", stage_key, buyer_stage)
    if key not in ctx.memo:
        ctx.memo[key] = _reaches(ctx, stage_key, buyer_stage)
    return ctx.memo[key]


def _reaches(ctx: RiskContext, stage_key: str, buyer_stage: str) -> bool:
    order = list(ctx.checks.buyer_stages)
    if buyer_stage not in order:
        return False
    position = -1
    for stage in ctx.playbook.stages:
        if stage.buyer_stages:
            position = max(order.index(b) for b in stage.buyer_stages if b in order)
        if stage.key == stage_key:
            return position >= order.index(buyer_stage)
    return False


# --- the process rules ------------------------------------------------------------


def _stage_name(ctx: RiskContext, key: str) -> Any:
    try:
        return ctx.playbook.stage(key).name
    except KeyError:
        return key


def still_unmet(
    playbook: Any, from_stage: str, unmet: Iterable[str], facts: DealFacts, context: Any
) -> list[checks.CriterionResult]:
    """Of the criteria a gate was forced past while unmet, those still unmet on today's
    facts (none when the stage is no longer in the playbook)."""
    try:
        stage = playbook.stage(from_stage)
    except KeyError:
        return []
    results = {r.key: r for r in checks.evaluate_gate(stage, facts, context)}
    return [results[k] for k in unmet if k in results and not results[k].met]


@risk_rule("forced_gate", name=gettext_noop("Forced past a gate"))
def _forced_gate(facts: DealFacts, ctx: RiskContext, params, conf: RuleConfig) -> list[Alert]:
    """A gate passed while unmet that is still unmet. Re-checked on today's facts,
    so the alert (and its probability penalty) lifts once the items are met."""
    out = []
    for move in facts.forced_moves:
        still = still_unmet(ctx.playbook, move.from_stage, move.unmet, facts, ctx.checks)
        if not still:
            continue
        stage = ctx.playbook.stage(move.from_stage)
        labels = [r.label for r in still]
        out.append(
            Alert(
                code="forced_gate",
                severity=conf.severity,
                title=Msg(
                    gettext_noop("Forced past the %(stage)s gate"),
                    {"stage": stage.name},
                ),
                message=Msg(
                    gettext_noop(
                        "%(actor)s forced the deal out of %(stage)s on %(date)s; "
                        "still unmet: %(items)s."
                    ),
                    {
                        "actor": move.actor or "—",
                        "stage": stage.name,
                        "date": move.at.date().isoformat(),
                        "items": labels,
                    },
                ),
                action=Msg(gettext_noop("Meet the missing items: %(items)s."), {"items": labels}),
                evidence=(Evidence("event", move.event_id),) if move.event_id else (),
                probability_factor=conf.probability_factor,
            )
        )
    return out


class AlignmentParams(RuleParams):
    high_gap: int = Field(2, ge=1, le=8)  # this many buyer stages apart → high severity


def _alignment_alert(
    facts: DealFacts, ctx: RiskContext, params: AlignmentParams, conf: RuleConfig, verdict: str
) -> list[Alert]:
    key = ("alignment", facts.stage, facts.buyer_stage)
    if key not in ctx.memo:
        try:
            ctx.memo[key] = alignment(
                ctx.playbook, ctx.checks.buyer_stages, facts.stage, facts.buyer_stage
            )
        except KeyError:
            ctx.memo[key] = None
    found = ctx.memo[key]
    if found is None:
        return []
    if found.verdict != verdict:
        return []
    names = ctx.checks.buyer_stage_names
    values = {
        "stage": _stage_name(ctx, facts.stage),
        "buyer": names.get(facts.buyer_stage, facts.buyer_stage),
        "expected": [names.get(b, b) for b in found.expected],
        "gap": found.gap,
    }
    severity = "high" if found.gap >= params.high_gap else conf.severity
    if verdict == "behind_buyer":
        title = Msg(gettext_noop("Behind the customer"))
        message = Msg(
            gettext_noop(
                "The customer is already at “%(buyer)s”, %(gap)s step(s) beyond what our "
                "stage %(stage)s matches (%(expected)s): we are late."
            ),
            values,
        )
        work = ctx.buyer_seller_work.get(facts.buyer_stage)
        action = (
            Msg(gettext_noop("Catch up with the customer: %(work)s"), {"work": work})
            if work
            else Msg(gettext_noop("Catch up with the customer's stage."))
        )
    else:
        title = Msg(gettext_noop("Ahead of the customer"))
        message = Msg(
            gettext_noop(
                "We are at %(stage)s, but the customer is only at “%(buyer)s”, %(gap)s "
                "step(s) before what our stage matches (%(expected)s)."
            ),
            values,
        )
        action = Msg(
            gettext_noop(
                "Check that the project and budget are really approved — a plan filed is "
                "not a budget approved — and record the customer's true stage."
            )
        )
    return [
        Alert(
            code=verdict,
            severity=severity,
            title=title,
            message=message,
            action=action,
            probability_factor=conf.probability_factor,
        )
    ]


@risk_rule("behind_buyer", AlignmentParams, name=gettext_noop("Behind the customer"))
def _behind_buyer(facts, ctx, params, conf):
    return _alignment_alert(facts, ctx, params, conf, "behind_buyer")


@risk_rule("ahead_of_buyer", AlignmentParams, name=gettext_noop("Ahead of the customer"))
def _ahead_of_buyer(facts, ctx, params, conf):
    return _alignment_alert(facts, ctx, params, conf, "ahead_of_buyer")


class StalledParams(RuleParams):
    dwell_factor: float = Field(1.0, gt=0, le=20)  # fires beyond healthy days × this
    high_dwell_factor: float = Field(2.0, gt=0, le=50)  # high severity beyond × this


def days_in_stage(facts: DealFacts, now: dt.datetime) -> int:
    return max(0, (now - facts.stage_entered_at).days)


def _stalled_until(facts: DealFacts, ctx: RiskContext, params: StalledParams) -> dt.datetime | None:
    """The next whole day in the stage at which the alert appears or turns high."""
    try:
        stage = ctx.playbook.stage(facts.stage)
    except KeyError:
        return None
    days = days_in_stage(facts, ctx.now)
    for factor in (params.dwell_factor, params.high_dwell_factor):
        # the alert's test is days > healthy × factor: it changes on the first whole day past
        first = math.floor(stage.healthy_dwell_days * factor) + 1
        if first > days:
            return facts.stage_entered_at + dt.timedelta(days=first)
    return None


@risk_rule("stalled", StalledParams, name=gettext_noop("Stalled in a stage"), until=_stalled_until)
def _stalled(facts: DealFacts, ctx: RiskContext, params: StalledParams, conf) -> list[Alert]:
    try:
        stage = ctx.playbook.stage(facts.stage)
    except KeyError:
        return []
    days = days_in_stage(facts, ctx.now)
    if days <= stage.healthy_dwell_days * params.dwell_factor:
        return []
    severity = (
        "high" if days > stage.healthy_dwell_days * params.high_dwell_factor else (conf.severity)
    )
    missing = [r.label for r in checks.evaluate_gate(stage, facts, ctx.checks) if not r.met]
    action = (
        Msg(gettext_noop("Work on what keeps it here: %(items)s."), {"items": missing})
        if missing
        else Msg(gettext_noop("The key node is met: advance the deal to the next stage."))
    )
    return [
        Alert(
            code="stalled",
            severity=severity,
            title=Msg(gettext_noop("Stalled in %(stage)s"), {"stage": stage.name}),
            message=Msg(
                gettext_noop(
                    "%(days)s days in %(stage)s; a healthy deal moves on within %(healthy)s days."
                ),
                {"days": days, "stage": stage.name, "healthy": stage.healthy_dwell_days},
            ),
            action=action,
            probability_factor=conf.probability_factor,
        )
    ]


# The buying-centre and competition rules register themselves on import.
from kam.methodology import centre_risks, competition_risks  # noqa: E402, F401
