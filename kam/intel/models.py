"""Intelligence (情报, SPEC §4): what we learned about a deal and from whom.

An item is *verified* (交叉验证) once enough independent sources confirm it —
`registry.current().buying_centre.sources_to_verify`, 2 by default. Independent
means different people: each source is a distinct contact (one source per contact
and item, enforced by a unique constraint), so the number of sources is the number
of distinct people who told us. The `intel_unverified` alert reads the critical
items that have fewer sources than that."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from kam.core import clock
from kam.core.models import BaseModel

TEXT_MAX = 2000
NOTE_MAX = 200


def sources_to_verify() -> int:
    """How many different people must confirm an item (the buying-centre model)."""
    from kam.methodology import registry

    return registry.current().buying_centre.sources_to_verify


class IntelItem(BaseModel):
    opportunity = models.ForeignKey(
        "opportunities.Opportunity",
        verbose_name=_("opportunity"),
        on_delete=models.CASCADE,
        related_name="intel_items",
    )
    text = models.TextField(_("what we learned"))
    learned_on = models.DateField(_("learned on"), default=clock.today)
    critical = models.BooleanField(_("critical"), default=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("recorded by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        ordering = ["-learned_on", "-id"]
        verbose_name = _("intelligence item")
        verbose_name_plural = _("intelligence items")

    def __str__(self) -> str:
        return self.text[:60]

    # Both read `sources.all()`, so a list prefetched with its sources costs no query.
    @property
    def source_count(self) -> int:
        return len({s.contact_id for s in self.sources.all()})

    @property
    def verified(self) -> bool:
        return self.source_count >= sources_to_verify()


class IntelSource(BaseModel):
    """One person who told us (or confirmed) an item."""

    item = models.ForeignKey(
        IntelItem,
        verbose_name=_("intelligence item"),
        on_delete=models.CASCADE,
        related_name="sources",
    )
    contact = models.ForeignKey(
        "contacts.Contact",
        verbose_name=_("source"),
        on_delete=models.PROTECT,
        related_name="intel_sources",
    )
    confirmed_on = models.DateField(_("confirmed on"), default=clock.today)
    note = models.CharField(_("note"), max_length=NOTE_MAX, blank=True, default="")

    class Meta:
        ordering = ["confirmed_on", "id"]
        verbose_name = _("intelligence source")
        verbose_name_plural = _("intelligence sources")
        constraints = [
            models.UniqueConstraint(fields=["item", "contact"], name="one_source_per_person")
        ]

    def __str__(self) -> str:
        return f"{self.contact_id} → {self.item_id}"
