"""The form of the opportunity page's payments card (回款): money collected on a won
deal. Like every form here it only parses and displays; save() calls
`kam.partners.services.payment_record`, whose checks (a number above zero, never
above what is still to collect, not before the win, not in the future) come back on
the field they name.

The amount and the date are plain text fields so the service, not the form, says
what is wrong with them — the same words the API answers with. The fields carry the
prefix "payment" because the milestone form on the same page also has a "date"."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from kam.core import clock
from kam.core.errors import Conflict, DomainError
from kam.opportunities.models import Opportunity
from kam.partners.models import REFERENCE_MAX, Payment
from kam.partners.services import payment_record
from kam.web.forms import DateInput
from kam.web.process_forms import ProcessForm


class PaymentForm(ProcessForm):
    amount = forms.CharField(
        label=_("Amount collected"),
        required=False,  # the service says what is missing
        widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"}),
    )
    date = forms.CharField(
        label=_("Collected on"),
        required=False,
        widget=DateInput(),
        help_text=_("The day the money came in; today if left empty."),
    )
    reference = forms.CharField(
        label=_("Reference"),
        required=False,
        max_length=REFERENCE_MAX,
        widget=forms.TextInput(attrs={"placeholder": _("e.g. bank slip or invoice number")}),
    )

    def __init__(self, data=None, *, actor, opportunity: Opportunity):
        super().__init__(data, initial={"date": clock.today().isoformat()}, prefix="payment")
        self.actor = actor
        self.opportunity = opportunity
        # A refusal that is no field's fault (the deal is not won): the view shows it
        # as a message instead of on a form the card does not draw.
        self.refusal: str = ""

    def add_service_error(self, exc: DomainError) -> None:
        if isinstance(exc, Conflict) and (exc.field or "") not in self.fields:
            self.refusal = str(exc.message)
            return
        super().add_service_error(exc)

    def save(self) -> Payment | None:
        data = self.cleaned_data
        return self.run(
            lambda: payment_record(
                actor=self.actor,
                opportunity=self.opportunity,
                amount=data.get("amount") or "",
                date=data.get("date") or None,
                reference=data.get("reference") or "",
            )
        )
