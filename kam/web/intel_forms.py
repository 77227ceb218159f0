"""The forms of the opportunity page's intelligence card (情报): record an item with
the people it came from, and have another person confirm it. Like every form here
they only parse and display; save() calls one service of kam.intel.services and a
DomainError it raises lands on the field it names.

The choice of people is built from one list of the account's contacts handed in by
the page, so a card with many items and a confirm form each costs no query per form."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from kam.contacts.models import Contact
from kam.contacts.selectors import contacts_for_user
from kam.core import clock
from kam.core.errors import DomainError
from kam.intel.models import NOTE_MAX, IntelItem
from kam.intel.services import intel_add, intel_confirm
from kam.opportunities.models import Opportunity
from kam.web.forms import DateInput
from kam.web.process_forms import ProcessForm

# Service field → form field. The fields are named apart from the other forms of the
# opportunity page (criteria have "text", the buying centre "contact", milestones "note").
ALIASES = {
    "text": "intel_text",
    "source_contact_ids": "sources",
    "contact_id": "source",
    "note": "source_note",
}


def source_candidates(actor, opportunity: Opportunity) -> list[Contact]:
    """The people who can be a source: the account's active contacts the user sees."""
    return list(
        contacts_for_user(actor)
        .filter(account_id=opportunity.account_id, status="active")
        .order_by("name", "id")
    )


def _label(contact: Contact) -> str:
    return f"{contact.name} — {contact.title}" if contact.title else contact.name


class _IntelForm(ProcessForm):
    def add_service_error(self, exc: DomainError) -> None:
        name = ALIASES.get(exc.field or "", exc.field)
        self.add_error(name if name in self.fields else None, str(exc.message))


class IntelForm(_IntelForm):
    intel_text = forms.CharField(
        label=_("What we learned"),
        required=False,  # the service says what is missing
        widget=forms.Textarea(
            attrs={
                "rows": 2,
                "placeholder": _("e.g. the new managing director will chair the tender panel"),
            }
        ),
    )
    sources = forms.TypedMultipleChoiceField(
        label=_("From whom"),
        required=False,
        coerce=int,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Two different people confirming it make it verified (交叉验证)."),
    )
    learned_on = forms.DateField(label=_("Learned on"), required=False, widget=DateInput())
    critical = forms.BooleanField(
        label=_("Critical: the deal depends on it being true"), required=False
    )

    def __init__(
        self, data=None, *, actor, opportunity: Opportunity, contacts: list[Contact] | None = None
    ):
        super().__init__(data, initial={"learned_on": clock.today()})
        self.actor = actor
        self.opportunity = opportunity
        people = contacts if contacts is not None else source_candidates(actor, opportunity)
        self.people = {c.pk: c for c in people}
        self.fields["sources"].choices = [(c.pk, _label(c)) for c in people]

    def save(self) -> IntelItem | None:
        data = self.cleaned_data
        return self.run(
            lambda: intel_add(
                actor=self.actor,
                opportunity=self.opportunity,
                text=data.get("intel_text") or "",
                sources=[self.people[pk] for pk in data.get("sources") or []],
                learned_on=data.get("learned_on"),
                critical=bool(data.get("critical")),
            )
        )


class IntelConfirmForm(_IntelForm):
    """Someone who has not told us yet confirms an item."""

    source = forms.TypedChoiceField(label=_("Confirmed by"), coerce=int, empty_value=None)
    confirmed_on = forms.DateField(label=_("On"), required=False, widget=DateInput())
    source_note = forms.CharField(
        label=_("Note"),
        required=False,
        max_length=NOTE_MAX,
        widget=forms.TextInput(attrs={"placeholder": _("optional")}),
    )

    def __init__(
        self,
        data=None,
        *,
        actor,
        opportunity: Opportunity,
        item: IntelItem,
        contacts: list[Contact] | None = None,
    ):
        super().__init__(data, initial={"confirmed_on": clock.today()}, prefix=f"confirm-{item.pk}")
        self.actor = actor
        self.opportunity = opportunity
        self.item = item
        people = contacts if contacts is not None else source_candidates(actor, opportunity)
        told = {s.contact_id for s in item.sources.all()}
        # Everyone is accepted, so a stale page naming someone who already confirmed
        # gets the service's answer; only the others are offered.
        self.people = {c.pk: c for c in people}
        field = self.fields["source"]
        field.choices = [("", _("Choose a person…"))] + [(c.pk, _label(c)) for c in people]
        field.widget.choices = [("", _("Choose a person…"))] + [
            (c.pk, _label(c)) for c in people if c.pk not in told
        ]
        self.has_candidates = len(field.widget.choices) > 1

    def save(self):
        data = self.cleaned_data
        return self.run(
            lambda: intel_confirm(
                actor=self.actor,
                item=self.item,
                contact=self.people[data["source"]],
                confirmed_on=data.get("confirmed_on"),
                note=data.get("source_note") or "",
            )
        )
