"""Who may see and change what — decided here, used by every app's selectors.

The rule (SPEC, issue 2): a rep sees and edits what they own; a manager sees and
edits what the members of their team own; an admin sees and edits everything.
Records outside a user's scope are "not found" for them, so a refused read does
not reveal that the record exists."""

from __future__ import annotations

from django.db.models import Q
from django.utils.translation import gettext as _

from kam.core.errors import PermissionDenied, ValidationFailed
from kam.users.models import Role, User


def owner_scope(user, owner_field: str = "owner") -> Q:
    """A filter for the records whose `owner_field` the user may see and edit."""
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return Q(pk__in=[])
    if user.role == Role.ADMIN:
        return Q()
    if user.role == Role.MANAGER and user.team_id is not None:
        # the team as a list of owners (not a join to the owner's row): each part of the OR
        # then has an index, so a database never scans every record to find a team's
        team = User.objects.filter(team_id=user.team_id).values("pk")
        return Q(**{owner_field: user.pk}) | Q(**{f"{owner_field}__in": team})
    return Q(**{owner_field: user.pk})


def user_scope(user) -> Q:
    """A filter on users: the people whose records `user` sees — themselves (rep),
    their team (manager), everyone (admin). The same rule as `owner_scope`, for
    choosing an owner in a filter or listing the people on a dashboard."""
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return Q(pk__in=[])
    if user.role == Role.ADMIN:
        return Q()
    if user.role == Role.MANAGER and user.team_id is not None:
        return Q(pk=user.pk) | Q(team_id=user.team_id)
    return Q(pk=user.pk)


def may_own(user, owner) -> bool:
    """Whether `user` may give a record to `owner` (create it for them or reassign it)."""
    if user.role == Role.ADMIN:
        return True
    if user.role == Role.MANAGER:
        return owner.pk == user.pk or (user.team_id is not None and owner.team_id == user.team_id)
    return owner.pk == user.pk


def check_assignable(actor, owner) -> None:
    """Raise unless `actor` may make `owner` the owner of a record."""
    if owner is None:
        raise ValidationFailed(_("Choose an owner."), field="owner_id")
    if not owner.is_active:
        raise ValidationFailed(_("This user is disabled."), field="owner_id")
    if not may_own(actor, owner):
        raise PermissionDenied(
            _("You cannot give records to %(user)s: they are not in your team.") % {"user": owner},
            field="owner_id",
        )


def is_manager(user) -> bool:
    """Managers and admins steer deals: force a gate, override a priority."""
    return getattr(user, "role", None) in (Role.MANAGER, Role.ADMIN)
