"""The Content-Security-Policy header on every response. Django 5.2 has no CSP of its
own (SecurityMiddleware sets the other security headers: nosniff, Referrer-Policy,
Cross-Origin-Opener-Policy, HSTS under KAM_HTTPS; XFrameOptionsMiddleware the frame
ban).

The pages load every script from /static/ (htmx, ECharts, kam/*.js) and carry their
data in `json_script` blocks, which a browser does not run, so `script-src 'self'`
holds without nonces. The policy is the setting KAM_CONTENT_SECURITY_POLICY."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse


class ContentSecurityPolicyMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        policy = settings.KAM_CONTENT_SECURITY_POLICY
        if policy and "Content-Security-Policy" not in response:
            response["Content-Security-Policy"] = policy
        return response
