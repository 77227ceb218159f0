"""Competition (竞争分析, SPEC §6): rivals as records, the per-opportunity scoring
table (竞争对手分析表), and per account the competition map (竞争地图), the SWOT and our
posture with the entry barriers we hold.

"Us" is a party like any rival: rows whose `competitor` is NULL are ours. Partial
unique constraints keep one row per party (and criterion) on SQLite and PostgreSQL
alike, since a plain unique constraint treats NULLs as distinct."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils.translation import gettext_lazy as _

from kam.core.models import BaseModel


class Competitor(BaseModel):
    name = models.CharField(_("name"), max_length=200)
    notes = models.TextField(_("notes"), blank=True, default="")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("recorded by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(Lower("name"), name="competitor_unique_name_ci"),
        ]
        verbose_name = _("competitor")
        verbose_name_plural = _("competitors")

    def __str__(self) -> str:
        return self.name


class CompetitionScore(BaseModel):
    """One cell of an opportunity's scoring table: a party's 1–5 on one criterion
    (criteria: kam/methodology/models/competition.toml)."""

    opportunity = models.ForeignKey(
        "opportunities.Opportunity",
        verbose_name=_("opportunity"),
        on_delete=models.CASCADE,
        related_name="competition_scores",
    )
    competitor = models.ForeignKey(
        Competitor,
        verbose_name=_("competitor"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="scores",
        help_text=_("Empty for us."),
    )
    criterion = models.CharField(_("criterion"), max_length=40)
    score = models.PositiveSmallIntegerField(_("score"))

    class Meta:
        ordering = ["opportunity", "competitor", "criterion"]
        constraints = [
            models.UniqueConstraint(
                fields=["opportunity", "criterion"],
                condition=Q(competitor__isnull=True),
                name="competition_score_unique_us",
            ),
            models.UniqueConstraint(
                fields=["opportunity", "competitor", "criterion"],
                condition=Q(competitor__isnull=False),
                name="competition_score_unique_rival",
            ),
        ]
        verbose_name = _("competition score")
        verbose_name_plural = _("competition scores")


class Relationship(models.IntegerChoices):
    """How close a supplier is to this customer (the competition map)."""

    NONE = 0, _("None")
    WEAK = 1, _("Weak")
    WORKING = 2, _("Working")
    GOOD = 3, _("Good")
    CLOSE = 4, _("Close")


class MapEntry(BaseModel):
    """One supplier on an account's competition map: its share of the customer's
    purchases in our line, how close it is, how satisfied the customer is with it,
    and the history of the relationship. `competitor` NULL is us."""

    account = models.ForeignKey(
        "accounts.Account",
        verbose_name=_("account"),
        on_delete=models.CASCADE,
        related_name="competition_map",
    )
    competitor = models.ForeignKey(
        Competitor,
        verbose_name=_("competitor"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="map_entries",
    )
    share = models.DecimalField(
        _("share of purchases (%)"), max_digits=5, decimal_places=2, null=True, blank=True
    )
    relationship = models.PositiveSmallIntegerField(
        _("relationship"), choices=Relationship.choices, null=True, blank=True
    )
    satisfaction = models.PositiveSmallIntegerField(_("satisfaction (1–5)"), null=True, blank=True)
    incumbent = models.BooleanField(_("incumbent"), default=False)
    since = models.PositiveSmallIntegerField(_("supplying since (year)"), null=True, blank=True)
    history = models.TextField(_("history"), blank=True, default="")

    class Meta:
        ordering = ["account", "-share", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["account"],
                condition=Q(competitor__isnull=True),
                name="map_entry_unique_us",
            ),
            models.UniqueConstraint(
                fields=["account", "competitor"],
                condition=Q(competitor__isnull=False),
                name="map_entry_unique_rival",
            ),
        ]
        verbose_name = _("competition map entry")
        verbose_name_plural = _("competition map entries")


class Quadrant(models.TextChoices):
    STRENGTH = "strength", _("Strength")
    WEAKNESS = "weakness", _("Weakness")
    OPPORTUNITY = "opportunity", _("Opportunity")
    THREAT = "threat", _("Threat")


class SwotItem(BaseModel):
    account = models.ForeignKey(
        "accounts.Account", verbose_name=_("account"), on_delete=models.CASCADE, related_name="swot"
    )
    quadrant = models.CharField(_("quadrant"), max_length=20, choices=Quadrant.choices)
    text = models.CharField(_("text"), max_length=500)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["account", "quadrant", "position", "id"]
        indexes = [models.Index(fields=["account", "quadrant"])]
        verbose_name = _("SWOT item")
        verbose_name_plural = _("SWOT items")

    def __str__(self) -> str:
        return self.text[:60]


class Posture(models.TextChoices):
    ATTACK = "attack", _("Attack (challenger)")
    DEFEND = "defend", _("Defend (incumbent)")


class Position(BaseModel):
    """Where we stand at an account: attack or defend, and the entry barriers we hold
    against rivals (technical, commercial, embedded in the customer's processes)."""

    account = models.OneToOneField(
        "accounts.Account",
        verbose_name=_("account"),
        on_delete=models.CASCADE,
        related_name="competitive_position",
    )
    posture = models.CharField(_("posture"), max_length=10, choices=Posture.choices, blank=True)
    barrier_technical = models.BooleanField(_("technical barrier"), default=False)
    barrier_commercial = models.BooleanField(_("commercial barrier"), default=False)
    barrier_process = models.BooleanField(_("process embedding"), default=False)
    notes = models.TextField(_("notes"), blank=True, default="")

    class Meta:
        verbose_name = _("competitive position")
        verbose_name_plural = _("competitive positions")
