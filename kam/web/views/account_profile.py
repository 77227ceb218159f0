"""The account page's profile cards (SPEC §6): the account type (三类大客户) with its
playbook emphasis, the needs radar (需求分析) with where we fall short, and the
customer's satisfaction over time — plus the questionnaire page that suggests a type.

Reads go through `account_get_for_user`; every POST loads the account through
`account_get_for_edit` (another user's account is a 404, a visible one they may not
change a 403), calls one service of kam.accounts.needs, and redirects back to the
card (PRG) or renders the page again with the errors (status 422). The charts are
drawn by static/kam/account_profile.js from JSON blocks built here; the tables say
the same without the script."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from kam.accounts import needs as services
from kam.accounts.models import AccountNeed, SatisfactionRecord
from kam.accounts.selectors import account_get_for_edit, account_get_for_user, accounts_editable_by
from kam.core.errors import ValidationFailed
from kam.core.i18n import show
from kam.methodology import registry
from kam.methodology.account_types import TYPE_KEYS, Suggestion
from kam.web.profile_forms import (
    SATISFACTION_LEVELS,
    NeedsForm,
    SatisfactionForm,
    TypeQuestionnaireForm,
    satisfaction_label,
)
from kam.web.views.account_cards import back_to_card, card_errors, submit_card
from kam.web.views.common import domain_errors


@dataclass
class TypeView:
    key: str
    name: str
    buys: str
    decides: str
    relationship: str
    emphasis: list[str]


def type_view(key: str) -> TypeView | None:
    """A type of models/account_types.toml in the user's language; None for no type."""
    if key not in TYPE_KEYS:
        return None
    t = registry.current().account_types.type(key)
    return TypeView(
        key=key,
        name=show(t.name),
        buys=show(t.buys),
        decides=show(t.decides),
        relationship=show(t.relationship),
        emphasis=[show(e) for e in t.emphasis],
    )


@dataclass
class NeedRow:
    need: AccountNeed
    gap: int  # importance − our fit: how far we are below what it matters
    shortfall: bool

    @property
    def fit_vs_importance(self) -> str:
        """Our fit against the importance, signed: "−3" when we are three below."""
        delta = -self.gap
        return f"+{delta}" if delta > 0 else (f"−{-delta}" if delta < 0 else "0")


def radar_data(needs: list[AccountNeed]) -> dict | None:
    """What the radar draws: one axis per dimension, the customer's importance and
    our fit as two series. None below three dimensions (no shape to draw)."""
    if len(needs) < services.RADAR_MIN:
        return None
    return {
        "indicators": [{"name": n.dimension, "max": services.SCORE_MAX} for n in needs],
        "importance": [n.importance for n in needs],
        "fit": [n.our_fit for n in needs],
        "shortfall": [services.is_shortfall(n.importance, n.our_fit) for n in needs],
        "text": {"importance": _("Importance to the customer"), "fit": _("Our fit")},
    }


def satisfaction_data(records: list[SatisfactionRecord]) -> dict | None:
    """The score over time, with who told us and what, for the line chart."""
    if not records:
        return None
    return {
        "points": [
            {
                "date": r.date.isoformat(),
                "score": r.score,
                "who": r.contact.name if r.contact_id else "",
                "note": r.note,
            }
            for r in records
        ],
        "levels": {str(k): str(v) for k, v in SATISFACTION_LEVELS.items()},
        "text": {"score": _("Satisfaction")},
    }


def account_profile_context(request, account, forms: dict | None = None) -> dict:
    """The three cards. `forms` may hold a bound needs form ("needs") or satisfaction
    form ("satisfaction") carrying errors. Four queries: edit rights, the needs, the
    satisfaction records, and (for editors) the account's people."""
    forms = forms or {}
    user = request.user
    can_edit = accounts_editable_by(user).filter(pk=account.pk).exists()
    needs = services.needs_for_account(account)
    records = list(services.satisfaction_for_account(account))
    needs_form = forms.get("needs")
    satisfaction_form = forms.get("satisfaction")
    if can_edit:
        needs_form = needs_form or NeedsForm(actor=user, account=account, needs=needs)
        satisfaction_form = satisfaction_form or SatisfactionForm(actor=user, account=account)
    return {
        "profile_can_edit": can_edit,
        "profile_type": type_view(account.account_type),
        "profile_question_count": len(registry.current().account_types.questions),
        "profile_needs": [
            NeedRow(n, n.importance - n.our_fit, services.is_shortfall(n.importance, n.our_fit))
            for n in needs
        ],
        "profile_shortfalls": services.shortfalls(needs),
        "profile_radar": radar_data(needs),
        "profile_radar_min": services.RADAR_MIN,
        "profile_needs_max": services.NEEDS_MAX,
        "profile_needs_form": needs_form,
        "profile_needs_open": "needs" in forms,
        "profile_satisfaction": [(r, satisfaction_label(r.score)) for r in reversed(records)],
        "profile_satisfaction_chart": satisfaction_data(records),
        "profile_satisfaction_form": satisfaction_form,
        "profile_satisfaction_open": "satisfaction" in forms,
    }


@login_required
@require_POST
@domain_errors
def account_needs_view(request, account_id: int):
    account = account_get_for_edit(request.user, account_id)
    form = NeedsForm(request.POST, actor=request.user, account=account)
    saved = form.save()
    if saved is None:
        return card_errors(request, account, "needs", form)
    messages.success(
        request,
        _("Needs saved: %(n)d dimensions.") % {"n": len(saved)} if saved else _("Needs cleared."),
    )
    return back_to_card(account, "needs")


@login_required
@require_POST
@domain_errors
def satisfaction_add_view(request, account_id: int):
    account = account_get_for_edit(request.user, account_id)
    form = SatisfactionForm(request.POST, actor=request.user, account=account)
    return submit_card(
        request,
        account,
        form,
        key="satisfaction",
        anchor="satisfaction",
        success=lambda record: (
            _("Satisfaction %(score)s recorded for %(day)s.")
            % {"score": satisfaction_label(record.score), "day": record.date.isoformat()}
        ),
    )


@login_required
@require_POST
@domain_errors
def satisfaction_delete_view(request, account_id: int, record_id: int):
    account = account_get_for_edit(request.user, account_id)
    record = services.satisfaction_record_get(account, record_id)
    services.satisfaction_record_delete(actor=request.user, record=record)
    messages.success(request, _("Satisfaction record deleted."))
    return back_to_card(account, "satisfaction")


# --- the questionnaire page ------------------------------------------------------------


@dataclass
class PointsRow:
    type: TypeView
    points: int
    share: int  # % of the most points, for the bar
    winner: bool


def _suggestion_view(suggestion: Suggestion) -> dict:
    best = max(suggestion.points.values()) or 1
    rows = [
        PointsRow(
            type=type_view(k),
            points=suggestion.points[k],
            share=round(100 * suggestion.points[k] / best),
            winner=k == suggestion.type,
        )
        for k in TYPE_KEYS
    ]
    return {
        "type": type_view(suggestion.type) if suggestion.type else None,
        "points": rows,
        "reasons": [show(r) for r in suggestion.reasons],
        "tie": suggestion.tie,
        "tied": [type_view(k).name for k in suggestion.tied],
        "confidence": round(100 * suggestion.confidence),
        "answered": suggestion.answered,
        "questions": suggestion.questions,
    }


def _questionnaire(request, account, form, suggestion, *, status: int = 200):
    can_edit = accounts_editable_by(request.user).filter(pk=account.pk).exists()
    answers = form.answers() if form.is_bound and form.is_valid() else {}
    return render(
        request,
        "web/accounts/type_questionnaire.html",
        {
            "account": account,
            "form": form,
            "suggestion": _suggestion_view(suggestion) if suggestion is not None else None,
            "answers": sorted(answers.items()),
            "current": type_view(account.account_type),
            "types": [type_view(k) for k in TYPE_KEYS],
            "can_edit": can_edit,
            "nav": "accounts",
        },
        status=status,
    )


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
@domain_errors
def account_type_view(request, account_id: int):
    """GET asks the questions and, with answers in the query string, shows the
    suggestion; POST (editors) applies the suggestion to the account."""
    if request.method == "POST":
        account = account_get_for_edit(request.user, account_id)
        form = TypeQuestionnaireForm(request.POST)
        if form.is_valid():
            try:
                suggestion = services.account_type_questionnaire(
                    actor=request.user, account=account, answers=form.answers(), apply=True
                )
            except ValidationFailed as exc:
                form.add_error(None, str(exc.message))
            else:
                messages.success(
                    request,
                    _("Account type set to %(type)s.") % {"type": type_view(suggestion.type).name},
                )
                return back_to_card(account, "account-type")
        return _questionnaire(request, account, form, None, status=422)
    account = account_get_for_user(request.user, account_id)
    form = TypeQuestionnaireForm(request.GET if TypeQuestionnaireForm.asked(request.GET) else None)
    suggestion = None
    if form.is_bound:
        if form.is_valid():
            suggestion = services.account_type_suggest(form.answers())
        else:
            return _questionnaire(request, account, form, None, status=422)
    return _questionnaire(request, account, form, suggestion)
