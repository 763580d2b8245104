"""The role pages (namespace ``web``); every view carries ``@view_policy``."""

from __future__ import annotations

from django.urls import path

from combat_norse.web import (
    admin_pages,
    bedside,
    form_pages,
    participant_pages,
    pharmacy_pages,
    query_pages,
    report_pages,
    review_pages,
    statistician_pages,
)

app_name = "web"

urlpatterns = [
    path("sites/<str:site_code>/screen/", bedside.screen, name="screen"),
    path("screening/<str:screening_id>/", bedside.screening, name="screening"),
    path("participants/", participant_pages.participants, name="participants"),
    path("participants/<str:study_id>/", participant_pages.participant, name="participant"),
    path(
        "participants/<str:study_id>/visits/<str:visit>/forms/<str:form>/",
        form_pages.form_page,
        name="form",
    ),
    path(
        "participants/<str:study_id>/visits/<str:visit>/forms/<str:form>/autosave/",
        form_pages.autosave,
        name="form_autosave",
    ),
    path("participants/<str:study_id>/audit/", review_pages.audit_trail, name="audit_trail"),
    path("pharmacy/", pharmacy_pages.allocations, name="pharmacy"),
    path("pharmacy/<str:study_id>/", pharmacy_pages.preparation, name="preparation"),
    path("review/", review_pages.review, name="review"),
    path("missing/", review_pages.missing, name="missing"),
    path("queries/", query_pages.queries, name="queries"),
    path("randomization/", statistician_pages.randomization, name="randomization"),
    path("randomization/setup/", statistician_pages.list_setup, name="list_setup"),
    path("enrollment/", report_pages.enrollment, name="enrollment"),
    path("reports/closed/", report_pages.closed_report, name="closed_report"),
    path("administration/users/", admin_pages.users, name="admin_users"),
    path("administration/sites/", admin_pages.sites, name="admin_sites"),
]
