"""The forms of market segmentation (市场细分): a segment (name, description, the
definition as one field per variable grouped as the model groups them, the scores as
1–5 selects with their guide) and an account's segmentation profile (one field per
attribute variable). They only parse and display; save() calls one service and a
DomainError lands on the field it names (`definition.<var>` → `def_<var>`,
`scores.<key>` → `score_<key>`, `attributes.<var>` → `attr_<var>`)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from django import forms
from django.utils.translation import gettext_lazy as _

from kam.accounts.models import Account
from kam.accounts.services import account_update
from kam.core.errors import DomainError
from kam.methodology import registry
from kam.methodology.segmentation import SCORE_MAX, SCORE_MIN, TEXT_MAX
from kam.segments.models import Segment
from kam.segments.services import DESCRIPTION_MAX, NAME_MAX, segment_create, segment_update
from kam.web import presenters
from kam.web.forms import ServiceForm

# Free-text values are typed in one box, separated by commas (either width) or semicolons.
SEPARATORS = re.compile(r"[,，;；、\n]+")
PREFIXES = {"definition.": "def_", "scores.": "score_", "attributes.": "attr_"}


def _split(text: str) -> list[str]:
    return [part.strip() for part in SEPARATORS.split(text or "") if part.strip()]


def _form_field(service_field: str | None) -> str | None:
    for prefix, short in PREFIXES.items():
        if service_field and service_field.startswith(prefix):
            return short + service_field.removeprefix(prefix)
    return service_field


@dataclass
class FieldGroup:
    key: str
    name: str
    fields: list  # bound fields


class _SegmentationForm(ServiceForm):
    def add_service_error(self, exc: DomainError) -> None:
        name = _form_field(exc.field)
        self.add_error(name if name in self.fields else None, str(exc.message))


class SegmentForm(_SegmentationForm):
    name = forms.CharField(label=_("Name"), max_length=NAME_MAX, required=False)
    description = forms.CharField(
        label=_("Description"),
        required=False,
        max_length=DESCRIPTION_MAX,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def __init__(self, data=None, *, actor, instance: Segment | None = None):
        initial: dict = {}
        if instance is not None:
            initial = {"name": instance.name, "description": instance.description}
            for key, values in (instance.definition or {}).items():
                initial[f"def_{key}"] = values
            for key, score in (instance.scores or {}).items():
                initial[f"score_{key}"] = score
        super().__init__(data, initial=initial)
        self.actor = actor
        self.instance = instance
        self.model = registry.current().segmentation
        lang = presenters.language()
        for variable in self.model.variables:
            name = f"def_{variable.key}"
            if variable.is_text:
                self.fields[name] = forms.CharField(
                    label=variable.name.get(lang),
                    required=False,
                    help_text=_(
                        "Any of these texts, separated by commas; matches part of the value."
                    ),
                )
                if instance is not None and variable.key in (instance.definition or {}):
                    self.initial[name] = ", ".join(instance.definition[variable.key])
            else:
                self.fields[name] = forms.MultipleChoiceField(
                    label=variable.name.get(lang),
                    required=False,
                    choices=[(o.key, o.name.get(lang)) for o in variable.options],
                    widget=forms.CheckboxSelectMultiple,
                )
        choices = [("", "—"), *[(n, str(n)) for n in range(SCORE_MIN, SCORE_MAX + 1)]]
        for criterion in self.model.criteria:
            self.fields[f"score_{criterion.key}"] = forms.TypedChoiceField(
                label=criterion.name.get(lang),
                choices=choices,
                coerce=int,
                empty_value=None,
                required=False,
                help_text=criterion.guide.get(lang),
            )

    def variable_groups(self) -> list[FieldGroup]:
        lang = presenters.language()
        return [
            FieldGroup(g.key, g.name.get(lang), [self[f"def_{v.key}"] for v in g.variables])
            for g in self.model.groups
        ]

    def score_headings(self) -> list[FieldGroup]:
        lang = presenters.language()
        return [
            FieldGroup(h.key, h.name.get(lang), [self[f"score_{c.key}"] for c in h.criteria])
            for h in self.model.headings
        ]

    def save(self) -> Segment | None:
        data = self.cleaned_data
        definition: dict[str, list[str]] = {}
        for variable in self.model.variables:
            value = data.get(f"def_{variable.key}")
            values = _split(value) if variable.is_text else list(value or [])
            if values:
                definition[variable.key] = values
        scores = {
            c.key: data[f"score_{c.key}"]
            for c in self.model.criteria
            if data.get(f"score_{c.key}") is not None
        }
        fields = {
            "name": data.get("name") or "",
            "description": data.get("description") or "",
            "definition": definition,
            "scores": scores,
        }
        if self.instance is None:
            return self.run(lambda: segment_create(actor=self.actor, **fields))
        return self.run(
            lambda: segment_update(actor=self.actor, segment=self.instance, **fields),
            instance=self.instance,
        )


class AttributesForm(_SegmentationForm):
    """The account's segmentation profile: one value per attribute variable."""

    def __init__(self, data=None, *, actor, account: Account):
        stored = account.attributes if isinstance(account.attributes, dict) else {}
        super().__init__(data, initial={f"attr_{k}": v for k, v in stored.items()})
        self.actor = actor
        self.account = account
        self.model = registry.current().segmentation
        lang = presenters.language()
        for variable in self.model.attribute_variables:
            name = f"attr_{variable.key}"
            if variable.is_text:
                self.fields[name] = forms.CharField(
                    label=variable.name.get(lang), required=False, max_length=TEXT_MAX
                )
            else:
                self.fields[name] = forms.ChoiceField(
                    label=variable.name.get(lang),
                    required=False,
                    choices=[("", _("— not known —"))]
                    + [(o.key, o.name.get(lang)) for o in variable.options],
                )

    def groups(self) -> list[FieldGroup]:
        lang = presenters.language()
        out = []
        for group in self.model.groups:
            fields = [self[f"attr_{v.key}"] for v in group.variables if v.is_attribute]
            if fields:
                out.append(FieldGroup(group.key, group.name.get(lang), fields))
        return out

    def save(self) -> Account | None:
        data = self.cleaned_data
        attributes = {
            v.key: data.get(f"attr_{v.key}") or ""
            for v in self.model.attribute_variables
            if data.get(f"attr_{v.key}")
        }
        return self.run(
            lambda: account_update(actor=self.actor, account=self.account, attributes=attributes),
            instance=self.account,
        )
