"""People at an account and its org chart (SPEC §4). A contact who leaves is
marked `left`, never deleted: the history of who held which post matters."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from kam.core.models import BaseModel


class Layer(models.TextChoices):
    DECISION = "decision", _("Decision layer")
    MANAGEMENT = "management", _("Management layer")
    OPERATION = "operation", _("Operation layer")


class Disc(models.TextChoices):
    D = "D", _("D – decisive")
    I = "I", _("I – influential")  # noqa: E741
    S = "S", _("S – steady")
    C = "C", _("C – analytical")


class ContactStatus(models.TextChoices):
    ACTIVE = "active", _("Active")
    LEFT = "left", _("Left")


class Contact(BaseModel):
    account = models.ForeignKey(
        "accounts.Account",
        verbose_name=_("account"),
        on_delete=models.PROTECT,
        related_name="contacts",
    )
    name = models.CharField(_("name"), max_length=100)
    # Your own reference for this person (e.g. the CRM's id): a re-import updates the
    # contact with this code instead of adding another.
    code = models.CharField(_("code"), max_length=64, null=True, blank=True, unique=True)
    title = models.CharField(_("title"), max_length=100, blank=True, default="")
    department = models.CharField(_("department"), max_length=100, blank=True, default="")
    reports_to = models.ForeignKey(
        "self",
        verbose_name=_("reports to"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="reports",
    )
    layer = models.CharField(
        _("layer"), max_length=20, choices=Layer.choices, blank=True, default=""
    )
    disc = models.CharField(_("DISC"), max_length=1, choices=Disc.choices, blank=True, default="")
    status = models.CharField(
        _("status"), max_length=10, choices=ContactStatus.choices, default=ContactStatus.ACTIVE
    )
    is_external = models.BooleanField(
        _("outside the account"),
        default=False,
        help_text=_(
            "Someone who sways the buying team from outside, e.g. a superior "
            "authority or a relative."
        ),
    )
    joined_at = models.DateField(_("took this post on"), null=True, blank=True)
    left_at = models.DateField(_("left on"), null=True, blank=True)
    phone = models.CharField(_("phone"), max_length=50, blank=True, default="")
    email = models.EmailField(_("e-mail"), max_length=200, blank=True, default="")
    notes = models.TextField(_("notes"), blank=True, default="")

    class Meta:
        ordering = ["account_id", "name", "id"]
        indexes = [models.Index(fields=["account", "status"])]

    def __str__(self) -> str:
        return self.name
