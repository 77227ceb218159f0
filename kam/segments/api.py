"""/api/v1/segments: market segments (市场细分, SPEC §6).

Every signed-in user reads segments; managers and admins create, change and delete
them (a rep gets 403 and nothing changes). A segment's `account_count` and
`/accounts` are the accounts *the caller* may see that match its definition.
`/variables` lists the segmentation variables with their options and the scoring
criteria, in the caller's language: the keys a definition and scores use."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from ninja import Field, Query, Router, Schema, Status

from kam.accounts.api import AccountOut
from kam.core.api_support import ERRORS, PageQuery, checked, paginate, refuse_nulls
from kam.core.i18n import language
from kam.methodology import registry
from kam.methodology.segmentation import SCORE_MAX, SCORE_MIN, TEXT_MAX
from kam.segments import selectors, services
from kam.segments.models import Segment

router = Router(tags=["segments"])

DEFINITION_HELP = (
    "{variable_key: [accepted values]}: option keys for a categorical variable, texts "
    "matched case-insensitively by substring for a free-text one (industry, location, "
    "application). An account matches when every variable listed holds one of its values. "
    "See GET /segments/variables."
)
SCORES_HELP = "{criterion_key: 1–5}, 5 the attractive end; null leaves a criterion unscored."
# The service checks the keys, the values and their counts (kam/segments/services.py).
Definition = Annotated[
    dict[str, list[str]],
    Field(
        max_length=50,
        json_schema_extra=checked(
            propertyNames={"maxLength": 40},
            additionalProperties={
                "type": "array",
                "maxItems": services.VALUES_MAX,
                "items": {"type": "string", "maxLength": TEXT_MAX},
            },
        ),
    ),
]
Scores = Annotated[
    dict[str, int | None],
    Field(
        max_length=50,
        json_schema_extra=checked(
            propertyNames={"maxLength": 40},
            additionalProperties={
                "anyOf": [
                    {"type": "integer", "minimum": SCORE_MIN, "maximum": SCORE_MAX},
                    {"type": "null"},
                ]
            },
        ),
    ),
]


class SegmentIn(Schema):
    name: str = Field(max_length=200)
    description: str | None = Field(None, max_length=5000)
    definition: Definition | None = Field(None, description=DEFINITION_HELP)
    scores: Scores | None = Field(None, description=SCORES_HELP)


class SegmentPatch(Schema):
    name: str | None = Field(None, max_length=200)
    description: str | None = Field(None, max_length=5000)
    definition: Definition | None = Field(None, description=DEFINITION_HELP)
    scores: Scores | None = Field(None, description=SCORES_HELP)


class HeadingScoreOut(Schema):
    key: str
    name: str
    weight: float
    score: float | None = Field(description="0–100 over the heading's scored criteria.")


class SegmentOut(Schema):
    id: int
    name: str
    description: str
    definition: dict[str, list[str]]
    summary: str = Field(description="The definition in words, in the caller's language.")
    scores: dict[str, int]
    total: float | None = Field(description="0–100; null while nothing is scored.")
    sub_scores: list[HeadingScoreOut]
    complete: bool = Field(description="Every criterion is scored.")
    account_count: int = Field(description="Accounts the caller may see that match.")
    created_by_id: int | None
    created_at: dt.datetime
    updated_at: dt.datetime


class SegmentAccountPage(Schema):
    items: list[AccountOut]
    count: int
    page: int
    page_size: int


class OptionOut(Schema):
    key: str
    name: str


class VariableOut(Schema):
    key: str
    name: str
    group: str
    source: str = Field(description="account.<field> or attribute (the account's profile).")
    kind: str = Field(description="choice (one of the options) or text (substring match).")
    options: list[OptionOut]


class SegmentGroupOut(Schema):
    key: str
    name: str
    variables: list[VariableOut]


class SegmentCriterionOut(Schema):
    key: str
    name: str
    guide: str
    weight: float


class HeadingOut(Schema):
    key: str
    name: str
    weight: float
    criteria: list[SegmentCriterionOut]


class VariablesOut(Schema):
    groups: list[SegmentGroupOut]
    headings: list[HeadingOut]
    score_min: int
    score_max: int


def _out(row: selectors.SegmentRow) -> dict:
    segment = row.segment
    lang = language()
    model = registry.current().segmentation
    return {
        "id": segment.pk,
        "name": segment.name,
        "description": segment.description,
        "definition": segment.definition,
        "summary": selectors.definition_summary(segment.definition),
        "scores": segment.scores,
        "total": row.score.total,
        "sub_scores": [
            {
                "key": h.key,
                "name": h.name.get(lang),
                "weight": h.weight,
                "score": row.score.headings.get(h.key),
            }
            for h in model.headings
        ],
        "complete": row.score.complete,
        "account_count": row.account_count,
        "created_by_id": segment.created_by_id,
        "created_at": segment.created_at,
        "updated_at": segment.updated_at,
    }


def _one(request, segment: Segment) -> dict:
    return _out(selectors.segment_row(request.auth, segment))


@router.get("", response={200: list[SegmentOut], **ERRORS})
def list_segments(request):
    """Every segment by name, with its score and how many of your accounts it holds
    (two queries however many accounts)."""
    return [_out(row) for row in selectors.segment_list(request.auth)]


@router.post("", response={201: SegmentOut, **ERRORS})
def create_segment(request, payload: SegmentIn):
    """Managers and admins. Unknown variables, options or criteria are refused (422)
    naming e.g. `definition.technology` or `scores.rivalry`."""
    data = payload.model_dump()
    segment = services.segment_create(
        actor=request.auth,
        name=data["name"],
        description=data["description"] or "",
        definition=data["definition"],
        scores=data["scores"],
    )
    return Status(201, _one(request, segment))


@router.get("/variables", response={200: VariablesOut, **ERRORS})
def list_variables(request):
    """The segmentation variables by group, with their options, and the criteria a
    segment is scored on, in your language."""
    lang = language()
    model = registry.current().segmentation
    return {
        "groups": [
            {
                "key": g.key,
                "name": g.name.get(lang),
                "variables": [
                    {
                        "key": v.key,
                        "name": v.name.get(lang),
                        "group": g.key,
                        "source": v.source,
                        "kind": "text" if v.is_text else "choice",
                        "options": [{"key": o.key, "name": o.name.get(lang)} for o in v.options],
                    }
                    for v in g.variables
                ],
            }
            for g in model.groups
        ],
        "headings": [
            {
                "key": h.key,
                "name": h.name.get(lang),
                "weight": h.weight,
                "criteria": [
                    {
                        "key": c.key,
                        "name": c.name.get(lang),
                        "guide": c.guide.get(lang),
                        "weight": c.weight,
                    }
                    for c in h.criteria
                ],
            }
            for h in model.headings
        ],
        "score_min": SCORE_MIN,
        "score_max": SCORE_MAX,
    }


@router.get("/{int:segment_id}", response={200: SegmentOut, **ERRORS})
def get_segment(request, segment_id: int):
    return _one(request, selectors.segment_get_for_user(request.auth, segment_id))


@router.patch("/{int:segment_id}", response={200: SegmentOut, **ERRORS})
def update_segment(request, segment_id: int, payload: SegmentPatch):
    """Only the fields sent change; a definition or scores sent replace the stored ones
    (send {} to clear them)."""
    segment = selectors.segment_get_for_edit(request.auth, segment_id)
    data = payload.model_dump(exclude_unset=True)
    refuse_nulls(data, ("name", "definition", "scores"))
    if "description" in data and data["description"] is None:
        data["description"] = ""
    services.segment_update(actor=request.auth, segment=segment, **data)
    return _one(request, segment)


@router.delete("/{int:segment_id}", response={204: None, **ERRORS})
def delete_segment(request, segment_id: int):
    segment = selectors.segment_get_for_edit(request.auth, segment_id)
    services.segment_delete(actor=request.auth, segment=segment)
    return Status(204, None)


@router.get("/{int:segment_id}/accounts", response={200: SegmentAccountPage, **ERRORS})
def segment_accounts(request, segment_id: int, query: Query[PageQuery]):
    """The accounts you may see that fall in the segment, by name, a page at a time."""
    segment = selectors.segment_get_for_user(request.auth, segment_id)
    qs = selectors.accounts_in_segment(request.auth, segment)
    return paginate(qs, page=query.page, page_size=query.page_size)
