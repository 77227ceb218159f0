"""Changing market segments (市场细分, SPEC §6). Segments are the organisation's:
every signed-in user reads them, managers and admins create, change and delete them.
Each service checks that, validates the definition against the segmentation variables
and the scores against the criteria, writes, and records an event (entity "segment")
in one transaction."""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from kam.core import audit, clock, validation
from kam.core.errors import PermissionDenied, ValidationFailed
from kam.core.permissions import is_manager
from kam.methodology import registry
from kam.methodology.segmentation import SCORE_MAX, SCORE_MIN, TEXT_MAX
from kam.segments.models import Segment

FIELDS = ("name", "description", "definition", "scores")
NAME_MAX = 200
DESCRIPTION_MAX = 5000
VALUES_MAX = 50  # accepted values of one variable


def check_may_edit(actor) -> None:
    """Segments steer where the whole team sells: only managers and admins change them."""
    if not is_manager(actor):
        raise PermissionDenied(
            _("Only managers and administrators can create, change or delete segments.")
        )


# --- checks ----------------------------------------------------------------------------


def clean_definition(value: Any, *, field: str = "definition") -> dict[str, list[str]]:
    """{variable: [accepted values]} checked against the variables: option keys for a
    categorical variable, texts (at most 100 characters) for a free-text one. A single
    value may be given without a list; repeats and empty lists are dropped. The result
    follows the model's order of variables and options."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ValidationFailed(
            _("Give the definition as an object of variable: [accepted values]."), field=field
        )
    model = registry.current().segmentation
    for key in value:
        if model.variable(key) is None:
            raise ValidationFailed(
                _("“%(key)s” is not a segmentation variable; use any of: %(known)s.")
                % {"key": key, "known": ", ".join(model.variable_keys)},
                field=f"{field}.{key}",
            )
    out: dict[str, list[str]] = {}
    for variable in model.variables:
        if variable.key not in value:
            continue
        name = f"{field}.{variable.key}"
        raw = value[variable.key]
        if raw is None:
            continue
        items = [raw] if isinstance(raw, str) else raw
        if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
            raise ValidationFailed(_("Give a list of values."), field=name)
        if len(items) > VALUES_MAX:
            raise ValidationFailed(
                _("Give at most %(max)d values.") % {"max": VALUES_MAX}, field=name
            )
        if variable.is_text:
            texts: list[str] = []
            for item in items:
                text = validation.text(item, field=name, max_length=TEXT_MAX)
                if text and text.casefold() not in {t.casefold() for t in texts}:
                    texts.append(text)
            chosen = texts
        else:
            bad = [i for i in items if i not in variable.option_keys]
            if bad:
                raise ValidationFailed(
                    _("“%(value)s” is not a value of %(variable)s; use any of: %(choices)s.")
                    % {
                        "value": bad[0],
                        "variable": variable.key,
                        "choices": ", ".join(variable.option_keys),
                    },
                    field=name,
                )
            chosen = [k for k in variable.option_keys if k in items]
        if chosen:
            out[variable.key] = chosen
    return out


def clean_scores(value: Any, *, field: str = "scores") -> dict[str, int]:
    """{criterion: whole number 1–5}; a criterion given null is left unscored."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ValidationFailed(_("Give the scores as an object of criterion: 1–5."), field=field)
    model = registry.current().segmentation
    for key in value:
        if model.criterion(key) is None:
            raise ValidationFailed(
                _("“%(key)s” is not a scoring criterion; use any of: %(known)s.")
                % {"key": key, "known": ", ".join(model.criterion_keys)},
                field=f"{field}.{key}",
            )
    out: dict[str, int] = {}
    for key in model.criterion_keys:
        if key not in value or value[key] is None:
            continue
        score = validation.whole_number(
            value[key], field=f"{field}.{key}", minimum=SCORE_MIN, maximum=SCORE_MAX
        )
        if score is not None:
            out[key] = score
    return out


def _clean(data: dict[str, Any], *, instance: Segment | None = None) -> dict[str, Any]:
    unknown = set(data) - set(FIELDS)
    if unknown:
        raise ValueError(f"not segment fields: {sorted(unknown)}")
    out: dict[str, Any] = {}
    for name, value in data.items():
        if name == "name":
            out[name] = validation.text(value, field=name, max_length=NAME_MAX, required=True)
            taken = Segment.objects.filter(name__iexact=out[name])
            if instance is not None:
                taken = taken.exclude(pk=instance.pk)
            if taken.exists():
                raise _name_taken(out[name])
        elif name == "description":
            out[name] = validation.text(value, field=name, max_length=DESCRIPTION_MAX)
        elif name == "definition":
            out[name] = clean_definition(value)
        elif name == "scores":
            out[name] = clean_scores(value)
    return out


def _name_taken(name: str) -> ValidationFailed:
    return ValidationFailed(
        _("Another segment is already called “%(name)s”; choose another name.") % {"name": name},
        field="name",
    )


# --- services --------------------------------------------------------------------------


@transaction.atomic
def segment_create(
    *,
    actor,
    name: str,
    description: str = "",
    definition: dict | None = None,
    scores: dict | None = None,
) -> Segment:
    check_may_edit(actor)
    data = _clean(
        {"name": name, "description": description, "definition": definition, "scores": scores}
    )
    segment = Segment(**data, created_by=actor)
    try:
        with transaction.atomic():
            segment.save()
    except IntegrityError:  # the same name saved meanwhile by someone else
        raise _name_taken(data["name"]) from None
    audit.record(
        actor=actor,
        entity="segment",
        entity_id=segment.pk,
        action="created",
        after=audit.snapshot(segment, FIELDS),
    )
    return segment


@transaction.atomic
def segment_update(*, actor, segment: Segment, **changes: Any) -> Segment:
    """Change any of name, description, definition, scores; a definition or scores
    given replace the stored ones as a whole."""
    check_may_edit(actor)
    data = _clean(changes, instance=segment)
    before, after = audit.apply_changes(segment, data)
    if not after:
        return segment
    segment.updated_at = clock.now()
    try:
        with transaction.atomic():
            segment.save(update_fields=[*after, "updated_at"])
    except IntegrityError:
        segment.refresh_from_db()
        raise _name_taken(data["name"]) from None
    audit.record(
        actor=actor,
        entity="segment",
        entity_id=segment.pk,
        action="updated",
        before=before,
        after=after,
    )
    return segment


@transaction.atomic
def segment_delete(*, actor, segment: Segment) -> None:
    check_may_edit(actor)
    audit.record(
        actor=actor,
        entity="segment",
        entity_id=segment.pk,
        action="deleted",
        before=audit.snapshot(segment, FIELDS),
    )
    segment.delete()
