"""/api/v1/accounts/{id}/competition …: an account's competition map (竞争地图), SWOT
and posture with the entry barriers we hold (SPEC §6).

Mounted under /accounts beside the accounts router (see kam/config/api.py). The
account is found through the account selectors: outside the user's scope 404;
visible but not editable (a rep selling on someone else's account) 403 on writes.
`suggested_posture` is what the map says — defend where we are the incumbent or hold
the largest share, attack where a rival does — and is never set by itself."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Literal

from django.utils.translation import gettext as _
from ninja import Field, Router, Schema, Status
from pydantic import ConfigDict

from kam.accounts.selectors import account_get_for_edit, account_get_for_user
from kam.competition import accounts as services
from kam.competition.competitors import NAME_MAX
from kam.competition.models import MapEntry, Posture, Relationship, SwotItem
from kam.core.api_support import ERRORS, MAX_ID, checked, checked_decimal, refuse_nulls

router = Router(tags=["competition"])


# --- out -----------------------------------------------------------------------------


class MapEntryOut(Schema):
    party: str | int = Field(description='"us", or the competitor\'s id.')
    competitor_id: int | None
    name: str
    share: Decimal | None = Field(description="Per cent of the customer's purchases in our line.")
    relationship: int | None = Field(description="0 none … 4 close.")
    relationship_name: str
    satisfaction: int | None = Field(description="The customer's satisfaction, 1–5.")
    incumbent: bool
    since: int | None = Field(description="Supplying this customer since (year).")
    history: str


class SwotLine(Schema):
    id: int
    text: str


class SwotOut(Schema):
    strength: list[SwotLine]
    weakness: list[SwotLine]
    opportunity: list[SwotLine]
    threat: list[SwotLine]


class Barriers(Schema):
    technical: bool = Field(False, description="Our specs or patents are in their designs.")
    commercial: bool = Field(False, description="Contracts, pricing or service terms bind them.")
    process: bool = Field(False, description="Our people or systems are in their processes.")


class PositionOut(Schema):
    posture: str = Field(description='"attack", "defend", or "" (not decided).')
    posture_name: str
    barriers: Barriers
    notes: str


class AccountCompetitionOut(Schema):
    account_id: int
    map: list[MapEntryOut]
    mapped_share: Decimal = Field(description="Σ of the shares on the map.")
    other_share: Decimal = Field(description="100 − Σ shares: the part nobody has mapped.")
    swot: SwotOut
    position: PositionOut
    suggested_posture: Literal["attack", "defend"] | None = Field(
        description="What the map suggests (a hint; never set automatically)."
    )


class SwotItemOut(Schema):
    id: int
    account_id: int
    quadrant: str
    text: str
    position: int


# --- in ------------------------------------------------------------------------------
# The limits are the service's (kam/competition/accounts.py), which words the messages.
Percent = Annotated[Decimal, checked_decimal(0, 100)]
SwotText = Annotated[str, Field(json_schema_extra=checked(maxLength=services.SWOT_TEXT_MAX))]


class MapEntryIn(Schema):
    us: bool | None = Field(None, description="This row is us; give no competitor then.")
    competitor_id: int | None = Field(
        None,
        description="A recorded competitor.",
        json_schema_extra=checked(minimum=1, maximum=MAX_ID),
    )
    competitor_name: str | None = Field(
        None,
        description="A competitor by name; a name new to KAM records it.",
        json_schema_extra=checked(maxLength=NAME_MAX),
    )
    share: Percent | None = Field(None, description="Per cent, 0–100, two decimals at most.")
    relationship: int | None = Field(
        None,
        description="0 none … 4 close.",
        json_schema_extra=checked(
            minimum=min(Relationship.values), maximum=max(Relationship.values)
        ),
    )
    satisfaction: int | None = Field(
        None, description="1–5.", json_schema_extra=checked(minimum=1, maximum=5)
    )
    incumbent: bool | None = None
    since: int | None = Field(
        None,
        description="Year they started supplying this customer (not in the future).",
        json_schema_extra=checked(minimum=services.FIRST_YEAR, maximum=2200),
    )
    history: str | None = Field(None, json_schema_extra=checked(maxLength=services.HISTORY_MAX))


class MapIn(Schema):
    entries: list[MapEntryIn] = Field(
        description="Every supplier on the map (replaces it); shares add up to 100 at most.",
        json_schema_extra=checked(maxItems=services.MAP_MAX),
    )


class SwotIn(Schema):
    """Every quadrant's lines; a misspelt quadrant is refused rather than read as
    "empty" (this replaces the whole SWOT)."""

    model_config = ConfigDict(extra="forbid")

    strength: list[SwotText] = Field([], json_schema_extra=checked(maxItems=services.SWOT_MAX))
    weakness: list[SwotText] = Field([], json_schema_extra=checked(maxItems=services.SWOT_MAX))
    opportunity: list[SwotText] = Field([], json_schema_extra=checked(maxItems=services.SWOT_MAX))
    threat: list[SwotText] = Field([], json_schema_extra=checked(maxItems=services.SWOT_MAX))


class SwotItemIn(Schema):
    quadrant: str = Field(
        description="strength, weakness, opportunity or threat.",
        json_schema_extra=checked(maxLength=20),
    )
    text: SwotText


class SwotItemPatch(Schema):
    quadrant: str | None = Field(None, json_schema_extra=checked(maxLength=20))
    text: SwotText | None = None


class PositionIn(Schema):
    posture: str | None = Field(
        "",
        description='"attack" (challenger), "defend" (incumbent), or "" / null (not decided).',
        json_schema_extra=checked(maxLength=10),
    )
    barriers: Barriers = Field(default_factory=Barriers)
    notes: str | None = Field("", json_schema_extra=checked(maxLength=services.NOTES_MAX))


# --- building the answer -------------------------------------------------------------


def _entry(entry: MapEntry) -> dict:
    us = entry.competitor_id is None
    return {
        "party": services.US if us else entry.competitor_id,
        "competitor_id": entry.competitor_id,
        "name": services.entry_name(entry),
        "share": entry.share,
        "relationship": entry.relationship,
        "relationship_name": (
            str(Relationship(entry.relationship).label) if entry.relationship is not None else ""
        ),
        "satisfaction": entry.satisfaction,
        "incumbent": entry.incumbent,
        "since": entry.since,
        "history": entry.history,
    }


def _line(item: SwotItem) -> dict:
    return {"id": item.pk, "text": item.text}


def competition_out(picture: services.Picture) -> dict:
    position = picture.position
    posture = picture.posture
    return {
        "account_id": picture.account.pk,
        "map": [_entry(e) for e in picture.entries],
        "mapped_share": picture.mapped_share,
        "other_share": picture.other_share,
        "swot": {q: [_line(i) for i in items] for q, items in picture.swot.items()},
        "position": {
            "posture": posture,
            "posture_name": str(Posture(posture).label) if posture else _("Not decided"),
            "barriers": {
                "technical": bool(position and position.barrier_technical),
                "commercial": bool(position and position.barrier_commercial),
                "process": bool(position and position.barrier_process),
            },
            "notes": position.notes if position is not None else "",
        },
        "suggested_posture": picture.suggested_posture,
    }


def _picture(account) -> dict:
    return competition_out(services.account_competition(account))


# --- endpoints -----------------------------------------------------------------------


@router.get("/{int:account_id}/competition", response={200: AccountCompetitionOut, **ERRORS})
def get_competition(request, account_id: int):
    """The account's competition map (largest share first), SWOT, position and the
    posture the map suggests."""
    return _picture(account_get_for_user(request.auth, account_id))


@router.put("/{int:account_id}/competition-map", response={200: AccountCompetitionOut, **ERRORS})
def set_map(request, account_id: int, payload: MapIn):
    """Replace the map. Each entry names one supplier (us, competitor_id or
    competitor_name); a supplier twice, us twice, or shares over 100 in total are
    refused with nothing written."""
    account = account_get_for_edit(request.auth, account_id)
    services.competition_map_set(
        actor=request.auth,
        account=account,
        entries=[e.model_dump(exclude_unset=True) for e in payload.entries],
    )
    return _picture(account)


@router.put("/{int:account_id}/swot", response={200: AccountCompetitionOut, **ERRORS})
def set_swot(request, account_id: int, payload: SwotIn):
    """Replace the whole SWOT: each quadrant's lines in order (left out: emptied)."""
    account = account_get_for_edit(request.auth, account_id)
    services.swot_set(actor=request.auth, account=account, items=payload.model_dump())
    return _picture(account)


@router.post("/{int:account_id}/swot", response={201: SwotItemOut, **ERRORS})
def add_swot_item(request, account_id: int, payload: SwotItemIn):
    """One line at the end of a quadrant."""
    account = account_get_for_edit(request.auth, account_id)
    item = services.swot_item_add(
        actor=request.auth, account=account, quadrant=payload.quadrant, text=payload.text
    )
    return Status(201, item)


@router.patch("/{int:account_id}/swot/{int:item_id}", response={200: SwotItemOut, **ERRORS})
def update_swot_item(request, account_id: int, item_id: int, payload: SwotItemPatch):
    """Reword a line, or move it to the end of another quadrant."""
    account = account_get_for_edit(request.auth, account_id)
    item = services.swot_item_get(account, item_id)
    data = payload.model_dump(exclude_unset=True)
    refuse_nulls(data, ("quadrant", "text"))
    return services.swot_item_update(actor=request.auth, item=item, **data)


@router.delete("/{int:account_id}/swot/{int:item_id}", response={204: None, **ERRORS})
def delete_swot_item(request, account_id: int, item_id: int):
    account = account_get_for_edit(request.auth, account_id)
    services.swot_item_delete(actor=request.auth, item=services.swot_item_get(account, item_id))
    return Status(204, None)


@router.put("/{int:account_id}/position", response={200: AccountCompetitionOut, **ERRORS})
def set_position(request, account_id: int, payload: PositionIn):
    """Our posture and the entry barriers we hold; every field is replaced."""
    account = account_get_for_edit(request.auth, account_id)
    services.position_set(
        actor=request.auth,
        account=account,
        posture=payload.posture or "",
        barrier_technical=payload.barriers.technical,
        barrier_commercial=payload.barriers.commercial,
        barrier_process=payload.barriers.process,
        notes=payload.notes or "",
    )
    return _picture(account)
