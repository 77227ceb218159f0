"""Opportunities (销售机会): a deal moving through our playbook beside the
customer's own buying process. Stage changes go through services only."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from kam.core import clock
from kam.core.concurrency import Versioned
from kam.core.models import BaseModel
from kam.core.sharing import Membership


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


class Opportunity(BaseModel, Versioned):
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
    # A manager's override of the computed grade; the matrix no longer changes it.
    priority_overridden = models.BooleanField(_("priority set by a manager"), default=False)
    priority_reason = models.TextField(_("reason for the priority"), blank=True, default="")
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    # A won deal's project is finished (acceptance recorded at the playbook's last stage).
    completed_at = models.DateTimeField(_("project completed at"), null=True, blank=True)
    close_reason = models.TextField(_("close reason"), blank=True, default="")
    description = models.TextField(_("description"), blank=True, default="")

    class Meta:
        verbose_name = _("opportunity")
        verbose_name_plural = _("opportunities")
        ordering = ["expected_close", "id"]
        indexes = [
            models.Index(fields=["owner", "status", "expected_close"]),
            models.Index(fields=["account", "status"]),
            models.Index(fields=["status", "stage"]),
            # the dashboard's deals closed in a period: a range, not every closed deal
            models.Index(fields=["status", "closed_at"]),
            # revenue per account (the grading dashboard, an account's grade): the won
            # deals' amounts read from the index alone, already in account order
            models.Index(
                fields=["status", "account", "closed_at", "amount"],
                include=["id"],  # PostgreSQL; SQLite keeps the rowid in every index
                name="opportunity_won_by_account",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Evaluation(BaseModel):
    """The latest evaluation of a deal with the evaluation model (评估模型). Each
    re-evaluation replaces it; the history keeps every earlier score as an event."""

    opportunity = models.OneToOneField(
        Opportunity, on_delete=models.CASCADE, related_name="evaluation"
    )
    scores = models.JSONField(_("scores"), default=dict)
    score = models.DecimalField(_("score"), max_digits=5, decimal_places=1)
    passed = models.BooleanField(_("passed"))
    knocked_out = models.JSONField(_("knocked out by"), default=list)
    evaluated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )

    def __str__(self) -> str:
        return f"{self.opportunity_id}: {self.score}"


class PurchaseCriterion(BaseModel):
    """A purchase criterion (采购标准) the customer will judge on; `shaped_by_us`
    when we influenced or co-wrote it."""

    opportunity = models.ForeignKey(Opportunity, on_delete=models.CASCADE, related_name="criteria")
    text = models.CharField(_("criterion"), max_length=500)
    shaped_by_us = models.BooleanField(_("shaped by us"), default=False)
    favourable = models.BooleanField(_("favourable to us"), null=True, blank=True)

    class Meta:
        ordering = ["id"]
        verbose_name = _("purchase criterion")
        verbose_name_plural = _("purchase criteria")

    def __str__(self) -> str:
        return self.text


class Milestone(BaseModel):
    """A dated fact a key node asks for: candidate status, proposal, bid, contract,
    acceptance (kinds: kam/methodology/models/milestones.toml)."""

    opportunity = models.ForeignKey(
        Opportunity, on_delete=models.CASCADE, related_name="milestones"
    )
    kind = models.CharField(_("milestone"), max_length=40)
    date = models.DateField(_("date"))
    price = models.DecimalField(_("price"), max_digits=16, decimal_places=2, null=True, blank=True)
    margin = models.DecimalField(
        _("margin (%)"), max_digits=5, decimal_places=2, null=True, blank=True
    )
    note = models.TextField(_("note"), blank=True, default="")

    class Meta:
        ordering = ["date", "id"]
        indexes = [models.Index(fields=["opportunity", "kind"])]

    def __str__(self) -> str:
        return f"{self.kind} {self.date}"


class ForcedMove(models.Model):
    """A gate passed while unmet (强行进入): who, when, why, and which criteria were
    unmet then. The forced_gate alert re-checks those criteria on today's facts."""

    opportunity = models.ForeignKey(
        Opportunity, on_delete=models.CASCADE, related_name="forced_moves"
    )
    from_stage = models.CharField(max_length=40)
    to_stage = models.CharField(max_length=40)
    unmet = models.JSONField(default=list)
    reason = models.TextField()
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    at = models.DateTimeField(default=clock.now)
    event_id = models.BigIntegerField(null=True)

    class Meta:
        ordering = ["at", "id"]
        # the dashboard's forced moves of a period, over the whole book
        indexes = [models.Index(fields=["at"], name="forcedmove_at")]

    def __str__(self) -> str:
        return f"{self.opportunity_id}: {self.from_stage} → {self.to_stage}"


class OpportunityMember(Membership):
    """A colleague on the deal's team, with read or edit access (kam.core.sharing)."""

    record_field = "opportunity"
    opportunity = models.ForeignKey(Opportunity, on_delete=models.CASCADE, related_name="members")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["opportunity", "user"], name="one_deal_membership")
        ]
        indexes = [models.Index(fields=["user", "access"])]


class DealKey(models.OneToOneField):
    """A one-to-one key to the deal that is also the row's primary key; on SQLite an
    INTEGER PRIMARY KEY, the table's rowid, so a join from the deal reads one B-tree
    instead of an index and then the table (Django gives a key to a BigAutoField the
    type `bigint`, which SQLite keeps in a separate index). The dashboard joins every
    open deal to its kept assessment and revision: 27% faster on 300,000 open deals."""

    def db_type(self, connection):
        if connection.vendor == "sqlite":
            return "integer"
        return super().db_type(connection)


class FactsRevision(models.Model):
    """How many times the facts the rules read about a deal have changed: raised by
    database triggers on every table `kam.opportunities.facts` reads (migration 0006,
    kam/opportunities/triggers.py), in the transaction of the change, whatever code
    makes it. No row: revision 0. Derived, not data: left out of `kam export` dumps
    (`kam_transient`)."""

    kam_transient = True

    opportunity = DealKey(
        Opportunity,
        primary_key=True,
        on_delete=models.DO_NOTHING,  # the deal's delete trigger removes the row
        db_constraint=False,
        related_name="facts_revision",
    )
    rev = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.opportunity_id}: {self.rev}"


class StoredAssessment(models.Model):
    """What a dashboard or a scan needs of a deal's assessment (its win probability and
    its alerts' codes and severities), kept while it holds: computed at revision `rev`
    of the deal's facts, with the methodology `config`, and good until `valid_until`
    (when the passing of time alone may change it). See kam/opportunities/stored.py.
    Derived, not data: left out of `kam export` dumps (`kam_transient`)."""

    kam_transient = True

    opportunity = DealKey(
        Opportunity,
        primary_key=True,
        on_delete=models.DO_NOTHING,  # the deal's delete trigger removes the row
        db_constraint=False,
        related_name="stored_assessment",
    )
    rev = models.BigIntegerField()
    config = models.CharField(max_length=32)
    computed_at = models.DateTimeField()
    valid_until = models.DateTimeField()
    probability = models.SmallIntegerField()
    # "code/severity code/severity …", most severe first as `risks.evaluate` orders them
    alerts = models.TextField(blank=True, default="")

    def __str__(self) -> str:
        return f"{self.opportunity_id}@{self.rev}: {self.probability}% {self.alerts}"
