"""Who at a site is e-mailed: active holders of the given roles there, never a masked one."""

from __future__ import annotations

from collections.abc import Iterable

from combat_norse.participants.models import Participant
from combat_norse.sites.models import Membership
from combat_norse.sites.roles import any_masked


def site_team_emails(participant: Participant, roles: Iterable[str]) -> list[str]:
    """E-mail addresses of active users holding one of ``roles`` at the participant's site who
    hold no masked role there (a user who is both is masked, §11)."""
    held: dict[int, set[str]] = {}
    emails: dict[int, str] = {}
    for m in Membership.objects.filter(site=participant.site, active=True,
                                       user__is_active=True).select_related("user"):  # fmt: skip
        held.setdefault(m.user_id, set()).add(m.role)
        emails[m.user_id] = m.user.email
    for m in Membership.objects.filter(user_id__in=list(held), site__isnull=True, active=True):
        held[m.user_id].add(m.role)  # a central masked role masks the user everywhere
    wanted = frozenset(roles)
    return sorted(
        emails[uid] for uid, roles_held in held.items()
        if roles_held & wanted and not any_masked(roles_held) and emails[uid]
    )  # fmt: skip
