"""The competition alert (SPEC §5 `competitor_stronger`): a rival's weighted score in
the deal's competitor scoring table (竞争对手分析表, SPEC §6) beats ours.

Us and each rival are compared over the criteria both were scored on (a rival
scored on price and service only is measured against our price and service), with
the weights of models/competition.toml. One alert per deal, naming every rival that
is ahead, so its win-probability factor applies once however many rivals lead.
Pure: registered in the engine of risks.py, thresholds in models/risks.toml."""

from __future__ import annotations

from pydantic import Field, model_validator

from kam.methodology.competition import Comparison, CompetitionModel, compare
from kam.methodology.facts import CompetitionFacts, DealFacts
from kam.methodology.risks import Alert, Evidence, RiskContext, RuleConfig, RuleParams, risk_rule
from kam.methodology.text import Clauses, Msg, gettext_noop

TOP = 3  # how many criteria the message and the action name


class CompetitorStrongerParams(RuleParams):
    # The rival must lead by more than this many points of the 0–100 total (0: any lead).
    min_gap: float = Field(0, ge=0, le=100)
    # A lead of at least this many points makes the alert high.
    high_gap: float = Field(10, gt=0, le=100)

    @model_validator(mode="after")
    def _order(self) -> CompetitorStrongerParams:
        if self.high_gap <= self.min_gap:
            raise ValueError("high_gap must be greater than min_gap")
        return self


def _points(value: float) -> str:
    return f"{value:.1f}"


def _names(model: CompetitionModel, diffs) -> list[Msg]:
    return [
        Msg(
            gettext_noop("%(criterion)s +%(gap)s"),
            {"criterion": model.criterion(k).name, "gap": d},
        )
        for k, d in diffs[:TOP]
    ]


def _our_strengths(model: CompetitionModel, us: CompetitionFacts, ahead) -> list:
    """The criteria where we lead every rival that is ahead of us, widest lead first."""
    leads = []
    for key in model.keys:
        ours = us.scores.get(key)
        theirs = [r.scores[key] for r, _c in ahead if r.scores.get(key) is not None]
        if ours is not None and theirs and ours > max(theirs):
            leads.append((key, ours - max(theirs)))
    leads.sort(key=lambda d: (-d[1], -model.weight(d[0]), model.keys.index(d[0])))
    return [model.criterion(k).name for k, _d in leads[:TOP]]


@risk_rule(
    "competitor_stronger", CompetitorStrongerParams, name=gettext_noop("A competitor is stronger")
)
def _competitor_stronger(
    facts: DealFacts, ctx: RiskContext, params: CompetitorStrongerParams, conf: RuleConfig
) -> list[Alert]:
    model: CompetitionModel | None = getattr(ctx, "competition", None)
    if model is None:
        return []
    us = next((p for p in facts.competition if p.competitor_id is None), None)
    if us is None or not us.scores:
        return []
    ahead: list[tuple[CompetitionFacts, Comparison]] = []
    for rival in facts.competition:
        if rival.competitor_id is None:
            continue
        found = compare(model, us.scores, rival.scores)
        if found.gap is not None and found.gap > params.min_gap:
            ahead.append((rival, found))
    if not ahead:
        return []
    ahead.sort(key=lambda rc: (-(rc[1].gap or 0), rc[0].name))
    widest = ahead[0][1].gap or 0
    names = [r.name for r, _c in ahead]
    per_rival = Clauses(
        Msg(
            gettext_noop(
                "%(rival)s %(theirs)s against our %(ours)s over %(n)s criteria, "
                "ahead on %(criteria)s"
            ),
            {
                "rival": r.name,
                "theirs": _points(c.rival or 0),
                "ours": _points(c.us or 0),
                "n": len(c.criteria),
                "criteria": _names(model, c.leads),
            },
        )
        for r, c in ahead
    )
    weakest: list = []
    for _r, c in ahead:
        for key, _d in c.leads:
            name = model.criterion(key).name
            if name not in weakest:
                weakest.append(name)
    strengths = _our_strengths(model, us, ahead)
    action = (
        Msg(
            gettext_noop(
                "Close the gap on %(weak)s, or reshape the customer's buying criteria toward "
                "where we lead (%(strong)s) with the technical and decision makers."
            ),
            {"weak": weakest[:TOP], "strong": strengths},
        )
        if strengths
        else Msg(
            gettext_noop(
                "Close the gap on %(weak)s, or reshape the customer's buying criteria toward "
                "what we do better than them; rescore the table when something changes."
            ),
            {"weak": weakest[:TOP]},
        )
    )
    return [
        Alert(
            code="competitor_stronger",
            severity="high" if widest >= params.high_gap else conf.severity,
            title=Msg(gettext_noop("Stronger competitor: %(names)s"), {"names": names}),
            message=Msg(
                gettext_noop("In the competition table a rival scores higher than us: %(rivals)s."),
                {"rivals": per_rival},
            ),
            action=action,
            evidence=tuple(
                Evidence("competitor", r.competitor_id) for r, _c in ahead if r.competitor_id
            ),
            probability_factor=conf.probability_factor,
        )
    ]
