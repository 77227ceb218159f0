"""The web forms. They parse and display; every write goes through the same
service the API calls, and a DomainError the service raises comes back as an
error on the field it names (or on the whole form)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from django import forms
from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _

from kam.accounts.models import Account, AccountType
from kam.accounts.services import account_create, account_update
from kam.contacts.models import Contact, ContactStatus
from kam.contacts.selectors import contacts_for_user
from kam.contacts.services import contact_create, contact_update
from kam.core.errors import DomainError, PreconditionFailed
from kam.core.models import Event
from kam.methodology import registry
from kam.opportunities.models import Opportunity, Status
from kam.opportunities.services import opportunity_create, opportunity_update
from kam.users.models import User
from kam.users.selectors import assignable_users
from kam.web import presenters

T = TypeVar("T")

# Services name some fields after the API (owner_id); the forms use the model name.
FIELD_ALIASES = {"owner_id": "owner", "reports_to_id": "reports_to"}


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, attrs=None):
        super().__init__(attrs=attrs, format="%Y-%m-%d")


class SearchInput(forms.TextInput):
    input_type = "search"

    def __init__(self, attrs=None):
        super().__init__(attrs={"autocomplete": "off", **(attrs or {})})


class ServiceForm(forms.Form):
    """A form whose save() calls a service and turns its DomainError into a form error."""

    def run(self, action: Callable[[], T], *, instance=None) -> T | None:
        try:
            return action()
        except DomainError as exc:
            self.add_service_error(exc)
            if instance is not None and instance.pk:
                # the service may have set fields in memory before refusing
                instance.refresh_from_db()
            return None

    def add_service_error(self, exc: DomainError) -> None:
        name = FIELD_ALIASES.get(exc.field or "", exc.field)
        if name not in self.fields:
            name = None
        self.add_error(name, str(exc.message))


class VersionedForm(ServiceForm):
    """An edit form of a versioned record (opportunity, account, stakeholder). It
    carries the version the user opened (hidden) and, with `show_hidden_initial`, the
    values they saw. When someone else saved meanwhile the service refuses (412):
    the form then lists what changed — the value the user saw, the value now and who
    changed it — keeps the user's input, and takes the new version, so sending it
    again is a deliberate choice over the other person's change."""

    stale_changes: list[dict] | None = None

    def track_version(self, instance) -> None:
        self.versioned = instance
        if instance is None:
            return
        self.fields["version"] = forms.IntegerField(
            widget=forms.HiddenInput, required=False, initial=instance.version
        )
        for name, field in self.fields.items():
            if name != "version":
                field.show_hidden_initial = True

    def expected_version(self) -> int | None:
        return self.cleaned_data.pop("version", None) if self.versioned is not None else None

    def add_service_error(self, exc: DomainError) -> None:
        if isinstance(exc, PreconditionFailed) and self.versioned is not None:
            self._explain_stale()
        super().add_service_error(exc)

    def _explain_stale(self) -> None:
        """List the fields the other person changed; keep the user's own edits, and
        take the new values wherever the user had left a field as they saw it."""
        record = self.versioned
        record.refresh_from_db()
        now = self.current_values(record)
        data = self.data.copy()
        rows = []
        for name, field in self.fields.items():
            if name == "version" or name not in now:
                continue
            seen = self._posted(field, self.add_initial_prefix(name))
            if not field.has_changed(seen, now[name]):
                continue
            rows.append(
                {"label": field.label, "seen": _shown(field, seen), "now": _shown(field, now[name])}
            )
            if not field.has_changed(seen, self._posted(field, self.add_prefix(name))):
                _put(data, self.add_prefix(name), now[name])  # untouched by the user
        last = (
            Event.objects.filter(entity=record._meta.model_name, entity_id=record.pk)
            .select_related("actor")
            .order_by("-at", "-id")
            .first()
        )
        self.stale_changes = rows
        self.stale_by = last.actor if last else None
        self.stale_at = last.at if last else None
        # the next send is based on the record as it is now
        data["version"] = str(record.version)
        self.data = data
        self.initial = {**self.initial, **now}

    def _posted(self, field, key: str):
        widget = field.hidden_widget() if key.startswith("initial-") else field.widget
        raw = widget.value_from_datadict(self.data, self.files, key)
        try:
            return field.to_python(raw)
        except forms.ValidationError:
            return raw

    def current_values(self, record) -> dict:
        """The record's values in the form's terms (override where they differ)."""
        return forms.model_to_dict(record, fields=[n for n in self.fields if n != "version"])


def _put(data, key: str, value) -> None:
    """Write a value into a form's QueryDict as a browser would have sent it."""
    if isinstance(value, list | tuple):
        data.setlist(key, [str(getattr(v, "pk", v)) for v in value])
    elif value is True:
        data[key] = "on"
    elif value is False:
        data.pop(key, None)  # an unticked box is not sent at all
    elif value is None:
        data[key] = ""
    else:
        data[key] = str(getattr(value, "pk", value))


def _shown(field, value) -> str:
    """A value as the user reads it: a choice by its label, empty as a dash."""
    if value in (None, "", []):
        return "—"
    choices = getattr(field, "choices", None)
    if choices is not None:
        names = {str(k): str(v) for k, v in choices if k not in ("", None)}
        if isinstance(value, list | tuple):
            return ", ".join(names.get(str(getattr(v, "pk", v)), str(v)) for v in value)
        return names.get(str(getattr(value, "pk", value)), str(value))
    return str(value)


class UserChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: User) -> str:
        return str(obj)


def owner_queryset(actor, current_owner_id: int | None = None) -> QuerySet[User]:
    """Whom the actor may give the record to, plus its present owner so that
    editing other fields never forces a reassignment."""
    allowed = Q(pk__in=assignable_users(actor).values("pk"))
    if current_owner_id:
        allowed |= Q(pk=current_owner_id)
    return User.objects.filter(allowed).order_by("username")


# --- accounts -------------------------------------------------------------------

ACCOUNT_FIELDS = (
    "name",
    "code",
    "owner",
    "industry",
    "region",
    "account_type",
    "value_positioning",
    "nature",
    "size",
    "annual_revenue",
    "collection_cycle_days",
    "receivables",
    "credit_limit",
    "notes",
)


class AccountForm(VersionedForm):
    def __init__(self, data=None, *, actor, instance: Account | None = None):
        initial = (
            forms.model_to_dict(instance, fields=ACCOUNT_FIELDS)
            if instance
            else {"owner": actor.pk}
        )
        super().__init__(data, initial=initial)
        self.actor = actor
        self.instance = instance
        self.fields.update(
            forms.fields_for_model(
                Account,
                fields=ACCOUNT_FIELDS,
                widgets={"notes": forms.Textarea(attrs={"rows": 4})},
                field_classes={"owner": UserChoiceField},
            )
        )
        owner = self.fields["owner"]
        owner.queryset = owner_queryset(actor, instance.owner_id if instance else None)
        owner.empty_label = None
        owner.required = True
        self.fields["value_positioning"] = forms.TypedChoiceField(
            label=_("Value positioning fit"),
            required=False,
            coerce=int,
            empty_value=None,
            choices=[("", "—"), *((n, str(n)) for n in range(1, 6))],
            help_text=_(
                "How well what we offer matches the value this customer seeks (价值定位): "
                "1 poorly … 5 exactly. One input of the multi-indicator grade."
            ),
        )
        self.track_version(instance)

    def save(self) -> Account | None:
        data: dict[str, Any] = dict(self.cleaned_data)
        if self.instance is None:
            return self.run(lambda: account_create(actor=self.actor, **data))
        version = self.expected_version()
        data.pop("version", None)
        return self.run(
            lambda: account_update(
                actor=self.actor, account=self.instance, expected_version=version, **data
            ),
            instance=self.instance,
        )


class AccountFilterForm(forms.Form):
    q = forms.CharField(label=_("Search"), required=False, max_length=200)
    industry = forms.ChoiceField(label=_("Industry"), required=False)
    account_type = forms.ChoiceField(label=_("Account type"), required=False)

    def __init__(self, data=None, *, industries: list[str]):
        super().__init__(data)
        self.fields["industry"].choices = [("", _("All industries"))] + [(i, i) for i in industries]
        self.fields["account_type"].choices = [("", _("All types")), *AccountType.choices]
        self.fields["q"].widget = SearchInput(attrs={"placeholder": _("Name or code")})

    def filters(self) -> dict[str, str]:
        self.is_valid()
        data = getattr(self, "cleaned_data", {})
        return {k: data.get(k) or "" for k in ("q", "industry", "account_type")}


# --- contacts -------------------------------------------------------------------

CONTACT_FIELDS = (
    "name",
    "title",
    "department",
    "reports_to",
    "layer",
    "disc",
    "status",
    "joined_at",
    "left_at",
    "is_external",
    "phone",
    "email",
    "notes",
)


class ContactChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Contact) -> str:
        return f"{obj.name} — {obj.title}" if obj.title else obj.name


class ContactForm(ServiceForm):
    def __init__(self, data=None, *, actor, account: Account, instance: Contact | None = None):
        initial = forms.model_to_dict(instance, fields=CONTACT_FIELDS) if instance else {}
        super().__init__(data, initial=initial)
        self.actor = actor
        self.account = account
        self.instance = instance
        self.fields.update(
            forms.fields_for_model(
                Contact,
                fields=CONTACT_FIELDS,
                widgets={
                    "notes": forms.Textarea(attrs={"rows": 3}),
                    "joined_at": DateInput(),
                    "left_at": DateInput(),
                },
                field_classes={"reports_to": ContactChoiceField},
            )
        )
        bosses = contacts_for_user(actor).filter(account_id=account.pk).order_by("name", "id")
        if instance is not None:
            bosses = bosses.exclude(pk=instance.pk)
        self.fields["reports_to"].queryset = bosses
        self.fields["reports_to"].empty_label = _("(nobody at the account)")
        self.fields["left_at"].help_text = _("Filled in with today's date if left empty.")

    def save(self) -> Contact | None:
        data: dict[str, Any] = dict(self.cleaned_data)
        if data.get("status") == ContactStatus.ACTIVE and "left_at" not in self.changed_data:
            # coming back: the old leaving date goes unless the user typed a new one
            data["left_at"] = None
        if self.instance is None:
            return self.run(lambda: contact_create(actor=self.actor, account=self.account, **data))
        return self.run(
            lambda: contact_update(actor=self.actor, contact=self.instance, **data),
            instance=self.instance,
        )


# --- opportunities --------------------------------------------------------------

OPPORTUNITY_FIELDS = ("name", "code", "owner", "amount", "currency", "expected_close")


class OpportunityForm(VersionedForm):
    """The deal's facts. The seller stage is not here on purpose: it moves only
    through the process engine, gate by gate."""

    def __init__(self, data=None, *, actor, account: Account, instance: Opportunity | None = None):
        if instance is not None:
            initial = forms.model_to_dict(
                instance, fields=(*OPPORTUNITY_FIELDS, "buyer_stage", "description")
            )
        else:
            initial = {"owner": actor.pk, "playbook": registry.default_playbook_key()}
        super().__init__(data, initial=initial)
        self.actor = actor
        self.account = account
        self.instance = instance
        self.fields.update(
            forms.fields_for_model(
                Opportunity,
                fields=OPPORTUNITY_FIELDS,
                widgets={"expected_close": DateInput()},
                field_classes={"owner": UserChoiceField},
            )
        )
        self.fields["amount"].widget.attrs.update({"inputmode": "decimal", "step": "0.01"})
        owner = self.fields["owner"]
        owner.queryset = owner_queryset(actor, instance.owner_id if instance else None)
        owner.empty_label = None
        if instance is None:
            self.fields["playbook"] = forms.ChoiceField(
                label=_("Playbook"),
                choices=presenters.playbook_choices(),
                help_text=_("The seller process this deal follows; it cannot change later."),
            )
            self.fields["buyer_stage"] = forms.ChoiceField(
                label=_("Buyer stage"),
                required=False,
                choices=[("", _("(where the playbook starts)")), *presenters.buyer_stage_choices()],
                help_text=_("How far the customer's own buying process has come."),
            )
        else:
            self.fields["buyer_stage"] = forms.ChoiceField(
                label=_("Buyer stage"),
                choices=presenters.buyer_stage_choices(),
                help_text=_("How far the customer's own buying process has come."),
            )
        self.fields["description"] = forms.CharField(
            label=_("Description"),
            required=False,
            widget=forms.Textarea(attrs={"rows": 4}),
        )
        self.track_version(instance)

    def save(self) -> Opportunity | None:
        data: dict[str, Any] = dict(self.cleaned_data)
        if self.instance is None:
            if not data.get("buyer_stage"):
                data.pop("buyer_stage", None)
            return self.run(
                lambda: opportunity_create(actor=self.actor, account=self.account, **data)
            )
        version = self.expected_version()
        data.pop("version", None)
        return self.run(
            lambda: opportunity_update(
                actor=self.actor, opportunity=self.instance, expected_version=version, **data
            ),
            instance=self.instance,
        )


class OpportunityFilterForm(forms.Form):
    q = forms.CharField(label=_("Search"), required=False, max_length=200)
    status = forms.ChoiceField(label=_("Status"), required=False)
    # Free text behind a select: "<playbook>:<stage>" from the select, or a bare
    # stage key from a hand-written link (?stage=entry).
    stage = forms.CharField(label=_("Stage"), required=False, max_length=100)
    owner = forms.TypedChoiceField(label=_("Owner"), required=False, coerce=int)

    def __init__(self, data=None, *, actor):
        super().__init__(data)
        self.fields["q"].widget = SearchInput(
            attrs={"placeholder": _("Opportunity, account or code")}
        )
        self.fields["status"].choices = [("", _("All statuses")), *Status.choices]
        self.fields["stage"].widget = forms.Select(
            choices=[("", _("All stages")), *presenters.stage_filter_choices()]
        )
        owners = list(assignable_users(actor))
        self.fields["owner"].choices = [("", _("All owners"))] + [(u.pk, str(u)) for u in owners]
        self.show_owner = len(owners) > 1

    def filters(self) -> dict[str, Any]:
        self.is_valid()
        data = getattr(self, "cleaned_data", {})
        out: dict[str, Any] = {"q": data.get("q") or "", "status": data.get("status") or ""}
        stage = data.get("stage") or ""
        if ":" in stage:
            out["playbook"], out["stage"] = stage.split(":", 1)
        else:
            out["stage"] = stage
        if data.get("owner"):
            out["owner_id"] = data["owner"]
        return out
