"""Shared model base and the append-only event log."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from kam.core import clock


class BaseModel(models.Model):
    created_at = models.DateTimeField(_("created"), default=clock.now, editable=False)
    updated_at = models.DateTimeField(_("updated"), default=clock.now)

    class Meta:
        abstract = True


class HistoryIsAppendOnly(RuntimeError):
    """Raised by any attempt to change or remove a recorded event."""


class EventQuerySet(models.QuerySet):
    """Events are written once and never changed: the bulk paths that would change or
    remove them (`.update()`, `.delete()`, `bulk_update`, which calls `.update()`)
    raise instead of running. Restoring a backup replaces the whole database file or
    runs pg_restore, beneath the ORM; the test suite empties tables with SQL flushes."""

    def update(self, **kwargs):
        raise HistoryIsAppendOnly("events are append-only: they cannot be updated")

    def delete(self):
        raise HistoryIsAppendOnly("events are append-only: they cannot be deleted")

    delete.queryset_only = True  # type: ignore[attr-defined]  # as Django's: not on the manager


class Event(models.Model):
    """One change that a user cares about: who, when, what, before -> after.

    Written by services only (`kam.core.audit.record`), never updated or deleted:
    this is the opportunity history, the audit trail, and the input of later rules
    such as `key_person_changed`."""

    at = models.DateTimeField(default=clock.now, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    entity = models.CharField(max_length=40)  # "account", "contact", "opportunity", ...
    entity_id = models.BigIntegerField()
    action = models.CharField(max_length=60)  # "created", "updated", "deleted", ...
    before = models.JSONField(default=dict, blank=True)
    after = models.JSONField(default=dict, blank=True)
    # The opportunity (if any) this event belongs to, so its history is one index scan.
    opportunity_id = models.BigIntegerField(null=True, blank=True)
    account_id = models.BigIntegerField(null=True, blank=True)
    note = models.TextField(blank=True, default="")

    objects = EventQuerySet.as_manager()

    class Meta:
        indexes = [
            models.Index(fields=["entity", "entity_id", "at"]),
            models.Index(fields=["opportunity_id", "at"]),
            models.Index(fields=["account_id", "at"]),
            # a period's events of one kind over the whole book (the dashboard's stage
            # advances and buyer-stage changes)
            models.Index(fields=["action", "at"], name="event_action_at"),
        ]
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.entity}#{self.entity_id} {self.action}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise HistoryIsAppendOnly("events are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise HistoryIsAppendOnly("events are append-only")
