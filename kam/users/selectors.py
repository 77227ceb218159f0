"""Reading users."""

from __future__ import annotations

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from kam.core.errors import ValidationFailed
from kam.users.models import Role, User


def user_get_for_assignment(user_id: int, *, field: str = "owner_id") -> User:
    """The user a record is being given (or shared) to; whether the actor may do so
    is the service's check (core.permissions.may_own, core.sharing)."""
    user = User.objects.filter(pk=user_id, is_active=True).first() if user_id < 2**63 else None
    if user is None:
        raise ValidationFailed(_("No active user with id %(id)s.") % {"id": user_id}, field=field)
    return user


def assignable_users(actor) -> QuerySet[User]:
    """Whom the actor may give records to: themselves (rep), their team (manager), anyone
    (admin)."""
    qs = User.objects.filter(is_active=True)
    if actor.role == Role.ADMIN:
        return qs.order_by("username")
    if actor.role == Role.MANAGER and actor.team_id:
        return qs.filter(team_id=actor.team_id).order_by("username")
    return qs.filter(pk=actor.pk)
