from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.db.models import Count, Sum
from django.shortcuts import render

from kam.core.db import page_rows
from kam.methodology import registry
from kam.opportunities.models import Status
from kam.opportunities.selectors import opportunity_list
from kam.web import presenters

HOME_ROWS = 50


def _stage_counts(open_deals) -> list[dict]:
    """Open deals per playbook and stage, counted in the database, shown in the
    playbook's order (stages with no deal show 0, so the shape of the funnel shows)."""
    rows = (
        open_deals.order_by()
        .values("playbook", "stage")
        .annotate(n=Count("id"), amount=Sum("amount"))
    )
    found = {(r["playbook"], r["stage"]): r for r in rows}
    books = []
    lang = presenters.language()
    for key in registry.playbook_keys():
        if not any(p == key for p, _s in found):
            continue
        book = registry.playbook(key)
        stages = [
            {
                "key": s.key,
                "name": s.name.get(lang),
                "count": found.get((key, s.key), {}).get("n", 0),
                "amount": found.get((key, s.key), {}).get("amount"),
            }
            for s in book.stages
        ]
        books.append({"key": key, "name": book.name.get(lang), "stages": stages})
    return books


@login_required
def home(request):
    open_deals = opportunity_list(request.user, status=Status.OPEN)
    total = open_deals.count()
    context = {
        "books": _stage_counts(open_deals),
        "opportunities": page_rows(open_deals, 0, HOME_ROWS),
        "total": total,
        "more": max(0, total - HOME_ROWS),
        "nav": "home",
    }
    return render(request, "web/home.html", context)
