"""Optimistic concurrency: several people edit the same deal.

Each versioned record (opportunity, account, stakeholder) carries a `version` that
every save raises by one. Reads give it out (in the body and as the `ETag`
header); a write may name the version it was based on (`If-Match`, or a form's
hidden field). The write service locks the row, and if the record moved on since,
it refuses with 412 instead of overwriting someone else's change.

Locking the row first also serialises writers that name no version: the service
works on the record as it is now, never on a copy read before another write
committed (two stage advances cannot both start from the same stage)."""

from __future__ import annotations

import re

from django.db import models
from django.db.models import F
from django.utils.translation import gettext as _

from kam.core.errors import PreconditionFailed, ValidationFailed


class Versioned(models.Model):
    version = models.PositiveIntegerField(default=1, editable=False)

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        """Raise the version in the database (F() + 1, so two writers that both
        started from version 3 end at 5, never both at 4), then read it back."""
        update_fields = kwargs.get("update_fields")
        if self._state.adding or (update_fields is not None and not update_fields):
            return super().save(*args, **kwargs)
        if update_fields is not None:
            kwargs["update_fields"] = {*update_fields, "version"}
        self.version = F("version") + 1
        try:
            super().save(*args, **kwargs)
        finally:
            self.version = (
                type(self)._base_manager.filter(pk=self.pk).values_list("version", flat=True).get()
            )


def etag(record: Versioned) -> str:
    return f'"{record.version}"'


_TAG = re.compile(r'^\s*(?:W/)?"?([0-9]{1,18})"?\s*$')


def parse_if_match(header: str | None) -> int | None:
    """The version an `If-Match` header names; None when absent or `*` (no check).
    Several tags are not supported: a record has one current version."""
    if header is None or header.strip() in ("", "*"):
        return None
    found = _TAG.match(header)
    if not found:
        raise ValidationFailed(
            _('If-Match must be the ETag of a read, e.g. "3" (got %(value)s).')
            % {"value": header[:40]},
            field="If-Match",
        )
    return int(found.group(1))


def lock_for_change(record: Versioned, expected_version: int | None = None) -> None:
    """Inside the write's transaction: lock the row, load its current values into
    `record`, and refuse with 412 when `expected_version` is given and stale.
    The caller's transaction must be open (services are @transaction.atomic)."""
    model = type(record)
    fresh = model._base_manager.select_for_update().filter(pk=record.pk).first()
    if fresh is None:
        # Deleted meanwhile: the same answer as an unknown record.
        from kam.core.errors import NotFound

        raise NotFound(_("This record was deleted by someone else."))
    for field in model._meta.concrete_fields:
        setattr(record, field.attname, getattr(fresh, field.attname))
    check_version(fresh, expected_version)


def check_version(fresh: Versioned, expected_version: int | None) -> None:
    """412 when the client based its change on another version than `fresh`'s."""
    model = type(fresh)
    if expected_version is not None and expected_version != fresh.version:
        raise PreconditionFailed(
            _(
                "Someone else changed this %(what)s after you opened it. Look at the "
                "current values, then make your change again."
            )
            % {"what": model._meta.verbose_name},
            field="If-Match",
            extra={"version": fresh.version, "your_version": expected_version},
        )
