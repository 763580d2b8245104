"""``/api/v1/``: the routes, the OpenAPI schema (``openapi.json``) and the docs (``docs``)."""

from combat_norse.api import admin_routes, review_routes
from combat_norse.api.base import api
from combat_norse.api.routes import router

api.add_router("", router)
api.add_router("", review_routes.router)  # the review, pharmacy and report pages' routes
api.add_router("", admin_routes.router)  # the administrator's pages' routes

__all__ = ["api"]
