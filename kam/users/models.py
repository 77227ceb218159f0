"""People who use KAM, their teams and their API tokens."""

from __future__ import annotations

import hashlib

from django.contrib.auth.models import AbstractUser, UserManager
from django.db import models
from django.utils.translation import gettext_lazy as _

from kam.core import clock


class Team(models.Model):
    name = models.CharField(_("name"), max_length=100, unique=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Role(models.TextChoices):
    REP = "rep", _("Sales rep")
    MANAGER = "manager", _("Sales manager")
    ADMIN = "admin", _("Administrator")


class User(AbstractUser):
    role = models.CharField(_("role"), max_length=10, choices=Role.choices, default=Role.REP)
    team = models.ForeignKey(
        Team,
        verbose_name=_("team"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="members",
    )
    display_name = models.CharField(_("display name"), max_length=100, blank=True)

    objects = UserManager()

    def __str__(self) -> str:
        return self.display_name or self.username

    @property
    def is_rep(self) -> bool:
        return self.role == Role.REP

    @property
    def is_manager(self) -> bool:
        return self.role == Role.MANAGER

    @property
    def is_kam_admin(self) -> bool:
        return self.role == Role.ADMIN


def hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


class ApiToken(models.Model):
    """A bearer token. Only its SHA-256 is stored: a leaked database leaks no tokens."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100, blank=True, default="")
    key_hash = models.CharField(max_length=64, unique=True)
    prefix = models.CharField(max_length=12)
    created_at = models.DateTimeField(default=clock.now)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.user})"


class UserSession(models.Model):
    """Which browser sessions a user holds, written at sign-in, so disabling the user
    ends exactly those sessions (Django's session table is keyed by session only).

    Bookkeeping, not data: left out of `kam export` dumps (`kam_transient`)."""

    kam_transient = True

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="browser_sessions")
    session_key = models.CharField(max_length=40, unique=True)
    created_at = models.DateTimeField(default=clock.now)

    def __str__(self) -> str:
        return f"{self.user} {self.session_key[:6]}…"


class LoginFailure(models.Model):
    """One failed sign-in. Counted per user name and per client address over the
    throttling window; kept in the database so that every `kam serve` process on it
    sees the same counts. Rows older than the window are pruned.

    Bookkeeping, not data: left out of `kam export` dumps (`kam_transient`)."""

    kam_transient = True

    username = models.CharField(max_length=150)  # case-folded
    ip = models.CharField(max_length=45, blank=True, default="")
    at = models.DateTimeField(default=clock.now)

    class Meta:
        indexes = [
            models.Index(fields=["username", "at"]),
            models.Index(fields=["ip", "at"]),
            models.Index(fields=["at"]),
        ]

    def __str__(self) -> str:
        return f"{self.username} from {self.ip or '?'} at {self.at:%Y-%m-%d %H:%M}"
