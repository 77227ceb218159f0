"""The alerts (红旗) of a whole pipeline, for the manager's alert list (SPEC §5 "in
bulk for a pipeline", §8 "alerts by severity"): one read that the API
(`GET /api/v1/risks`) and the web page (`/alerts/`) share.

The cost does not depend on the number of deals: one query for the visible open
deals (with their account and owner), then `assess_many` — the fixed set of fact
queries of `facts.deal_facts_many` for all of them at once. Severity and code are
filters on the computed alerts, so they cost nothing more."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from kam.core.errors import ValidationFailed
from kam.core.i18n import show
from kam.methodology import registry, risks
from kam.methodology.text import Msg
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
    one is chosen), `by_code` every filter except code."""

    rows: list[DealAlert]
    by_severity: dict[str, int]
    by_code: dict[str, int]

    @property
    def total(self) -> int:
        return len(self.rows)


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
) -> AlertScan:
    """Every alert of every open deal the user may see (closed deals raise none),
    sorted by severity (high first), then the deal's expected close, then its id;
    one deal's alerts of the same severity keep the rule order. An unknown severity,
    code or playbook is a ValidationFailed naming the field."""
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
    opps = list(deals.select_related("account", "owner").order_by("expected_close", "id"))
    found = assess_many(opps)
    every = [DealAlert(opp, alert) for opp in opps for alert in found[opp.pk].alerts]
    # Stable: deals stay in expected-close order within a severity.
    every.sort(key=lambda row: risks.SEVERITY_ORDER.get(row.alert.severity, len(SEVERITIES)))

    by_severity = dict.fromkeys(SEVERITIES, 0)
    by_code: dict[str, int] = {}
    rows = []
    for row in every:
        severity_ok = not severities or row.alert.severity in severities
        code_ok = not codes or row.alert.code in codes
        if code_ok and row.alert.severity in by_severity:
            by_severity[row.alert.severity] += 1
        if severity_ok:
            by_code[row.alert.code] = by_code.get(row.alert.code, 0) + 1
        if severity_ok and code_ok:
            rows.append(row)
    return AlertScan(rows=rows, by_severity=by_severity, by_code=in_rule_order(by_code))
