"""Account and opportunity teams: the owner shares one record with a colleague,
to read or to edit (Salesforce's account/opportunity teams, Odoo's followers with
rights). The rule that combines this with ownership lives in the selectors
(`accounts_for_user`, `opportunities_for_user` and their `_editable_by`); the
records and the one service that changes them are here, shared by both teams.

Who may share: whoever holds the record by ownership — the owner, the owner's
manager, an admin. A colleague given edit rights works the record but does not
pass it on. Membership is personal: it does not extend to the member's manager."""

from __future__ import annotations

from django.conf import settings
from django.db import models, transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from kam.core import audit, clock
from kam.core.errors import NotFound, PermissionDenied, ValidationFailed
from kam.core.permissions import owner_scope


class Access(models.TextChoices):
    READ = "read", gettext_lazy("Read")
    EDIT = "edit", gettext_lazy("Read and edit")


class Membership(models.Model):
    """One colleague on one record's team. Subclasses add the record's foreign key
    (named by `record_field`) and a unique constraint on (record, user)."""

    record_field = ""
    entity = ""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=gettext_lazy("colleague"),
        on_delete=models.CASCADE,
        related_name="+",
    )
    access = models.CharField(
        gettext_lazy("access"), max_length=4, choices=Access.choices, default=Access.READ
    )
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=clock.now)

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return f"{self.user} ({self.access})"


def may_share(actor, record) -> bool:
    """The owner, their manager or an admin — not a colleague already on the team."""
    return type(record)._base_manager.filter(owner_scope(actor), pk=record.pk).exists()


def sharers_of(record) -> list:
    """Whom to ask to change the team: the owner and the active managers of the
    owner's team (the people `may_share` lets, admins aside)."""
    from kam.users.models import Role, User

    owner = record.owner
    managers = User.objects.none()
    if owner.team_id:
        managers = User.objects.filter(role=Role.MANAGER, team_id=owner.team_id, is_active=True)
    return [owner, *managers.exclude(pk=owner.pk).order_by("username")]


def check_share(actor, record) -> None:
    if not may_share(actor, record):
        raise PermissionDenied(
            _("Only the owner, their manager or an administrator can change who works on this.")
        )


def _event(record, *, actor, action: str, before: dict, after: dict, note: str = "") -> None:
    entity = type(record)
    account_id = record.pk if entity._meta.model_name == "account" else record.account_id
    audit.record(
        actor=actor,
        entity=entity._meta.model_name,
        entity_id=record.pk,
        action=action,
        before=before,
        after=after,
        account_id=account_id,
        opportunity_id=record.pk if entity._meta.model_name == "opportunity" else None,
        note=note,
    )


@transaction.atomic
def member_set(*, actor, record, member_model: type[Membership], user, access: str):
    """Add `user` to the record's team with `access`, or change their access."""
    check_share(actor, record)
    if access not in Access.values:
        raise ValidationFailed(
            _("Access is read or edit, not “%(value)s”.") % {"value": access}, field="access"
        )
    if user is None or not user.is_active:
        raise ValidationFailed(_("Choose an active colleague."), field="user_id")
    if user.pk == record.owner_id:
        raise ValidationFailed(_("%(user)s owns this already.") % {"user": user}, field="user_id")
    link = {member_model.record_field: record}
    member = member_model.objects.select_for_update().filter(**link, user=user).first()
    if member is None:
        member = member_model.objects.create(**link, user=user, access=access, added_by=actor)
        _event(
            record,
            actor=actor,
            action="member_added",
            before={},
            after={"user": user.pk, "access": access},
        )
    elif member.access != access:
        _event(
            record,
            actor=actor,
            action="member_changed",
            before={"user": user.pk, "access": member.access},
            after={"user": user.pk, "access": access},
        )
        member.access = access
        member.save(update_fields=["access"])
    return member


@transaction.atomic
def member_remove(*, actor, record, member_model: type[Membership], user_id: int) -> None:
    check_share(actor, record)
    member = member_model.objects.filter(**{member_model.record_field: record}, user_id=user_id)
    found = member.first() if 0 < user_id <= 2**63 - 1 else None  # a larger id cannot exist
    if found is None:
        raise NotFound(_("This colleague is not on the team."))
    _removed(record, found, actor=actor)
    found.delete()


def _removed(record, member: Membership, *, actor, note: str = "") -> None:
    before = {"user": member.user_id, "access": member.access}
    _event(record, actor=actor, action="member_removed", before=before, after={}, note=note)


def members_removed_with(*, actor, record, member_model: type[Membership], note: str) -> int:
    """A `member_removed` event for each colleague on the team of a record about to be
    deleted (the database takes the memberships with it). Returns how many."""
    members = member_model.objects.filter(**{member_model.record_field: record}).order_by("id")
    for member in members:
        _removed(record, member, actor=actor, note=note)
    return len(members)


def members_of(record, member_model: type[Membership]):
    return (
        member_model.objects.filter(**{member_model.record_field: record})
        .select_related("user")
        .order_by("user__username")
    )
