"""/api/v1/competitors and /api/v1/opportunities/{id}/competition (SPEC §6, §10).

Competitors are market facts every user may list and record; renaming or
annotating one is for managers, admins and whoever recorded it (403 otherwise).
A deal's competitor scoring table (竞争对手分析表) is read with the deal's
visibility (`opportunity_get_for_user`: 404 outside the user's scope) and replaced
as a whole with `opportunity_get_for_edit`. Three queries for a GET of the table
whatever the number of rivals: the token, the deal, the scores with their rivals."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema, Status

from kam.competition import competitors, scoring
from kam.competition.models import Competitor
from kam.core.api_support import ERRORS, TEXT_MAX, checked, refuse_nulls
from kam.core.errors import NotFound
from kam.core.i18n import show
from kam.opportunities.api import _deal

router = Router(tags=["competition"])
opportunity_router = Router(tags=["competition"])

MAX_ID = scoring.MAX_ID
# Parties in one scoring table (us and the rivals).
PARTIES_MAX = 50


# --- competitors -----------------------------------------------------------------------


class CompetitorIn(Schema):
    name: str = Field(
        description="Unique, whatever the case (at most 200 characters).",
        json_schema_extra=checked(maxLength=competitors.NAME_MAX),
    )
    notes: str | None = Field(
        None, max_length=TEXT_MAX, description="What we know about the rival."
    )


class CompetitorPatch(Schema):
    name: str | None = Field(None, json_schema_extra=checked(maxLength=competitors.NAME_MAX))
    notes: str | None = Field(None, max_length=TEXT_MAX)


class CompetitorOut(Schema):
    id: int
    name: str
    notes: str


class CompetitorFilters(Schema):
    q: str = Field("", max_length=200, description="Part of the name, any case.")


def _competitor(request, competitor_id: int) -> Competitor:
    if competitor_id > MAX_ID:
        raise NotFound(_("No such competitor."), field="competitor_id")
    return competitors.competitor_get(request.auth, competitor_id)


@router.get("", response={200: list[CompetitorOut], **ERRORS})
def list_competitors(request, filters: Query[CompetitorFilters]):
    """Every recorded rival, by name; `q` narrows to names containing it."""
    return list(competitors.competitor_list(request.auth, q=filters.q.strip()))


@router.post("", response={201: CompetitorOut, **ERRORS})
def create_competitor(request, payload: CompetitorIn):
    """Record a rival. A name already recorded (any case) is a 409 naming it, with its
    `competitor_id`: use that one."""
    competitor = competitors.competitor_create(
        actor=request.auth, name=payload.name, notes=payload.notes or ""
    )
    return Status(201, competitor)


@router.get("/{int:competitor_id}", response={200: CompetitorOut, **ERRORS})
def get_competitor(request, competitor_id: int):
    return _competitor(request, competitor_id)


@router.patch("/{int:competitor_id}", response={200: CompetitorOut, **ERRORS})
def update_competitor(request, competitor_id: int, payload: CompetitorPatch):
    """Rename or annotate a rival: managers, admins and whoever recorded it."""
    competitor = _competitor(request, competitor_id)
    data = payload.model_dump(exclude_unset=True)
    refuse_nulls(data, ("name",))
    if data.get("notes", "") is None:
        data["notes"] = ""
    return competitors.competitor_update(actor=request.auth, competitor=competitor, **data)


# --- an opportunity's scoring table ------------------------------------------------------


class CompetitionIn(Schema):
    scores: dict[str, Any] = Field(
        max_length=PARTIES_MAX,
        json_schema_extra=checked(
            propertyNames={"maxLength": 20},
            additionalProperties={
                "type": "object",
                "maxProperties": 20,
                "propertyNames": {"maxLength": 40},
                "additionalProperties": {"type": "integer", "minimum": 1, "maximum": 5},
            },
        ),
        description='{"us": {criterion: 1–5}, "<competitor id>": {criterion: 1–5}, …}: the '
        "whole table; a party left out is removed, a criterion left out is unscored. "
        "Criteria: purchase_share, profit, cooperation_history, relationship, "
        "technical_barriers, satisfaction, brand, production_scale, technical_level, "
        "financial_strength, quality, service, price.",
    )


class ScoringCriterionOut(Schema):
    key: str
    name: str
    weight: float
    guide: str = Field(description="What 1 and 5 mean.")


class ComparedOut(Schema):
    criteria: list[str] = Field(description="The criteria both we and this rival are scored on.")
    us: float = Field(description="Our total over those criteria.")
    rival: float = Field(description="The rival's total over those criteria.")
    gap: float = Field(description="rival − us (positive: the rival is ahead).")


class PartyOut(Schema):
    party: str = Field(description='"us" or the competitor id as text.')
    competitor_id: int | None
    name: str
    scores: dict[str, int]
    total: float | None = Field(description="0–100 over the criteria scored.")
    complete: bool = Field(description="Every criterion is scored.")
    compared: ComparedOut | None = Field(
        None, description="A rival against us over the criteria both are scored on."
    )


class GapOut(Schema):
    criterion: str
    name: str
    us: int | None
    best_rival: int | None
    best_rival_id: int | None
    gap: int | None = Field(description="us − best rival (negative: a rival is ahead).")


class CompetitionOut(Schema):
    criteria: list[ScoringCriterionOut]
    parties: list[PartyOut]
    gaps: list[GapOut]
    stronger: list[int] = Field(
        description="Rivals whose score beats ours over the criteria both are scored on."
    )


def table_body(table: scoring.CompetitionTable) -> dict[str, Any]:
    m = table.model
    parties = []
    for p in table.parties:
        c = p.comparison
        parties.append(
            {
                "party": p.key,
                "competitor_id": p.competitor_id,
                "name": p.name,
                "scores": {k: p.scores[k] for k in m.keys if k in p.scores},
                "total": p.total,
                "complete": p.complete,
                "compared": (
                    {"criteria": list(c.criteria), "us": c.us, "rival": c.rival, "gap": c.gap}
                    if c is not None and c.gap is not None
                    else None
                ),
            }
        )
    return {
        "criteria": [
            {"key": c.key, "name": show(c.name), "weight": c.weight, "guide": show(c.guide)}
            for c in m.criteria
        ],
        "parties": parties,
        "gaps": [
            {
                "criterion": g.criterion,
                "name": show(m.criterion(g.criterion).name),
                "us": g.us,
                "best_rival": g.best_rival,
                "best_rival_id": g.best_rival_id,
                "gap": g.gap,
            }
            for g in table.gaps
        ],
        "stronger": list(table.stronger),
    }


PATH = "/{int:opportunity_id}/competition"


@opportunity_router.get(PATH, response={200: CompetitionOut, **ERRORS})
def get_competition(request, opportunity_id: int):
    """The deal's competitor scoring table: the criteria, each party's scores and
    weighted total, us against the best rival per criterion, and the rivals ahead."""
    opp = _deal(request, opportunity_id)
    return table_body(scoring.competition_table(opp))


@opportunity_router.put(PATH, response={200: CompetitionOut, **ERRORS})
def put_competition(request, opportunity_id: int, payload: CompetitionIn):
    """Replace the whole table. A problem is a 422 naming its path (`scores.12.price`)
    with every problem in `errors`; nothing is written then."""
    opp = _deal(request, opportunity_id, edit=True)
    table = scoring.competition_set(actor=request.auth, opportunity=opp, scores=payload.scores)
    return table_body(table)
