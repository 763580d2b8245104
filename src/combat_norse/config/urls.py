"""URL configuration."""

from django.contrib import admin
from django.urls import path

from combat_norse.sites import views as site_views

urlpatterns = [
    path("", site_views.home, name="home"),
    path("admin/", admin.site.urls),
]
