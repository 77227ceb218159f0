"""Creating users and tokens (CLI `kam user add`, `kam token`, the demo)."""

from __future__ import annotations

import secrets

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from kam.core import audit, clock
from kam.core.errors import Conflict, ValidationFailed
from kam.users.models import ApiToken, Role, Team, User, hash_token


def team_get_or_create(*, name: str) -> Team:
    name = name.strip()
    if not name:
        raise ValidationFailed(_("A team needs a name."), field="team")
    team, _created = Team.objects.get_or_create(name=name)
    return team


@transaction.atomic
def user_create(
    *,
    username: str,
    role: str,
    team: str | None = None,
    password: str | None = None,
    display_name: str = "",
    actor: User | None = None,
) -> User:
    username = (username or "").strip()
    if not username:
        raise ValidationFailed(_("A user needs a name."), field="username")
    if len(username) > 150:
        raise ValidationFailed(_("A user name has at most 150 characters."), field="username")
    if role not in Role.values:
        raise ValidationFailed(
            _("Unknown role “%(role)s”: use rep, manager or admin.") % {"role": role}, field="role"
        )
    if User.objects.filter(username=username).exists():
        raise Conflict(
            _("A user named “%(name)s” already exists.") % {"name": username}, field="username"
        )
    user = User(username=username, role=role, display_name=display_name)
    if team:
        user.team = team_get_or_create(name=team)
    if password:
        try:
            validate_password(password, user)
        except ValidationError as exc:
            raise ValidationFailed(" ".join(exc.messages), field="password") from None
        user.set_password(password)
    else:
        user.set_unusable_password()
    user.is_staff = role == Role.ADMIN
    user.save()
    audit.record(
        actor=actor,
        entity="user",
        entity_id=user.pk,
        action="created",
        after={"username": username, "role": role, "team": team or ""},
    )
    return user


def token_create(*, user: User, name: str = "") -> str:
    """Return a new raw token; it is shown once and never stored in clear."""
    raw = "kam_" + secrets.token_urlsafe(32)
    ApiToken.objects.create(user=user, name=name, key_hash=hash_token(raw), prefix=raw[:12])
    audit.record(
        actor=user,
        entity="user",
        entity_id=user.pk,
        action="token_created",
        after={"prefix": raw[:12], "name": name},
    )
    return raw


def token_authenticate(raw: str) -> User | None:
    if not raw:
        return None
    token = (
        ApiToken.objects.select_related("user")
        .filter(key_hash=hash_token(raw), revoked_at__isnull=True)
        .first()
    )
    if token is None or not token.user.is_active:
        return None
    now = clock.now()
    # Touch at most once a minute, to keep reads cheap.
    if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token.user
