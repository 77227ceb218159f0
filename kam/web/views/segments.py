"""Market segmentation pages (市场细分, SPEC §6): the segment list, a segment's page
(definition, score breakdown, the matching accounts), the segment forms (managers
and admins), the account page's "Segments" card and the account's segmentation
profile page, where an editor of the account sets its attribute values.

Reads go through kam.segments.selectors (accounts by the user's visibility), writes
through kam.segments.services / kam.accounts.services.account_update; a refused write
is the 403 page, a rejected one the form again with the error at its field (422)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from kam.accounts.selectors import account_get_for_edit, account_get_for_user, accounts_editable_by
from kam.core.i18n import language
from kam.methodology import registry
from kam.methodology.segmentation import SCORE_MAX, account_values
from kam.segments import selectors, services
from kam.web.segment_forms import AttributesForm, SegmentForm
from kam.web.views.common import domain_errors, paginate, render_list


def _model():
    return registry.current().segmentation


def _breakdown(row: selectors.SegmentRow) -> list[dict]:
    """Per heading: name, weight, sub-score, and each criterion with its score."""
    lang = language()
    scores = row.segment.scores or {}
    return [
        {
            "key": h.key,
            "name": h.name.get(lang),
            "weight": h.weight,
            "score": row.score.headings.get(h.key),
            "criteria": [
                {
                    "key": c.key,
                    "name": c.name.get(lang),
                    "guide": c.guide.get(lang),
                    "score": scores.get(c.key),
                }
                for c in h.criteria
            ],
        }
        for h in _model().headings
    ]


def _chart(row: selectors.SegmentRow) -> dict:
    """The radar's data: one axis per criterion (0–5), unscored criteria at 0."""
    lang = language()
    scores = row.segment.scores or {}
    criteria = _model().criteria
    return {
        "indicators": [{"name": c.name.get(lang), "max": SCORE_MAX} for c in criteria],
        "values": [scores.get(c.key, 0) for c in criteria],
        "label": row.segment.name,
    }


# --- segment pages ---------------------------------------------------------------------


@login_required
@require_safe
def segment_list_view(request):
    rows = selectors.segment_list(request.user)
    for row in rows:
        row.summary = selectors.definition_summary(row.segment.definition)
    return render(
        request,
        "web/segments/list.html",
        {
            "rows": rows,
            "any_incomplete": any(r.score.total is not None and not r.score.complete for r in rows),
            "can_edit": selectors.may_edit_segments(request.user),
            "nav": "segments",
        },
    )


@login_required
@require_safe
@domain_errors
def segment_detail_view(request, segment_id: int):
    segment = selectors.segment_get_for_user(request.user, segment_id)
    page = paginate(request, selectors.accounts_in_segment(request.user, segment))
    row = selectors.SegmentRow(
        segment=segment, score=_model().score(segment.scores), account_count=page.paginator.count
    )
    parts = []
    lang = language()
    for variable in _model().variables:
        accepted = (segment.definition or {}).get(variable.key)
        if accepted:
            names = [a if variable.is_text else variable.option_name(a, lang) for a in accepted]
            parts.append(
                {"name": variable.name.get(lang), "text": variable.is_text, "values": names}
            )
    context = {
        "segment": segment,
        "row": row,
        "parts": parts,
        "breakdown": _breakdown(row),
        "chart": _chart(row),
        "page": page,
        "can_edit": selectors.may_edit_segments(request.user),
        "nav": "segments",
    }
    return render_list(
        request,
        page_template="web/segments/detail.html",
        partial_template="web/segments/_accounts.html",
        context=context,
    )


def _form_page(request, form, segment, status: int = 200):
    return render(
        request,
        "web/segments/form.html",
        {"form": form, "segment": segment, "nav": "segments"},
        status=status,
    )


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
@domain_errors
def segment_create_view(request):
    services.check_may_edit(request.user)
    form = SegmentForm(request.POST if request.method == "POST" else None, actor=request.user)
    if request.method == "POST":
        segment = form.save() if form.is_valid() else None
        if segment is not None:
            messages.success(request, _("Segment “%(name)s” created.") % {"name": segment.name})
            return redirect("segment-detail", segment_id=segment.pk)
        return _form_page(request, form, None, status=422)
    return _form_page(request, form, None)


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
@domain_errors
def segment_edit_view(request, segment_id: int):
    segment = selectors.segment_get_for_edit(request.user, segment_id)
    form = SegmentForm(
        request.POST if request.method == "POST" else None, actor=request.user, instance=segment
    )
    if request.method == "POST":
        saved = form.save() if form.is_valid() else None
        if saved is not None:
            messages.success(request, _("Segment “%(name)s” saved.") % {"name": saved.name})
            return redirect("segment-detail", segment_id=saved.pk)
        return _form_page(request, form, segment, status=422)
    return _form_page(request, form, segment)


@login_required
@require_POST
@domain_errors
def segment_delete_view(request, segment_id: int):
    segment = selectors.segment_get_for_edit(request.user, segment_id)
    name = segment.name
    services.segment_delete(actor=request.user, segment=segment)
    messages.success(request, _("Segment “%(name)s” deleted.") % {"name": name})
    return redirect("segment-list")


# --- the account side ------------------------------------------------------------------


def _memberships(account) -> list[dict]:
    model = _model()
    return [
        {"segment": s, "score": model.score(s.scores)}
        for s in selectors.segments_of_account(account)
    ]


def account_segments_context(request, account, forms: dict | None = None) -> dict:
    """The account page's "Segments" card: the segments the account is in, with
    their scores (one query)."""
    return {"segment_memberships": _memberships(account)}


def _profile(account) -> list[dict]:
    """The account's value of every variable, grouped, in the user's language."""
    model = _model()
    lang = language()
    fields = selectors.account_fields(account)
    values = account_values(model, fields, account.attributes)
    groups = []
    for group in model.groups:
        items = []
        for variable in group.variables:
            value = values.get(variable.key) or ""
            shown = (
                value if variable.is_text else (variable.option_name(value, lang) if value else "")
            )
            items.append(
                {
                    "key": variable.key,
                    "name": variable.name.get(lang),
                    "value": shown,
                    "from_account": not variable.is_attribute,
                }
            )
        groups.append({"key": group.key, "name": group.name.get(lang), "items": items})
    return groups


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
@domain_errors
def account_segmentation_view(request, account_id: int):
    """The account's segmentation profile: every variable's value (account fields and
    attributes), the segments it is in, and for an editor the attribute form."""
    if request.method == "POST":
        account = account_get_for_edit(request.user, account_id)
        form = AttributesForm(request.POST, actor=request.user, account=account)
        if form.is_valid() and form.save() is not None:
            messages.success(request, _("Segmentation profile saved."))
            return redirect("account-segmentation", account_id=account.pk)
        status = 422
    else:
        account = account_get_for_user(request.user, account_id)
        form = None
        status = 200
    can_edit = accounts_editable_by(request.user).filter(pk=account.pk).exists()
    if can_edit and form is None:
        form = AttributesForm(actor=request.user, account=account)
    context = {
        "account": account,
        "profile": _profile(account),
        "segment_memberships": _memberships(account),
        "form": form if can_edit else None,
        "can_edit": can_edit,
        "nav": "accounts",
    }
    return render(request, "web/accounts/segmentation.html", context, status=status)
