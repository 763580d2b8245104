"""The URL configuration of ``benchmarks/web.py``'s server: the application's own URLs plus one
bare Django view, the reference the pages' saturation throughput is compared with. Used only
through ``benchmarks/web_settings.py``; the production URLs (combat_norse.config.urls) never
carry this view."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.urls import path

from combat_norse.config.urls import urlpatterns as application

BARE_URL = "bench/bare/"


def bare(request: HttpRequest) -> HttpResponse:
    """Nothing but the framework: the same middleware (session, user, second factor), no
    query of its own, no template."""
    return HttpResponse(b"ok", content_type="text/plain")


urlpatterns = [path(BARE_URL, bare, name="bench-bare"), *application]
