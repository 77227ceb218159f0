"""The manager's dashboard page (路标管理, SPEC §8): filled in below."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.views.decorators.http import require_safe


@login_required
@require_safe
def pipeline_dashboard_view(request):
    return HttpResponse("")


@login_required
@require_safe
def pipeline_deals_view(request):
    return HttpResponse("")
