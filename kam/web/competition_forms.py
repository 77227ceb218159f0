"""The form of the opportunity page's competition card (竞争对手分析表): one 1–5 per
party and criterion (us, each rival in the table, and a column for a rival to add —
chosen from the recorded competitors or typed as a new name), and a Remove button per
rival. Like every form here it only parses and displays: save() builds the whole
table and calls `kam.competition.scoring.competition_set`, the service the API's PUT
calls, and each problem it names (scores.12.price) lands on its cell."""

from __future__ import annotations

from typing import Any

from django import forms
from django.db import transaction
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from kam.competition import scoring
from kam.competition.competitors import NAME_MAX, competitor_get_or_create
from kam.competition.models import Competitor
from kam.core.errors import DomainError, ValidationFailed
from kam.opportunities.models import Opportunity
from kam.web import presenters
from kam.web.process_forms import ProcessForm

NEW = "new"  # the column of the rival being added
CELL_CHOICES = [("", "–")] + [(i, str(i)) for i in range(1, 6)]


def cell_name(party: str, criterion: str) -> str:
    return f"s_{party}__{criterion}"


class CompetitionForm(ProcessForm):
    rival = forms.TypedChoiceField(
        label=_("Rival to add"), required=False, coerce=int, empty_value=None
    )
    rival_name = forms.CharField(
        label=_("or a new rival's name"),
        required=False,
        max_length=NAME_MAX,
        widget=forms.TextInput(attrs={"placeholder": _("e.g. 常州精工")}),
    )
    remove = forms.CharField(required=False)  # the Remove button of a rival's column

    def __init__(
        self,
        data=None,
        *,
        actor,
        opportunity: Opportunity,
        table: scoring.CompetitionTable | None = None,
        competitors: list[Competitor] | None = None,
    ):
        self.table = table if table is not None else scoring.competition_table(opportunity)
        initial: dict[str, Any] = {}
        for party in self.table.parties:
            for key, value in party.scores.items():
                initial[cell_name(party.key, key)] = value
        super().__init__(data, initial=initial)
        self.actor = actor
        self.opportunity = opportunity
        lang = presenters.language()
        self.criteria = [
            (c.key, c.name.get(lang), c.guide.get(lang)) for c in self.table.model.criteria
        ]
        rivals = self.table.rivals
        # (key, name) of each column: us, the rivals in the table, the one to add
        self.columns: list[tuple[str, str]] = [(scoring.US, gettext("Us"))] + [
            (p.key, p.name) for p in rivals
        ]
        for party, who in [*self.columns, (NEW, gettext("New rival"))]:
            for key, name, guide in self.criteria:
                self.fields[cell_name(party, key)] = forms.TypedChoiceField(
                    label=name,
                    choices=CELL_CHOICES,
                    coerce=int,
                    empty_value=None,
                    required=False,
                    help_text=guide,
                    widget=forms.Select(attrs={"aria-label": f"{who} — {name}", "title": guide}),
                )
        in_table = {p.competitor_id for p in rivals}
        everyone = competitors if competitors is not None else list(Competitor.objects.all())
        self.known = {c.pk: c for c in everyone}
        self.fields["rival"].choices = [("", _("Choose a recorded competitor…"))] + [
            (c.pk, c.name) for c in everyone if c.pk not in in_table
        ]
        self.column_errors: dict[str, list[str]] = {}

    # --- display -------------------------------------------------------------------

    def rows(self):
        """One row per criterion: (key, name, guide, [bound cell per column + new])."""
        parties = [k for k, _n in self.columns] + [NEW]
        return [
            (key, name, guide, [self[cell_name(p, key)] for p in parties])
            for key, name, guide in self.criteria
        ]

    def column_heads(self):
        return [(k, n, self.column_errors.get(k, [])) for k, n in self.columns]

    # --- errors --------------------------------------------------------------------

    def _party_key(self, party: str) -> str:
        new = getattr(self, "_new_key", None)
        return NEW if new is not None and party == new else party

    def add_service_error(self, exc: DomainError) -> None:
        problems = exc.extra.get("errors") or [{"field": exc.field or "", "message": str(exc)}]
        for problem in problems:
            field, message = problem["field"] or "", str(problem["message"])
            parts = field.split(".")
            if parts[0] == "scores" and len(parts) == 3:
                name = cell_name(self._party_key(parts[1]), parts[2])
                self.add_error(name if name in self.fields else None, message)
            elif parts[0] == "scores" and len(parts) == 2:
                party = self._party_key(parts[1])
                self.column_errors.setdefault(party, []).append(message)
                self.add_error("rival" if party == NEW else None, message)
            elif field == "name":
                self.add_error("rival_name", message)
            else:
                self.add_error(field if field in self.fields else None, message)

    # --- saving --------------------------------------------------------------------

    def _cells(self, party: str) -> dict[str, int]:
        data = self.cleaned_data
        return {
            key: data[cell_name(party, key)]
            for key, _n, _g in self.criteria
            if data.get(cell_name(party, key)) is not None
        }

    def _new_rival(self) -> Competitor | None:
        """The rival chosen or named for the new column (recorded now if new)."""
        data = self.cleaned_data
        chosen = data.get("rival")
        if chosen is not None:
            competitor = self.known.get(chosen)
            if competitor is None:
                raise ValidationFailed(gettext("No such competitor."), field="rival")
            return competitor
        name = (data.get("rival_name") or "").strip()
        return competitor_get_or_create(actor=self.actor, name=name) if name else None

    def _build(self) -> scoring.CompetitionTable:
        data = self.cleaned_data
        removed = data.get("remove") or ""
        table: dict[str, dict[str, int]] = {}
        for party, _name in self.columns:
            if party == removed:
                continue
            cells = self._cells(party)
            if party == scoring.US and not cells:
                continue  # we are simply not scored yet
            table[party] = cells
        new_cells = self._cells(NEW)
        naming = data.get("rival") is not None or (data.get("rival_name") or "").strip()
        if not removed and (new_cells or naming):
            if not naming:
                raise ValidationFailed(
                    gettext("Choose the rival these scores are for, or type its name."),
                    field="rival",
                )
            if not new_cells:
                raise ValidationFailed(
                    gettext("Score the new rival on at least one criterion."), field="rival"
                )
            competitor = self._new_rival()
            if competitor is not None:
                key = str(competitor.pk)
                if key in table:
                    raise ValidationFailed(
                        gettext("%(name)s is already in the table: score it in its column.")
                        % {"name": competitor.name},
                        field="rival",
                    )
                self._new_key = key
                table[key] = new_cells
        return scoring.competition_set(actor=self.actor, opportunity=self.opportunity, scores=table)

    def save(self):
        def action():
            # a rival typed in is recorded only if the table is saved with it
            with transaction.atomic():
                return self._build()

        return self.run(action)
