"""Competitors as records (SPEC §6): create, rename, list. Shared by the
opportunity scoring table and the account competition map.

Anyone who sells may record a rival they meet; renaming or annotating one is for
managers and admins (and whoever recorded it), since every deal and map that names
the rival shows the change."""

from __future__ import annotations

from django.db import transaction
from django.db.models import QuerySet
from django.utils.translation import gettext as _

from kam.competition.models import Competitor
from kam.core import audit, clock, validation
from kam.core.errors import Conflict, NotFound, PermissionDenied
from kam.core.permissions import is_manager

FIELDS = ("name", "notes")
NAME_MAX = 200


def competitor_list(user, *, q: str = "") -> QuerySet[Competitor]:
    """Every logged-in user sees the list of rivals: they are market facts, not deals."""
    qs = Competitor.objects.all()
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return qs.none()
    if q:
        qs = qs.filter(name__icontains=q)
    return qs.order_by("name", "id")


def competitor_get(user, competitor_id: int) -> Competitor:
    found = competitor_list(user).filter(pk=competitor_id).first()
    if found is None:
        raise NotFound(_("No such competitor."), field="competitor_id")
    return found


def competitor_named(name: str) -> Competitor | None:
    return Competitor.objects.filter(name__iexact=name.strip()).first()


def _clean(data: dict, *, instance: Competitor | None = None) -> dict:
    out = {}
    if "name" in data:
        name = validation.text(data["name"], field="name", max_length=NAME_MAX, required=True)
        same = competitor_named(name)
        if same is not None and (instance is None or same.pk != instance.pk):
            raise Conflict(
                _("A competitor named “%(name)s” already exists; use it instead.")
                % {"name": same.name},
                field="name",
                extra={"competitor_id": same.pk},
            )
        out["name"] = name
    if "notes" in data:
        out["notes"] = validation.text(data["notes"], field="notes", max_length=10_000)
    return out


@transaction.atomic
def competitor_create(*, actor, name: str, notes: str = "") -> Competitor:
    data = _clean({"name": name, "notes": notes})
    competitor = Competitor.objects.create(**data, created_by=actor)
    audit.record(
        actor=actor,
        entity="competitor",
        entity_id=competitor.pk,
        action="created",
        after=audit.snapshot(competitor, FIELDS),
    )
    return competitor


def competitor_get_or_create(*, actor, name: str) -> Competitor:
    """The rival of that name (case-insensitive), recorded now if new: what a rep
    typing a rival's name into a form means."""
    name = validation.text(name, field="name", max_length=NAME_MAX, required=True)
    found = competitor_named(name)
    return found if found is not None else competitor_create(actor=actor, name=name)


def check_may_edit(actor, competitor: Competitor) -> None:
    if not (is_manager(actor) or competitor.created_by_id == actor.pk):
        raise PermissionDenied(
            _("Only a manager, an admin or whoever recorded this competitor can change it.")
        )


@transaction.atomic
def competitor_update(*, actor, competitor: Competitor, **changes) -> Competitor:
    check_may_edit(actor, competitor)
    data = _clean(changes, instance=competitor)
    before, after = audit.apply_changes(competitor, data)
    if not after:
        return competitor
    competitor.updated_at = clock.now()
    competitor.save(update_fields=[*after.keys(), "updated_at"])
    audit.record(
        actor=actor,
        entity="competitor",
        entity_id=competitor.pk,
        action="updated",
        before=before,
        after=after,
    )
    return competitor
