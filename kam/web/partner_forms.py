"""The forms of the partner pages (交互式合作营销, SPEC §7): the partner itself, a
referral to add, the release of a held commission (admins, with the customer's
written disclosure) and a payout (admins). Like every form here they only parse and
display: each save() calls one service of kam.partners.services, and a DomainError it
raises lands on the field it names. A refusal the user may not get round
(PermissionDenied) is not a form error: it propagates and becomes the 403 page."""

from __future__ import annotations

from typing import Any

from django import forms
from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _

from kam.accounts.models import Account
from kam.accounts.selectors import accounts_for_user
from kam.core.errors import DomainError, PermissionDenied
from kam.core.uploads import DOCUMENT_TYPES
from kam.opportunities.models import Opportunity
from kam.opportunities.selectors import opportunities_for_user
from kam.partners import programmes, services
from kam.partners.models import NAME_MAX, NOTE_MAX, REFERENCE_MAX, TERMS_MAX, Kind, Partner
from kam.users.models import User
from kam.web.forms import DateInput, SearchInput, ServiceForm, UserChoiceField, owner_queryset

# The services name fields after the API; the forms after the model.
PARTNER_ALIASES = {
    "owner_id": "owner",
    "employer_account_id": "employer_account",
    "opportunity_id": "opportunity",
}
ACCEPT = ",".join(f".{ext}" for ext in DOCUMENT_TYPES)


class PartnerServiceForm(ServiceForm):
    def run(self, action, *, instance=None):
        try:
            return action()
        except PermissionDenied:
            raise
        except DomainError as exc:
            self.add_service_error(exc)
            if instance is not None and instance.pk:
                instance.refresh_from_db()
            return None

    def add_service_error(self, exc: DomainError) -> None:
        name = PARTNER_ALIASES.get(exc.field or "", exc.field)
        self.add_error(name if name in self.fields else None, str(exc.message))


class AccountChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Account) -> str:
        return obj.name


class DealChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Opportunity) -> str:
        return f"{obj.name} — {obj.account.name}"


programme_choices = programmes.programme_choices
programme_name = programmes.programme_name


def employer_queryset(user, current_id: int | None = None) -> QuerySet[Account]:
    """The accounts the user sees, plus the partner's present employer so that
    editing other fields never drops it."""
    allowed = Q(pk__in=accounts_for_user(user).values("pk"))
    if current_id:
        allowed |= Q(pk=current_id)
    return Account.objects.filter(allowed).order_by("name", "id")


# --- the partner ---------------------------------------------------------------------

PARTNER_FIELDS = (
    "name",
    "employer_account",
    "position",
    "phone",
    "agreement_date",
    "agreement_terms",
    "programme",
    "owner",
    "notes",
)


class PartnerForm(PartnerServiceForm):
    name = forms.CharField(label=_("Name"), max_length=NAME_MAX)
    employer_account = AccountChoiceField(
        label=_("Employed by (customer)"),
        queryset=Account.objects.none(),
        required=False,
        help_text=_(
            "The customer this person works for, if any. Commissions on deals this customer "
            "buys are held as a conflict of interest until an administrator records the "
            "customer's written disclosure."
        ),
    )
    position = forms.CharField(label=_("Position"), max_length=NAME_MAX, required=False)
    phone = forms.CharField(label=_("Phone"), max_length=40, required=False)
    agreement_date = forms.DateField(
        label=_("Written agreement signed on"),
        required=False,
        widget=DateInput(),
        help_text=_("The programme pays by written agreement only: nothing is paid without it."),
    )
    agreement_terms = forms.CharField(
        label=_("Agreement terms"),
        max_length=TERMS_MAX,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    programme = forms.ChoiceField(label=_("Programme"))
    owner = UserChoiceField(label=_("Managed by"), queryset=User.objects.none())
    notes = forms.CharField(
        label=_("Notes"),
        max_length=NOTE_MAX,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    field_order = (
        "name",
        "position",
        "phone",
        "employer_account",
        "programme",
        "owner",
        "agreement_date",
        "agreement_terms",
        "notes",
    )

    def __init__(self, data=None, *, actor, instance: Partner | None = None):
        if instance is not None:
            initial = forms.model_to_dict(instance, fields=PARTNER_FIELDS)
        else:
            initial = {"owner": actor.pk, "programme": programmes.model().default}
        super().__init__(data, initial=initial)
        self.actor = actor
        self.instance = instance
        employer = self.fields["employer_account"]
        employer.queryset = employer_queryset(
            actor, instance.employer_account_id if instance else None
        )
        employer.empty_label = _("(not employed by a customer)")
        self.fields["programme"].choices = programme_choices()
        owner = self.fields["owner"]
        owner.queryset = owner_queryset(actor, instance.owner_id if instance else None)
        owner.empty_label = None

    def save(self) -> Partner | None:
        data: dict[str, Any] = dict(self.cleaned_data)
        if self.instance is None:
            return self.run(lambda: services.partner_create(actor=self.actor, **data))
        return self.run(
            lambda: services.partner_update(actor=self.actor, partner=self.instance, **data),
            instance=self.instance,
        )


class PartnerFilterForm(forms.Form):
    q = forms.CharField(label=_("Search"), required=False, max_length=120)

    def __init__(self, data=None):
        super().__init__(data)
        self.fields["q"].widget = SearchInput(
            attrs={"placeholder": _("Name or employer"), "maxlength": 120}
        )

    def filters(self) -> dict[str, str]:
        self.is_valid()
        return {"q": (getattr(self, "cleaned_data", {}).get("q") or "").strip()}


# --- referrals -----------------------------------------------------------------------


class ReferralForm(PartnerServiceForm):
    opportunity = DealChoiceField(
        label=_("Deal"), queryset=Opportunity.objects.none(), required=False
    )
    kind = forms.ChoiceField(
        label=_("Kind"),
        choices=Kind.choices,
        initial=Kind.DIRECT,
        help_text=_(
            "Direct: the partner brought this deal (commission on the money collected). "
            "Indirect: the partner introduced the customer; the sale counts toward the "
            "volume bonus."
        ),
    )
    referred_on = forms.DateField(
        label=_("Referred on"),
        required=False,
        widget=DateInput(),
        help_text=_("Today when left empty."),
    )
    note = forms.CharField(label=_("Note"), max_length=NOTE_MAX, required=False)

    def __init__(self, data=None, *, actor, partner: Partner):
        super().__init__(data)
        self.actor = actor
        self.partner = partner
        deals = self.fields["opportunity"]
        deals.queryset = (
            opportunities_for_user(actor)
            .exclude(referrals__partner=partner)
            .select_related("account")
            .order_by("account__name", "name", "id")
        )
        deals.empty_label = _("(choose a deal)")

    def clean_opportunity(self):
        deal = self.cleaned_data.get("opportunity")
        if deal is None:
            raise forms.ValidationError(_("Choose the deal the partner referred."))
        return deal

    def save(self):
        data = self.cleaned_data
        return self.run(
            lambda: services.referral_add(
                actor=self.actor,
                partner=self.partner,
                opportunity=data["opportunity"],
                kind=data.get("kind") or "",
                referred_on=data.get("referred_on"),
                note=data.get("note") or "",
            )
        )


class ReleaseForm(PartnerServiceForm):
    """An administrator releases a held commission with the customer's written
    disclosure: who approved it and when (note) and the signed document (file). The
    service checks both, so the fields are not required here."""

    note = forms.CharField(
        label=_("The customer's written disclosure"),
        max_length=NOTE_MAX,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Who at the customer approved it, in which document, and when."),
    )
    # A plain field: the upload reaches the service as sent, and check_document decides
    # (kind, size, content) with the messages the API gives too.
    file = forms.Field(
        label=_("Signed disclosure document"),
        required=False,
        widget=forms.FileInput(attrs={"accept": ACCEPT}),
        help_text=_("PDF, PNG or JPEG."),
    )

    def __init__(self, data=None, files=None, *, actor, referral):
        super().__init__(data, files)
        self.actor = actor
        self.referral = referral

    def save(self):
        data = self.cleaned_data
        return self.run(
            lambda: services.referral_release(
                actor=self.actor,
                referral=self.referral,
                note=data.get("note") or "",
                document=data.get("file"),
            )
        )


class PayoutForm(PartnerServiceForm):
    """Pay what is due for an ended period. `period` and `amount` are what the
    screen showed: a payout recorded meanwhile changes the due amount and the
    service refuses the stale one."""

    period = forms.CharField(widget=forms.HiddenInput, max_length=8)
    amount = forms.DecimalField(widget=forms.HiddenInput, max_digits=16, decimal_places=2)
    paid_on = forms.DateField(
        label=_("Paid on"),
        required=False,
        widget=DateInput(),
        help_text=_("Today when left empty."),
    )
    reference = forms.CharField(
        label=_("Reference"),
        max_length=REFERENCE_MAX,
        required=False,
        help_text=_("e.g. the bank transfer number"),
    )

    def __init__(self, data=None, *, actor, partner: Partner, initial=None):
        super().__init__(data, initial=initial)
        self.actor = actor
        self.partner = partner

    def save(self):
        data = self.cleaned_data
        return self.run(
            lambda: services.payout_record(
                actor=self.actor,
                partner=self.partner,
                period=data["period"],
                paid_on=data.get("paid_on"),
                reference=data.get("reference") or "",
                amount=data["amount"],
            )
        )
