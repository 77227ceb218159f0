"""The forms of the account page's competition card (竞争分析, SPEC §6): the
competition map (one row per supplier, rows added and removed in the page), a SWOT
line per quadrant, and our posture with the entry barriers we hold.

Like every form here they only parse and display: save() calls one service of
kam.competition.accounts, and a DomainError it raises lands on the field it names —
for the map, on the row it names (`entries.<i>.<field>`), or above the rows for the
sum of the shares (`entries`)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.forms import formset_factory
from django.utils.translation import gettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _

from kam.competition import accounts as services
from kam.competition.models import MapEntry, Position, Posture, Quadrant, Relationship
from kam.core.errors import DomainError
from kam.web.forms import ServiceForm

# The customer's satisfaction with a supplier (a context keeps "neutral" apart from
# the buying centre's stance of that name).
SATISFACTION_NAMES = {
    1: pgettext_lazy("satisfaction", "very dissatisfied"),
    2: pgettext_lazy("satisfaction", "dissatisfied"),
    3: pgettext_lazy("satisfaction", "neutral"),
    4: pgettext_lazy("satisfaction", "satisfied"),
    5: pgettext_lazy("satisfaction", "very satisfied"),
}

# What a person may type in the supplier box to mean us (the datalist offers "Us").
US_WORDS = frozenset({"us", "we", "我方", "我们", "本公司"})

# Service field of a map row → the row's form field.
ROW_FIELDS = {
    "us": "supplier",
    "competitor_id": "supplier",
    "competitor_name": "supplier",
    "share": "share",
    "relationship": "relationship",
    "satisfaction": "satisfaction",
    "incumbent": "incumbent",
    "since": "since",
    "history": "history",
}


def satisfaction_name(level: int | None) -> str:
    if level is None:
        return ""
    return f"{level} – {SATISFACTION_NAMES[level]}" if level in SATISFACTION_NAMES else str(level)


def relationship_name(level: int | None) -> str:
    if level is None:
        return ""
    return f"{level} – {Relationship(level).label}" if level in Relationship.values else str(level)


def share_text(share) -> str:
    """A share as people write it: 12.5, 70 (no trailing zeros, no exponent)."""
    if share is None:
        return ""
    return f"{share.normalize():f}"


def us_label() -> str:
    return gettext("Us")


def means_us(text: str) -> bool:
    word = text.strip().casefold()
    return word in US_WORDS or word == us_label().casefold()


# --- the map ---------------------------------------------------------------------------


class MapRowForm(forms.Form):
    """One supplier of the map. A row left blank is no supplier (so the blank row at
    the end, or a row whose inputs were cleared, is skipped)."""

    supplier = forms.CharField(
        label=_("Supplier"),
        required=False,
        max_length=200,
        widget=forms.TextInput(attrs={"list": "competitor-names", "autocomplete": "off"}),
    )
    share = forms.DecimalField(
        label=_("Share (%)"),
        required=False,
        widget=forms.NumberInput(attrs={"step": "0.01", "min": "0", "max": "100"}),
    )
    relationship = forms.TypedChoiceField(
        label=_("Relationship"), required=False, coerce=int, empty_value=None
    )
    satisfaction = forms.TypedChoiceField(
        label=_("Customer satisfaction"), required=False, coerce=int, empty_value=None
    )
    since = forms.IntegerField(
        label=_("Since (year)"), required=False, widget=forms.NumberInput(attrs={"step": "1"})
    )
    incumbent = forms.BooleanField(label=_("Incumbent"), required=False)
    history = forms.CharField(
        label=_("History"),
        required=False,
        widget=forms.TextInput(
            attrs={"placeholder": _("e.g. supplier for 15 years; joint development team")}
        ),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["relationship"].choices = [("", "—")] + [
            (level, relationship_name(level)) for level in Relationship.values
        ]
        self.fields["satisfaction"].choices = [("", "—")] + [
            (level, satisfaction_name(level)) for level in SATISFACTION_NAMES
        ]
        for name, field in self.fields.items():
            field.widget.attrs.setdefault("aria-label", str(field.label))
            field.widget.attrs["data-map-field"] = name

    def is_blank(self) -> bool:
        data = self.cleaned_data
        return not (data.get("supplier") or "").strip() and not any(
            data.get(name) not in (None, "", False)
            for name in ("share", "relationship", "satisfaction", "incumbent", "since", "history")
        )

    def entry(self) -> dict[str, Any]:
        data = self.cleaned_data
        supplier = (data.get("supplier") or "").strip()
        party: dict[str, Any] = (
            {"us": True} if means_us(supplier) else {"competitor_name": supplier or None}
        )
        return {
            **party,
            "share": data.get("share"),
            "relationship": data.get("relationship"),
            "satisfaction": data.get("satisfaction"),
            "incumbent": bool(data.get("incumbent")),
            "since": data.get("since"),
            "history": data.get("history") or "",
        }


MapRowFormSet = formset_factory(
    MapRowForm, extra=1, max_num=services.MAP_MAX, absolute_max=services.MAP_MAX + 20
)


def _row_initial(entry: MapEntry) -> dict[str, Any]:
    return {
        "supplier": services.entry_name(entry),
        "share": share_text(entry.share),
        "relationship": entry.relationship,
        "satisfaction": entry.satisfaction,
        "incumbent": entry.incumbent,
        "since": entry.since,
        "history": entry.history,
    }


class CompetitionMapForm(ServiceForm):
    """The whole map as rows (a formset, prefix "map"); saving replaces the map."""

    prefix_rows = "map"

    def __init__(self, data=None, *, actor, account, entries: list[MapEntry] | None = None):
        super().__init__(data)
        self.actor = actor
        self.account = account
        initial = [_row_initial(e) for e in entries or []]
        self.rows = MapRowFormSet(data, initial=initial, prefix=self.prefix_rows)
        if not initial:
            self.rows.extra = 3  # an empty map: room for us and two rivals
        self._sent: list[int] = []  # index of the service's entry → index of the row

    def is_valid(self) -> bool:
        own = super().is_valid()
        return self.rows.is_valid() and own

    @property
    def has_errors(self) -> bool:
        return self.is_bound and (
            bool(self.errors)
            or any(f.errors for f in self.rows.forms)
            or bool(self.rows.non_form_errors())
        )

    def add_service_error(self, exc: DomainError) -> None:
        parts = (exc.field or "").split(".")
        if len(parts) == 3 and parts[0] == "entries" and parts[1].isdigit():
            index = int(parts[1])
            if index < len(self._sent):
                row = self.rows.forms[self._sent[index]]
                row.add_error(ROW_FIELDS.get(parts[2]), str(exc.message))
                return
        self.add_error(None, str(exc.message))

    def save(self) -> list[MapEntry] | None:
        entries = []
        self._sent = []
        for i, row in enumerate(self.rows.forms):
            if row.is_blank():
                continue
            self._sent.append(i)
            entries.append(row.entry())
        return self.run(
            lambda: services.competition_map_set(
                actor=self.actor, account=self.account, entries=entries
            )
        )


# --- the SWOT --------------------------------------------------------------------------


class SwotItemForm(ServiceForm):
    """One line added to a quadrant. Four of these sit on the page, one per quadrant,
    each with its own element ids."""

    quadrant = forms.ChoiceField(choices=Quadrant.choices, widget=forms.HiddenInput)
    text = forms.CharField(
        label=_("New line"),
        required=False,  # the service says what is missing
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )

    def __init__(self, data=None, *, actor, account, quadrant: str | None = None):
        q = quadrant or (data.get("quadrant") if data is not None else "") or ""
        super().__init__(data, initial={"quadrant": q}, auto_id=f"id_swot_{q}_%s")
        self.actor = actor
        self.account = account
        self.quadrant = q
        self.fields["text"].widget.attrs.update(
            maxlength=str(services.SWOT_TEXT_MAX), placeholder=gettext("Add a line…")
        )

    def save(self):
        data = self.cleaned_data
        return self.run(
            lambda: services.swot_item_add(
                actor=self.actor,
                account=self.account,
                quadrant=data["quadrant"],
                text=data.get("text") or "",
            )
        )


# --- the position ----------------------------------------------------------------------


class PositionForm(ServiceForm):
    posture = forms.ChoiceField(label=_("Posture"), required=False, widget=forms.RadioSelect)
    barrier_technical = forms.BooleanField(
        label=_("Technical barrier"),
        required=False,
        help_text=_("Our specifications or patents are written into their designs."),
    )
    barrier_commercial = forms.BooleanField(
        label=_("Commercial barrier"),
        required=False,
        help_text=_("Contracts, pricing or service terms tie them to us."),
    )
    barrier_process = forms.BooleanField(
        label=_("Process embedding"),
        required=False,
        help_text=_("Our people or systems are part of their processes."),
    )
    notes = forms.CharField(
        label=_("Notes"),
        required=False,
        widget=forms.Textarea(
            attrs={"rows": 2, "placeholder": _("e.g. enter on cost and delivery time")}
        ),
    )

    # service field → form field
    ALIASES = {
        "barriers.technical": "barrier_technical",
        "barriers.commercial": "barrier_commercial",
        "barriers.process": "barrier_process",
    }

    def __init__(self, data=None, *, actor, account, position: Position | None = None):
        initial = (
            {
                "posture": position.posture,
                "barrier_technical": position.barrier_technical,
                "barrier_commercial": position.barrier_commercial,
                "barrier_process": position.barrier_process,
                "notes": position.notes,
            }
            if position is not None
            else {"posture": ""}
        )
        super().__init__(data, initial=initial, auto_id="id_position_%s")
        self.actor = actor
        self.account = account
        self.fields["posture"].choices = [("", _("Not decided")), *Posture.choices]

    def add_service_error(self, exc: DomainError) -> None:
        name = self.ALIASES.get(exc.field or "", exc.field)
        self.add_error(name if name in self.fields else None, str(exc.message))

    def save(self) -> Position | None:
        data = self.cleaned_data
        return self.run(
            lambda: services.position_set(
                actor=self.actor,
                account=self.account,
                posture=data.get("posture") or "",
                barrier_technical=bool(data.get("barrier_technical")),
                barrier_commercial=bool(data.get("barrier_commercial")),
                barrier_process=bool(data.get("barrier_process")),
                notes=data.get("notes") or "",
            )
        )
