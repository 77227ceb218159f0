"""SPEC §6: market segmentation (市场细分) — the industrial segmentation variables and
the criteria a segment is scored on, read from models/segmentation.toml, and the pure
arithmetic over them (no Django imports):

- `segment_score(model, scores)`: the 0–100 total, one sub-score per heading (size and
  growth, structural attractiveness, fit with our goals and resources) and whether
  every criterion was scored;
- `account_matches(model, definition, values)`: whether an account's values fall in a
  segment, the same decision kam/segments/selectors.py makes in SQL.

A segment's definition is {variable_key: [accepted values]}; an account is in the
segment when, for every variable listed, its value is one of the accepted ones (an
option key for a categorical variable; for a free-text variable, any of the texts
found in the account's value ignoring case). An empty definition matches every
account."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from kam.methodology.schema import Text, _check_key, check_unique

SCORE_MIN, SCORE_MAX = 1, 5
TEXT_MAX = 100  # a free-text value (of an account or in a definition)

ATTRIBUTE = "attribute"
# The account fields a variable may read, with the values a categorical one accepts
# (None: free text). Kept in step with kam.accounts.models by
# tests/methodology/test_segmentation_model.py.
ACCOUNT_FIELDS: dict[str, tuple[str, ...] | None] = {
    "industry": None,
    "region": None,
    "size": ("small", "medium", "large", "very_large"),
    "nature": ("soe", "private", "foreign", "jv", "public_institution"),
    "account_type": ("transactional", "value", "strategic"),
}


class Option(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    key: str
    name: Text

    _key = field_validator("key")(_check_key)


class Variable(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    key: str
    name: Text
    source: str
    options: list[Option] = Field(default_factory=list)
    # Filled in from the enclosing group by SegmentationModel.
    group: str = ""

    _key = field_validator("key")(_check_key)

    @field_validator("source")
    @classmethod
    def _source(cls, value: str) -> str:
        if value == ATTRIBUTE:
            return value
        field = value.removeprefix("account.")
        if not value.startswith("account.") or field not in ACCOUNT_FIELDS:
            known = ", ".join(f"account.{f}" for f in ACCOUNT_FIELDS)
            raise ValueError(f"'{value}' is not a known source; use 'attribute' or one of: {known}")
        return value

    @model_validator(mode="after")
    def _options(self) -> Variable:
        keys = [o.key for o in self.options]
        check_unique(keys, "option")
        if self.field is not None:
            allowed = ACCOUNT_FIELDS[self.field]
            if allowed is None and keys:
                raise ValueError(
                    f"options: {self.source} is free text; leave the options out "
                    "(its values match by substring)"
                )
            if allowed is not None:
                if not keys:
                    raise ValueError(f"options: list the values of {self.source} to offer")
                bad = [k for k in keys if k not in allowed]
                if bad:
                    raise ValueError(
                        f"options: '{bad[0]}' is not a value of {self.source}; "
                        f"use any of: {', '.join(allowed)}"
                    )
        return self

    @property
    def field(self) -> str | None:
        """The Account field it reads, or None for a profile attribute."""
        return None if self.source == ATTRIBUTE else self.source.removeprefix("account.")

    @property
    def is_attribute(self) -> bool:
        return self.source == ATTRIBUTE

    @property
    def is_text(self) -> bool:
        """Free text (no options): matched by case-insensitive substring."""
        return not self.options

    @property
    def option_keys(self) -> list[str]:
        return [o.key for o in self.options]

    def option_name(self, key: str, language: str | None) -> str:
        for option in self.options:
            if option.key == key:
                return option.name.get(language)
        return key


class Group(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    key: str
    name: Text
    variables: list[Variable] = Field(min_length=1)

    _key = field_validator("key")(_check_key)


class Criterion(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    key: str
    name: Text
    guide: Text  # "1 = … · 5 = …", 5 always the attractive end
    weight: float = Field(1, gt=0, le=1000)

    _key = field_validator("key")(_check_key)


class Heading(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    key: str
    name: Text
    weight: float = Field(gt=0, le=1000)
    criteria: list[Criterion] = Field(min_length=1)

    _key = field_validator("key")(_check_key)


class SegmentationModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    groups: list[Group] = Field(min_length=1)
    headings: list[Heading] = Field(min_length=1)

    @model_validator(mode="after")
    def _consistent(self) -> SegmentationModel:
        """Keys unique across the file; the error names the second place a key is used."""

        def once(items: list[tuple[str, str]], what: str) -> None:
            seen: dict[str, str] = {}
            for key, where in items:
                if key in seen:
                    raise ValueError(
                        f"{where}: {what} '{key}' is already used at {seen[key]}; "
                        "keys must be unique"
                    )
                seen[key] = where

        once([(g.key, f"groups[{i}].key") for i, g in enumerate(self.groups)], "group")
        variables = [
            (v, f"groups[{i}].variables[{j}]")
            for i, g in enumerate(self.groups)
            for j, v in enumerate(g.variables)
        ]
        once([(v.key, f"{where}.key") for v, where in variables], "variable")
        once(
            [(f"account.{v.field}", f"{where}.source") for v, where in variables if v.field],
            "source",
        )
        once([(h.key, f"headings[{i}].key") for i, h in enumerate(self.headings)], "heading")
        once(
            [
                (c.key, f"headings[{i}].criteria[{j}].key")
                for i, h in enumerate(self.headings)
                for j, c in enumerate(h.criteria)
            ],
            "criterion",
        )
        # Each variable knows its group (frozen models: set through object.__setattr__).
        for group in self.groups:
            for variable in group.variables:
                object.__setattr__(variable, "group", group.key)
        return self

    # --- look-ups ----------------------------------------------------------------------

    @property
    def variables(self) -> list[Variable]:
        return [v for g in self.groups for v in g.variables]

    @property
    def variable_keys(self) -> list[str]:
        return [v.key for v in self.variables]

    @property
    def attribute_variables(self) -> list[Variable]:
        return [v for v in self.variables if v.is_attribute]

    def variable(self, key: str) -> Variable | None:
        return next((v for v in self.variables if v.key == key), None)

    @property
    def criteria(self) -> list[Criterion]:
        return [c for h in self.headings for c in h.criteria]

    @property
    def criterion_keys(self) -> list[str]:
        return [c.key for c in self.criteria]

    def criterion(self, key: str) -> Criterion | None:
        return next((c for c in self.criteria if c.key == key), None)

    def score(self, scores: Mapping[str, int]) -> SegmentScore:
        return segment_score(self, scores)


# --- scoring ---------------------------------------------------------------------------


@dataclass(frozen=True)
class SegmentScore:
    total: float | None  # 0–100, one decimal; None when nothing is scored
    headings: dict[str, float | None]  # heading key → 0–100 sub-score (None: none scored)
    complete: bool  # every criterion has a score


def _round(value: Decimal) -> float:
    return float(value.quantize(Decimal("0.1"), ROUND_HALF_UP))


def segment_score(model: SegmentationModel, scores: Mapping[str, int]) -> SegmentScore:
    """A heading's sub-score is Σ weight × score / (5 × Σ weight) × 100 over its scored
    criteria (3 everywhere gives 60, as in the opportunity evaluation); the total is
    the sub-scores weighted by the heading weights. Criteria left unscored are left
    out of both (and `complete` is False), so a half-scored segment shows what is known
    rather than a score dragged down by blanks. `scores` holds whole numbers 1–5 (the
    service checks the input); unknown keys are ignored."""
    subs: dict[str, float | None] = {}
    exact: dict[str, Decimal] = {}
    complete = True
    for heading in model.headings:
        weighted = Decimal(0)
        weights = Decimal(0)
        for criterion in heading.criteria:
            value = scores.get(criterion.key)
            if value is None:
                complete = False
                continue
            weight = Decimal(str(criterion.weight))
            weighted += weight * value
            weights += weight
        if weights:
            exact[heading.key] = weighted * 100 / (SCORE_MAX * weights)
            subs[heading.key] = _round(exact[heading.key])
        else:
            subs[heading.key] = None
    if not exact:
        return SegmentScore(total=None, headings=subs, complete=False)
    heading_weights = {h.key: Decimal(str(h.weight)) for h in model.headings}
    total_weight = sum(heading_weights[k] for k in exact)
    total = sum(heading_weights[k] * v for k, v in exact.items()) / total_weight
    return SegmentScore(total=_round(total), headings=subs, complete=complete)


# --- matching --------------------------------------------------------------------------


def account_values(model: SegmentationModel, fields: Mapping[str, str], attributes) -> dict:
    """The account's value of every variable: account fields from `fields` (the
    Account's attribute values by field name), the rest from its `attributes`."""
    attributes = attributes if isinstance(attributes, Mapping) else {}
    out: dict[str, str] = {}
    for variable in model.variables:
        raw = fields.get(variable.field) if variable.field else attributes.get(variable.key)
        out[variable.key] = raw if isinstance(raw, str) else ""
    return out


def account_matches(
    model: SegmentationModel, definition: Mapping[str, list[str]], values: Mapping[str, str]
) -> bool:
    """Every listed variable holds one of its accepted values (AND across variables,
    OR within one). A free-text value matches when any accepted text occurs in it,
    ignoring case. A variable the model no longer knows, or listed with no values,
    does not restrict."""
    for key, accepted in definition.items():
        variable = model.variable(key)
        if variable is None or not accepted:
            continue
        value = values.get(key) or ""
        if variable.is_text:
            low = value.casefold()
            if not any(text.casefold() in low for text in accepted if text):
                return False
        elif value not in accepted:
            return False
    return True


def definition_parts(
    model: SegmentationModel, definition: Mapping[str, list[str]], language: str | None
) -> list[tuple[str, list[str]]]:
    """(variable name, accepted values' names) in the model's order, in `language`:
    what a page or the API shows as the definition in words. Free-text values are
    shown as given; variables the model no longer knows are left out."""
    parts: list[tuple[str, list[str]]] = []
    for variable in model.variables:
        accepted = definition.get(variable.key) or []
        if accepted:
            names = [a if variable.is_text else variable.option_name(a, language) for a in accepted]
            parts.append((variable.name.get(language), names))
    return parts
