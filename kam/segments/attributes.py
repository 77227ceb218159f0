"""Validating an account's segmentation profile (Account.attributes) against the
variables of kam/methodology/models/segmentation.toml.

Only the variables whose source is "attribute" live here (industry, size, location
and ownership nature are the account's own fields). A categorical variable holds one
of its option keys, a free-text one (e.g. the application) a text of at most 100
characters. An empty value means "not known" and is dropped, so the stored profile
holds only what was said; matching treats a missing value as no match."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _

from kam.core import validation
from kam.core.errors import ValidationFailed
from kam.methodology import registry
from kam.methodology.segmentation import TEXT_MAX


def clean_attributes(value: Any, *, field: str = "attributes") -> dict:
    """The profile as stored: {variable_key: value} in the model's order, empty
    values left out. Raises ValidationFailed naming `<field>.<key>` at the first
    problem."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ValidationFailed(
            _("Give the attributes as an object of variable: value."), field=field
        )
    model = registry.current().segmentation
    known = {v.key: v for v in model.attribute_variables}
    for key in value:
        if key not in known:
            raise ValidationFailed(
                _("“%(key)s” is not a segmentation attribute; use any of: %(known)s.")
                % {"key": key, "known": ", ".join(known)},
                field=f"{field}.{key}",
            )
    out: dict[str, str] = {}
    for key, variable in known.items():
        if key not in value:
            continue
        raw = value[key]
        name = f"{field}.{key}"
        if isinstance(raw, list):
            raise ValidationFailed(_("Give one value, not a list."), field=name)
        if variable.is_text:
            text = validation.text(raw, field=name, max_length=TEXT_MAX)
        else:
            if raw is None or raw == "":
                continue
            if raw not in variable.option_keys:
                raise ValidationFailed(
                    _("“%(value)s” is not a value of %(variable)s; use one of: %(choices)s.")
                    % {
                        "value": raw,
                        "variable": key,
                        "choices": ", ".join(variable.option_keys),
                    },
                    field=name,
                )
            text = raw
        if text:
            out[key] = text
    return out
