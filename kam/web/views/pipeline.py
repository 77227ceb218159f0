"""The manager's dashboard page (路标管理, SPEC §8) and the deals behind any of its numbers.

The page reads the book once through `pipeline_report` (a fixed number of queries
whatever the book size, see kam/opportunities/pipeline.py) and shows it as
`pipeline_body` — the same JSON as `GET /api/v1/pipeline`, so the page and the API
never disagree. The charts are drawn by static/kam/pipeline.js from the JSON block
`pipeline-data`; the tables are rendered here. Every number links to
/pipeline/deals/?figure=<its drill key>&<the filters>: htmx loads that list into the
drill-down dialog, and without JavaScript it opens as a page of its own.

Bad filters never cost a 500: the form shows what was wrong (422) and the page falls
back to the default view (this quarter, the whole visible book)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from django import forms
from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.urls import reverse
from django.utils import formats
from django.utils.cache import patch_vary_headers
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _
from django.views.decorators.http import require_safe

from kam.core import clock
from kam.core.errors import ValidationFailed
from kam.core.permissions import user_scope
from kam.opportunities.alerts import SEVERITY_NAMES, alert_name
from kam.opportunities.api import MAX_ID
from kam.opportunities.api_pipeline import deal_ref, drill_page, pipeline_body
from kam.opportunities.models import Status
from kam.opportunities.pipeline import Filters, Pipeline, parse_filters, pipeline_report
from kam.users.models import Role, Team, User
from kam.web import presenters
from kam.web.forms import DateInput
from kam.web.views.common import int_param, wants_partial

DRILL_PAGE_SIZE = 25
STALLED_SHOWN = 15  # rows of the stalled table; the rest behind "all N"
MOVES_SHOWN = 10  # rows of the list of deals that moved in the buyer's process


# --- numbers as a sales manager reads them ---------------------------------------------------


def compact(value: Any) -> str:
    """A large amount at a glance: 1.72亿 / 5,265.1万 in Chinese, 172.5M / 52.7k in
    English; the exact figure goes in the element's title."""
    number = Decimal(str(value or 0))
    size = abs(number)
    if (get_language() or "").startswith("zh"):
        if size >= 10**8:
            return f"{number / 10**8:,.2f}亿"
        if size >= 10**4:
            return f"{number / 10**4:,.1f}万"
        return f"{number:,.0f}"
    if size >= 10**9:
        return f"{number / 10**9:,.2f}B"
    if size >= 10**6:
        return f"{number / 10**6:,.1f}M"
    if size >= 10**3:
        return f"{number / 10**3:,.1f}k"
    return f"{number:,.0f}"


def percent(rate: float | None) -> str:
    return "—" if rate is None else f"{rate * 100:.0f}%"


def days(value: float | None) -> str:
    return "—" if value is None else f"{value:g}"


def month_name(key: str) -> str:
    """2027-01 → 2027年1月 / January 2027."""
    try:
        first = dt.date(int(key[:4]), int(key[5:7]), 1)
    except ValueError:
        return key
    return formats.date_format(first, "YEAR_MONTH_FORMAT")


# --- the filter form -------------------------------------------------------------------------


def period_choices(today: dt.date) -> list[tuple[str, str]]:
    """The periods a manager asks for, named as they say them, with the key shown."""
    quarter = (today.month - 1) // 3 + 1
    last_q = (today.year, quarter - 1) if quarter > 1 else (today.year - 1, 4)
    named = [
        (f"{today.year}Q{quarter}", _("This quarter")),
        (f"{last_q[0]}Q{last_q[1]}", _("Last quarter")),
        (f"{today.year}-{today.month:02d}", _("This month")),
        (f"{today.year}H{1 if today.month <= 6 else 2}", _("This half-year")),
        (str(today.year), _("This year")),
        (str(today.year - 1), _("Last year")),
    ]
    return [(key, f"{label} ({key})") for key, label in named]


class PipelineFilterForm(forms.Form):
    """Period, owner, team (admins) and playbook. The fields only read the input;
    `parse_filters` decides what is allowed, so the page and the API refuse the
    same things with the same messages."""

    period = forms.CharField(label=gettext_lazy("Period"), required=False, max_length=20)
    start = forms.DateField(label=gettext_lazy("From"), required=False, widget=DateInput())
    end = forms.DateField(label=gettext_lazy("To"), required=False, widget=DateInput())
    owner = forms.IntegerField(
        label=gettext_lazy("Owner"), required=False, min_value=1, max_value=MAX_ID
    )
    team = forms.IntegerField(
        label=gettext_lazy("Team"), required=False, min_value=1, max_value=MAX_ID
    )
    playbook = forms.CharField(label=gettext_lazy("Playbook"), required=False, max_length=40)

    def __init__(self, data=None, *, user):
        super().__init__(data)
        self.user = user
        today = clock.today()
        periods = period_choices(today)
        asked = (data or {}).get("period", "")
        if asked and asked not in dict(periods):
            periods.append((asked, asked))  # a period of a link (2025Q2): shown as it is
        self.fields["period"].widget = forms.Select(choices=[*periods, ("", _("From – to"))])
        self.fields["period"].initial = periods[0][0]
        people = sorted(User.objects.filter(user_scope(user)), key=lambda u: (str(u), u.pk))
        self.show_owner = len(people) > 1
        self.fields["owner"].widget = forms.Select(
            choices=[("", _("Everyone"))] + [(u.pk, str(u)) for u in people]
        )
        self.show_team = user.role == Role.ADMIN
        teams = list(Team.objects.all()) if self.show_team else []
        self.fields["team"].widget = forms.Select(
            choices=[("", _("All teams"))] + [(t.pk, t.name) for t in teams]
        )
        self.fields["playbook"].widget = forms.Select(
            choices=[("", _("All playbooks")), *presenters.playbook_choices()]
        )

    def filters(self) -> Filters:
        """The filters asked for; with an error on the form, the default ones."""
        default = parse_filters(self.user)
        if not self.is_bound or not self.is_valid():
            return default
        data = self.cleaned_data
        dates = data.get("start") is not None or data.get("end") is not None
        try:
            return parse_filters(
                self.user,
                # dates given win over the named period, as on the grading page
                period=None if dates else (data.get("period") or "").strip() or None,
                start=data.get("start") if dates else None,
                end=data.get("end") if dates else None,
                owner=data.get("owner"),
                team=data.get("team"),
                playbook=(data.get("playbook") or "").strip(),
            )
        except ValidationFailed as exc:
            self.add_error(exc.field if exc.field in self.fields else None, str(exc.message))
            return default

    def messages(self) -> list[str]:
        return [str(e) for errors in self.errors.values() for e in errors]


# --- the page --------------------------------------------------------------------------------


def _by_playbook(rows: list[dict], names: dict[str, str]) -> list[dict]:
    groups: dict[str, dict] = {}
    for row in rows:
        group = groups.setdefault(
            row["playbook"],
            {"key": row["playbook"], "name": names.get(row["playbook"], ""), "rows": []},
        )
        group["rows"].append(dict(row))
    return list(groups.values())


def chart_data(body: dict, drill_url: str, today: dt.date) -> dict:
    """What pipeline.js draws: the body without the lists the tables show, the words
    of the charts, and where a click drills down to."""
    data = {k: v for k, v in body.items() if k not in ("stalled", "forced_moves", "a_at_risk")}
    data["progress"] = {k: v for k, v in body["progress"].items() if k != "deals"}
    data["drill_url"] = drill_url
    data["this_month"] = f"{today.year}-{today.month:02d}"
    data["lang"] = get_language() or "en"
    data["text"] = {
        "count": _("Deals"),
        "amount": _("Amount"),
        "weighted": _("Weighted amount"),
        "won": _("Won"),
        "won_amount": _("Amount won"),
        "overdue": _("Overdue: deals still expected in a month already over"),
        "this_month": _("This month"),
        "stages_advanced": _("Buyer stages advanced"),
        "deals_advanced": _("Deals advanced"),
        "seller_advances": _("Our stage advances"),
        "won_count": _("Deals won"),
        "click": _("Click to list the deals"),
        "failed": _("The deals could not be loaded. Try again."),
    }
    return data


def dashboard_context(form: PipelineFilterForm, report: Pipeline) -> dict:
    body = pipeline_body(report)
    filters = report.filters
    query = urlencode(filters.query())
    drill_url = f"{reverse('pipeline-deals')}?{query}&figure="
    today = clock.today()
    names = dict(presenters.playbook_choices())
    by_stage = _by_playbook(body["by_stage"], names)
    conversion = _by_playbook(body["conversion"], names)
    for group in conversion:
        for row in group["rows"]:
            row["rate_text"] = percent(row["rate"])
            row["median_text"] = days(row["median_days"])
            median = row["median_days"]
            row["slow"] = median is not None and median > row["healthy_days"]
    alerts = body["alerts"]
    most = max(alerts["by_code"].values(), default=0)
    codes = [
        {
            "code": code,
            "name": alert_name(code),
            "count": n,
            "deals": report.drill.count(f"code:{code}"),
            "width": round(100 * n / most) if most else 0,
        }
        for code, n in alerts["by_code"].items()
    ]
    severities = [
        {
            "severity": s,
            "name": SEVERITY_NAMES.get(s, s),
            "count": n,
            "deals": report.drill.count(f"alerts:{s}"),
        }
        for s, n in alerts["by_severity"].items()
    ]
    reps = [
        dict(r, weighted_text=compact(r["open"]["weighted"])) for r in body["progress"]["by_rep"]
    ]
    win = body["win_rate"]
    forced_deals = report.drill.count("forced")
    return {
        "form": form,
        "errors": form.messages(),
        "body": body,
        "filters": filters,
        "period": filters.period,
        "query": query,
        "drill_url": drill_url,
        "chart": chart_data(body, drill_url, today),
        "totals": body["totals"],
        "totals_amount": compact(body["totals"]["amount"]),
        "totals_weighted": compact(body["totals"]["weighted"]),
        "win": win,
        "win_rate": percent(win["rate"]),
        "win_amount_rate": percent(win["amount_rate"]),
        "won_amount": compact(win["won_amount"]),
        "cycle": body["cycle"],
        "cycle_median": days(body["cycle"]["median_days"]),
        "cycle_mean": days(body["cycle"]["mean_days"]),
        "progress": body["progress"],
        "severities": severities,
        "codes": codes,
        "stage_groups": by_stage,
        "conversion": conversion,
        "has_exits": any(r["advanced"] or r["dropped"] for r in body["conversion"]),
        "reps": reps,
        "has_rep_progress": any(
            r["stages_advanced"] or r["seller_advances"] or r["won_count"] or r["deals_moved_back"]
            for r in reps
        ),
        "stalled": body["stalled"][:STALLED_SHOWN],
        "stalled_count": body["stalled_count"],
        "forced": body["forced_moves"],
        "forced_deals": forced_deals,
        "at_risk": body["a_at_risk"],
        "at_risk_count": body["a_at_risk_count"],
        "moves": body["progress"]["deals"][:MOVES_SHOWN],
        "moves_count": len(body["progress"]["deals"]),
        "overdue": [m for m in body["forecast"] if m["overdue"]],
        "nav": "pipeline",
    }


@login_required
@require_safe
def pipeline_dashboard_view(request):
    form = PipelineFilterForm(request.GET or None, user=request.user)
    filters = form.filters()
    report = pipeline_report(request.user, filters)
    context = dashboard_context(form, report)
    status = 422 if form.errors else 200
    return render(request, "web/pipeline/dashboard.html", context, status=status)


# --- the deals behind a number ---------------------------------------------------------------


def _person_name(user, report: Pipeline, raw: str) -> str:
    """The person a rep_* figure names — only among the people the user sees, so a
    figure cannot reveal who is behind an id outside the user's scope."""
    pk = int(raw)
    for rep in report.reps:
        if rep.user is not None and rep.user.pk == pk:
            return str(rep.user)
    person = User.objects.filter(user_scope(user), pk=pk).first() if pk <= MAX_ID else None
    return str(person) if person is not None else f"#{raw}"


def figure_name(user, figure: str, report: Pipeline) -> str:
    """What a number of the dashboard stands for, in the user's language: the title of
    its drill-down list."""
    kind, _sep, rest = figure.partition(":")
    fixed = {
        "open": _("Open deals"),
        "progress": _("Deals advanced in the buyer's process in the period"),
        "moved_back": _("Deals moved back in the buyer's process in the period"),
        "stalled": _("Stalled deals"),
        "forced": _("Deals forced past a key node in the period"),
        "at_risk": _("A deals at risk"),
        "won": _("Deals won in the period"),
        "lost": _("Deals lost in the period"),
        "abandoned": _("Deals abandoned in the period"),
    }
    if figure in fixed:
        return fixed[figure]
    if kind in ("stage", "advanced", "dropped"):
        playbook, _sep, stage = rest.partition(":")
        name = presenters.stage_name(playbook, stage)
        if kind == "stage":
            return _("Our stage: %(stage)s") % {"stage": name}
        if kind == "advanced":
            return _("Advanced from %(stage)s in the period") % {"stage": name}
        return _("Lost or abandoned at %(stage)s in the period") % {"stage": name}
    if kind == "buyer":
        return _("Buyer's stage: %(stage)s") % {"stage": presenters.buyer_stage_name(rest)}
    if kind == "code":
        return _("Deals with the alert “%(alert)s”") % {"alert": alert_name(rest)}
    if kind == "alerts":
        return {
            "high": _("Deals with a high-severity alert"),
            "medium": _("Deals with a medium-severity alert"),
        }.get(rest, _("Deals with a low-severity alert"))
    if kind == "month":
        return _("Expected to close in %(month)s") % {"month": month_name(rest)}
    if kind == "won_month":
        return _("Won in %(month)s") % {"month": month_name(rest)}
    person = _person_name(user, report, rest)
    if kind == "rep_open":
        return _("Open deals of %(person)s") % {"person": person}
    if kind == "rep_progress":
        return _("Deals of %(person)s advanced in the buyer's process") % {"person": person}
    if kind == "rep_advances":
        return _("Deals of %(person)s advanced to our next stage in the period") % {
            "person": person
        }
    return _("Deals won by %(person)s in the period") % {"person": person}


def _drill_row(opp, report: Pipeline) -> dict:
    row = deal_ref(opp, report)
    row["status_name"] = str(dict(Status.choices).get(opp.status, opp.status))
    return row


@login_required
@require_safe
def pipeline_deals_view(request):
    """One page of the deals behind a figure: a partial for the dashboard's drill-down
    dialog (htmx), or a page of its own. A bad figure or filter is a 422 with the
    message, never a list for other filters than the ones asked for."""
    form = PipelineFilterForm(request.GET or None, user=request.user)
    filters = form.filters()
    figure = (request.GET.get("figure") or "").strip()
    errors = form.messages()
    context: dict[str, Any] = {"figure": figure, "nav": "pipeline"}
    if not errors:
        try:
            report, found = drill_page(
                request.user,
                filters,
                figure,
                page=int_param(request, "page") or 1,
                page_size=DRILL_PAGE_SIZE,
            )
        except ValidationFailed as exc:
            errors = [str(exc.message)]
        else:
            count, page = found["count"], found["page"]
            pages = max(1, -(-count // DRILL_PAGE_SIZE))
            context.update(
                title=figure_name(request.user, figure, report),
                count=count,
                rows=[_drill_row(o, report) for o in found["items"]],
                page=page,
                pages=pages,
                first=(page - 1) * DRILL_PAGE_SIZE + 1,
                previous_page=page - 1 if page > 1 else None,
                next_page=page + 1 if page < pages else None,
                period=filters.period,
                dashboard_url=f"{reverse('pipeline-dashboard')}?{urlencode(filters.query())}",
            )
    context["errors"] = errors
    partial = wants_partial(request)
    template = "web/pipeline/_deals.html" if partial else "web/pipeline/deals.html"
    response = render(request, template, context, status=422 if errors else 200)
    patch_vary_headers(response, ("HX-Request",))
    return response
