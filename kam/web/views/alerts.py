"""The alert list (红旗预警, SPEC §5 and §8 "alerts by severity"): every alert of every
open deal the user may see — a rep their own, a manager their team's, an admin
all — with the counts per severity as filters, most severe first.

The rows come from `kam.opportunities.alerts.alert_scan`, the same read as
`GET /api/v1/risks`, so the page costs the same number of queries for 5 deals or
500. Also here: how an alert's evidence is shown on the opportunity page (the
person, the history entry, the milestone … with a link to its section)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django import forms
from django.contrib.auth.decorators import login_required
from django.urls import reverse
from django.utils.text import Truncator
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_safe

from kam.core.i18n import show
from kam.methodology.facts import DealFacts
from kam.methodology.risks import Alert
from kam.opportunities.alerts import (
    SEVERITIES,
    SEVERITY_NAMES,
    AlertScan,
    alert_codes,
    alert_name,
    alert_scan,
)
from kam.users.selectors import assignable_users
from kam.web import presenters
from kam.web.views.common import int_param, paginate, render_list

PAGE_SIZE = 100

# --- evidence on the opportunity page -------------------------------------------------


@dataclass(frozen=True)
class EvidenceLink:
    kind: str
    id: int
    label: str
    href: str  # the section of the opportunity page that holds it ("" when none)


def _stakeholder_name(facts: DealFacts, *, pk: int | None = None, contact: int | None = None):
    for s in facts.stakeholders:
        if (pk is not None and s.id == pk) or (contact is not None and s.contact_id == contact):
            return s.name
    return None


def _event_label(facts: DealFacts, event_id: int) -> str:
    for move in facts.forced_moves:
        if move.event_id == event_id:
            return _("Forced move of %(date)s") % {"date": move.at.date().isoformat()}
    for change in getattr(facts, "role_changes", ()):
        if change.event_id == event_id:
            return _("%(name)s, %(date)s") % {
                "name": change.name,
                "date": change.at.date().isoformat(),
            }
    return _("History entry")


def evidence_link(kind: str, pk: int, facts: DealFacts) -> EvidenceLink:
    """What one piece of an alert's evidence is, in words, and where it is on the
    deal's page — from the facts the alert was computed on (no query)."""
    label, href = "", ""
    if kind == "stakeholder":
        label, href = _stakeholder_name(facts, pk=pk) or _("A person"), "#stakeholders"
    elif kind == "contact":
        label, href = _stakeholder_name(facts, contact=pk) or _("A person"), "#stakeholders"
    elif kind == "event":
        label, href = _event_label(facts, pk), "#history"
    elif kind == "milestone":
        found = next((m for m in facts.milestones if m.id == pk), None)
        label = (
            f"{presenters.milestone_name(found.kind)} {found.date.isoformat()}"
            if found
            else _("Milestone")
        )
        href = "#milestones"
    elif kind == "criterion":
        label, href = _("Purchase criterion"), "#criteria"
    elif kind == "intel":
        found = next((i for i in getattr(facts, "intel", ()) if i.id == pk), None)
        label = Truncator(found.text).chars(60) if found else _("Intelligence item")
        href = "#intel"
    elif kind == "competitor":
        rival = next((c for c in getattr(facts, "competition", ()) if c.competitor_id == pk), None)
        label, href = (rival.name if rival else _("Competitor")), "#competition"
    return EvidenceLink(kind, pk, label or f"{kind} #{pk}", href)


def evidence_links(alert: Alert, facts: DealFacts) -> list[EvidenceLink]:
    """Each piece of evidence once (a person named twice is one link)."""
    seen, out = set(), []
    for e in alert.evidence:
        if (e.kind, e.id) not in seen:
            seen.add((e.kind, e.id))
            out.append(evidence_link(e.kind, e.id, facts))
    return out


# --- the alert list -------------------------------------------------------------------


class AlertFilterForm(forms.Form):
    severity = forms.ChoiceField(label=gettext_lazy("Severity"), required=False)
    code = forms.ChoiceField(label=gettext_lazy("Alert"), required=False)
    owner = forms.TypedChoiceField(label=gettext_lazy("Owner"), required=False, coerce=int)

    def __init__(self, data=None, *, actor):
        super().__init__(data)
        self.fields["severity"].choices = [("", _("All severities"))] + [
            (s, SEVERITY_NAMES[s]) for s in SEVERITIES
        ]
        # In rule order: the process rules, then the buying-centre ones.
        self.fields["code"].choices = [("", _("All alerts"))] + [
            (c, alert_name(c)) for c in alert_codes()
        ]
        owners = list(assignable_users(actor))
        self.fields["owner"].choices = [("", _("All owners"))] + [(u.pk, str(u)) for u in owners]
        self.show_owner = len(owners) > 1

    def filters(self) -> dict[str, Any]:
        """The valid filters; a value the form does not know is ignored, not an error."""
        self.is_valid()
        data = getattr(self, "cleaned_data", {})
        return {
            "severity": data.get("severity") or None,
            "code": data.get("code") or None,
            "owner_id": data.get("owner") or None,
        }


@dataclass(frozen=True)
class AlertListRow:
    code: str
    severity: str
    severity_name: str
    title: str
    message: str
    action: str
    opp: Any
    stage_name: str
    href: str  # the deal's page, at its alerts


def _rows(scan_rows) -> list[AlertListRow]:
    out = []
    for row in scan_rows:
        opp, alert = row.opportunity, row.alert
        out.append(
            AlertListRow(
                code=alert.code,
                severity=alert.severity,
                severity_name=str(SEVERITY_NAMES.get(alert.severity, alert.severity)),
                title=show(alert.title),
                message=show(alert.message),
                action=show(alert.action),
                opp=opp,
                stage_name=presenters.stage_name(opp.playbook, opp.stage),
                href=reverse("opportunity-detail", args=[opp.pk]) + "#alerts",
            )
        )
    return out


def alert_filters(request) -> tuple[AlertFilterForm, dict[str, Any]]:
    """The list's filters from the query string (a value the form does not know is
    ignored): the list and its Excel export both read them here."""
    form = AlertFilterForm(request.GET or None, actor=request.user)
    return form, form.filters()


class ScannedRows:
    """A scan's rows as the paginator sees them: as long as every matching alert,
    sliced from the first rows the scan kept."""

    def __init__(self, scan: AlertScan):
        self.scan = scan

    def __len__(self) -> int:
        return self.scan.total

    def __getitem__(self, index: slice):
        return self.scan.rows[index]


@login_required
@require_safe
def alert_list_view(request):
    form, filters = alert_filters(request)
    # Keep the rows up to the page asked for (a page past the end shows the last one,
    # which lies before it); the list counts every alert all the same.
    asked = int_param(request, "page") or 1
    scan = alert_scan(request.user, **filters, keep=asked * PAGE_SIZE)
    page = paginate(request, ScannedRows(scan), per_page=PAGE_SIZE)
    counts = [
        {"severity": s, "name": SEVERITY_NAMES[s], "count": scan.by_severity[s]} for s in SEVERITIES
    ]
    context = {
        "form": form,
        "page": page,
        "rows": _rows(page.object_list),
        "counts": counts,
        "severity": filters["severity"] or "",
        "filtered": any(filters.values()),
        "nav": "alerts",
    }
    return render_list(
        request,
        page_template="web/alerts/list.html",
        partial_template="web/alerts/_results.html",
        context=context,
    )
