"""Validating an account's segmentation attributes (Account.attributes) against the
variables of kam/methodology/models/segmentation.toml. Stub: filled in by the
segmentation work."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _

from kam.core.errors import ValidationFailed


def clean_attributes(value: Any, *, field: str = "attributes") -> dict:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ValidationFailed(
            _("Give the attributes as an object of variable: value."), field=field
        )
    return dict(value)
