"""The forms of the opportunity page's process-engine parts: advance / force, close,
buyer stage, evaluation, priority override, purchase criteria, milestones and the
buying centre (adding a person; editing one from the map's dialog). Like every form
here they only parse and display: each save() calls one service, and a DomainError it
raises lands on the field it names."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from kam.contacts.selectors import contacts_for_user
from kam.core import clock
from kam.core.errors import Conflict, DomainError, PermissionDenied
from kam.methodology import registry
from kam.opportunities import process
from kam.opportunities.models import Opportunity, Status
from kam.opportunities.services import opportunity_update
from kam.stakeholders.models import Role, Stakeholder, Stance
from kam.stakeholders.services import stakeholder_add, stakeholder_update
from kam.web import presenters
from kam.web.forms import ContactChoiceField, DateInput, ServiceForm, VersionedForm

REASON_ROWS = 3


class ProcessForm(ServiceForm):
    """A service form on the opportunity page. A refusal the user may not get round
    (PermissionDenied) is not a form error: it propagates and becomes the 403 page."""

    def run(self, action, *, instance=None):
        try:
            return action()
        except PermissionDenied:
            raise
        except DomainError as exc:
            self.add_service_error(exc)
            opportunity = getattr(self, "opportunity", None)
            if opportunity is not None and opportunity.pk:
                # a service may have set fields in memory before refusing
                opportunity.refresh_from_db()
            return None


# --- advance, force, close -----------------------------------------------------------


class AdvanceForm(ProcessForm):
    """Advance one stage; with `force` (managers only) past an unmet key node, with a
    reason. `from_stage` is the stage the user saw, so a move someone else made
    meanwhile is refused instead of skipping a stage."""

    from_stage = forms.CharField(required=False, widget=forms.HiddenInput)
    force = forms.BooleanField(required=False, widget=forms.HiddenInput)
    reason = forms.CharField(
        label=_("Reason for forcing"),
        required=False,
        widget=forms.Textarea(attrs={"rows": REASON_ROWS}),
        help_text=_("Recorded in the history; the unmet items stay open and cost win probability."),
    )

    def __init__(self, data=None, *, actor, opportunity: Opportunity):
        super().__init__(data, initial={"from_stage": opportunity.stage})
        self.actor = actor
        self.opportunity = opportunity
        self.refusal: Conflict | None = None

    def add_service_error(self, exc: DomainError) -> None:
        if isinstance(exc, Conflict):
            self.refusal = exc  # the page shows the gate's answer, not a field error
            return
        super().add_service_error(exc)

    @property
    def forcing(self) -> bool:
        data = getattr(self, "cleaned_data", None) or {}
        return bool(data.get("force"))

    def save(self) -> Opportunity | None:
        data = self.cleaned_data
        return self.run(
            lambda: process.opportunity_advance(
                actor=self.actor,
                opportunity=self.opportunity,
                force=bool(data.get("force")),
                reason=data.get("reason") or "",
                from_stage=data.get("from_stage") or None,
            )
        )


def can_win(opportunity: Opportunity, gate_met: bool) -> bool:
    """Won is offered only where the playbook wins the deal and the signed contract
    is recorded; before that the page explains how a deal is won."""
    try:
        stage = registry.playbook(opportunity.playbook).stage(opportunity.stage)
    except KeyError:
        return False
    return opportunity.status == Status.OPEN and stage.wins and gate_met


class CloseForm(ProcessForm):
    outcome = forms.ChoiceField(label=_("Outcome"), widget=forms.RadioSelect)
    reason = forms.CharField(
        label=_("Reason"),
        required=False,
        widget=forms.Textarea(attrs={"rows": REASON_ROWS}),
        help_text=_("Why it ended, e.g. “withdrew: the criteria favour a rival”."),
    )

    def __init__(self, data=None, *, actor, opportunity: Opportunity, winnable: bool = False):
        super().__init__(data, initial={"outcome": Status.LOST})
        self.actor = actor
        self.opportunity = opportunity
        choices = [(Status.LOST, Status.LOST.label), (Status.ABANDONED, Status.ABANDONED.label)]
        if winnable:
            choices.insert(0, (Status.WON, Status.WON.label))
        self.fields["outcome"].choices = choices

    def save(self) -> Opportunity | None:
        data = self.cleaned_data
        return self.run(
            lambda: process.opportunity_close(
                actor=self.actor,
                opportunity=self.opportunity,
                outcome=data["outcome"],
                reason=data.get("reason") or "",
            )
        )


class BuyerStageForm(ProcessForm):
    buyer_stage = forms.ChoiceField(label=_("The customer's buying stage"))

    def __init__(self, data=None, *, actor, opportunity: Opportunity):
        super().__init__(data, initial={"buyer_stage": opportunity.buyer_stage})
        self.actor = actor
        self.opportunity = opportunity
        self.fields["buyer_stage"].choices = [
            (key, f"{i}. {name}")
            for i, (key, name) in enumerate(presenters.buyer_stage_choices(), start=1)
        ]

    def save(self) -> Opportunity | None:
        return self.run(
            lambda: opportunity_update(
                actor=self.actor,
                opportunity=self.opportunity,
                buyer_stage=self.cleaned_data["buyer_stage"],
            ),
        )


# --- evaluation and priority -------------------------------------------------------

SCORE_CHOICES = [(i, str(i)) for i in range(1, 6)]


class EvaluationForm(ProcessForm):
    """One 1–5 score per factor of the evaluation model, each with its guide."""

    def __init__(self, data=None, *, actor, opportunity: Opportunity, scores: dict | None = None):
        super().__init__(data, initial=dict(scores or {}))
        self.actor = actor
        self.opportunity = opportunity
        lang = presenters.language()
        model = registry.current().evaluation
        self.groups: dict[str, list[str]] = {"opportunity": [], "competition": []}
        for factor in model.factors:
            self.fields[factor.key] = forms.TypedChoiceField(
                label=factor.name.get(lang),
                choices=SCORE_CHOICES,
                coerce=int,
                empty_value=None,
                required=False,  # the service names the factor left unscored
                widget=forms.RadioSelect,
                help_text=factor.guide.get(lang) if factor.guide else "",
            )
            self.groups.setdefault(factor.group, []).append(factor.key)

    def factor_fields(self):
        return [self[name] for name in self.fields]

    def add_service_error(self, exc: DomainError) -> None:
        name = (exc.field or "").removeprefix("scores.")
        self.add_error(name if name in self.fields else None, str(exc.message))

    def save(self):
        scores: dict[str, Any] = {k: v for k, v in self.cleaned_data.items() if v is not None}
        return self.run(
            lambda: process.evaluation_record(
                actor=self.actor, opportunity=self.opportunity, scores=scores
            )
        )


class PriorityForm(ProcessForm):
    grade = forms.ChoiceField(label=_("Priority"), required=False)
    reason = forms.CharField(
        label=_("Reason"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def __init__(self, data=None, *, actor, opportunity: Opportunity):
        initial = {"grade": opportunity.priority if opportunity.priority_overridden else ""}
        super().__init__(data, initial=initial)
        self.actor = actor
        self.opportunity = opportunity
        lang = presenters.language()
        grades = registry.current().priority.grades
        self.fields["grade"].choices = [
            ("", _("As the matrix computes it")),
            *[(g, grades[g].name.get(lang)) for g in sorted(grades)],
        ]

    def save(self):
        data = self.cleaned_data
        return self.run(
            lambda: process.priority_override(
                actor=self.actor,
                opportunity=self.opportunity,
                grade=data.get("grade") or None,
                reason=data.get("reason") or "",
            )
        )


# --- purchase criteria ------------------------------------------------------------

FAVOURABLE = {"": None, "yes": True, "no": False}


class CriterionForm(ProcessForm):
    text = forms.CharField(
        label=_("Purchase criterion"),
        required=False,  # the service says what is missing
        widget=forms.TextInput(
            attrs={"placeholder": _("e.g. spindle accuracy ≤ 2 µm, delivery within 90 days")}
        ),
    )
    shaped_by_us = forms.BooleanField(label=_("Shaped by us"), required=False)
    favourable = forms.ChoiceField(
        label=_("Favourable to us?"),
        required=False,
        choices=[("", _("Not known yet")), ("yes", _("Yes")), ("no", _("No"))],
    )

    def __init__(self, data=None, *, actor, opportunity: Opportunity):
        super().__init__(data)
        self.actor = actor
        self.opportunity = opportunity

    def save(self):
        data = self.cleaned_data
        return self.run(
            lambda: process.criterion_add(
                actor=self.actor,
                opportunity=self.opportunity,
                text=data.get("text") or "",
                shaped_by_us=bool(data.get("shaped_by_us")),
                favourable=FAVOURABLE.get(data.get("favourable") or ""),
            )
        )


# --- milestones -------------------------------------------------------------------


class KindSelect(forms.Select):
    """Each option says which of price / margin its kind asks for (data-fields), so
    the page shows only those inputs."""

    def __init__(self, *args, fields_by_kind: dict[str, list[str]] | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields_by_kind = fields_by_kind or {}

    def create_option(self, name, value, label, selected, index, subindex=None, attrs=None):
        option = super().create_option(name, value, label, selected, index, subindex, attrs)
        option["attrs"]["data-fields"] = " ".join(self.fields_by_kind.get(str(value), []))
        return option


class MilestoneForm(ProcessForm):
    kind = forms.ChoiceField(label=_("Milestone"))
    date = forms.CharField(label=_("Date"), required=False, widget=DateInput())
    price = forms.CharField(
        label=_("Price"),
        required=False,
        widget=forms.TextInput(attrs={"inputmode": "decimal"}),
    )
    margin = forms.CharField(
        label=_("Margin (%)"),
        required=False,
        widget=forms.TextInput(attrs={"inputmode": "decimal"}),
    )
    note = forms.CharField(label=_("Note"), required=False, max_length=2000)

    def __init__(self, data=None, *, actor, opportunity: Opportunity, suggested: str = ""):
        super().__init__(data, initial={"date": clock.today().isoformat(), "kind": suggested})
        self.actor = actor
        self.opportunity = opportunity
        lang = presenters.language()
        kinds = registry.current().milestones.kinds
        self.kind_fields = {k.key: list(k.fields) for k in kinds}
        self.fields["kind"].choices = [(k.key, k.name.get(lang)) for k in kinds]
        self.fields["kind"].widget = KindSelect(
            choices=self.fields["kind"].choices, fields_by_kind=self.kind_fields
        )
        self.fields["kind"].widget.attrs["data-milestone-kind"] = ""
        self.fields["price"].widget.attrs["data-milestone-field"] = "price"
        self.fields["margin"].widget.attrs["data-milestone-field"] = "margin"
        self.fields["date"].help_text = _("The day it happened; today if left empty.")

    def save(self):
        data = self.cleaned_data
        asked = self.kind_fields.get(data["kind"], [])
        return self.run(
            lambda: process.milestone_record(
                actor=self.actor,
                opportunity=self.opportunity,
                kind=data["kind"],
                date=data.get("date") or None,
                price=(data.get("price") or None) if "price" in asked else None,
                margin=(data.get("margin") or None) if "margin" in asked else None,
                note=data.get("note") or "",
            )
        )


# --- stakeholders: add (the simple entry) and edit (from the buying-centre map) -------


def _disc_choices() -> list[tuple[str, str]]:
    lang = presenters.language()
    model = registry.current().buying_centre.disc
    return [("", "—"), *[(letter, model[letter].name.get(lang)) for letter in model]]


def _int_or_none(value):
    return int(value) if value not in (None, "") else None


class StakeholderFields(ProcessForm):
    """The fields a person in the buying centre has, shared by the add form and the
    edit dialog; the service checks them again."""

    roles = forms.MultipleChoiceField(
        label=_("Roles in this decision"),
        required=False,
        choices=Role.choices,
        widget=forms.CheckboxSelectMultiple,
    )
    stance = forms.ChoiceField(label=_("Stance"), choices=Stance.choices, initial=Stance.UNKNOWN)
    is_coach = forms.BooleanField(
        label=_("Coach (insider who tells us what happens)"), required=False
    )
    disc = forms.ChoiceField(label=_("Personality (DISC)"), required=False)
    influence = forms.TypedChoiceField(
        label=_("Influence (1–5)"),
        required=False,
        coerce=int,
        empty_value=None,
        choices=[("", "—"), *[(str(i), str(i)) for i in range(1, 6)]],
        help_text=_("Weight in the decision: 5 = has the final say."),
    )
    relationship = forms.TypedChoiceField(
        label=_("Relationship"), required=False, coerce=int, empty_value=None
    )
    notes = forms.CharField(
        label=_("Notes"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, data=None, *, actor, opportunity: Opportunity, **kwargs):
        super().__init__(data, **kwargs)
        self.actor = actor
        self.opportunity = opportunity
        from kam.web.buying_centre import relationship_choices

        self.fields["disc"].choices = _disc_choices()
        self.fields["relationship"].choices = [("", "—"), *relationship_choices()]

    def stakeholder_data(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "roles": list(data.get("roles") or []),
            "stance": data.get("stance") or Stance.UNKNOWN,
            "is_coach": bool(data.get("is_coach")),
            "disc": data.get("disc") or "",
            "influence": _int_or_none(data.get("influence")),
            "relationship": _int_or_none(data.get("relationship")),
            "notes": data.get("notes") or "",
        }


class StakeholderForm(StakeholderFields):
    contact = ContactChoiceField(label=_("Person"), queryset=None, empty_label=None)
    field_order = ["contact"]

    def __init__(self, data=None, *, actor, opportunity: Opportunity):
        super().__init__(data, actor=actor, opportunity=opportunity)
        taken = Stakeholder.objects.filter(opportunity=opportunity).values("contact_id")
        self.fields["contact"].queryset = (
            contacts_for_user(actor)
            .filter(account_id=opportunity.account_id, status="active")
            .exclude(pk__in=taken)
            .order_by("name", "id")
        )

    def add_service_error(self, exc: DomainError) -> None:
        if exc.field == "contact_id":
            self.add_error("contact", str(exc.message))
            return
        super().add_service_error(exc)

    def save(self):
        data = self.cleaned_data
        return self.run(
            lambda: stakeholder_add(
                actor=self.actor,
                opportunity=self.opportunity,
                contact=data["contact"],
                **self.stakeholder_data(),
            )
        )


class StakeholderEditForm(StakeholderFields, VersionedForm):
    """Stance, roles and the rest of one person of the buying centre, from the map's
    dialog. Its ids carry the stakeholder's id: the page holds one dialog per person."""

    def __init__(self, data=None, *, actor, opportunity: Opportunity, stakeholder: Stakeholder):
        initial = self.current_values(stakeholder)
        super().__init__(
            data,
            actor=actor,
            opportunity=opportunity,
            initial=initial,
            auto_id=f"sh{stakeholder.pk}_%s",
        )
        self.stakeholder = stakeholder
        contact_disc = getattr(stakeholder.contact, "disc", "")
        if contact_disc:
            choices = list(self.fields["disc"].choices)
            name = dict(choices).get(contact_disc, contact_disc)
            choices[0] = ("", _("As on the contact: %(disc)s") % {"disc": name})
            self.fields["disc"].choices = choices
        self.track_version(stakeholder)

    def current_values(self, stakeholder: Stakeholder) -> dict:
        return {
            "roles": list(stakeholder.roles),
            "stance": stakeholder.stance,
            "is_coach": stakeholder.is_coach,
            "disc": stakeholder.disc,
            "influence": stakeholder.influence,
            "relationship": stakeholder.relationship,
            "notes": stakeholder.notes,
        }

    def save(self):
        version = self.expected_version()
        return self.run(
            lambda: stakeholder_update(
                actor=self.actor,
                stakeholder=self.stakeholder,
                expected_version=version,
                **self.stakeholder_data(),
            )
        )
