"""An account's competitive picture (竞争分析, SPEC §6): the competition map (竞争地图:
who supplies this customer in our line, with what share, how close and how
satisfied the customer is), the SWOT, and our posture — attack (challenger) or
defend (incumbent) — with the entry barriers we hold.

Writes are services `<entity>_<action>(*, actor, …)`: atomic, validated (a refusal
names the field and writes nothing) and audited on the account's history
(`account_id` on every event). The map and the whole SWOT are replaced as a whole,
so a form or a script states the picture as it is today; single SWOT items can
also be added, changed and deleted. Reads go through `account_competition`, which
costs three queries whatever the size of the map or the SWOT.

Callers find the account through `account_get_for_user` (read) or
`account_get_for_edit` (write) first: visibility is the account's."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import transaction
from django.db.models import F
from django.utils.translation import gettext as _

from kam.accounts.models import Account
from kam.competition.competitors import NAME_MAX, competitor_get_or_create, competitor_named
from kam.competition.models import (
    Competitor,
    MapEntry,
    Position,
    Posture,
    Quadrant,
    Relationship,
    SwotItem,
)
from kam.core import audit, clock, validation
from kam.core.errors import NotFound, ValidationFailed

MAX_ID = 2**63 - 1
MAP_MAX = 30  # suppliers on one map
SWOT_MAX = 30  # items in one quadrant
SWOT_TEXT_MAX = 500
HISTORY_MAX = 2000
NOTES_MAX = 5000
FIRST_YEAR = 1900
HUNDRED = Decimal(100)
CENT = Decimal("0.01")

QUADRANTS: tuple[str, ...] = tuple(Quadrant.values)  # strength, weakness, opportunity, threat
US = "us"
ATTACK = Posture.ATTACK.value
DEFEND = Posture.DEFEND.value
BARRIERS = ("technical", "commercial", "process")
POSITION_FIELDS = (
    "posture",
    "barrier_technical",
    "barrier_commercial",
    "barrier_process",
    "notes",
)


# --- reading -------------------------------------------------------------------------


@dataclass
class Picture:
    """What the account page and `GET …/competition` show: the map (largest share
    first, unknown shares last), the SWOT by quadrant, the position (None until
    set)."""

    account: Account
    entries: list[MapEntry]
    swot: dict[str, list[SwotItem]]
    position: Position | None
    mapped_share: Decimal = field(init=False)
    other_share: Decimal = field(init=False)
    suggestion: Suggestion | None = field(init=False)

    def __post_init__(self) -> None:
        self.mapped_share = mapped_share(self.entries)
        self.other_share = HUNDRED - self.mapped_share
        self.suggestion = suggest_posture(self.entries)

    @property
    def posture(self) -> str:
        return self.position.posture if self.position is not None else ""

    @property
    def suggested_posture(self) -> str | None:
        return self.suggestion.posture if self.suggestion is not None else None


def account_competition(account: Account) -> Picture:
    """The account's whole competitive picture in three queries: the map with the
    rivals' names, the SWOT items, the position."""
    entries = list(
        MapEntry.objects.filter(account=account)
        .select_related("competitor")
        .order_by(F("share").desc(nulls_last=True), "id")
    )
    swot: dict[str, list[SwotItem]] = {q: [] for q in QUADRANTS}
    for item in SwotItem.objects.filter(account=account).order_by("quadrant", "position", "id"):
        item.account = account
        swot.setdefault(item.quadrant, []).append(item)
    position = Position.objects.filter(account=account).first()
    for entry in entries:
        entry.account = account
    return Picture(account=account, entries=entries, swot=swot, position=position)


def swot_item_get(account: Account, item_id: int) -> SwotItem:
    """One SWOT item of this account; an item of another account is not found."""
    item = (
        SwotItem.objects.filter(account=account, pk=item_id).first()
        if 0 < item_id <= MAX_ID
        else None
    )
    if item is None:
        raise NotFound(_("No such SWOT item at this account."))
    item.account = account
    return item


def entry_name(entry: MapEntry) -> str:
    """The supplier's name as lists show it: the rival's, or "Us"."""
    return entry.competitor.name if entry.competitor_id is not None else _("Us")


# --- pure decisions ------------------------------------------------------------------


@dataclass(frozen=True)
class Suggestion:
    """What the map says our posture should be, and why (`reason`: we_incumbent,
    rival_incumbent, we_largest, rival_largest). A hint only: it is never set."""

    posture: str
    reason: str
    rival: str = ""  # the rival the reason names, if any


def mapped_share(entries: Iterable[MapEntry]) -> Decimal:
    """Σ of the known shares (the rest of the customer's purchases nobody mapped)."""
    return sum((e.share for e in entries if e.share is not None), Decimal("0.00"))


def suggest_posture(entries: Sequence[MapEntry]) -> Suggestion | None:
    """Defend where we are the incumbent, or hold the largest share with no rival
    marked incumbent; attack where a rival is the incumbent or holds more than us.
    An equal top share counts as ours (we hold what the leader holds). Nothing to
    say without a map, or with neither incumbents nor shares on it."""
    us = next((e for e in entries if e.competitor_id is None), None)
    rivals = [e for e in entries if e.competitor_id is not None]
    if us is not None and us.incumbent:
        return Suggestion(DEFEND, "we_incumbent")
    incumbent = next((e for e in rivals if e.incumbent), None)
    if incumbent is not None:
        return Suggestion(ATTACK, "rival_incumbent", incumbent.competitor.name)
    ours = us.share if us is not None and us.share is not None else None
    leader = max(
        (e for e in rivals if e.share is not None),
        key=lambda e: e.share,
        default=None,
    )
    if leader is not None and leader.share > 0 and (ours is None or leader.share > ours):
        return Suggestion(ATTACK, "rival_largest", leader.competitor.name)
    if ours is not None and ours > 0:
        return Suggestion(DEFEND, "we_largest")
    return None


# --- checks --------------------------------------------------------------------------


def _flag(value: Any, *, field: str) -> bool:
    if value is None:
        return False
    if not isinstance(value, bool):
        raise ValidationFailed(_("Enter true or false."), field=field)
    return value


def _share(value: Any, *, field: str) -> Decimal | None:
    """A share of the customer's purchases in per cent: 0–100, two decimals at most."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise ValidationFailed(_("Enter a share in per cent, e.g. 35 or 12.5."), field=field)
    try:
        share = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise ValidationFailed(
            _("Enter a share in per cent, e.g. 35 or 12.5."), field=field
        ) from None
    if not share.is_finite() or share < 0 or share > HUNDRED:
        raise ValidationFailed(_("A share is from 0 to 100 (per cent)."), field=field)
    if share.as_tuple().exponent < -2:  # type: ignore[operator]
        raise ValidationFailed(_("Use at most two decimal places."), field=field)
    return share.quantize(CENT)


def _year(value: Any, *, field: str) -> int | None:
    return validation.whole_number(
        value, field=field, minimum=FIRST_YEAR, maximum=clock.today().year
    )


@dataclass
class _Row:
    """One checked row of a map being set: the party (us, a stored rival, or a name
    to record) and its fields."""

    index: int
    us: bool
    competitor: Competitor | None
    new_name: str
    fields: dict[str, Any]

    @property
    def key(self) -> tuple:
        if self.us:
            return (US,)
        if self.competitor is not None:
            return ("id", self.competitor.pk)
        return ("new", self.new_name.casefold())

    @property
    def name(self) -> str:
        if self.us:
            return _("Us")
        return self.competitor.name if self.competitor is not None else self.new_name


ENTRY_KEYS = frozenset(
    {
        "us",
        "competitor_id",
        "competitor_name",
        "share",
        "relationship",
        "satisfaction",
        "incumbent",
        "since",
        "history",
    }
)


def _party(raw: Mapping[str, Any], at: str) -> tuple[bool, Competitor | None, str]:
    us = _flag(raw.get("us"), field=f"{at}.us")
    competitor_id = raw.get("competitor_id")
    name = raw.get("competitor_name")
    given = [us, competitor_id is not None, name is not None and name != ""]
    if sum(given) != 1:
        raise ValidationFailed(
            _("Name the supplier once: a competitor (competitor_id or competitor_name) or us.")
            if sum(given) == 0
            else _("Give only one of competitor_id, competitor_name or us for a supplier."),
            field=f"{at}.competitor_name",
        )
    if us:
        return True, None, ""
    if competitor_id is not None:
        field_name = f"{at}.competitor_id"
        if isinstance(competitor_id, bool) or not isinstance(competitor_id, int):
            raise ValidationFailed(_("Enter a whole number."), field=field_name)
        found = (
            Competitor.objects.filter(pk=competitor_id).first()
            if 0 < competitor_id <= MAX_ID
            else None
        )
        if found is None:
            raise ValidationFailed(_("No such competitor."), field=field_name)
        return False, found, ""
    name = validation.text(name, field=f"{at}.competitor_name", max_length=NAME_MAX, required=True)
    found = competitor_named(name)
    return False, found, "" if found is not None else name


def _row(raw: Any, index: int) -> _Row:
    at = f"entries.{index}"
    if not isinstance(raw, Mapping):
        raise ValidationFailed(_("Send each supplier as a JSON object."), field=at)
    unknown = sorted(set(raw) - ENTRY_KEYS)
    if unknown:
        raise ValidationFailed(_("Unknown field: remove it."), field=f"{at}.{unknown[0]}")
    us, competitor, new_name = _party(raw, at)
    relationship = validation.whole_number(
        raw.get("relationship"),
        field=f"{at}.relationship",
        minimum=min(Relationship.values),
        maximum=max(Relationship.values),
    )
    fields = {
        "share": _share(raw.get("share"), field=f"{at}.share"),
        "relationship": relationship,
        "satisfaction": validation.whole_number(
            raw.get("satisfaction"), field=f"{at}.satisfaction", minimum=1, maximum=5
        ),
        "incumbent": _flag(raw.get("incumbent"), field=f"{at}.incumbent"),
        "since": _year(raw.get("since"), field=f"{at}.since"),
        "history": validation.text(
            raw.get("history"), field=f"{at}.history", max_length=HISTORY_MAX
        ),
    }
    return _Row(index, us, competitor, new_name, fields)


def _rows(entries: Any) -> list[_Row]:
    if not isinstance(entries, Iterable) or isinstance(entries, str | bytes | Mapping):
        raise ValidationFailed(_("Send a list."), field="entries")
    entries = list(entries)
    if len(entries) > MAP_MAX:
        raise ValidationFailed(
            _("A map holds at most %(max)d suppliers.") % {"max": MAP_MAX}, field="entries"
        )
    rows = [_row(raw, i) for i, raw in enumerate(entries)]
    seen: dict[tuple, _Row] = {}
    for row in rows:
        first = seen.setdefault(row.key, row)
        if first is row:
            continue
        at = f"entries.{row.index}"
        if row.us:
            raise ValidationFailed(
                _("We are on the map twice (rows %(a)d and %(b)d); keep one row for us.")
                % {"a": first.index + 1, "b": row.index + 1},
                field=f"{at}.us",
            )
        raise ValidationFailed(
            _("%(name)s is on the map twice (rows %(a)d and %(b)d); keep one row per supplier.")
            % {"name": row.name, "a": first.index + 1, "b": row.index + 1},
            field=f"{at}.competitor_id" if row.competitor is not None else f"{at}.competitor_name",
        )
    total = sum((r.fields["share"] or Decimal(0) for r in rows), Decimal("0.00"))
    if total > HUNDRED:
        raise ValidationFailed(
            _(
                "The shares add up to %(sum)s%%; together they cannot be more than 100%%. "
                "Lower one of them."
            )
            % {"sum": total},
            field="entries",
            extra={"sum": str(total)},
        )
    return rows


# --- audit ---------------------------------------------------------------------------


def entry_snapshot(entry: MapEntry) -> dict[str, Any]:
    return {
        "party": US if entry.competitor_id is None else entry.competitor_id,
        "name": entry.competitor.name if entry.competitor_id is not None else US,
        "share": audit.jsonable(entry.share),
        "relationship": entry.relationship,
        "satisfaction": entry.satisfaction,
        "incumbent": entry.incumbent,
        "since": entry.since,
        "history": entry.history,
    }


def _lock(account: Account) -> None:
    """Serialise writers of one account's picture (two replacements of the map at
    once would otherwise collide on its one-row-per-supplier constraint)."""
    Account.objects.select_for_update().filter(pk=account.pk).values_list("pk").first()


# --- the map -------------------------------------------------------------------------


@transaction.atomic
def competition_map_set(*, actor, account: Account, entries: Iterable[Any]) -> list[MapEntry]:
    """Replace the account's map with `entries`, one dict per supplier:
    exactly one of `us: True`, `competitor_id`, `competitor_name` (a name new to KAM
    records the rival), and optionally `share` (per cent, 0–100, two decimals; all
    shares together ≤ 100), `relationship` (0–4), `satisfaction` (1–5), `incumbent`,
    `since` (year), `history`. Every row is checked before anything is written; a
    refusal names the field (`entries.<i>.<field>`, or `entries` for the sum).
    One event "set" with the map before and after, when it changed."""
    rows = _rows(entries)
    _lock(account)
    old = list(
        MapEntry.objects.filter(account=account)
        .select_related("competitor")
        .order_by(F("share").desc(nulls_last=True), "id")
    )
    before = [entry_snapshot(e) for e in old]
    for row in rows:
        if not row.us and row.competitor is None:
            row.competitor = competitor_get_or_create(actor=actor, name=row.new_name)
    MapEntry.objects.filter(account=account).delete()
    now = clock.now()
    created = MapEntry.objects.bulk_create(
        MapEntry(
            account=account,
            competitor=row.competitor,
            created_at=now,
            updated_at=now,
            **row.fields,
        )
        for row in rows
    )
    for entry in created:
        entry.account = account
    created.sort(key=lambda e: (e.share is None, -(e.share or 0)))
    after = [entry_snapshot(e) for e in created]
    if _canonical(before) != _canonical(after):
        audit.record(
            actor=actor,
            entity="competition_map",
            entity_id=account.pk,
            action="set",
            before={"entries": before},
            after={"entries": after},
            account_id=account.pk,
        )
    return created


def _canonical(entries: list[dict]) -> list[tuple]:
    return sorted(tuple(sorted((k, str(v)) for k, v in e.items())) for e in entries)


# --- the SWOT ------------------------------------------------------------------------


def _quadrant(value: Any, *, field: str) -> str:
    return validation.choice(value, field=field, choices=Quadrant, allow_blank=False)


def _swot_text(value: Any, *, field: str) -> str:
    return validation.text(value, field=field, max_length=SWOT_TEXT_MAX, required=True)


def _room(account: Account, quadrant: str, *, field: str, adding: int = 1) -> int:
    """The position after the quadrant's last item; refuses a full quadrant."""
    items = SwotItem.objects.filter(account=account, quadrant=quadrant)
    if items.count() + adding > SWOT_MAX:
        raise ValidationFailed(
            _("A SWOT quadrant holds at most %(max)d items; merge or delete some first.")
            % {"max": SWOT_MAX},
            field=field,
        )
    last = items.order_by("-position").values_list("position", flat=True).first()
    return 0 if last is None else last + 1


def _swot_event(actor, item: SwotItem, action: str, *, before=None, after=None) -> None:
    audit.record(
        actor=actor,
        entity="swot_item",
        entity_id=item.pk,
        action=action,
        before=before,
        after=after,
        account_id=item.account_id,
    )


@transaction.atomic
def swot_item_add(*, actor, account: Account, quadrant: str, text: str) -> SwotItem:
    """One line at the end of a quadrant (strength, weakness, opportunity, threat)."""
    quadrant = _quadrant(quadrant, field="quadrant")
    text = _swot_text(text, field="text")
    _lock(account)
    item = SwotItem.objects.create(
        account=account,
        quadrant=quadrant,
        text=text,
        position=_room(account, quadrant, field="quadrant"),
    )
    _swot_event(actor, item, "created", after={"quadrant": quadrant, "text": text})
    return item


@transaction.atomic
def swot_item_update(
    *, actor, item: SwotItem, text: str | None = None, quadrant: str | None = None
) -> SwotItem:
    """Reword an item, or move it to the end of another quadrant (None: unchanged)."""
    changes: dict[str, Any] = {}
    if text is not None:
        changes["text"] = _swot_text(text, field="text")
    if quadrant is not None:
        changes["quadrant"] = _quadrant(quadrant, field="quadrant")
    if changes.get("quadrant", item.quadrant) != item.quadrant:
        _lock(item.account)
        changes["position"] = _room(item.account, changes["quadrant"], field="quadrant")
    before, after = audit.apply_changes(item, changes)
    if not after:
        return item
    item.updated_at = clock.now()
    item.save(update_fields=[*after, "updated_at"])
    before.pop("position", None)
    after.pop("position", None)
    _swot_event(actor, item, "updated", before=before, after=after)
    return item


@transaction.atomic
def swot_item_delete(*, actor, item: SwotItem) -> None:
    _swot_event(actor, item, "deleted", before={"quadrant": item.quadrant, "text": item.text})
    item.delete()


def _swot_lists(items: Any) -> dict[str, list[str]]:
    if not isinstance(items, Mapping):
        raise ValidationFailed(_("Send a JSON object."), field="swot")
    unknown = sorted(set(items) - set(QUADRANTS))
    if unknown:
        raise ValidationFailed(
            _("“%(value)s” is not a SWOT quadrant; use one of: %(choices)s.")
            % {"value": unknown[0], "choices": ", ".join(QUADRANTS)},
            field=str(unknown[0]),
        )
    out: dict[str, list[str]] = {}
    for quadrant in QUADRANTS:
        texts = items.get(quadrant) or []
        if isinstance(texts, str | bytes | Mapping):
            raise ValidationFailed(_("Send a list."), field=quadrant)
        texts = list(texts)
        if len(texts) > SWOT_MAX:
            raise ValidationFailed(
                _("A SWOT quadrant holds at most %(max)d items; merge or delete some first.")
                % {"max": SWOT_MAX},
                field=quadrant,
            )
        out[quadrant] = [_swot_text(t, field=f"{quadrant}.{i}") for i, t in enumerate(texts)]
    return out


@transaction.atomic
def swot_set(*, actor, account: Account, items: Mapping[str, Sequence[str]]) -> dict[str, list]:
    """Replace the whole SWOT: `items` maps each quadrant to its lines in order (a
    quadrant left out is emptied). One event "set" with every quadrant before and
    after, when anything changed. Returns the new items by quadrant."""
    lists = _swot_lists(items)
    _lock(account)
    old: dict[str, list[str]] = {q: [] for q in QUADRANTS}
    for quadrant, text in (
        SwotItem.objects.filter(account=account)
        .order_by("quadrant", "position", "id")
        .values_list("quadrant", "text")
    ):
        old.setdefault(quadrant, []).append(text)
    SwotItem.objects.filter(account=account).delete()
    now = clock.now()
    created = SwotItem.objects.bulk_create(
        SwotItem(
            account=account,
            quadrant=quadrant,
            text=text,
            position=i,
            created_at=now,
            updated_at=now,
        )
        for quadrant in QUADRANTS
        for i, text in enumerate(lists[quadrant])
    )
    if old != lists:
        audit.record(
            actor=actor,
            entity="swot",
            entity_id=account.pk,
            action="set",
            before=old,
            after=lists,
            account_id=account.pk,
        )
    out: dict[str, list[SwotItem]] = {q: [] for q in QUADRANTS}
    for item in created:
        out[item.quadrant].append(item)
    return out


# --- the position --------------------------------------------------------------------


@transaction.atomic
def position_set(
    *,
    actor,
    account: Account,
    posture: str = "",
    barrier_technical: bool = False,
    barrier_commercial: bool = False,
    barrier_process: bool = False,
    notes: str = "",
) -> Position:
    """State our posture at the account — "attack" (challenger), "defend"
    (incumbent) or "" (not decided) — and which entry barriers we hold: technical
    (our specifications or patents are in their designs), commercial (contracts,
    pricing, service terms) and process embedding (our people or systems are in
    their processes). Every field is replaced. Event "created" or "updated" with the
    fields that changed."""
    data = {
        "posture": validation.choice(posture, field="posture", choices=Posture),
        "barrier_technical": _flag(barrier_technical, field="barriers.technical"),
        "barrier_commercial": _flag(barrier_commercial, field="barriers.commercial"),
        "barrier_process": _flag(barrier_process, field="barriers.process"),
        "notes": validation.text(notes, field="notes", max_length=NOTES_MAX),
    }
    _lock(account)
    position = Position.objects.filter(account=account).first()
    if position is None:
        position = Position.objects.create(account=account, **data)
        audit.record(
            actor=actor,
            entity="competitive_position",
            entity_id=position.pk,
            action="created",
            after=audit.snapshot(position, POSITION_FIELDS),
            account_id=account.pk,
        )
        return position
    before, after = audit.apply_changes(position, data)
    if after:
        position.updated_at = clock.now()
        position.save(update_fields=[*after, "updated_at"])
        audit.record(
            actor=actor,
            entity="competitive_position",
            entity_id=position.pk,
            action="updated",
            before=before,
            after=after,
            account_id=account.pk,
        )
    return position
