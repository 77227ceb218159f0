"""Key-node gate criteria (关键节点): the check types a playbook file may use.

A stage's gate in a playbook TOML file is a list of criteria, each naming one of
the check types below with its parameters, e.g.

    [[stages.gate]]
    key = "decision_maker"
    check = "stakeholder_role"
    params = { role = "decision_maker" }

Each check decides met / unmet from a deal's `DealFacts` and says why, as a `Msg`
translated when shown. Pure: no Django, no database. Adding a check type means
adding a params model and a function here (see CONTRIBUTING.md)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from kam.methodology.facts import DealFacts
from kam.methodology.text import Msg, gettext_noop

ROLES = (
    "decision_maker",
    "purchaser",
    "technical",
    "user",
    "influencer",
    "gatekeeper",
    "executor",
    "finance",
    "external",
)
ROLE_NAMES = {
    "decision_maker": gettext_noop("decision maker"),
    "purchaser": gettext_noop("purchaser"),
    "technical": gettext_noop("technical evaluator"),
    "user": gettext_noop("user"),
    "influencer": gettext_noop("influencer"),
    "gatekeeper": gettext_noop("gatekeeper"),
    "executor": gettext_noop("executor"),
    "finance": gettext_noop("finance holder"),
    "external": gettext_noop("external influence"),
}
STANCES = ("champion", "supporter", "neutral", "enemy", "blocker", "unknown")
STANCE_NAMES = {
    "champion": gettext_noop("champion"),
    "supporter": gettext_noop("supporter"),
    "neutral": gettext_noop("neutral"),
    "enemy": gettext_noop("enemy"),
    "blocker": gettext_noop("blocker"),
    "unknown": gettext_noop("unknown"),
}
GRADES = ("A", "B", "C", "D")
MILESTONE_FIELDS = ("price", "margin")


@dataclass(frozen=True)
class Context:
    """What the checks need from the other methodology files."""

    buyer_stages: tuple[str, ...] = ()
    buyer_stage_names: Mapping[str, Any] = field(default_factory=dict)
    milestone_names: Mapping[str, Any] = field(default_factory=dict)
    factor_names: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Verdict:
    met: bool
    why: Msg
    evidence: tuple[int, ...] = ()


class Params(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


@dataclass(frozen=True)
class CheckType:
    key: str
    params: type[Params]
    label: Callable[[Any, Context], Msg]
    decide: Callable[[DealFacts, Any, Context], Verdict]


CHECKS: dict[str, CheckType] = {}


def check_type(key: str, params: type[Params], label: Callable[[Any, Context], Msg]):
    def register(decide: Callable[[DealFacts, Any, Context], Verdict]):
        CHECKS[key] = CheckType(key=key, params=params, label=label, decide=decide)
        return decide

    return register


def _role_msg(role: str) -> Msg:
    return Msg(ROLE_NAMES[role])


def _stances_msg(stances: list[str]) -> list[Msg]:
    return [Msg(STANCE_NAMES[s]) for s in stances]


# --- evaluation_passed -------------------------------------------------------------


class NoParams(Params):
    pass


@check_type(
    "evaluation_passed",
    NoParams,
    lambda p, ctx: Msg(gettext_noop("Evaluation recorded and passed")),
)
def _evaluation_passed(facts: DealFacts, params: NoParams, ctx: Context) -> Verdict:
    ev = facts.evaluation
    if ev is None:
        return Verdict(
            False, Msg(gettext_noop("No evaluation yet: score the deal with the evaluation model."))
        )
    if ev.knocked_out:
        names = [ctx.factor_names.get(k, k) for k in ev.knocked_out]
        return Verdict(
            False,
            Msg(
                gettext_noop("Knocked out: %(factors)s scored 1, whatever the total."),
                {"factors": names},
            ),
        )
    if not ev.passed:
        return Verdict(
            False,
            Msg(
                gettext_noop("The evaluation scored %(score)s, below the pass mark."),
                {"score": _score(ev.score)},
            ),
        )
    return Verdict(
        True, Msg(gettext_noop("Passed with %(score)s points."), {"score": _score(ev.score)})
    )


def _score(value: float) -> str:
    return f"{value:.0f}" if float(value).is_integer() else f"{value:.1f}"


# --- priority_assigned -------------------------------------------------------------


class PriorityParams(Params):
    grades: list[str] = Field(default_factory=lambda: list(GRADES), min_length=1)

    @field_validator("grades")
    @classmethod
    def _known(cls, value: list[str]) -> list[str]:
        bad = [g for g in value if g not in GRADES]
        if bad:
            raise ValueError(f"unknown grade(s) {bad}; use A, B, C or D")
        return value


def _priority_label(p: PriorityParams, ctx: Context) -> Msg:
    if set(p.grades) == set(GRADES):
        return Msg(gettext_noop("Priority grade assigned"))
    return Msg(gettext_noop("Priority grade is %(grades)s"), {"grades": list(p.grades)})


@check_type("priority_assigned", PriorityParams, _priority_label)
def _priority_assigned(facts: DealFacts, params: PriorityParams, ctx: Context) -> Verdict:
    if not facts.priority:
        return Verdict(
            False,
            Msg(gettext_noop("No priority yet: it is graded as soon as an evaluation exists.")),
        )
    if facts.priority not in params.grades:
        return Verdict(
            False,
            Msg(
                gettext_noop("Graded %(grade)s; this gate needs %(grades)s."),
                {"grade": facts.priority, "grades": list(params.grades)},
            ),
        )
    return Verdict(True, Msg(gettext_noop("Graded %(grade)s."), {"grade": facts.priority}))


# --- stakeholder_role / coach_identified -----------------------------------------


class RoleParams(Params):
    role: str
    stances: list[str] | None = None
    min: int = Field(1, ge=1, le=20)

    @field_validator("role")
    @classmethod
    def _role(cls, value: str) -> str:
        if value not in ROLES:
            raise ValueError(f"unknown role '{value}'; use one of: {', '.join(ROLES)}")
        return value

    @field_validator("stances")
    @classmethod
    def _stances(cls, value: list[str] | None) -> list[str] | None:
        if value is not None:
            bad = [s for s in value if s not in STANCES]
            if bad or not value:
                raise ValueError(f"use stances from: {', '.join(STANCES)}")
        return value


def _role_label(p: RoleParams, ctx: Context) -> Msg:
    if p.stances:
        return Msg(
            gettext_noop("A %(role)s identified who is %(stances)s"),
            {"role": _role_msg(p.role), "stances": _stances_msg(p.stances)},
        )
    return Msg(gettext_noop("The %(role)s identified"), {"role": _role_msg(p.role)})


@check_type("stakeholder_role", RoleParams, _role_label)
def _stakeholder_role(facts: DealFacts, params: RoleParams, ctx: Context) -> Verdict:
    holders = [s for s in facts.stakeholders if s.active and params.role in s.roles]
    if not holders:
        return Verdict(
            False,
            Msg(
                gettext_noop("Nobody in the buying centre holds the role %(role)s yet."),
                {"role": _role_msg(params.role)},
            ),
        )
    fitting = [s for s in holders if params.stances is None or s.stance in params.stances]
    if len(fitting) < params.min:
        if params.stances and not fitting:
            return Verdict(
                False,
                Msg(
                    gettext_noop("%(names)s hold the role %(role)s, but none is %(stances)s."),
                    {
                        "names": [s.name for s in holders],
                        "role": _role_msg(params.role),
                        "stances": _stances_msg(params.stances),
                    },
                ),
                tuple(s.id for s in holders),
            )
        return Verdict(
            False,
            Msg(
                gettext_noop("%(count)s of the %(min)s people needed in the role %(role)s."),
                {"count": len(fitting), "min": params.min, "role": _role_msg(params.role)},
            ),
            tuple(s.id for s in fitting),
        )
    return Verdict(
        True,
        Msg(gettext_noop("%(names)s."), {"names": [s.name for s in fitting]}),
        tuple(s.id for s in fitting),
    )


class CoachParams(Params):
    min: int = Field(1, ge=1, le=20)


def _coach_label(p: CoachParams, ctx: Context) -> Msg:
    if p.min == 1:
        return Msg(gettext_noop("A coach identified"))
    return Msg(gettext_noop("At least %(min)s coaches identified"), {"min": p.min})


@check_type("coach_identified", CoachParams, _coach_label)
def _coach_identified(facts: DealFacts, params: CoachParams, ctx: Context) -> Verdict:
    coaches = [s for s in facts.stakeholders if s.active and s.is_coach]
    if len(coaches) < params.min:
        if not coaches:
            return Verdict(
                False,
                Msg(gettext_noop("No coach yet: find the insider who tells us what happens.")),
            )
        return Verdict(
            False,
            Msg(
                gettext_noop("%(count)s of the %(min)s coaches needed."),
                {"count": len(coaches), "min": params.min},
            ),
            tuple(s.id for s in coaches),
        )
    return Verdict(
        True,
        Msg(gettext_noop("%(names)s."), {"names": [s.name for s in coaches]}),
        tuple(s.id for s in coaches),
    )


# --- purchase_criteria -------------------------------------------------------------


class CriteriaParams(Params):
    min: int = Field(1, ge=0, le=100)
    shaped_by_us_min: int = Field(0, ge=0, le=100)
    favourable_min: int = Field(0, ge=0, le=100)


def _criteria_label(p: CriteriaParams, ctx: Context) -> Msg:
    if p.shaped_by_us_min and p.favourable_min:
        return Msg(
            gettext_noop(
                "At least %(min)s purchase criteria recorded, %(shaped)s shaped by us, "
                "%(favourable)s favourable to us"
            ),
            {"min": p.min, "shaped": p.shaped_by_us_min, "favourable": p.favourable_min},
        )
    if p.shaped_by_us_min:
        return Msg(
            gettext_noop("At least %(min)s purchase criteria recorded, %(shaped)s shaped by us"),
            {"min": p.min, "shaped": p.shaped_by_us_min},
        )
    if p.favourable_min:
        return Msg(
            gettext_noop(
                "At least %(min)s purchase criteria recorded, %(favourable)s favourable to us"
            ),
            {"min": p.min, "favourable": p.favourable_min},
        )
    return Msg(gettext_noop("At least %(min)s purchase criteria recorded"), {"min": p.min})


@check_type("purchase_criteria", CriteriaParams, _criteria_label)
def _purchase_criteria(facts: DealFacts, params: CriteriaParams, ctx: Context) -> Verdict:
    total = len(facts.criteria)
    shaped = [c.id for c in facts.criteria if c.shaped_by_us]
    favourable = [c.id for c in facts.criteria if c.favourable]
    missing = []
    if total < params.min:
        missing.append(
            Msg(
                gettext_noop("%(count)s of %(min)s criteria recorded"),
                {"count": total, "min": params.min},
            )
        )
    if len(shaped) < params.shaped_by_us_min:
        missing.append(
            Msg(
                gettext_noop("%(count)s of %(min)s shaped by us"),
                {"count": len(shaped), "min": params.shaped_by_us_min},
            )
        )
    if len(favourable) < params.favourable_min:
        missing.append(
            Msg(
                gettext_noop("%(count)s of %(min)s favourable to us"),
                {"count": len(favourable), "min": params.favourable_min},
            )
        )
    evidence = tuple(c.id for c in facts.criteria)
    if missing:
        return Verdict(
            False, Msg(gettext_noop("Still short: %(what)s."), {"what": missing}), evidence
        )
    return Verdict(
        True,
        Msg(
            gettext_noop("%(count)s criteria, %(shaped)s shaped by us."),
            {"count": total, "shaped": len(shaped)},
        ),
        evidence,
    )


# --- milestone ---------------------------------------------------------------------


class MilestoneParams(Params):
    """`kind` is one milestone kind, or a list meaning "any one of these"."""

    kind: str | list[str]
    require: list[str] = Field(default_factory=list)

    @field_validator("kind")
    @classmethod
    def _kinds(cls, value: str | list[str]) -> str | list[str]:
        if isinstance(value, list) and not value:
            raise ValueError("name at least one milestone kind")
        return value

    @field_validator("require")
    @classmethod
    def _fields(cls, value: list[str]) -> list[str]:
        bad = [f for f in value if f not in MILESTONE_FIELDS]
        if bad:
            raise ValueError(f"require may list only: {', '.join(MILESTONE_FIELDS)}")
        return value

    @property
    def kinds(self) -> list[str]:
        return [self.kind] if isinstance(self.kind, str) else list(self.kind)


FIELD_NAMES = {"price": gettext_noop("price"), "margin": gettext_noop("margin")}


def _milestone_names(p: MilestoneParams, ctx: Context) -> Any:
    names = [ctx.milestone_names.get(k, k) for k in p.kinds]
    out: Any = names[0]
    for name in names[1:]:
        out = Msg(gettext_noop("%(first)s or %(second)s"), {"first": out, "second": name})
    return out


def _milestone_label(p: MilestoneParams, ctx: Context) -> Any:
    name = _milestone_names(p, ctx)
    if p.require:
        return Msg(
            gettext_noop("%(milestone)s, with %(fields)s recorded"),
            {"milestone": name, "fields": [Msg(FIELD_NAMES[f]) for f in p.require]},
        )
    return name  # milestone names already state the fact ("Proposal submitted")


@check_type("milestone", MilestoneParams, _milestone_label)
def _milestone(facts: DealFacts, params: MilestoneParams, ctx: Context) -> Verdict:
    name = _milestone_names(params, ctx)
    found_all = [m for m in (facts.milestone(k) for k in params.kinds) if m is not None]
    if not found_all:
        return Verdict(
            False, Msg(gettext_noop("Not recorded yet: %(milestone)s."), {"milestone": name})
        )
    complete = [m for m in found_all if all(getattr(m, f) is not None for f in params.require)]
    if not complete:
        found = max(found_all, key=lambda m: (m.date, m.id))
        lacking = [f for f in params.require if getattr(found, f) is None]
        return Verdict(
            False,
            Msg(
                gettext_noop("%(milestone)s: recorded, but without %(fields)s."),
                {"milestone": name, "fields": [Msg(FIELD_NAMES[f]) for f in lacking]},
            ),
            (found.id,),
        )
    found = max(complete, key=lambda m: (m.date, m.id))
    return Verdict(
        True,
        Msg(gettext_noop("Recorded on %(date)s."), {"date": found.date.isoformat()}),
        (found.id,),
    )


# --- buyer_stage_reached -----------------------------------------------------------


class BuyerStageParams(Params):
    stage: str


def _buyer_label(p: BuyerStageParams, ctx: Context) -> Msg:
    return Msg(
        gettext_noop("The customer has reached: %(stage)s"),
        {"stage": ctx.buyer_stage_names.get(p.stage, p.stage)},
    )


@check_type("buyer_stage_reached", BuyerStageParams, _buyer_label)
def _buyer_stage_reached(facts: DealFacts, params: BuyerStageParams, ctx: Context) -> Verdict:
    order = list(ctx.buyer_stages)
    now = ctx.buyer_stage_names.get(facts.buyer_stage, facts.buyer_stage)
    reached = (
        facts.buyer_stage in order
        and params.stage in order
        and order.index(facts.buyer_stage) >= order.index(params.stage)
    )
    if not reached:
        return Verdict(
            False, Msg(gettext_noop("The customer is still at: %(stage)s."), {"stage": now})
        )
    return Verdict(True, Msg(gettext_noop("The customer is at: %(stage)s."), {"stage": now}))


# --- evaluating a gate -------------------------------------------------------------


@dataclass(frozen=True)
class CriterionResult:
    key: str
    label: Any  # Msg, or the playbook's own bilingual Text
    met: bool
    why: Msg
    evidence: tuple[int, ...] = ()


def parse_params(check: str, params: dict) -> Params:
    """Validate a criterion's parameters for its check type (at load time)."""
    if check not in CHECKS:
        raise ValueError(f"unknown check '{check}'; use one of: {', '.join(sorted(CHECKS))}")
    return CHECKS[check].params.model_validate(params)


def criterion_label(criterion, ctx: Context, params: Params | None = None) -> Any:
    """The criterion's own label from the playbook, else its check type's wording."""
    if criterion.label is not None:
        return criterion.label
    kind = CHECKS[criterion.check]
    return kind.label(params if params is not None else criterion.parsed, ctx)


def evaluate_criterion(criterion, facts: DealFacts, ctx: Context) -> CriterionResult:
    kind = CHECKS[criterion.check]
    params = criterion.parsed
    verdict = kind.decide(facts, params, ctx)
    return CriterionResult(
        key=criterion.key,
        label=criterion_label(criterion, ctx, params),
        met=verdict.met,
        why=verdict.why,
        evidence=verdict.evidence,
    )


def evaluate_gate(stage, facts: DealFacts, ctx: Context) -> list[CriterionResult]:
    """Every criterion of `stage`'s key node, in the playbook's order."""
    return [evaluate_criterion(c, facts, ctx) for c in stage.gate]


def unmet_keys(results: list[CriterionResult]) -> list[str]:
    return [r.key for r in results if not r.met]
