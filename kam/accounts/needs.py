"""An account's needs (需求分析, SPEC §6): the needs radar, the satisfaction records
over time, and the account type questionnaire (三类大客户) — the services that change
them and the selectors that read them.

Visibility is the account's: callers first find it through
`account_get_for_user` (read) or `account_get_for_edit` (write), then call these.

- **Needs radar**: `needs_set` replaces the account's list of dimensions (what the
  customer cares about, 1–5, and how well we serve it, 1–5) as a whole, in one event
  with the list before and after. A *shortfall* ("where we fall short") is a dimension
  the customer rates at least `SHORTFALL_MIN_IMPORTANCE` where our fit lies at least
  `SHORTFALL_MIN_GAP` points below its importance.
- **Satisfaction**: `satisfaction_record_add` / `satisfaction_record_delete`, one
  event each (entity "satisfaction").
- **Account type**: `account_type_questionnaire` asks the methodology model for a
  suggestion and, when told to apply it, sets the type through `account_update`
  (its usual "updated" event)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

from django.db import transaction
from django.db.models import QuerySet
from django.utils.translation import gettext as _

from kam.accounts.models import Account, AccountNeed, SatisfactionRecord
from kam.accounts.services import account_update
from kam.core import audit, clock, validation
from kam.core.errors import NotFound, ValidationFailed
from kam.core.i18n import show
from kam.methodology import registry
from kam.methodology.account_types import AnswerError, Suggestion

NEEDS_MAX = 20
RADAR_MIN = 3  # a radar needs three axes to be a shape
SCORE_MIN, SCORE_MAX = 1, 5
SHORTFALL_MIN_IMPORTANCE = 4
SHORTFALL_MIN_GAP = 2
DIMENSION_MAX = 100
NOTE_MAX = 500
NEED_FIELDS = ("dimension", "importance", "our_fit", "note")
SATISFACTION_FIELDS = ("date", "score", "contact", "note")
MAX_ID = 2**63 - 1


# --- needs radar -------------------------------------------------------------------


def is_shortfall(importance: int, our_fit: int) -> bool:
    """The customer cares a lot and we serve it clearly less well than it matters."""
    return importance >= SHORTFALL_MIN_IMPORTANCE and importance - our_fit >= SHORTFALL_MIN_GAP


def shortfalls(needs: Iterable[AccountNeed]) -> list[AccountNeed]:
    """The shortfalls, the widest gap first (then the most important, then list order)."""
    short = [n for n in needs if is_shortfall(n.importance, n.our_fit)]
    order = {id(n): i for i, n in enumerate(short)}
    return sorted(short, key=lambda n: (n.our_fit - n.importance, -n.importance, order[id(n)]))


def needs_for_account(account: Account) -> list[AccountNeed]:
    """The radar's dimensions in their order: one query."""
    return list(AccountNeed.objects.filter(account=account).order_by("position", "id"))


def _score(value: Any, *, field: str) -> int:
    number = validation.whole_number(value, field=field, minimum=SCORE_MIN, maximum=SCORE_MAX)
    if number is None:
        raise ValidationFailed(_("This field is required."), field=field)
    return number


def _clean_needs(needs: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    items = list(needs)
    if len(items) > NEEDS_MAX:
        raise ValidationFailed(
            _("Keep to at most %(max)d dimensions (this has %(n)d).")
            % {"max": NEEDS_MAX, "n": len(items)},
            field="needs",
        )
    out: list[dict[str, Any]] = []
    seen: dict[str, int] = {}
    for i, item in enumerate(items):
        if not isinstance(item, Mapping):
            raise ValidationFailed(_("Send a JSON object."), field=f"needs.{i}")
        unknown = set(item) - set(NEED_FIELDS)
        if unknown:
            raise ValueError(f"not need fields: {sorted(unknown)}")
        dimension = validation.text(
            item.get("dimension"),
            field=f"needs.{i}.dimension",
            max_length=DIMENSION_MAX,
            required=True,
        )
        folded = dimension.casefold()
        if folded in seen:
            raise ValidationFailed(
                _("“%(name)s” is already in the list (row %(row)d); give each dimension once.")
                % {"name": dimension, "row": seen[folded] + 1},
                field=f"needs.{i}.dimension",
            )
        seen[folded] = i
        out.append(
            {
                "dimension": dimension,
                "importance": _score(item.get("importance"), field=f"needs.{i}.importance"),
                "our_fit": _score(item.get("our_fit"), field=f"needs.{i}.our_fit"),
                "note": validation.text(
                    item.get("note"), field=f"needs.{i}.note", max_length=NOTE_MAX
                ),
            }
        )
    return out


def _need_rows(needs: Iterable[AccountNeed]) -> list[dict[str, Any]]:
    return [{name: getattr(n, name) for name in NEED_FIELDS} for n in needs]


@transaction.atomic
def needs_set(*, actor, account: Account, needs: Iterable[Mapping[str, Any]]) -> list[AccountNeed]:
    """Replace the account's needs radar with `needs`, in this order: each a mapping
    with `dimension` (unique, case ignored), `importance` and `our_fit` (1–5) and an
    optional `note`. An empty list clears the radar. One event "needs_set" with the
    list before and after; nothing is written when the list is unchanged."""
    rows = _clean_needs(needs)
    # Lock the account row so two editors replacing the radar queue up.
    Account.objects.select_for_update().filter(pk=account.pk).first()
    current = needs_for_account(account)
    before = _need_rows(current)
    if before == rows:
        return current
    AccountNeed.objects.filter(account=account).delete()
    AccountNeed.objects.bulk_create(
        AccountNeed(account=account, position=i, **row) for i, row in enumerate(rows)
    )
    audit.record(
        actor=actor,
        entity="account",
        entity_id=account.pk,
        action="needs_set",
        before={"needs": before},
        after={"needs": rows},
        account_id=account.pk,
    )
    return needs_for_account(account)


# --- satisfaction ------------------------------------------------------------------


def satisfaction_for_account(account: Account) -> QuerySet[SatisfactionRecord]:
    """The records oldest first, each with its contact and recorder: one query."""
    return (
        SatisfactionRecord.objects.filter(account=account)
        .select_related("contact", "recorded_by")
        .order_by("date", "id")
    )


def satisfaction_record_get(account: Account, record_id: int) -> SatisfactionRecord:
    """One record of this account; a record of another account is not found."""
    record = (
        satisfaction_for_account(account).filter(pk=record_id).first()
        if 0 < record_id <= MAX_ID
        else None
    )
    if record is None:
        raise NotFound(_("No such satisfaction record at this account."))
    return record


def _day(value: Any, *, field: str) -> dt.date:
    """The day the customer said it: today when not given, never in the future."""
    return validation.past_date(value, field=field) or clock.today()


@transaction.atomic
def satisfaction_record_add(
    *,
    actor,
    account: Account,
    score: int,
    date: dt.date | str | None = None,
    contact=None,
    note: str = "",
) -> SatisfactionRecord:
    """Record how satisfied the customer is with us (1–5) on a day (today when not
    given), optionally as told by one of the account's contacts."""
    data = {
        "score": _score(score, field="score"),
        "date": _day(date, field="date"),
        "note": validation.text(note, field="note", max_length=NOTE_MAX),
    }
    if contact is not None and contact.account_id != account.pk:
        raise ValidationFailed(
            _("%(name)s is not a contact of this account; choose someone who works there.")
            % {"name": contact.name},
            field="contact_id",
        )
    record = SatisfactionRecord.objects.create(
        account=account, contact=contact, recorded_by=actor, **data
    )
    audit.record(
        actor=actor,
        entity="satisfaction",
        entity_id=record.pk,
        action="created",
        after=audit.snapshot(record, SATISFACTION_FIELDS),
        account_id=account.pk,
    )
    return record


@transaction.atomic
def satisfaction_record_delete(*, actor, record: SatisfactionRecord) -> None:
    audit.record(
        actor=actor,
        entity="satisfaction",
        entity_id=record.pk,
        action="deleted",
        before=audit.snapshot(record, SATISFACTION_FIELDS),
        account_id=record.account_id,
    )
    record.delete()


# --- account type questionnaire ----------------------------------------------------


def account_type_suggest(answers: Mapping[str, Any]) -> Suggestion:
    """The questionnaire's suggestion; an unknown question or answer is a
    ValidationFailed on `answers.<question>`."""
    try:
        return registry.current().account_types.suggest(answers)
    except AnswerError as exc:
        raise ValidationFailed(show(exc.msg), field=f"answers.{exc.question}") from None


def account_type_questionnaire(
    *, actor, account: Account, answers: Mapping[str, Any], apply: bool = False
) -> Suggestion:
    """Suggest a type from `answers` and, with `apply`, make it the account's type
    through `account_update` (audited there). Applying needs at least one answer."""
    suggestion = account_type_suggest(answers)
    if apply:
        if suggestion.type is None:
            raise ValidationFailed(
                _("Answer at least one question before applying a suggestion."), field="answers"
            )
        account_update(actor=actor, account=account, account_type=suggestion.type)
    return suggestion
