"""Customer accounts (大客户) with the attributes SPEC §6 grades them on."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from kam.core.concurrency import Versioned
from kam.core.models import BaseModel
from kam.core.sharing import Membership


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


class Account(BaseModel, Versioned):
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
    # How well what we offer matches the value this customer seeks (价值定位), 1–5;
    # one input of the needs-fit group of the multi-indicator grade.
    value_positioning = models.PositiveSmallIntegerField(
        _("value positioning fit"), null=True, blank=True
    )
    # Values of the segmentation variables that are not plain account fields
    # (technology, purchasing approach, …), keyed by the variable keys of
    # kam/methodology/models/segmentation.toml.
    attributes = models.JSONField(_("segmentation attributes"), default=dict, blank=True)

    class Meta:
        verbose_name = _("account")
        ordering = ["name", "id"]
        indexes = [models.Index(fields=["owner", "name"]), models.Index(fields=["name"])]

    def __str__(self) -> str:
        return self.name


class RevenueRecord(BaseModel):
    """Revenue booked with the customer outside KAM's won deals — typically imported
    history from the ERP (SPEC §6: "plus imported historical revenue"). Counted in the
    value pyramid and the transaction indicators by `date`."""

    account = models.ForeignKey(
        Account, verbose_name=_("account"), on_delete=models.CASCADE, related_name="revenue"
    )
    date = models.DateField(_("date"))
    amount = models.DecimalField(_("revenue"), max_digits=16, decimal_places=2)
    profit = models.DecimalField(
        _("profit"), max_digits=16, decimal_places=2, null=True, blank=True
    )
    source = models.CharField(_("source"), max_length=100, blank=True, default="")
    note = models.CharField(_("note"), max_length=500, blank=True, default="")
    # Stable key from the source system so importing the same file twice adds nothing.
    external_key = models.CharField(
        _("external key"), max_length=100, null=True, blank=True, unique=True
    )

    class Meta:
        ordering = ["-date", "-id"]
        indexes = [models.Index(fields=["account", "date"]), models.Index(fields=["date"])]
        verbose_name = _("revenue record")
        verbose_name_plural = _("revenue records")

    def __str__(self) -> str:
        return f"{self.account_id} {self.date} {self.amount}"


class AccountNeed(BaseModel):
    """One dimension of the needs radar (需求分析): how much the customer cares about it
    (1–5) and how well we serve it (1–5)."""

    account = models.ForeignKey(
        Account, verbose_name=_("account"), on_delete=models.CASCADE, related_name="needs"
    )
    dimension = models.CharField(_("dimension"), max_length=100)
    importance = models.PositiveSmallIntegerField(_("importance to the customer"))
    our_fit = models.PositiveSmallIntegerField(_("our fit"))
    note = models.CharField(_("note"), max_length=500, blank=True, default="")
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["account", "dimension"], name="need_unique_dimension")
        ]
        verbose_name = _("need")
        verbose_name_plural = _("needs")

    def __str__(self) -> str:
        return self.dimension


class SatisfactionRecord(BaseModel):
    """The customer's satisfaction with us at a date (1–5), optionally as told by one
    contact; the series over time shows whether we are gaining or losing ground."""

    account = models.ForeignKey(
        Account,
        verbose_name=_("account"),
        on_delete=models.CASCADE,
        related_name="satisfaction_records",
    )
    date = models.DateField(_("date"))
    score = models.PositiveSmallIntegerField(_("satisfaction"))
    contact = models.ForeignKey(
        "contacts.Contact",
        verbose_name=_("told by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    note = models.CharField(_("note"), max_length=500, blank=True, default="")
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("recorded by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        ordering = ["date", "id"]
        indexes = [models.Index(fields=["account", "date"])]
        verbose_name = _("satisfaction record")
        verbose_name_plural = _("satisfaction records")

    def __str__(self) -> str:
        return f"{self.account_id} {self.date} {self.score}"


class AccountMember(Membership):
    """A colleague on the account's team, with read or edit access to the account,
    its contacts and its opportunities (kam.core.sharing)."""

    record_field = "account"
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="members")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["account", "user"], name="one_account_membership")
        ]
        indexes = [models.Index(fields=["user", "access"])]
