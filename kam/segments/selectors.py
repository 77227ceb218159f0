"""Reading market segments and the accounts in them.

Every signed-in user reads every segment (they are the organisation's map of its
market); which accounts a segment holds is always computed from its definition over
the accounts the user may see (`accounts_for_user`), so a rep finds only their own
accounts in it. `segment_filter` turns a definition into one SQL condition — account
fields with __in / __icontains, profile attributes through JSON key lookups
(KeyTextTransform: `attributes ->> key` on PostgreSQL, JSON_EXTRACT on SQLite) —
and `account_matches` in kam/methodology/segmentation.py makes the same decision in
Python for one account."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count, Q, QuerySet
from django.db.models.fields.json import KeyTextTransform
from django.db.models.lookups import IContains, In
from django.utils.translation import gettext as _

from kam.accounts.models import Account
from kam.accounts.selectors import accounts_for_user
from kam.core.errors import NotFound
from kam.core.i18n import language
from kam.core.permissions import is_manager
from kam.methodology import registry
from kam.methodology.segmentation import (
    SegmentationModel,
    SegmentScore,
    account_matches,
    account_values,
    definition_parts,
)
from kam.segments.models import Segment
from kam.segments.services import check_may_edit

MAX_ID = 2**63 - 1
# Segments counted per aggregate query: keeps the SQL well inside SQLite's limits.
COUNT_CHUNK = 100


def _model() -> SegmentationModel:
    return registry.current().segmentation


def segments_for_user(user) -> QuerySet[Segment]:
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return Segment.objects.none()
    return Segment.objects.all()


def segment_get_for_user(user, segment_id: int) -> Segment:
    segment = (
        segments_for_user(user).filter(pk=segment_id).first() if 0 < segment_id <= MAX_ID else None
    )
    if segment is None:
        raise NotFound(_("No such segment."))
    return segment


def segment_get_for_edit(user, segment_id: int) -> Segment:
    """The segment to change: 404 when unknown, 403 for a rep."""
    segment = segment_get_for_user(user, segment_id)
    check_may_edit(user)
    return segment


def may_edit_segments(user) -> bool:
    return is_manager(user)


# --- matching --------------------------------------------------------------------------


def segment_filter(definition: dict) -> Q:
    """The accounts the definition accepts, as one condition (AND across variables,
    OR within one). An empty definition is Q(): every account."""
    model = _model()
    condition = Q()
    for key, accepted in (definition or {}).items():
        variable = model.variable(key)
        if variable is None or not accepted:
            continue
        if variable.field is None:
            attribute = KeyTextTransform(variable.key, "attributes")
            if variable.is_text:
                options = [Q(IContains(attribute, text)) for text in accepted]
            else:
                options = [Q(In(attribute, list(accepted)))]
        elif variable.is_text:
            options = [Q(**{f"{variable.field}__icontains": text}) for text in accepted]
        else:
            options = [Q(**{f"{variable.field}__in": list(accepted)})]
        either = Q()
        for option in options:
            either |= option
        condition &= either
    return condition


def accounts_in_segment(user, segment: Segment) -> QuerySet[Account]:
    """The user's visible accounts in the segment: one query, owners joined."""
    return (
        accounts_for_user(user)
        .filter(segment_filter(segment.definition))
        .select_related("owner")
        .order_by("name", "id")
    )


def account_counts(user, segments: list[Segment]) -> dict[int, int]:
    """How many of the user's visible accounts each segment holds: one aggregate
    query (a filtered COUNT per segment) for up to COUNT_CHUNK segments, however many
    accounts there are."""
    counts: dict[int, int] = {}
    visible = accounts_for_user(user)
    for start in range(0, len(segments), COUNT_CHUNK):
        chunk = segments[start : start + COUNT_CHUNK]
        aggregates = {}
        for segment in chunk:
            condition = segment_filter(segment.definition)
            aggregates[f"s{segment.pk}"] = Count("pk", filter=condition or None)
        row = visible.aggregate(**aggregates)
        counts.update({segment.pk: row[f"s{segment.pk}"] for segment in chunk})
    return counts


@dataclass
class SegmentRow:
    segment: Segment
    score: SegmentScore
    account_count: int


def segment_list(user) -> list[SegmentRow]:
    """Every segment with its score and the number of the user's accounts in it:
    two queries (the segments, one aggregate of counts) for up to COUNT_CHUNK
    segments."""
    model = _model()
    segments = list(segments_for_user(user).order_by("name", "id"))
    counts = account_counts(user, segments)
    return [
        SegmentRow(segment=s, score=model.score(s.scores), account_count=counts[s.pk])
        for s in segments
    ]


def segment_row(user, segment: Segment) -> SegmentRow:
    """One segment with its score and visible account count (one COUNT query)."""
    return SegmentRow(
        segment=segment,
        score=_model().score(segment.scores),
        account_count=accounts_in_segment(user, segment).count(),
    )


def account_fields(account: Account) -> dict[str, str]:
    return {
        field: getattr(account, field) or ""
        for field in ("industry", "region", "size", "nature", "account_type")
    }


def segments_of_account(account: Account) -> list[Segment]:
    """The segments the account falls in, by name: one query for the segments, the
    matching in Python (the same decision as `segment_filter`)."""
    model = _model()
    values = account_values(model, account_fields(account), account.attributes)
    return [
        s
        for s in Segment.objects.order_by("name", "id")
        if account_matches(model, s.definition, values)
    ]


def definition_summary(definition: dict) -> str:
    """The definition in words in the user's language, e.g. "Industry: 汽车 / 电子 ·
    Company size: Large"."""
    parts = definition_parts(_model(), definition or {}, language())
    if not parts:
        return _("All accounts (no condition)")
    return " · ".join(f"{name}: {' / '.join(values)}" for name, values in parts)
