"""The opportunity page's competition card (竞争对手分析表, SPEC §6, §9): us and each
rival scored 1–5 on the criteria of models/competition.toml, drawn as a radar
(static/kam/competition.js, from the JSON block built here), the weighted totals
with how far each rival is ahead of or behind us, and the table itself with what
each score means as the criterion's tooltip; below it the form to score, add a rival
(a recorded competitor or a new name) and remove one.

The POST loads the deal through `opportunity_get_for_edit` (another user's deal is a
404), calls `scoring.competition_set` through the form — the service of
`PUT /api/v1/opportunities/{id}/competition` — and redirects back to the card, or
renders the page again with the errors on their cells. views/process.py imports
`competition_context` from here, so its helpers are looked up when a request comes."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from kam.competition import scoring
from kam.competition.models import Competitor
from kam.core.permissions import may_own
from kam.opportunities.models import Opportunity
from kam.opportunities.selectors import opportunity_get_for_edit
from kam.web import presenters
from kam.web.competition_forms import CompetitionForm
from kam.web.views.common import domain_errors

ANCHOR = "competition"
# Rivals in the order they get a colour: ours is the brand blue, drawn on top.
US_COLOUR = "#1d4e89"
RIVAL_COLOURS = ("#d9480f", "#7048e8", "#2b8a3e", "#c2255c", "#b08900", "#0b7285", "#5c5f66")


def _page():
    """views/process.py: `_back`, `render_detail`."""
    from kam.web.views import process

    return process


def _points(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f}"


def colours(table: scoring.CompetitionTable) -> list[str]:
    """One colour per party, in the table's order: ours blue, the rivals in turn."""
    out, n = [], 0
    for party in table.parties:
        if party.is_us:
            out.append(US_COLOUR)
        else:
            out.append(RIVAL_COLOURS[n % len(RIVAL_COLOURS)])
            n += 1
    return out


def chart_data(table: scoring.CompetitionTable) -> dict[str, Any]:
    """What competition.js draws: one axis per criterion (1–5), one series per party,
    unscored criteria as null."""
    lang = presenters.language()
    m = table.model
    series = [
        {
            "name": party.name,
            "us": party.is_us,
            "colour": colour,
            "total": party.total,
            "values": [party.scores.get(k) for k in m.keys],
        }
        for party, colour in zip(table.parties, colours(table), strict=True)
    ]
    return {
        "indicators": [{"name": c.name.get(lang), "max": 5} for c in m.criteria],
        "series": series,
        "text": {"unscored": _("not scored")},
    }


def _summary(table: scoring.CompetitionTable) -> list[dict[str, Any]]:
    """Each party's total and, for a rival, where it stands against us."""
    out = []
    for party, colour in zip(table.parties, colours(table), strict=True):
        c = party.comparison
        row: dict[str, Any] = {
            "party": party,
            "colour": colour,
            "total": _points(party.total),
            "scored": len(party.scores),
            "state": "",
            "gap": "",
            "common": 0,
        }
        if c is not None and c.gap is not None:
            row["common"] = len(c.criteria)
            row["state"] = "ahead" if c.gap > 0 else ("behind" if c.gap < 0 else "level")
            row["gap"] = f"{abs(c.gap):.1f}"
            row["us"], row["them"] = _points(c.us), _points(c.rival)
        out.append(row)
    return out


def _rows(table: scoring.CompetitionTable) -> list[dict[str, Any]]:
    lang = presenters.language()
    gaps = {g.criterion: g for g in table.gaps}
    rows = []
    for c in table.model.criteria:
        gap = gaps[c.key]
        rows.append(
            {
                "key": c.key,
                "name": c.name.get(lang),
                "guide": c.guide.get(lang),
                "weight": f"{c.weight:g}",
                "cells": [(p.scores.get(c.key), p.is_us) for p in table.parties],
                "gap": gap.gap,
                "gap_text": "—" if gap.gap is None else f"{gap.gap:+d}" if gap.gap else "0",
            }
        )
    return rows


def competition_context(user, opp: Opportunity, forms: dict | None = None) -> dict:
    """The card: the table read once (one query), the recorded competitors for the
    add choice (one query, only for those who may edit)."""
    forms = forms or {}
    bound = forms.get("competition")
    table = bound.table if bound is not None else scoring.competition_table(opp)
    can_edit = may_own(user, opp.owner)
    form = bound
    if form is None and can_edit:
        form = CompetitionForm(
            actor=user, opportunity=opp, table=table, competitors=list(Competitor.objects.all())
        )
    return {
        "competition": {
            "table": table,
            "empty": table.empty,
            "summary": _summary(table),
            "rows": _rows(table),
            "chart": chart_data(table),
            "stronger": [p for p in table.rivals if p.ahead_of_us],
            "has_us": table.us is not None,
        },
        "competition_form": form if can_edit else None,
        "competition_open": bound is not None or (can_edit and table.empty),
    }


@login_required
@require_POST
@domain_errors
def competition_save_view(request, opportunity_id: int):
    opp = opportunity_get_for_edit(request.user, opportunity_id)
    form = CompetitionForm(request.POST, actor=request.user, opportunity=opp)
    if form.is_valid():
        removed = form.cleaned_data.get("remove") or ""
        names = dict(form.columns)
        if form.save() is not None:
            if removed and removed in names:
                text = _("%(name)s taken out of the competition table.") % {"name": names[removed]}
            else:
                text = _("Competition table saved.")
            messages.success(request, text)
            return _page()._back(opp, ANCHOR)
    return _page().render_detail(request, opp, forms={"competition": form}, status=422)
