"""The alerts (红旗) of a whole pipeline, for the manager's alert list (SPEC §5 "in
bulk for a pipeline", §8 "alerts by severity"): one read that the API
(`GET /api/v1/risks`) and the web page (`/alerts/`) share.

The deals are read in chunks of `CHUNK` (their facts by `facts.deal_facts_many`, a
fixed set of queries per chunk), so a book of hundreds of thousands of open deals is
scanned in bounded memory and never sends more ids in one query than a database takes.
Only the alerts are computed (not gates or probabilities), and only the rows a page
can show are kept (`keep`); the deals of those rows are read with their account and
owner at the end. Severity and code are filters on the computed alerts, so they cost
nothing more."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import NamedTuple

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from kam.core.errors import ValidationFailed
from kam.core.i18n import show
from kam.methodology import registry, risks
from kam.methodology.text import Msg
from kam.opportunities.assess import risk_context
from kam.opportunities.facts import CHUNK as facts_chunk
from kam.opportunities.facts import deal_facts_many
from kam.opportunities.models import Opportunity, Status
from kam.opportunities.selectors import opportunities_for_user

SEVERITIES: tuple[str, ...] = tuple(sorted(risks.SEVERITY_ORDER, key=risks.SEVERITY_ORDER.get))

SEVERITY_NAMES = {
    "high": gettext_lazy("High severity"),
    "medium": gettext_lazy("Medium severity"),
    "low": gettext_lazy("Low severity"),
}


def alert_name(code: str) -> str:
    """What an alert is called in a filter or a count (its own title may name a stage
    or people)."""
    rule = risks.RULES.get(code)
    return show(Msg(rule.name)) if rule else code


@dataclass(frozen=True)
class DealAlert:
    """One alert of one deal: a row of the alert list."""

    opportunity: Opportunity
    alert: risks.Alert


@dataclass(frozen=True)
class AlertScan:
    """The alerts that match every filter, most severe first, and the counts a
    filter bar needs. The counts are facets: `by_severity` counts the alerts that
    match every filter except severity (so every severity keeps its number while
    one is chosen), `by_code` every filter except code. `rows` are the first rows of
    the sorted list (all of them, or as many as the scan was asked to keep); `total`
    counts them all."""

    rows: list[DealAlert]
    by_severity: dict[str, int]
    by_code: dict[str, int]
    total: int

    def page(self, offset: int, limit: int) -> list[DealAlert]:
        return self.rows[offset : offset + limit]


# Deals read and assessed at a time (one round of fact queries each).
CHUNK = facts_chunk

# What the rules read of a deal itself (the rest comes from deal_facts_many).
_DEAL_COLUMNS = (
    "pk",
    "playbook",
    "stage",
    "buyer_stage",
    "status",
    "priority",
    "stage_entered_at",
    "expected_close",
)


class _Deal(NamedTuple):
    pk: int
    playbook: str
    stage: str
    buyer_stage: str
    status: str
    priority: str
    stage_entered_at: object
    expected_close: object


def alert_codes() -> list[str]:
    """Every registered alert code (the API contract's codes), in rule order."""
    return list(risks.RULES)


def _values(raw: str | Iterable[str] | None) -> list[str]:
    """`?x=a&x=b` and `?x=a,b` alike: the non-empty values, trimmed, in order."""
    if raw is None:
        return []
    items = [raw] if isinstance(raw, str) else list(raw)
    out: list[str] = []
    for item in items:
        for part in str(item).split(","):
            part = part.strip()
            if part and part not in out:
                out.append(part)
    return out


def in_rule_order(counts: dict[str, int]) -> dict[str, int]:
    """Counts per alert code in the order of the rules (the order of the API contract)."""
    order = {c: i for i, c in enumerate(alert_codes())}
    return dict(sorted(counts.items(), key=lambda kv: order.get(kv[0], len(order))))


def parse_severities(raw: str | Iterable[str] | None) -> tuple[str, ...]:
    values = _values(raw)
    for value in values:
        if value not in SEVERITIES:
            raise ValidationFailed(
                _("Unknown severity “%(value)s”. Use one of: %(known)s.")
                % {"value": value, "known": ", ".join(SEVERITIES)},
                field="severity",
            )
    return tuple(values)


def parse_codes(raw: str | Iterable[str] | None) -> tuple[str, ...]:
    values = _values(raw)
    known = alert_codes()
    for value in values:
        if value not in known:
            raise ValidationFailed(
                _("Unknown alert code “%(value)s”. Use one of: %(known)s.")
                % {"value": value, "known": ", ".join(known)},
                field="code",
            )
    return tuple(values)


def alert_scan(
    user,
    *,
    severity: str | Iterable[str] | None = None,
    code: str | Iterable[str] | None = None,
    owner_id: int | None = None,
    team_id: int | None = None,
    playbook: str = "",
    keep: int | None = None,
) -> AlertScan:
    """Every alert of every open deal the user may see (closed deals raise none),
    sorted by severity (high first), then the deal's expected close, then its id;
    one deal's alerts of the same severity keep the rule order. With `keep`, only the
    first `keep` rows of that order are returned (every row is still counted). An
    unknown severity, code or playbook is a ValidationFailed naming the field."""
    severities = parse_severities(severity)
    codes = parse_codes(code)
    if playbook and playbook not in registry.playbook_keys():
        raise ValidationFailed(
            _("Unknown playbook “%(value)s”. Use one of: %(known)s.")
            % {"value": playbook, "known": ", ".join(registry.playbook_keys())},
            field="playbook",
        )
    deals = opportunities_for_user(user).filter(status=Status.OPEN)
    if owner_id:
        deals = deals.filter(owner_id=owner_id)
    if team_id:
        deals = deals.filter(owner__team_id=team_id)
    if playbook:
        deals = deals.filter(playbook=playbook)
    deals = deals.order_by("expected_close", "id")

    by_severity = dict.fromkeys(SEVERITIES, 0)
    by_code: dict[str, int] = {}
    # Per severity, the matching (deal id, alert) in deal order: the sorted list is these
    # lists one after the other, so its first `keep` rows are among each one's first `keep`.
    kept: dict[str, list[tuple[int, risks.Alert]]] = {s: [] for s in SEVERITIES}
    total = 0
    for deal_id, alert in _alerts(deals):
        severity_ok = not severities or alert.severity in severities
        code_ok = not codes or alert.code in codes
        if code_ok and alert.severity in by_severity:
            by_severity[alert.severity] += 1
        if severity_ok:
            by_code[alert.code] = by_code.get(alert.code, 0) + 1
        if severity_ok and code_ok:
            total += 1
            bucket = kept.get(alert.severity)
            if bucket is not None and (keep is None or len(bucket) < keep):
                bucket.append((deal_id, alert))
    first = [row for s in SEVERITIES for row in kept[s]]
    if keep is not None:
        first = first[:keep]
    return AlertScan(
        rows=_with_deals(first),
        by_severity=by_severity,
        by_code=in_rule_order(by_code),
        total=total,
    )


def _alerts(deals) -> Iterator[tuple[int, risks.Alert]]:
    """(deal id, alert) of each deal in the queryset's order, each deal's alerts most
    severe first (the rule order within a severity), read CHUNK deals at a time."""
    config = registry.current().risks
    contexts: dict[str, risks.RiskContext] = {}
    rows = deals.values_list(*_DEAL_COLUMNS).iterator(chunk_size=CHUNK)
    while True:
        chunk = [_Deal(*row) for _, row in zip(range(CHUNK), rows, strict=False)]
        if not chunk:
            return
        facts = deal_facts_many(chunk)
        for deal in chunk:
            ctx = contexts.get(deal.playbook)
            if ctx is None:
                ctx = contexts[deal.playbook] = risk_context(deal.playbook)
            for alert in risks.evaluate(facts[deal.pk], ctx, config):
                yield deal.pk, alert


def _with_deals(rows: list[tuple[int, risks.Alert]]) -> list[DealAlert]:
    """The rows with their deals, read with account and owner (CHUNK ids a query)."""
    ids = list(dict.fromkeys(deal_id for deal_id, _alert in rows))
    deals: dict[int, Opportunity] = {}
    for start in range(0, len(ids), CHUNK):
        deals.update(
            Opportunity.objects.select_related("account", "owner").in_bulk(
                ids[start : start + CHUNK]
            )
        )
    return [DealAlert(deals[deal_id], alert) for deal_id, alert in rows]
