"""Creating, disabling and enabling users; creating and revoking their API tokens (CLI
`kam user`, `kam token`, the demo)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from kam.core import audit, clock
from kam.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
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
        after={
            "username": username,
            "role": role,
            "team": team or "",
            "display_name": display_name,
        },
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


TOKEN_PREFIX_LENGTH = 12  # what `kam token` prints and `--list` shows: "kam_" + 8


def _require_admin(actor: User | None) -> None:
    """The CLI acts with no actor (whoever runs it owns the server); a person must be an
    administrator."""
    if actor is not None and actor.role != Role.ADMIN:
        raise PermissionDenied(_("Only an administrator may do this."), field="user")


@dataclass(frozen=True)
class ActiveChange:
    changed: bool
    sessions_ended: int = 0
    tokens_revoked: int = 0


@transaction.atomic
def user_set_active(*, actor: User | None, user: User, active: bool) -> ActiveChange:
    """Disable or enable a user. Disabling ends every session they signed in with and
    revokes every API token they hold, so both answer as signed out (401 on the API) at
    their very next request; enabling gives back neither (they sign in again and ask
    for new tokens)."""
    _require_admin(actor)
    if actor is not None and actor.pk == user.pk and not active:
        raise ValidationFailed(_("You cannot disable yourself."), field="user")
    user = User.objects.select_for_update().get(pk=user.pk)
    if user.is_active == active:
        return ActiveChange(changed=False)
    user.is_active = active
    user.save(update_fields=["is_active"])
    sessions_ended = tokens_revoked = 0
    if not active:
        from kam.users.sessions import end_sessions

        sessions_ended = end_sessions(user)
        tokens_revoked = ApiToken.objects.filter(user=user, revoked_at__isnull=True).update(
            revoked_at=clock.now()
        )
    audit.record(
        actor=actor,
        entity="user",
        entity_id=user.pk,
        action="enabled" if active else "disabled",
        before={"is_active": not active},
        after={"is_active": active},
        note="" if active else f"{sessions_ended} sessions ended, {tokens_revoked} tokens revoked",
    )
    return ActiveChange(changed=True, sessions_ended=sessions_ended, tokens_revoked=tokens_revoked)


@transaction.atomic
def token_revoke(*, actor: User | None, user: User, prefix: str) -> ApiToken:
    """Revoke the one token of `user` that starts with `prefix` (the 12 characters
    `kam token` printed and `--list` shows, or the whole token). It answers 401 from
    its next request on."""
    _require_admin(actor)
    prefix = (prefix or "").strip()
    if len(prefix) < TOKEN_PREFIX_LENGTH:
        raise ValidationFailed(
            _("Give the first %(n)s characters of the token, as the token list shows them.")
            % {"n": TOKEN_PREFIX_LENGTH},
            field="prefix",
        )
    matches = list(
        ApiToken.objects.select_for_update().filter(user=user, prefix=prefix[:TOKEN_PREFIX_LENGTH])
    )
    if len(prefix) > TOKEN_PREFIX_LENGTH:  # the whole token: exactly that one
        matches = [t for t in matches if t.key_hash == hash_token(prefix)]
    if not matches:
        raise NotFound(
            _("%(user)s has no token starting with “%(prefix)s”.")
            % {"user": user.username, "prefix": prefix[:TOKEN_PREFIX_LENGTH]},
            field="prefix",
        )
    live = [t for t in matches if t.revoked_at is None]
    if not live:
        raise Conflict(
            _("The token “%(prefix)s” was already revoked.")
            % {"prefix": prefix[:TOKEN_PREFIX_LENGTH]},
            field="prefix",
        )
    if len(live) > 1:
        raise Conflict(
            _("Several tokens start with “%(prefix)s”: revoke them all instead.")
            % {"prefix": prefix[:TOKEN_PREFIX_LENGTH]},
            field="prefix",
        )
    token = live[0]
    token.revoked_at = clock.now()
    token.save(update_fields=["revoked_at"])
    audit.record(
        actor=actor,
        entity="user",
        entity_id=user.pk,
        action="token_revoked",
        before={"prefix": token.prefix, "revoked_at": None},
        after={"prefix": token.prefix, "revoked_at": audit.jsonable(token.revoked_at)},
    )
    return token


@transaction.atomic
def token_revoke_all(*, actor: User | None, user: User) -> int:
    """Revoke every live token of `user`; return how many."""
    _require_admin(actor)
    live = list(
        ApiToken.objects.select_for_update()
        .filter(user=user, revoked_at__isnull=True)
        .values_list("pk", "prefix")
    )
    if not live:
        return 0
    now = clock.now()
    ApiToken.objects.filter(pk__in=[pk for pk, _prefix in live]).update(revoked_at=now)
    audit.record(
        actor=actor,
        entity="user",
        entity_id=user.pk,
        action="tokens_revoked",
        before={"prefixes": [prefix for _pk, prefix in live]},
        after={"revoked_at": audit.jsonable(now)},
    )
    return len(live)
