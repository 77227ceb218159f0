"""Market segments (市场细分, SPEC §6): a saved definition over the industrial
segmentation variables (kam/methodology/models/segmentation.toml) and its scores on
size/growth, structural attractiveness (five forces) and fit with our goals and
resources. Which accounts fall in a segment is computed from the definition, never
stored, so it stays true as accounts change."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models.functions import Lower
from django.utils.translation import gettext_lazy as _

from kam.core.models import BaseModel


class Segment(BaseModel):
    name = models.CharField(_("name"), max_length=200)
    description = models.TextField(_("description"), blank=True, default="")
    # {variable_key: [accepted values]}; an account matches when, for every variable
    # listed, its value is one of the accepted ones.
    definition = models.JSONField(_("definition"), default=dict, blank=True)
    # {criterion_key: 1–5} over the scoring criteria of segmentation.toml.
    scores = models.JSONField(_("scores"), default=dict, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        ordering = ["name", "id"]
        constraints = [models.UniqueConstraint(Lower("name"), name="segment_unique_name_ci")]
        verbose_name = _("segment")
        verbose_name_plural = _("segments")

    def __str__(self) -> str:
        return self.name
