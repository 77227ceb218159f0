"""The buying centre of a deal (采购组织, SPEC §4): which contact holds which roles,
where they stand, who is our coach. The process engine's gates read these; the
buying-centre work extends them (key persons, intelligence, the map)."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from kam.core.concurrency import Versioned
from kam.core.models import BaseModel


class Role(models.TextChoices):
    DECISION_MAKER = "decision_maker", _("Decision maker")
    PURCHASER = "purchaser", _("Purchaser")
    TECHNICAL = "technical", _("Technical evaluator")
    USER = "user", _("User")
    INFLUENCER = "influencer", _("Influencer")
    GATEKEEPER = "gatekeeper", _("Gatekeeper")
    EXECUTOR = "executor", _("Executor")
    FINANCE = "finance", _("Finance holder")
    EXTERNAL = "external", _("External influence")


class Stance(models.TextChoices):
    CHAMPION = "champion", _("C – champion")
    SUPPORTER = "supporter", _("S – supporter")
    NEUTRAL = "neutral", _("N – neutral")
    ENEMY = "enemy", _("E – enemy")
    BLOCKER = "blocker", _("B – blocker")
    UNKNOWN = "unknown", _("Unknown")


class Stakeholder(BaseModel, Versioned):
    opportunity = models.ForeignKey(
        "opportunities.Opportunity",
        verbose_name=_("opportunity"),
        on_delete=models.CASCADE,
        related_name="stakeholders",
    )
    contact = models.ForeignKey(
        "contacts.Contact",
        verbose_name=_("contact"),
        on_delete=models.PROTECT,
        related_name="stakeholder_links",
    )
    roles = models.JSONField(_("roles"), default=list)
    stance = models.CharField(
        _("stance"), max_length=10, choices=Stance.choices, default=Stance.UNKNOWN
    )
    is_coach = models.BooleanField(_("coach"), default=False)
    influence = models.PositiveSmallIntegerField(_("influence (1–5)"), null=True, blank=True)
    relationship = models.PositiveSmallIntegerField(_("relationship (0–4)"), null=True, blank=True)
    disc = models.CharField(_("DISC"), max_length=1, blank=True, default="")
    notes = models.TextField(_("notes"), blank=True, default="")

    class Meta:
        verbose_name = _("stakeholder")
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["opportunity", "contact"], name="one_stakeholder_per_contact"
            )
        ]

    def __str__(self) -> str:
        return f"{self.contact} @ {self.opportunity_id}"
