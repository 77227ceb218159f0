"""The buying-centre alerts (SPEC §5): who decides, who stands where, who tells us
the truth — and who changed. Pure rules over `DealFacts`, registered in the same
engine as the process rules (risks.py); their thresholds, severities and
win-probability factors live in models/risks.toml.

Only people still at the account count as holding a role or a stance: a champion
who left is no help, and their leaving is what key_person_changed reports."""

from __future__ import annotations

import datetime as dt

from pydantic import Field, field_validator

from kam.methodology.checks import ROLE_NAMES, ROLES, STANCE_NAMES
from kam.methodology.facts import DealFacts, StakeholderFacts
from kam.methodology.risks import (
    Alert,
    Evidence,
    RiskContext,
    RuleConfig,
    RuleParams,
    next_midnight_after,
    risk_rule,
    stage_reaches,
)
from kam.methodology.text import Clauses, Msg, gettext_noop


def _role(role: str) -> Msg:
    return Msg(ROLE_NAMES[role])


def _roles(roles) -> list[Msg]:
    return [_role(r) for r in ROLES if r in roles]


def _stance(stance: str) -> Msg:
    return Msg(STANCE_NAMES.get(stance, stance))


def _people(facts: DealFacts) -> list[StakeholderFacts]:
    return [s for s in facts.stakeholders if s.active]


def _evidence(people) -> tuple[Evidence, ...]:
    return tuple(Evidence("stakeholder", s.id) for s in people)


def _alert(code: str, conf: RuleConfig, severity: str | None = None, **fields) -> Alert:
    return Alert(
        code=code,
        severity=severity or conf.severity,
        probability_factor=fields.pop("probability_factor", conf.probability_factor),
        **fields,
    )


def _known_roles(value: list[str]) -> list[str]:
    bad = [r for r in value if r not in ROLES]
    if bad:
        raise ValueError(f"unknown role '{bad[0]}'; use any of: {', '.join(ROLES)}")
    return value


class FromStageParams(RuleParams):
    # The rule applies once our stage maps to this buyer stage or a later one (see
    # risks.stage_reaches); none: at every stage.
    from_buyer_stage: str | None = None


# --- who decides ----------------------------------------------------------------------


@risk_rule("no_decision_maker", FromStageParams, name=gettext_noop("No decision maker identified"))
def _no_decision_maker(facts: DealFacts, ctx: RiskContext, params, conf) -> list[Alert]:
    if not stage_reaches(ctx, facts.stage, params.from_buyer_stage):
        return []
    if any("decision_maker" in s.roles for s in _people(facts)):
        return []
    return [
        _alert(
            "no_decision_maker",
            conf,
            title=Msg(gettext_noop("No decision maker identified")),
            message=Msg(
                gettext_noop(
                    "Nobody at the account holds the role of decision maker in this deal: "
                    "we do not know who has the final say and controls the money."
                )
            ),
            action=Msg(
                gettext_noop(
                    "Ask the coach who signs off; map the org chart above the people we know "
                    "and record the decision maker."
                )
            ),
        )
    ]


@risk_rule(
    "decision_maker_not_supportive",
    FromStageParams,
    name=gettext_noop("Decision maker not supportive"),
)
def _decision_maker_not_supportive(facts: DealFacts, ctx: RiskContext, params, conf):
    if not stage_reaches(ctx, facts.stage, params.from_buyer_stage):
        return []
    deciders = [s for s in _people(facts) if "decision_maker" in s.roles]
    if not deciders or any(s.supportive for s in deciders):
        return []  # nobody identified is no_decision_maker's alert
    return [
        _alert(
            "decision_maker_not_supportive",
            conf,
            title=Msg(gettext_noop("The decision maker does not support us")),
            message=Msg(
                gettext_noop("No decision maker is on our side: %(people)s."),
                {
                    "people": [
                        Msg(
                            gettext_noop("%(name)s (%(stance)s)"),
                            {"name": s.name, "stance": _stance(s.stance)},
                        )
                        for s in deciders
                    ]
                },
            ),
            action=Msg(
                gettext_noop(
                    "Arrange a meeting at the top: our senior management with %(names)s; "
                    "learn what they care about (the bottom line, the impact on the "
                    "organisation) and win their support before the decision."
                ),
                {"names": [s.name for s in deciders]},
            ),
            evidence=_evidence(deciders),
        )
    ]


# --- who tells us the truth -------------------------------------------------------------


@risk_rule("no_coach", FromStageParams, name=gettext_noop("No coach"))
def _no_coach(facts: DealFacts, ctx: RiskContext, params, conf) -> list[Alert]:
    if not stage_reaches(ctx, facts.stage, params.from_buyer_stage):
        return []
    if any(s.is_coach for s in _people(facts)):
        return []
    former = [s for s in facts.stakeholders if s.is_coach and not s.active]
    message = (
        Msg(
            gettext_noop(
                "Our coach %(names)s has left the account; nobody inside tells us what happens now."
            ),
            {"names": [s.name for s in former]},
        )
        if former
        else Msg(gettext_noop("Nobody inside the account tells us what happens."))
    )
    return [
        _alert(
            "no_coach",
            conf,
            title=Msg(gettext_noop("No coach")),
            message=message,
            action=Msg(
                gettext_noop(
                    "Develop an insider (内线) who passes information, supports us quietly "
                    "and advises; protect them, and develop more than one."
                )
            ),
            evidence=_evidence(former),
        )
    ]


class SingleThreadParams(FromStageParams):
    min_supporters: int = Field(2, ge=1, le=20)


@risk_rule("single_threaded", SingleThreadParams, name=gettext_noop("Single-threaded"))
def _single_threaded(facts: DealFacts, ctx: RiskContext, params, conf) -> list[Alert]:
    if not stage_reaches(ctx, facts.stage, params.from_buyer_stage):
        return []
    allies = [s for s in _people(facts) if s.supportive and s.roles]
    if len(allies) >= params.min_supporters:
        return []
    if allies:
        message = Msg(
            gettext_noop(
                "Only %(names)s supports us among the people who decide; if that one "
                "thread breaks, we have nobody. At least %(min)s are needed."
            ),
            {"names": [s.name for s in allies], "min": params.min_supporters},
        )
    else:
        message = Msg(
            gettext_noop(
                "Nobody who takes part in the decision supports us yet; at least %(min)s "
                "are needed."
            ),
            {"min": params.min_supporters},
        )
    return [
        _alert(
            "single_threaded",
            conf,
            severity="high" if not allies else None,
            title=Msg(gettext_noop("Single-threaded")),
            message=message,
            action=Msg(
                gettext_noop(
                    "Build relationships with more of the buying team — the technical "
                    "evaluator, the users, the purchaser — so that the deal does not hang on "
                    "one person."
                )
            ),
            evidence=_evidence(allies),
        )
    ]


class BlockerParams(RuleParams):
    veto_roles: list[str] = Field(default_factory=lambda: ["decision_maker", "technical"])
    # The factor for a blocker holding a veto role (high); others use probability_factor.
    veto_probability_factor: float | None = Field(None, gt=0, le=1)

    _known = field_validator("veto_roles")(_known_roles)


@risk_rule("blocker_present", BlockerParams, name=gettext_noop("Blocker in the buying centre"))
def _blocker_present(facts: DealFacts, ctx: RiskContext, params, conf) -> list[Alert]:
    out = []
    for person in _people(facts):
        if person.stance != "blocker":
            continue
        veto = [r for r in params.veto_roles if r in person.roles]
        if veto:
            message = Msg(
                gettext_noop(
                    "%(name)s is firmly for a rival and tells them what happens — and as "
                    "%(roles)s can veto us."
                ),
                {"name": person.name, "roles": _roles(veto)},
            )
        else:
            message = Msg(
                gettext_noop("%(name)s is firmly for a rival and tells them what happens."),
                {"name": person.name},
            )
        out.append(
            _alert(
                "blocker_present",
                conf,
                severity="high" if veto else None,
                probability_factor=(
                    params.veto_probability_factor if veto else conf.probability_factor
                ),
                title=Msg(gettext_noop("A blocker: %(name)s"), {"name": person.name}),
                message=message,
                action=Msg(
                    gettext_noop(
                        "Do not share anything with %(name)s you would not tell the rival; "
                        "strengthen our supporters around them and win over the people "
                        "they report to."
                    ),
                    {"name": person.name},
                ),
                evidence=_evidence([person]),
            )
        )
    return out


# --- who changed -----------------------------------------------------------------------


class ChangeParams(RuleParams):
    window_days: int = Field(30, ge=1, le=365)
    roles: list[str] = Field(default_factory=lambda: ["decision_maker", "technical", "purchaser"])

    _known = field_validator("roles")(_known_roles)


def _when(day: dt.date | dt.datetime) -> str:
    return (day.date() if isinstance(day, dt.datetime) else day).isoformat()


def _change_until(facts: DealFacts, ctx: RiskContext, params) -> dt.datetime | None:
    """The first moment a change in the window leaves it: a day it names falls behind
    `since` at a midnight; a role change also leaves the facts (read over the last
    window_days) at its own time of day."""
    window = dt.timedelta(days=params.window_days)
    since = ctx.now.date() - window
    moments = [
        next_midnight_after(day + window, ctx.now)
        for s in facts.stakeholders
        for day in (s.joined_at, s.left_at)
        if day is not None and day >= since
    ]
    for change in facts.role_changes:
        moments.append(change.at + window)
        if change.at.date() >= since:
            moments.append(next_midnight_after(change.at.date() + window, ctx.now))
    later = [m for m in moments if m > ctx.now]
    return min(later) if later else None


@risk_rule(
    "key_person_changed",
    ChangeParams,
    name=gettext_noop("Key person changed"),
    until=_change_until,
)
def _key_person_changed(facts: DealFacts, ctx: RiskContext, params, conf) -> list[Alert]:
    """In the window: a supporter or a holder of a watched role left the account or
    lost the role, or someone new at the account took a watched role. Adding people
    we simply had not met before is mapping, not a change."""
    since = ctx.now.date() - dt.timedelta(days=params.window_days)
    watched = set(params.roles)
    changes: list[tuple[dt.date, Msg]] = []
    evidence: list[Evidence] = []
    left_ids = set()
    for s in facts.stakeholders:
        if s.active or s.left_at is None or s.left_at < since:
            continue
        if not (s.supportive or watched & s.roles):
            continue
        left_ids.add(s.id)
        evidence.append(Evidence("stakeholder", s.id))
        changes.append(
            (
                s.left_at,
                Msg(
                    gettext_noop("%(name)s (%(what)s) left the account on %(date)s"),
                    {
                        "name": s.name,
                        "what": [*_roles(s.roles), _stance(s.stance)],
                        "date": _when(s.left_at),
                    },
                ),
            )
        )
    for change in facts.role_changes:
        if change.at.date() < since or change.stakeholder_id in left_ids:
            continue
        lost = change.lost_roles if change.was_supportive else change.lost_roles & watched
        if not lost:
            continue
        evidence.append(Evidence("event", change.event_id))
        template = (
            gettext_noop("%(name)s was taken out of the buying centre (%(roles)s) on %(date)s")
            if change.removed
            else gettext_noop("%(name)s no longer acts as %(roles)s since %(date)s")
        )
        changes.append(
            (
                change.at.date(),
                Msg(
                    template,
                    {"name": change.name, "roles": _roles(lost), "date": _when(change.at)},
                ),
            )
        )
    for s in _people(facts):
        taken = watched & s.roles
        if not taken or s.joined_at is None or s.joined_at < since:
            continue
        evidence.append(Evidence("stakeholder", s.id))
        changes.append(
            (
                s.joined_at,
                Msg(
                    gettext_noop(
                        "%(name)s, new at the account since %(date)s, now acts as %(roles)s"
                    ),
                    {"name": s.name, "roles": _roles(taken), "date": _when(s.joined_at)},
                ),
            )
        )
    if not changes:
        return []
    changes.sort(key=lambda c: c[0])
    return [
        _alert(
            "key_person_changed",
            conf,
            title=Msg(gettext_noop("Key people changed")),
            message=Msg(
                gettext_noop("In the last %(days)s days: %(changes)s."),
                {"days": params.window_days, "changes": Clauses(m for _, m in changes)},
            ),
            action=Msg(
                gettext_noop(
                    "Re-map the buying centre now: meet the new people in person, learn who "
                    "runs the decision today and what they want, and do not rely on promises "
                    "made by people who have moved."
                )
            ),
            evidence=tuple(evidence),
        )
    ]


# --- what we have not covered -------------------------------------------------------------


@risk_rule("role_uncovered", name=gettext_noop("Key role uncovered"))
def _role_uncovered(facts: DealFacts, ctx: RiskContext, params, conf) -> list[Alert]:
    if ctx.buying_centre is None:
        return []
    key = ctx.buying_centre.key_roles_at(facts.buyer_stage)
    held = {role for s in _people(facts) for role in s.roles}
    missing = [r for r in key if r not in held]
    if not missing:
        return []
    stage = ctx.checks.buyer_stage_names.get(facts.buyer_stage, facts.buyer_stage)
    return [
        _alert(
            "role_uncovered",
            conf,
            title=Msg(gettext_noop("Key role uncovered: %(roles)s"), {"roles": _roles(missing)}),
            message=Msg(
                gettext_noop(
                    "At the customer's step “%(stage)s” these roles matter most, and nobody "
                    "in this deal's buying centre holds them: %(roles)s."
                ),
                {"stage": stage, "roles": _roles(missing)},
            ),
            action=Msg(
                gettext_noop("Find out who acts as %(roles)s and build a relationship with them."),
                {"roles": _roles(missing)},
            ),
        )
    ]


@risk_rule("intel_unverified", name=gettext_noop("Critical intelligence unverified"))
def _intel_unverified(facts: DealFacts, ctx: RiskContext, params, conf) -> list[Alert]:
    needed = ctx.buying_centre.sources_to_verify if ctx.buying_centre is not None else 2
    out = []
    for item in facts.intel:
        if not item.critical or item.sources >= needed:
            continue
        snippet = item.text if len(item.text) <= 60 else item.text[:59] + "…"
        out.append(
            _alert(
                "intel_unverified",
                conf,
                title=Msg(gettext_noop("Critical intelligence unverified")),
                message=Msg(
                    gettext_noop(
                        "“%(text)s” rests on %(count)s source(s); %(needed)s independent "
                        "sources verify it."
                    ),
                    {"text": snippet, "count": item.sources, "needed": needed},
                ),
                action=Msg(
                    gettext_noop("Confirm it with another person before acting on it (交叉验证).")
                ),
                evidence=(Evidence("intel", item.id),),
            )
        )
    return out
