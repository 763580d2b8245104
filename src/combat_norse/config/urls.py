"""URL configuration."""

from django.contrib import admin
from django.urls import include, path, re_path

from combat_norse.api.base import bad_request, not_found, server_error
from combat_norse.api.urls import api
from combat_norse.web import views as site_views

urlpatterns = [
    path("", site_views.home, name="home"),
    path("me/", site_views.my_access, name="my_access"),
    path("me/tokens/", site_views.my_tokens, name="my_tokens"),
    path("language/", site_views.language, name="language"),
    path("", include("combat_norse.web.urls")),
    path("accounts/", include("combat_norse.web.account_urls")),
    path("admin/login/", site_views.admin_login_redirect),
    path("admin/", admin.site.urls),
    path("api/v1/", api.urls),  # the REST API: /api/v1/openapi.json, /api/v1/docs
    # "/api" and "/api/v1" answer the API's JSON 404, not a redirect to the slashed address
    # (CommonMiddleware's APPEND_SLASH would send a client's request elsewhere)
    path("", include(([re_path(r"^api(?:/v1)?$", not_found)], "api_root"))),
]

handler404 = not_found  # JSON under /api/, the page elsewhere
handler400 = bad_request  # JSON under /api/ (a body over the upload limit), the page elsewhere
handler500 = server_error  # JSON under /api/, the page elsewhere
