from django.http import HttpResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe


@never_cache
@require_safe
def healthz(request):
    """For scripts that wait for the server to come up; no login, no database."""
    return HttpResponse("ok", content_type="text/plain; charset=utf-8")
