"""The alerts (红旗) of a whole pipeline, for the manager's alert list (SPEC §5 "in
bulk for a pipeline", §8 "alerts by severity"): one read that the API
(`GET /api/v1/risks`) and the web page (`/alerts/`) share.

The deals are read in chunks of `CHUNK` with their kept assessments
(`stored.summaries`: each deal's alerts as codes and severities, computed again only
for the deals whose facts, methodology or time moved on), so a book of hundreds of
thousands of open deals is scanned in bounded memory. Only the rows a page can show are
kept (`keep`); those deals are read with their account and owner at the end and
assessed in full, for the alerts' words in the reader's language. Severity and code are
filters on the codes read, so they cost nothing more."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from kam.core.errors import ValidationFailed
from kam.core.i18n import show
from kam.methodology import registry, risks
from kam.methodology.text import Msg
from kam.opportunities import stored
from kam.opportunities.assess import assess_many
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


# Deals assessed in full at a time (one round of fact queries each).
CHUNK = stored.CHUNK


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
    # Per severity, the matching (deal id, the alert's place among the deal's) in deal
    # order: the sorted list is these lists one after the other, so its first `keep` rows
    # are among each one's first `keep`.
    kept: dict[str, list[tuple[int, int]]] = {s: [] for s in SEVERITIES}
    total = 0
    for (deal_id,), summary in stored.summaries(deals, ("pk",)):
        for place, (alert_code, alert_severity) in enumerate(summary.alerts):
            severity_ok = not severities or alert_severity in severities
            code_ok = not codes or alert_code in codes
            if code_ok and alert_severity in by_severity:
                by_severity[alert_severity] += 1
            if severity_ok:
                by_code[alert_code] = by_code.get(alert_code, 0) + 1
            if severity_ok and code_ok:
                total += 1
                bucket = kept.get(alert_severity)
                if bucket is not None and (keep is None or len(bucket) < keep):
                    bucket.append((deal_id, place))
    first = [row for s in SEVERITIES for row in kept[s]]
    if keep is not None:
        first = first[:keep]
    return AlertScan(
        rows=_with_deals(first),
        by_severity=by_severity,
        by_code=in_rule_order(by_code),
        total=total,
    )


def _with_deals(rows: list[tuple[int, int]]) -> list[DealAlert]:
    """The rows with their deals, read with account and owner, and their alerts in full
    (titles, messages and what to do: assessed now, CHUNK deals at a time)."""
    ids = list(dict.fromkeys(deal_id for deal_id, _place in rows))
    deals: dict[int, Opportunity] = {}
    alerts: dict[int, list[risks.Alert]] = {}
    for start in range(0, len(ids), CHUNK):
        part = Opportunity.objects.select_related("account", "owner").in_bulk(
            ids[start : start + CHUNK]
        )
        deals.update(part)
        alerts.update((pk, a.alerts) for pk, a in assess_many(part.values()).items())
    return [
        DealAlert(deals[deal_id], alerts[deal_id][place])
        for deal_id, place in rows
        # a deal deleted, or changed, since its summary was read is left out
        if deal_id in deals and place < len(alerts[deal_id])
    ]
