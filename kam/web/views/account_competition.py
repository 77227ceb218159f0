"""The account page's competition card (竞争分析, SPEC §6): our posture — attack
(challenger) or defend (incumbent) — with the entry barriers we hold and the posture
the map suggests; the competition map (竞争地图) as a chart of shares and a table; the
SWOT as four quadrants; and, for whoever may edit the account, the forms to change
them.

The chart is drawn by static/kam/account_competition.js from a JSON block built
here (`chart_data`); the table says the same, so nothing depends on the script.
Every POST loads the account through `account_get_for_edit` (another user's account
is a 404, one seen but not owned a 403), calls one kam.competition.accounts service
through a form, and redirects back to the card (PRG) or renders the page again with
the error next to its field (422)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy
from django.views.decorators.http import require_POST

from kam.accounts.selectors import account_get_for_edit, accounts_editable_by
from kam.competition import accounts as services
from kam.competition.competitors import competitor_list
from kam.competition.models import MapEntry, Quadrant, SwotItem
from kam.web.account_competition_forms import (
    CompetitionMapForm,
    PositionForm,
    SwotItemForm,
    relationship_name,
    satisfaction_name,
    share_text,
    us_label,
)
from kam.web.views.account_cards import back_to_card, submit_card
from kam.web.views.common import domain_errors

DATALIST_MAX = 500  # competitor names offered while typing a supplier

# Chart colours: us in the "for us" green of the buying centre, rivals in warm and
# neutral tones (never green), the part nobody mapped in light grey.
US_COLOUR = "#17663f"
RIVAL_COLOURS = ("#c2410c", "#b7791f", "#7a5af8", "#0e7490", "#be185d", "#667085", "#9e3f1b")
NOT_MAPPED_COLOUR = "#d0d5dd"
INCUMBENT_BORDER = "#101828"

# The quadrants' names on the card (a context: "Opportunities" is also a sales term).
QUADRANT_NAMES = {
    Quadrant.STRENGTH: pgettext_lazy("SWOT", "Strengths"),
    Quadrant.WEAKNESS: pgettext_lazy("SWOT", "Weaknesses"),
    Quadrant.OPPORTUNITY: pgettext_lazy("SWOT", "Opportunities"),
    Quadrant.THREAT: pgettext_lazy("SWOT", "Threats"),
}

# Quadrant → (side: internal/external, tone: helpful/harmful, the question an empty
# quadrant asks). Texts are marked here and translated when the page is drawn.
QUADRANT_GUIDE = {
    Quadrant.STRENGTH: (
        "internal",
        "helpful",
        gettext_lazy("What do we do better than the others here? e.g. price, delivery time."),
    ),
    Quadrant.WEAKNESS: (
        "internal",
        "harmful",
        gettext_lazy("Where are we weaker? e.g. a small share, a short history with them."),
    ),
    Quadrant.OPPORTUNITY: (
        "external",
        "helpful",
        gettext_lazy(
            "What in the customer's situation opens a door? e.g. cost pressure, "
            "complaints about a rival's terms."
        ),
    ),
    Quadrant.THREAT: (
        "external",
        "harmful",
        gettext_lazy(
            "What could shut us out? e.g. a rival's joint team with their design department."
        ),
    ),
}


@dataclass
class MapRow:
    entry: MapEntry
    name: str
    us: bool
    share: str  # "12.5", "70"; "" when not known
    relationship: str
    satisfaction: str


@dataclass
class QuadrantBox:
    key: str
    name: str
    side: str  # internal / external
    tone: str  # helpful / harmful
    prompt: str
    items: list[SwotItem]
    form: Any = None


@dataclass
class Barrier:
    key: str
    name: str
    explanation: str
    held: bool


def barriers(position) -> list[Barrier]:
    return [
        Barrier(
            "technical",
            _("Technical"),
            _("Our specifications or patents are written into their designs."),
            bool(position and position.barrier_technical),
        ),
        Barrier(
            "commercial",
            _("Commercial"),
            _("Contracts, pricing or service terms tie them to us."),
            bool(position and position.barrier_commercial),
        ),
        Barrier(
            "process",
            _("Process embedding"),
            _("Our people or systems are part of their processes."),
            bool(position and position.barrier_process),
        ),
    ]


def suggestion_text(suggestion: services.Suggestion | None) -> str:
    if suggestion is None:
        return ""
    if suggestion.reason == "we_incumbent":
        return _("The map suggests defending: we are the incumbent.")
    if suggestion.reason == "we_largest":
        return _("The map suggests defending: we hold the largest share.")
    if suggestion.reason == "rival_incumbent":
        return _("The map suggests attacking: %(rival)s is the incumbent.") % {
            "rival": suggestion.rival
        }
    return _("The map suggests attacking: %(rival)s holds a larger share than we do.") % {
        "rival": suggestion.rival
    }


def chart_data(picture: services.Picture) -> dict[str, Any]:
    """What the share chart draws: each supplier with a known share above zero, in
    the map's order (largest first), then the part nobody mapped."""
    parties = []
    rival = 0
    for entry in picture.entries:
        if entry.share is None or entry.share <= 0:
            continue
        us = entry.competitor_id is None
        if us:
            colour = US_COLOUR
        else:
            colour = RIVAL_COLOURS[rival % len(RIVAL_COLOURS)]
            rival += 1
        parties.append(
            {
                "name": services.entry_name(entry),
                "share": float(entry.share),
                "us": us,
                "incumbent": entry.incumbent,
                "colour": colour,
            }
        )
    return {
        "parties": parties,
        "not_mapped": float(picture.other_share),
        "colours": {"not_mapped": NOT_MAPPED_COLOUR, "incumbent_border": INCUMBENT_BORDER},
        "text": {
            "not_mapped": _("Not mapped"),
            "incumbent": _("incumbent"),
            "us": _("us"),
            "share": _("Share"),
        },
    }


def account_competition_context(request, account, forms: dict | None = None) -> dict:
    """The card's data and forms under one key, `competition`. `forms` may hold a
    bound form with errors: "competition_map", "swot" (its quadrant's) or
    "position"; the others are blank."""
    forms = forms or {}
    picture = services.account_competition(account)
    can_edit = accounts_editable_by(request.user).filter(pk=account.pk).exists()
    rows = [
        MapRow(
            entry=e,
            name=services.entry_name(e),
            us=e.competitor_id is None,
            share=share_text(e.share),
            relationship=relationship_name(e.relationship),
            satisfaction=satisfaction_name(e.satisfaction),
        )
        for e in picture.entries
    ]
    bound_swot = forms.get("swot")
    quadrants = []
    for key in Quadrant.values:
        side, tone, prompt = QUADRANT_GUIDE[key]
        name = str(QUADRANT_NAMES[key])
        form = None
        if can_edit:
            form = (
                bound_swot
                if bound_swot is not None and bound_swot.quadrant == key
                else SwotItemForm(actor=request.user, account=account, quadrant=key)
            )
        quadrants.append(
            QuadrantBox(key, name, side, tone, str(prompt), picture.swot.get(key, []), form)
        )
    suggestion = picture.suggestion
    out: dict[str, Any] = {
        "picture": picture,
        "can_edit": can_edit,
        "rows": rows,
        "mapped": any(e.share is not None for e in picture.entries),
        "chart": chart_data(picture),
        "quadrants": quadrants,
        "barriers": barriers(picture.position),
        "suggestion": suggestion_text(suggestion),
        "suggestion_differs": suggestion is not None and suggestion.posture != picture.posture,
        "suggested_posture": picture.suggested_posture,
        "swot_empty": not any(picture.swot.values()),
        "other_share": share_text(picture.other_share),
    }
    if can_edit:
        map_form = forms.get("competition_map") or CompetitionMapForm(
            actor=request.user, account=account, entries=picture.entries
        )
        position_form = forms.get("position") or PositionForm(
            actor=request.user, account=account, position=picture.position
        )
        out.update(
            map_form=map_form,
            position_form=position_form,
            us_label=us_label(),
            competitor_names=list(
                competitor_list(request.user).values_list("name", flat=True)[:DATALIST_MAX]
            ),
        )
    return {"competition": out}


# --- the POST views --------------------------------------------------------------------


@login_required
@require_POST
@domain_errors
def competition_map_view(request, account_id: int):
    account = account_get_for_edit(request.user, account_id)
    form = CompetitionMapForm(request.POST, actor=request.user, account=account)
    return submit_card(
        request,
        account,
        form,
        key="competition_map",
        anchor="competition-map",
        success=_("Competition map saved."),
    )


@login_required
@require_POST
@domain_errors
def swot_add_view(request, account_id: int):
    account = account_get_for_edit(request.user, account_id)
    form = SwotItemForm(request.POST, actor=request.user, account=account)
    return submit_card(
        request, account, form, key="swot", anchor="swot", success=_("Added to the SWOT.")
    )


@login_required
@require_POST
@domain_errors
def swot_delete_view(request, account_id: int, item_id: int):
    account = account_get_for_edit(request.user, account_id)
    item = services.swot_item_get(account, item_id)
    services.swot_item_delete(actor=request.user, item=item)
    messages.success(request, _("Removed from the SWOT: “%(text)s”.") % {"text": item.text})
    return back_to_card(account, "swot")


@login_required
@require_POST
@domain_errors
def position_view(request, account_id: int):
    account = account_get_for_edit(request.user, account_id)
    form = PositionForm(request.POST, actor=request.user, account=account)
    return submit_card(
        request,
        account,
        form,
        key="position",
        anchor="competition",
        success=_("Posture and barriers saved."),
    )
