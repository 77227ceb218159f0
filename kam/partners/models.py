"""The referral programme (交互式合作营销, SPEC §7): partners who help sell, the deals
they referred, the money collected on won deals (回款) and what was paid out.

- A **Partner** works under a written agreement (its date and terms) and follows one
  programme of models/partner_programmes.toml. `employer_account` is the customer
  that employs them, if any: the compliance guard compares it with the buying
  account of every deal they refer.
- A **Referral** links a partner to a deal as direct or indirect. `conflict` is set
  when the buying account employs the partner — when the referral is recorded, or
  later when the partner's employer is set to that account — and is never cleared
  by an edit: only an admin's release, with the customer's written disclosure (a
  note and a file), makes its commission payable.
- A **Payment** is money collected on a won deal, by date; direct commissions are
  earned in the period of the payment's date.
- A **Payout** is money paid to a partner for a settlement period, with a snapshot of
  the statement it paid; the period's payouts never add up to more than its payable
  amount (`kam.methodology.commission.settle`)."""

from __future__ import annotations

import os

from django.conf import settings
from django.core.files.storage import FileSystemStorage
from django.db import models
from django.utils.translation import gettext_lazy as _

from kam.core import clock
from kam.core.models import BaseModel

NAME_MAX = 120
TERMS_MAX = 4000
NOTE_MAX = 2000
REFERENCE_MAX = 120


class UploadStorage(FileSystemStorage):
    """Uploaded documents live in the data folder (`KAM_UPLOAD_DIR`, read at each use so
    tests can point it elsewhere), never under a public URL: views that check who asks
    serve them."""

    @property
    def base_location(self) -> str:  # type: ignore[override]
        return str(settings.KAM_UPLOAD_DIR)

    @property
    def location(self) -> str:  # type: ignore[override]
        return os.path.abspath(self.base_location)

    @property
    def base_url(self) -> None:  # type: ignore[override]
        return None


class Kind(models.TextChoices):
    DIRECT = "direct", _("Direct referral")
    INDIRECT = "indirect", _("Indirect referral")


class Partner(BaseModel):
    name = models.CharField(_("name"), max_length=NAME_MAX)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("managed by"),
        on_delete=models.PROTECT,
        related_name="partners",
    )
    employer_account = models.ForeignKey(
        "accounts.Account",
        verbose_name=_("employed by (customer)"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="employed_partners",
    )
    position = models.CharField(_("position"), max_length=NAME_MAX, blank=True, default="")
    phone = models.CharField(_("phone"), max_length=40, blank=True, default="")
    agreement_date = models.DateField(_("written agreement signed on"), null=True, blank=True)
    agreement_terms = models.TextField(_("agreement terms"), blank=True, default="")
    programme = models.CharField(_("programme"), max_length=40)
    notes = models.TextField(_("notes"), blank=True, default="")

    class Meta:
        ordering = ["name", "id"]
        verbose_name = _("partner")
        verbose_name_plural = _("partners")

    def __str__(self) -> str:
        return self.name


class Referral(BaseModel):
    partner = models.ForeignKey(
        Partner, verbose_name=_("partner"), on_delete=models.PROTECT, related_name="referrals"
    )
    opportunity = models.ForeignKey(
        "opportunities.Opportunity",
        verbose_name=_("opportunity"),
        on_delete=models.PROTECT,
        related_name="referrals",
    )
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    referred_on = models.DateField(_("referred on"), default=clock.today)
    note = models.TextField(_("note"), blank=True, default="")
    conflict = models.BooleanField(_("conflict of interest"), default=False)
    released_at = models.DateTimeField(_("released at"), null=True, blank=True)
    released_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("released by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    disclosure_note = models.TextField(_("customer's written disclosure"), blank=True, default="")
    disclosure_file = models.FileField(
        _("disclosure document"), storage=UploadStorage(), upload_to="disclosures/", blank=True
    )
    disclosure_file_name = models.CharField(max_length=200, blank=True, default="")

    class Meta:
        ordering = ["referred_on", "id"]
        verbose_name = _("referral")
        verbose_name_plural = _("referrals")
        constraints = [
            models.UniqueConstraint(
                fields=["partner", "opportunity"], name="one_referral_per_deal"
            ),
            # Two partners paid a direct commission on the same deal would be paid twice.
            models.UniqueConstraint(
                fields=["opportunity"],
                condition=models.Q(kind="direct"),
                name="one_direct_referral_per_deal",
            ),
        ]

    @property
    def released(self) -> bool:
        return self.released_at is not None

    @property
    def held(self) -> bool:
        return self.conflict and not self.released


class Payment(BaseModel):
    """Money collected on a won deal (回款)."""

    opportunity = models.ForeignKey(
        "opportunities.Opportunity",
        verbose_name=_("opportunity"),
        on_delete=models.PROTECT,
        related_name="payments",
    )
    date = models.DateField(_("collected on"))
    amount = models.DecimalField(_("amount"), max_digits=16, decimal_places=2)
    reference = models.CharField(_("reference"), max_length=REFERENCE_MAX, blank=True, default="")
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
        verbose_name = _("payment collected")
        verbose_name_plural = _("payments collected")
        indexes = [models.Index(fields=["opportunity", "date"])]


class Payout(BaseModel):
    """Money paid to a partner for one settlement period."""

    partner = models.ForeignKey(
        Partner, verbose_name=_("partner"), on_delete=models.PROTECT, related_name="payouts"
    )
    period = models.CharField(_("period"), max_length=8)  # "2026H1" or "2026"
    amount = models.DecimalField(_("amount"), max_digits=16, decimal_places=2)
    paid_on = models.DateField(_("paid on"))
    reference = models.CharField(_("reference"), max_length=REFERENCE_MAX, blank=True, default="")
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("recorded by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    # The statement as it stood when paid: its figures and lines (JSON), for the audit.
    statement = models.JSONField(default=dict)

    class Meta:
        ordering = ["period", "paid_on", "id"]
        verbose_name = _("payout")
        verbose_name_plural = _("payouts")
        indexes = [models.Index(fields=["partner", "period"])]
