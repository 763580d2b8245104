from django.contrib import admin

from combat_norse.sites.models import Membership, Site


@admin.register(Site)
class SiteAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("code", "name", "city", "country", "timezone", "region", "active")
    list_filter = ("region", "country", "active")
    search_fields = ("code", "name", "city")


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("user", "role", "site", "active", "created_at")
    list_filter = ("role", "active", "site")
    search_fields = ("user__username",)
