from django.contrib import admin

from combat_norse.sites.models import Site


@admin.register(Site)
class SiteAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("code", "name", "city", "country", "timezone", "region", "active")
    list_filter = ("region", "country", "active")
    search_fields = ("code", "name", "city")
