"""The forms of the account page's profile cards: the account type questionnaire
(三类大客户), the needs radar (需求分析) and the satisfaction records. Like every form
here they only parse and display; each save() calls one service of
kam.accounts.needs, and a DomainError it raises lands on the field it names."""

from __future__ import annotations

from typing import Any

from django import forms
from django.forms import formset_factory
from django.utils.translation import gettext_lazy as _

from kam.accounts.models import Account, AccountNeed, SatisfactionRecord
from kam.accounts.needs import (
    DIMENSION_MAX,
    NEEDS_MAX,
    NOTE_MAX,
    SCORE_MAX,
    SCORE_MIN,
    needs_set,
    satisfaction_record_add,
)
from kam.contacts.models import Contact
from kam.contacts.selectors import contacts_for_user
from kam.core import clock
from kam.core.errors import DomainError
from kam.core.i18n import show
from kam.methodology import registry
from kam.web.forms import DateInput, ServiceForm

SATISFACTION_LEVELS = {
    1: _("very dissatisfied"),
    2: _("dissatisfied"),
    3: _("neither"),
    4: _("satisfied"),
    5: _("very satisfied"),
}


def satisfaction_label(score: int) -> str:
    return f"{score} – {SATISFACTION_LEVELS.get(score, '')}"


def _scores(blank: str) -> list[tuple[Any, str]]:
    return [("", blank)] + [(n, str(n)) for n in range(SCORE_MIN, SCORE_MAX + 1)]


# --- account type questionnaire ------------------------------------------------------


class TypeQuestionnaireForm(forms.Form):
    """One set of radio buttons per question of models/account_types.toml; every
    question may stay unanswered."""

    def __init__(self, data=None):
        super().__init__(data)
        for q in registry.current().account_types.questions:
            self.fields[q.key] = forms.ChoiceField(
                label=show(q.text),
                required=False,
                choices=[(a.key, show(a.text)) for a in q.answers],
                widget=forms.RadioSelect,
                help_text=show(q.help),
            )

    @classmethod
    def asked(cls, data) -> bool:
        """Whether a query string carries any answer (the page then shows a suggestion)."""
        keys = {q.key for q in registry.current().account_types.questions}
        return "asked" in data or any(k in keys for k in data)

    def answers(self) -> dict[str, str]:
        return {k: v for k, v in self.cleaned_data.items() if v}


# --- needs radar -----------------------------------------------------------------------


class NeedRowForm(forms.Form):
    """One row of the radar. Every field may be blank: a blank row is ignored, and the
    service says what a half-filled one lacks."""

    dimension = forms.CharField(
        label=_("Dimension"),
        required=False,
        max_length=DIMENSION_MAX,
        widget=forms.TextInput(
            attrs={"placeholder": _("e.g. delivery time"), "aria-label": _("Dimension")}
        ),
    )
    importance = forms.TypedChoiceField(
        label=_("Importance to the customer"),
        required=False,
        coerce=int,
        empty_value=None,
        choices=_scores("–"),
        widget=forms.Select(attrs={"aria-label": _("Importance to the customer")}),
    )
    our_fit = forms.TypedChoiceField(
        label=_("Our fit"),
        required=False,
        coerce=int,
        empty_value=None,
        choices=_scores("–"),
        widget=forms.Select(attrs={"aria-label": _("Our fit")}),
    )
    note = forms.CharField(
        label=_("Note"),
        required=False,
        max_length=NOTE_MAX,
        widget=forms.TextInput(attrs={"placeholder": _("optional"), "aria-label": _("Note")}),
    )

    def is_blank(self) -> bool:
        data = getattr(self, "cleaned_data", {})
        return not any(data.get(k) for k in ("dimension", "importance", "our_fit", "note"))


class NeedsForm:
    """The radar's rows as a formset (prefix "needs"), with room for new rows: the
    page's script adds and removes rows; without it, blank rows are there to fill and
    a "remove" box on each row."""

    prefix = "needs"

    def __init__(
        self, data=None, *, actor, account: Account, needs: list[AccountNeed] | None = None
    ):
        self.actor = actor
        self.account = account
        rows = needs if needs is not None else []
        factory = formset_factory(
            NeedRowForm,
            extra=3 if not rows else 1,
            can_delete=True,
            max_num=NEEDS_MAX,
            absolute_max=NEEDS_MAX + 20,
        )
        initial = [
            {
                "dimension": n.dimension,
                "importance": n.importance,
                "our_fit": n.our_fit,
                "note": n.note,
            }
            for n in rows
        ]
        self.formset = factory(data, initial=initial, prefix=self.prefix)
        self.errors: list[str] = []

    @property
    def rows(self) -> list[forms.Form]:
        """The rows, then the blank row the page's script copies to add one."""
        return [*self.formset.forms, self.formset.empty_form]

    @property
    def has_errors(self) -> bool:
        return (
            bool(self.errors)
            or any(f.errors for f in self.formset.forms)
            or bool(self.formset.is_bound and self.formset.non_form_errors())
        )

    def save(self) -> list[AccountNeed] | None:
        if not self.formset.is_valid():
            return None
        rows: list[dict[str, Any]] = []
        where: list[forms.Form] = []
        for form in self.formset.forms:
            if form.cleaned_data.get("DELETE") or form.is_blank():
                continue
            data = form.cleaned_data
            rows.append({k: data.get(k) for k in ("dimension", "importance", "our_fit", "note")})
            where.append(form)
        try:
            return needs_set(actor=self.actor, account=self.account, needs=rows)
        except DomainError as exc:
            parts = (exc.field or "").split(".")
            if len(parts) == 3 and parts[1].isdigit() and int(parts[1]) < len(where):
                where[int(parts[1])].add_error(parts[2], str(exc.message))
            else:
                self.errors.append(str(exc.message))
            return None


# --- satisfaction ------------------------------------------------------------------------


def _contact_label(contact: Contact) -> str:
    return f"{contact.name} — {contact.title}" if contact.title else contact.name


class SatisfactionForm(ServiceForm):
    score = forms.TypedChoiceField(
        label=_("Satisfaction"),
        coerce=int,
        empty_value=None,
        required=False,  # the service says it is missing
    )
    date = forms.DateField(label=_("Date"), required=False, widget=DateInput())
    contact = forms.TypedChoiceField(
        label=_("Told by"), required=False, coerce=int, empty_value=None
    )
    note = forms.CharField(
        label=_("Note"),
        required=False,
        max_length=NOTE_MAX,
        widget=forms.TextInput(attrs={"placeholder": _("what they said")}),
    )

    def __init__(self, data=None, *, actor, account: Account):
        super().__init__(data, initial={"date": clock.today()}, prefix="sat")
        self.actor = actor
        self.account = account
        self.fields["score"].choices = [("", _("Choose…"))] + [
            (n, satisfaction_label(n)) for n in range(SCORE_MAX, SCORE_MIN - 1, -1)
        ]
        people = list(
            contacts_for_user(actor)
            .filter(account_id=account.pk, status="active")
            .order_by("name", "id")
        )
        self.people = {c.pk: c for c in people}
        self.fields["contact"].choices = [("", _("(nobody in particular)"))] + [
            (c.pk, _contact_label(c)) for c in people
        ]

    def add_service_error(self, exc: DomainError) -> None:
        name = "contact" if exc.field == "contact_id" else exc.field
        self.add_error(name if name in self.fields else None, str(exc.message))

    def save(self) -> SatisfactionRecord | None:
        data = self.cleaned_data
        return self.run(
            lambda: satisfaction_record_add(
                actor=self.actor,
                account=self.account,
                score=data.get("score"),
                date=data.get("date"),
                contact=self.people.get(data["contact"]) if data.get("contact") else None,
                note=data.get("note") or "",
            )
        )
