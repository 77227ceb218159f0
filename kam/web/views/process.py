"""The opportunity page's process engine (SPEC §2–§5): the stage path with the
current key node as a checklist, advance / force / close, the buyer stage with the
alignment verdict, alerts, win probability, evaluation and priority, purchase
criteria, milestones and the simple buying-centre entry.

Every POST here loads the deal through `opportunity_get_for_edit` (so another
user's deal is a 404), calls one service through a form, and either redirects back
to the page (PRG) or renders the page again with the error next to its field."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from kam.contacts.selectors import contact_list, may_work_contacts, org_chart
from kam.core.errors import Conflict
from kam.core.i18n import show
from kam.core.permissions import is_manager
from kam.methodology import registry
from kam.opportunities import process
from kam.opportunities.assess import Assessment, assess
from kam.opportunities.models import Evaluation, Opportunity, Status
from kam.opportunities.selectors import (
    opportunities_editable_by,
    opportunity_get_for_edit,
    opportunity_history,
)
from kam.stakeholders.models import Stakeholder
from kam.web import buying_centre, presenters
from kam.web.process_forms import (
    AdvanceForm,
    BuyerStageForm,
    CloseForm,
    CriterionForm,
    EvaluationForm,
    MilestoneForm,
    PriorityForm,
    StakeholderEditForm,
    StakeholderForm,
    can_win,
)
from kam.web.views.alerts import evidence_links
from kam.web.views.common import domain_errors
from kam.web.views.competition import competition_context
from kam.web.views.intel import intel_context
from kam.web.views.payments import payments_context
from kam.web.views.team import OPPORTUNITY, team_context


@dataclass
class GateRow:
    key: str
    label: str
    met: bool
    why: str
    anchor: str = ""  # the section of the page where the item is met
    fix: str = ""  # the link text that leads there


def _fix_links() -> dict[str, tuple[str, str]]:
    """Check type → (section anchor, link text): where on the page an unmet item is met."""
    return {
        "evaluation_passed": ("evaluation", _("Evaluate the deal")),
        "priority_assigned": ("evaluation", _("Evaluate the deal")),
        "stakeholder_role": ("stakeholders", _("Map the buying centre")),
        "coach_identified": ("stakeholders", _("Map the buying centre")),
        "purchase_criteria": ("criteria", _("Record purchase criteria")),
        "milestone": ("milestones", _("Record the milestone")),
        "buyer_stage_reached": ("buyer-stage", _("Update the buyer stage")),
    }


def refusal_text(exc: Conflict | None, stage_name: str) -> str:
    """A refused advance in one sentence: for an unmet key node the items follow as a
    list, so the sentence does not repeat them."""
    if exc is None:
        return ""
    if exc.extra.get("criteria"):
        return _("Not moved: the key node of %(stage)s is not met yet. Missing:") % {
            "stage": stage_name
        }
    return str(exc.message)


@dataclass
class AlertRow:
    code: str
    severity: str
    title: str
    message: str
    action: str
    evidence: list = field(default_factory=list)  # EvidenceLink: label and section anchor


@dataclass
class PathStep:
    key: str
    name: str
    state: str  # "done", "current" or "todo"
    probability: int
    main_work: str
    key_node: str
    buyer_stages: str


def gate_rows(found: Assessment, stage=None) -> list[GateRow]:
    checks = {c.key: c.check for c in stage.gate} if stage is not None else {}
    links = _fix_links()
    rows = []
    for r in found.gate:
        anchor, fix = links.get(checks.get(r.key, ""), ("", ""))
        rows.append(GateRow(r.key, show(r.label), r.met, show(r.why), anchor, fix))
    return rows


def alert_rows(found: Assessment) -> list[AlertRow]:
    return [
        AlertRow(
            a.code,
            a.severity,
            show(a.title),
            show(a.message),
            show(a.action),
            evidence_links(a, found.facts),
        )
        for a in found.alerts
    ]


def refusal_rows(exc: Conflict | None) -> list[dict]:
    """The unmet criteria a refused advance named (label and why, already shown)."""
    if exc is None:
        return []
    return [c for c in exc.extra.get("criteria", []) if not c.get("met")]


def stage_path(opp: Opportunity) -> list[PathStep]:
    """Every stage of the deal's playbook with its main work and key node, and where
    the deal stands — the path both playbooks are drawn with."""
    try:
        book = registry.playbook(opp.playbook)
    except KeyError:
        return []
    lang = presenters.language()
    keys = book.stage_keys
    current = keys.index(opp.stage) if opp.stage in keys else -1
    steps = []
    for i, stage in enumerate(book.stages):
        steps.append(
            PathStep(
                key=stage.key,
                name=stage.name.get(lang),
                state="done" if i < current else "current" if i == current else "todo",
                probability=round(stage.base_probability * 100),
                main_work=stage.main_work.get(lang),
                key_node=stage.key_node.get(lang),
                buyer_stages=presenters.list_text(
                    presenters.buyer_stage_name(b) for b in stage.buyer_stages
                ),
            )
        )
    return steps


def alignment_text(found: Assessment) -> tuple[str, str]:
    """(verdict, sentence) comparing the customer's stage with what ours matches."""
    a = found.alignment
    if a.verdict == "aligned":
        return a.verdict, _("In step with the customer's buying process.")
    if a.verdict == "behind_buyer":
        return a.verdict, _(
            "Behind the customer by %(gap)s stage(s): the customer has moved on without us."
        ) % {"gap": a.gap}
    if a.verdict == "ahead_of_buyer":
        return a.verdict, _(
            "Ahead of the customer by %(gap)s stage(s): check the project and budget are "
            "really approved."
        ) % {"gap": a.gap}
    return a.verdict, _("This stage of ours has no matching buyer stage.")


def _evaluation_view(evaluation: Evaluation | None) -> dict | None:
    if evaluation is None:
        return None
    model = registry.current().evaluation
    lang = presenters.language()
    knocked = set(evaluation.knocked_out or [])
    return {
        "score": evaluation.score,
        "passed": evaluation.passed,
        "pass_mark": model.pass_mark,
        "updated_at": evaluation.updated_at,
        "by": evaluation.evaluated_by,
        "factors": [
            (f.name.get(lang), evaluation.scores.get(f.key), f.key in knocked)
            for f in model.factors
        ],
        "knockouts": [ko.reason.get(lang) for ko in model.knockouts if ko.factor in knocked],
    }


def _priority_view(opp: Opportunity) -> dict:
    grades = registry.current().priority.grades
    grade = grades.get(opp.priority) if opp.priority else None
    lang = presenters.language()
    return {
        "grade": opp.priority,
        "name": grade.name.get(lang) if grade else "",
        "action": grade.action.get(lang) if grade else "",
        "overridden": opp.priority_overridden,
        "reason": opp.priority_reason,
    }


def _win_explanation(book, lang: str) -> str:
    """How a deal of this playbook is won: at its winning stage, with what recorded."""
    winning = book.winning_stage
    if winning is None:
        return ""
    items = presenters.list_text(presenters.criterion_labels(book.key, winning.key).values())
    return _(
        "A deal is won by signing, not by choosing “won”. The key node of %(stage)s asks "
        "for: %(items)s. Once it is met, advancing the deal from there wins it."
    ) % {"stage": winning.name.get(lang), "items": items}


def _suggested_milestone(opp: Opportunity, found: Assessment) -> str:
    """The milestone kind the current gate still waits for, to preselect it."""
    try:
        stage = registry.playbook(opp.playbook).stage(opp.stage)
    except KeyError:
        return ""
    unmet = set(found.unmet)
    for criterion in stage.gate:
        if criterion.check == "milestone" and criterion.key in unmet:
            kinds = criterion.params["kind"]
            return kinds if isinstance(kinds, str) else kinds[0]
    return ""


def detail_context(
    request,
    opp: Opportunity,
    *,
    forms: dict | None = None,
    refusal: Conflict | None = None,
) -> dict:
    """Everything the opportunity page shows. `forms` replaces the blank forms with
    bound ones carrying errors; `refusal` is a refused advance to explain."""
    user = request.user
    forms = forms or {}
    lang = presenters.language()
    found = assess(opp)
    book = registry.playbook(opp.playbook) if opp.playbook in registry.playbook_keys() else None
    stage = book.stage(opp.stage) if book and opp.stage in book.stage_keys else None
    nxt = book.next_stage(opp.stage) if stage else None
    evaluation = Evaluation.objects.filter(opportunity=opp).select_related("evaluated_by").first()
    stakeholders = list(
        Stakeholder.objects.filter(opportunity=opp).select_related("contact").order_by("id")
    )
    contacts = list(contact_list(user, account_id=opp.account_id))
    verdict, verdict_text = alignment_text(found)
    is_open = opp.status == Status.OPEN
    winnable = can_win(opp, found.gate_met)
    manager = is_manager(user)

    def form(name, factory):
        bound = forms.get(name)
        return bound if bound is not None else factory()

    advance_form = forms.get("advance")
    force_form = advance_form if advance_form is not None and advance_form.forcing else None
    if force_form is not None:
        advance_form = None
    context = {
        "opp": opp,
        "found": found,
        "win_probability": found.probability,
        "factors": presenters.factor_rows(found.factors),
        "path": stage_path(opp),
        "stage": stage,
        "stage_name": stage.name.get(lang) if stage else opp.stage,
        "main_work": stage.main_work.get(lang) if stage else "",
        "key_node": stage.key_node.get(lang) if stage else "",
        "next_stage_name": nxt.name.get(lang) if nxt else "",
        "stage_wins": bool(stage and stage.wins),
        "last_stage": bool(stage and nxt is None and not stage.wins),
        "gate": gate_rows(found, stage),
        "gate_met": found.gate_met,
        "gate_met_count": sum(1 for r in found.gate if r.met),
        "alerts": alert_rows(found),
        "alignment": verdict,
        "alignment_text": verdict_text,
        "expected_buyer_stages": presenters.list_text(
            presenters.buyer_stage_name(b) for b in found.alignment.expected
        ),
        "buyer_work": next(
            (
                b.seller_work.get(lang)
                for b in registry.buyer_process().stages
                if b.key == opp.buyer_stage
            ),
            "",
        ),
        "priority": _priority_view(opp),
        "evaluation": _evaluation_view(evaluation),
        "criteria": list(opp.criteria.all()),
        "milestones": [
            (m, presenters.milestone_name(m.kind)) for m in opp.milestones.order_by("date", "id")
        ],
        "stakeholders": [
            (s, presenters.role_names(s.roles), presenters.stance_name(s.stance))
            for s in stakeholders
        ],
        "chart": org_chart(contacts),
        "history": presenters.history_rows(opp, opportunity_history(opp)),
        "is_open": is_open,
        # a colleague on the deal's team with read access sees it all, changes nothing
        "can_edit": opportunities_editable_by(user).filter(pk=opp.pk).exists(),
        "can_add_contacts": may_work_contacts(user, opp.account_id),
        "can_complete": bool(
            opp.status == Status.WON
            and stage
            and nxt is None
            and not stage.wins
            and opp.completed_at is None
        ),
        "can_force": manager and is_open,
        "is_manager": manager,
        "winnable": winnable,
        "win_explanation": _win_explanation(book, lang) if book and not winnable else "",
        "refusal": refusal,
        "refusal_text": refusal_text(refusal, stage.name.get(lang) if stage else opp.stage),
        "refusal_items": refusal_rows(refusal),
        "advance_form": advance_form or AdvanceForm(actor=user, opportunity=opp),
        "force_form": force_form or AdvanceForm(actor=user, opportunity=opp),
        "force_open": force_form is not None,
        "close_form": form(
            "close", lambda: CloseForm(actor=user, opportunity=opp, winnable=winnable)
        ),
        "close_open": "close" in forms,
        "buyer_form": form("buyer", lambda: BuyerStageForm(actor=user, opportunity=opp)),
        "evaluation_form": form(
            "evaluation",
            lambda: EvaluationForm(
                actor=user, opportunity=opp, scores=evaluation.scores if evaluation else None
            ),
        ),
        "evaluation_open": "evaluation" in forms or evaluation is None,
        "priority_form": form("priority", lambda: PriorityForm(actor=user, opportunity=opp)),
        "criterion_form": form("criterion", lambda: CriterionForm(actor=user, opportunity=opp)),
        "milestone_form": form(
            "milestone",
            lambda: MilestoneForm(
                actor=user, opportunity=opp, suggested=_suggested_milestone(opp, found)
            ),
        ),
        "stakeholder_form": form(
            "stakeholder", lambda: StakeholderForm(actor=user, opportunity=opp)
        ),
        "nav": "opportunities",
    }
    context.update(intel_context(user, opp, forms))
    context.update(competition_context(user, opp, forms))
    context.update(payments_context(user, opp, forms))
    context.update(team_context(user, opp, OPPORTUNITY, forms))
    context.update(
        buying_centre.page_context(user, opp, stakeholders, contacts, forms.get("stakeholder_edit"))
    )
    return context


def render_detail(request, opp, *, status: int = 200, **kwargs):
    return render(
        request,
        "web/opportunities/detail.html",
        detail_context(request, opp, **kwargs),
        status=status,
    )


def _back(opp: Opportunity, anchor: str = ""):
    url = reverse("opportunity-detail", args=[opp.pk])
    return redirect(f"{url}#{anchor}" if anchor else url)


def _submit(request, opp, form, *, key: str, anchor: str, success):
    """The shape of every section's form: valid and saved by its service → a message
    (`success(saved)`) and back to the section; otherwise the page with the errors."""
    if form.is_valid():
        saved = form.save()
        if saved is not None:
            messages.success(request, success(saved))
            return _back(opp, anchor)
    return render_detail(request, opp, forms={key: form})


def _section_view(form_class, *, key: str, anchor: str, success):
    """A POST-only view for one section's form on the opportunity page."""

    @login_required
    @require_POST
    @domain_errors
    def view(request, opportunity_id: int):
        opp = opportunity_get_for_edit(request.user, opportunity_id)
        form = form_class(request.POST, actor=request.user, opportunity=opp)
        return _submit(request, opp, form, key=key, anchor=anchor, success=success)

    return view


# --- advance / force / close -------------------------------------------------------


@login_required
@require_POST
@domain_errors
def advance_view(request, opportunity_id: int):
    opp = opportunity_get_for_edit(request.user, opportunity_id)
    before = opp.stage
    form = AdvanceForm(request.POST, actor=request.user, opportunity=opp)
    if form.is_valid():
        moved = form.save()
        if moved is not None:
            name = presenters.stage_name(moved.playbook, moved.stage)
            if moved.completed_at is not None:
                messages.success(request, _("Acceptance recorded: the project is completed."))
            elif moved.status == Status.WON:
                messages.success(request, _("Contract signed: the deal is won."))
            elif form.forcing:
                messages.warning(
                    request,
                    _("Forced from %(from)s into %(to)s. The unmet items stay on the list.")
                    % {"from": presenters.stage_name(moved.playbook, before), "to": name},
                )
            else:
                messages.success(request, _("Moved to %(stage)s.") % {"stage": name})
            return _back(opp, "gate")
    if form.refusal is not None:
        return render_detail(
            request, opp, forms={"advance": form}, refusal=form.refusal, status=409
        )
    return render_detail(request, opp, forms={"advance": form})


@login_required
@require_POST
@domain_errors
def close_view(request, opportunity_id: int):
    opp = opportunity_get_for_edit(request.user, opportunity_id)
    winnable = can_win(opp, assess(opp).gate_met)
    form = CloseForm(request.POST, actor=request.user, opportunity=opp, winnable=winnable)
    return _submit(
        request,
        opp,
        form,
        key="close",
        anchor="",
        success=lambda closed: (
            _("The opportunity is closed: %(status)s.") % {"status": closed.get_status_display()}
        ),
    )


buyer_stage_view = _section_view(
    BuyerStageForm,
    key="buyer",
    anchor="buyer-stage",
    success=lambda saved: (
        _("The customer is now at: %(stage)s.")
        % {"stage": presenters.buyer_stage_name(saved.buyer_stage)}
    ),
)


# --- evaluation and priority -------------------------------------------------------


evaluation_view = _section_view(
    EvaluationForm,
    key="evaluation",
    anchor="evaluation",
    success=lambda evaluation: (
        _("Evaluation saved: %(score)s points, %(verdict)s.")
        % {
            "score": evaluation.score,
            "verdict": _("passed") if evaluation.passed else _("not passed"),
        }
    ),
)


priority_view = _section_view(
    PriorityForm,
    key="priority",
    anchor="priority",
    success=lambda saved: _("Priority saved."),
)


# --- purchase criteria, milestones, stakeholders -----------------------------------


criterion_add_view = _section_view(
    CriterionForm,
    key="criterion",
    anchor="criteria",
    success=lambda saved: _("Purchase criterion added."),
)


@login_required
@require_POST
@domain_errors
def criterion_delete_view(request, opportunity_id: int, criterion_id: int):
    opp = opportunity_get_for_edit(request.user, opportunity_id)
    criterion = opp.criteria.filter(pk=criterion_id).first()
    if criterion is None:
        raise Http404(_("No such purchase criterion on this opportunity."))
    process.criterion_delete(actor=request.user, criterion=criterion)
    messages.success(request, _("Purchase criterion deleted."))
    return _back(opp, "criteria")


milestone_record_view = _section_view(
    MilestoneForm,
    key="milestone",
    anchor="milestones",
    success=lambda saved: _("Milestone recorded."),
)


@login_required
@require_POST
@domain_errors
def milestone_delete_view(request, opportunity_id: int, milestone_id: int):
    opp = opportunity_get_for_edit(request.user, opportunity_id)
    milestone = opp.milestones.filter(pk=milestone_id).first()
    if milestone is None:
        raise Http404(_("No such milestone on this opportunity."))
    process.milestone_delete(actor=request.user, milestone=milestone)
    messages.success(request, _("Milestone deleted."))
    return _back(opp, "milestones")


stakeholder_add_view = _section_view(
    StakeholderForm,
    key="stakeholder",
    anchor="stakeholders",
    success=lambda added: _("%(name)s added to the buying centre.") % {"name": added.contact.name},
)


def _stakeholder_of(opp: Opportunity, stakeholder_id: int) -> Stakeholder:
    stakeholder = (
        Stakeholder.objects.filter(opportunity=opp, pk=stakeholder_id)
        .select_related("contact", "opportunity")
        .first()
    )
    if stakeholder is None:
        raise Http404(_("No such person in this opportunity's buying centre."))
    return stakeholder


@login_required
@require_POST
@domain_errors
def stakeholder_remove_view(request, opportunity_id: int, stakeholder_id: int):
    from kam.stakeholders.services import stakeholder_remove

    opp = opportunity_get_for_edit(request.user, opportunity_id)
    stakeholder = _stakeholder_of(opp, stakeholder_id)
    stakeholder_remove(actor=request.user, stakeholder=stakeholder)
    messages.success(
        request,
        _("%(name)s removed from the buying centre.") % {"name": stakeholder.contact.name},
    )
    return _back(opp, "stakeholders")


@login_required
@require_POST
@domain_errors
def stakeholder_update_view(request, opportunity_id: int, stakeholder_id: int):
    """The map's edit dialog: stance, roles, coach, DISC, influence, relationship,
    notes of one person; an error renders the page with that dialog open."""
    opp = opportunity_get_for_edit(request.user, opportunity_id)
    stakeholder = _stakeholder_of(opp, stakeholder_id)
    form = StakeholderEditForm(
        request.POST, actor=request.user, opportunity=opp, stakeholder=stakeholder
    )
    return _submit(
        request,
        opp,
        form,
        key="stakeholder_edit",
        anchor="stakeholders",
        success=lambda saved: _("%(name)s updated.") % {"name": saved.contact.name},
    )
