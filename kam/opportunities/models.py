"""Opportunities (销售机会): a deal moving through our playbook beside the
customer's own buying process. Stage changes go through services only."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from kam.core import clock
from kam.core.models import BaseModel


class Status(models.TextChoices):
    OPEN = "open", _("Open")
    WON = "won", _("Won")
    LOST = "lost", _("Lost")
    ABANDONED = "abandoned", _("Abandoned")


class Priority(models.TextChoices):
    A = "A", _("A – all-out")
    B = "B", _("B – limit time, maintain")
    C = "C", _("C – watch for change")
    D = "D", _("D – last")


class Opportunity(BaseModel):
    account = models.ForeignKey(
        "accounts.Account",
        verbose_name=_("account"),
        on_delete=models.PROTECT,
        related_name="opportunities",
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("owner"),
        on_delete=models.PROTECT,
        related_name="opportunities",
    )
    name = models.CharField(_("name"), max_length=200)
    code = models.CharField(_("code"), max_length=64, null=True, blank=True, unique=True)
    amount = models.DecimalField(_("amount"), max_digits=16, decimal_places=2)
    currency = models.CharField(_("currency"), max_length=3, default="CNY")
    expected_close = models.DateField(_("expected close"))
    playbook = models.CharField(_("playbook"), max_length=40)
    stage = models.CharField(_("stage"), max_length=40)
    stage_entered_at = models.DateTimeField(_("in this stage since"), default=clock.now)
    buyer_stage = models.CharField(_("buyer stage"), max_length=40)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.OPEN
    )
    priority = models.CharField(
        _("priority"), max_length=1, choices=Priority.choices, blank=True, default=""
    )
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    close_reason = models.TextField(_("close reason"), blank=True, default="")
    description = models.TextField(_("description"), blank=True, default="")

    class Meta:
        verbose_name_plural = _("opportunities")
        ordering = ["expected_close", "id"]
        indexes = [
            models.Index(fields=["owner", "status", "expected_close"]),
            models.Index(fields=["account", "status"]),
            models.Index(fields=["status", "stage"]),
        ]

    def __str__(self) -> str:
        return self.name
