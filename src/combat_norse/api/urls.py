"""``/api/v1/``: the routes, the OpenAPI schema (``openapi.json``) and the docs (``docs``)."""

from combat_norse.api.base import api
from combat_norse.api.routes import router

api.add_router("", router)

__all__ = ["api"]
