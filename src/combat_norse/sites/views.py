"""Minimal pages of the sites app."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from combat_norse.sites.models import Site


def home(request: HttpRequest) -> HttpResponse:
    sites = Site.objects.filter(active=True)
    return render(request, "sites/home.html", {"site_count": sites.count(), "sites": sites})
