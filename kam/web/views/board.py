"""The pipeline board (SPEC §9): one column per stage of a playbook, a card per open
deal the user may see. Dragging a card onto the next column (or its "Advance →"
button) asks the process engine to move it; the card shows the gate's answer in
place. The page costs the same number of queries for 5 cards or 500: the cards'
ids come from one query per column (at most CARD_LIMIT each), their rows from one
more, and they are assessed together (`assess.attach`)."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Count, Sum
from django.http import HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST, require_safe

from kam.core.errors import Conflict, DomainError, NotFound, PermissionDenied
from kam.core.i18n import show
from kam.core.permissions import is_manager
from kam.methodology import registry
from kam.opportunities import process
from kam.opportunities.assess import assess, attach
from kam.opportunities.models import Opportunity, Status
from kam.opportunities.selectors import opportunity_get_for_edit, opportunity_list
from kam.web import presenters
from kam.web.views.process import refusal_text

CARD_LIMIT = 50
SEVERITIES = ("high", "medium", "low")


@dataclass
class Card:
    opp: Opportunity
    probability: int
    alert_badges: list[tuple[str, int, str]]  # (severity, count, titles)
    next_stage: str  # where "Advance" goes ("" when nowhere)
    next_name: str
    can_force: bool
    refusal: str = ""
    refusal_items: list[dict] = field(default_factory=list)
    moved: bool = False


def _next(book, stage_key: str) -> tuple[str, str]:
    """The stage a card advances to, and its name. Leaving a winning last stage wins
    the deal where it stands (e.g. milestones-5's contract signing)."""
    try:
        stage = book.stage(stage_key)
    except KeyError:
        return "", ""
    nxt = book.next_stage(stage_key)
    lang = presenters.language()
    if nxt is not None:
        return nxt.key, nxt.name.get(lang)
    if stage.wins:
        return stage.key, str(_("won"))
    return "", ""


def make_card(opp: Opportunity, found, user, book, **extra) -> Card:
    badges = []
    for severity in SEVERITIES:
        titles = [show(a.title) for a in found.alerts if a.severity == severity]
        if titles:
            badges.append((severity, len(titles), " · ".join(titles)))
    nxt, nxt_name = _next(book, opp.stage) if opp.status == Status.OPEN else ("", "")
    return Card(
        opp=opp,
        probability=found.probability,
        alert_badges=badges,
        next_stage=nxt,
        next_name=nxt_name,
        can_force=is_manager(user) and opp.status == Status.OPEN,
        **extra,
    )


def _playbook_key(request) -> str:
    key = request.GET.get("playbook") or ""
    return key if key in registry.playbook_keys() else registry.default_playbook_key()


def _first_cards(deals, stages) -> list[Opportunity]:
    """The first CARD_LIMIT deals of each column, in the order shown: their ids one
    column at a time (the column's deals from the (status, stage) index, sorted by
    expected close), then their rows by id. A window over all the open deals of the
    playbook sorted every one of them at once (an admin's 254,000: ~3 s)."""
    ids: list[int] = []
    for stage in stages:
        column = deals.filter(stage=stage.key).order_by("expected_close", "id")
        ids.extend(column.values_list("pk", flat=True)[:CARD_LIMIT])
    # the ids are of deals the user may see: read by id alone, or SQLite may walk the
    # playbook's open deals for the filters again
    shown = Opportunity.objects.select_related("account", "owner").filter(pk__in=ids)
    order = {pk: i for i, pk in enumerate(ids)}
    return sorted(shown, key=lambda o: order[o.pk])


@login_required
@require_safe
def board_view(request):
    key = _playbook_key(request)
    book = registry.playbook(key)
    lang = presenters.language()
    deals = opportunity_list(request.user, status=Status.OPEN, playbook=key)
    totals = {
        row["stage"]: row
        for row in deals.order_by().values("stage").annotate(n=Count("id"), amount=Sum("amount"))
    }
    by_stage: dict[str, list[Card]] = {}
    for opp in attach(_first_cards(deals, book.stages)):
        by_stage.setdefault(opp.stage, []).append(
            make_card(opp, opp.assessment, request.user, book)
        )
    columns = []
    for index, stage in enumerate(book.stages):
        count = totals.get(stage.key, {}).get("n", 0)
        cards = by_stage.get(stage.key, [])
        columns.append(
            {
                "key": stage.key,
                "index": index,
                "name": stage.name.get(lang),
                "key_node": stage.key_node.get(lang),
                "probability": round(stage.base_probability * 100),
                "count": count,
                "amount": totals.get(stage.key, {}).get("amount") or 0,
                "cards": cards,
                "more": max(0, count - len(cards)),
                "more_url": reverse("opportunity-list")
                + "?"
                + urlencode({"status": Status.OPEN, "stage": f"{key}:{stage.key}"}),
            }
        )
    context = {
        "book": book,
        "book_name": book.name.get(lang),
        "playbooks": presenters.playbook_choices(),
        "columns": columns,
        "total": sum(c["count"] for c in columns),
        "card_limit": CARD_LIMIT,
        "nav": "board",
    }
    return render(request, "web/board/board.html", context)


# --- the advance endpoint ---------------------------------------------------------


def _wants_json(request) -> bool:
    return "application/json" in request.headers.get("Accept", "")


def _answer(request, status: int, payload: dict, card: Card | None = None):
    """JSON for board.js (with the card's new HTML), the card alone for htmx, and
    for a browser without JavaScript a redirect back to the board with a message."""
    html = render_to_string("web/board/_card.html", {"card": card}, request=request) if card else ""
    if _wants_json(request):
        return JsonResponse({**payload, "html": html}, status=status)
    if request.headers.get("HX-Request"):
        return HttpResponse(html, status=status)
    level = messages.SUCCESS if payload.get("ok") else messages.ERROR
    text = payload.get("message", "")
    items = [f"{c['label']}: {c['why']}" for c in payload.get("criteria", []) if not c.get("met")]
    if items:
        text = f"{text} ({'; '.join(items)})"
    messages.add_message(request, level, text)
    playbook = card.opp.playbook if card else registry.default_playbook_key()
    return redirect(f"{reverse('opportunity-board')}?{urlencode({'playbook': playbook})}")


def _adjacency_error(book, from_stage: str, to_stage: str) -> str:
    """'' when `to_stage` is where a card at `from_stage` may go, else why not."""
    keys = book.stage_keys
    if from_stage not in keys or to_stage not in keys:
        return _("Unknown stage for this playbook; reload the board.")
    expected, name = _next(book, from_stage)
    if to_stage == expected:
        return ""
    if to_stage == from_stage:
        return _("The deal is already in this column.")
    if not expected:
        return _("This is the last stage of the playbook; close the deal on its page instead.")
    if keys.index(to_stage) < keys.index(from_stage):
        return _(
            "A deal does not move back: its stages record what was achieved. "
            "It can only go on to %(next)s."
        ) % {"next": name}
    return _(
        "One stage at a time: every key node on the way must be checked. Drop the deal on %(next)s."
    ) % {"next": name}


@login_required
@require_POST
def board_advance_view(request, opportunity_id: int):
    user = request.user
    try:
        opp = opportunity_get_for_edit(user, opportunity_id)
    except NotFound as exc:
        return _answer(request, 404, {"ok": False, "code": "not_found", "message": str(exc)})
    except PermissionDenied as exc:  # a colleague with read access: theirs to see, not move
        return _answer(
            request, 403, {"ok": False, "code": "forbidden", "message": str(exc.message)}
        )
    book = registry.playbook(opp.playbook)
    from_stage = request.POST.get("from_stage", "")
    to_stage = request.POST.get("to_stage", "")
    force = request.POST.get("force", "") in ("1", "true", "on")
    reason = request.POST.get("reason", "")

    def refused(status: int, code: str, message: str, exc: DomainError | None = None):
        extra = exc.extra if exc is not None else {}
        criteria = list(extra.get("criteria", []))
        fresh = Opportunity.objects.select_related("account", "owner").get(pk=opp.pk)
        stage_name = presenters.stage_name(fresh.playbook, fresh.stage)
        card = make_card(
            fresh,
            assess(fresh),
            user,
            book,
            refusal=refusal_text(exc, stage_name) if isinstance(exc, Conflict) else message,
            refusal_items=[c for c in criteria if not c.get("met")],
        )
        payload = {
            "ok": False,
            "code": code,
            "message": message,
            "field": exc.field if exc is not None else None,
            "stage": fresh.stage,
            "unmet": list(extra.get("unmet", [])),
            "criteria": criteria,
        }
        return _answer(request, status, payload, card)

    problem = _adjacency_error(book, from_stage, to_stage)
    if problem:
        return refused(409, "not_adjacent", problem)
    try:
        moved = process.opportunity_advance(
            actor=user, opportunity=opp, force=force, reason=reason, from_stage=from_stage
        )
    except PermissionDenied as exc:
        return _answer(
            request, 403, {"ok": False, "code": "forbidden", "message": str(exc.message)}
        )
    except Conflict as exc:
        code = "gate_unmet" if exc.extra.get("criteria") else "conflict"
        return refused(409, code, str(exc.message), exc)
    except DomainError as exc:
        return refused(exc.status, "invalid", str(exc.message), exc)
    moved = Opportunity.objects.select_related("account", "owner").get(pk=moved.pk)
    name = presenters.stage_name(moved.playbook, moved.stage)
    if moved.status == Status.WON:
        message = _("%(deal)s: contract signed, the deal is won.") % {"deal": moved.name}
    elif force:
        message = _("%(deal)s forced into %(stage)s; the unmet items stay on its list.") % {
            "deal": moved.name,
            "stage": name,
        }
    else:
        message = _("%(deal)s moved to %(stage)s.") % {"deal": moved.name, "stage": name}
    card = make_card(moved, assess(moved), user, book, moved=True)
    payload = {
        "ok": True,
        "code": "forced" if force else "advanced",
        "message": message,
        "stage": moved.stage,
        "stage_name": name,
        "status": moved.status,
        "probability": card.probability,
    }
    return _answer(request, 200, payload, card)
