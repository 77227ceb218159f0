"""Customer accounts (大客户) with the attributes SPEC §6 grades them on."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from kam.core.models import BaseModel


class Nature(models.TextChoices):
    """Ownership nature (企业性质)."""

    SOE = "soe", _("State-owned")
    PRIVATE = "private", _("Private")
    FOREIGN = "foreign", _("Foreign-owned")
    JV = "jv", _("Joint venture")
    PUBLIC_INSTITUTION = "public_institution", _("Public institution")


class Size(models.TextChoices):
    SMALL = "small", _("Small")
    MEDIUM = "medium", _("Medium")
    LARGE = "large", _("Large")
    VERY_LARGE = "very_large", _("Very large")


class AccountType(models.TextChoices):
    """三类大客户, SPEC §6."""

    TRANSACTIONAL = "transactional", _("Transactional")
    VALUE = "value", _("Value")
    STRATEGIC = "strategic", _("Strategic")


class Account(BaseModel):
    name = models.CharField(_("name"), max_length=200)
    code = models.CharField(
        _("code"),
        max_length=64,
        null=True,
        blank=True,
        unique=True,
        help_text=_("Your own reference for this customer, e.g. from the ERP."),
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("account manager"),
        on_delete=models.PROTECT,
        related_name="accounts",
    )
    industry = models.CharField(_("industry"), max_length=100, blank=True, default="")
    region = models.CharField(_("region"), max_length=100, blank=True, default="")
    size = models.CharField(_("size"), max_length=20, choices=Size.choices, blank=True, default="")
    nature = models.CharField(
        _("ownership nature"), max_length=20, choices=Nature.choices, blank=True, default=""
    )
    account_type = models.CharField(
        _("account type"), max_length=20, choices=AccountType.choices, blank=True, default=""
    )
    annual_revenue = models.DecimalField(
        _("customer's annual revenue"), max_digits=16, decimal_places=2, null=True, blank=True
    )
    collection_cycle_days = models.PositiveIntegerField(
        _("collection cycle (days)"), null=True, blank=True
    )
    receivables = models.DecimalField(
        _("receivables"), max_digits=16, decimal_places=2, null=True, blank=True
    )
    credit_limit = models.DecimalField(
        _("credit limit"), max_digits=16, decimal_places=2, null=True, blank=True
    )
    notes = models.TextField(_("notes"), blank=True, default="")

    class Meta:
        ordering = ["name", "id"]
        indexes = [models.Index(fields=["owner", "name"]), models.Index(fields=["name"])]

    def __str__(self) -> str:
        return self.name
