"""The objects the API tests address, and one request per route of the OpenAPI schema.

:data:`REQUESTS` maps each route (``METHOD /path``, as in the schema) to a function that, given
the world and the acting user, returns the request to send (path filled in, query, body). A
route that changes state for good (enroll, withdraw, randomize, sign, ...) gets a fresh object
for each call, so every persona's call meets the same state. A route added to the API without
an entry here fails the persona matrix."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from itertools import count
from typing import Any

from django.contrib.auth.models import User
from django.utils import timezone
from tests.integration.conftest import PASSWORD, screening_record

from combat_norse.allocation.actions import do_randomize
from combat_norse.crf.actions.forms import do_lock_form, do_save_form, do_unlock_form
from combat_norse.crf.actions.queries import do_close_query, do_raise_query
from combat_norse.crf.models import FormInstance, FormStatus
from combat_norse.participants.actions import (
    do_assign_assessor,
    do_record_consent,
    do_screen,
)
from combat_norse.sites.models import Membership, Site


@dataclass
class Req:
    path: str
    query: dict[str, Any] = field(default_factory=dict)
    body: dict[str, Any] | None = None


class World:
    """A randomized YNH participant assigned to the YNH assessor, with a complete baseline, a
    day-30 mRS, a dose, labs and a SUSAR; fresh participants and screenings on demand.

    ``fresh`` False (a call the table expects refused, which changes nothing): the routes that
    would take a fresh object take one kept for refusals instead (made once), so the matrix
    does not enroll a participant per refused cell."""

    def __init__(self, personas: Any, enroll: Callable[..., Any]) -> None:
        self.personas = personas
        self._enroll = enroll
        self.serial = count(1)
        self.fresh = True
        self._spare: dict[str, Any] = {}
        self.p = self.participant()
        coord = personas.coord
        self.aware = timezone.now() - timedelta(hours=1)
        do_save_form(coord, self.p, "baseline", "baseline", self.baseline())
        do_save_form(personas.assessor, self.p, "day30", "mrs",
                     {"mrs": 2, "assessed_on": timezone.now().date().isoformat()})  # fmt: skip
        do_save_form(personas.pharmacist, self.p, "unscheduled", "dose", self.dose())
        do_save_form(coord, self.p, "unscheduled", "labs",
                     {"collected_at": timezone.now().isoformat(), "anc_per_mm3": 800})  # fmt: skip
        self.ae_count = 0
        self.susar()

    # ---------------------------------------------------------------- fresh objects
    def participant(self, randomized: bool = True) -> Any:
        if not self.fresh:
            key = f"participant-{randomized}"
            if key not in self._spare:
                self.fresh = True
                self._spare[key] = self.participant(randomized)
                self.fresh = False
            return self._spare[key]
        p = self._enroll()
        do_assign_assessor(self.personas.coord, p, self.personas.assessor)
        if randomized:
            do_randomize(self.personas.coord, p)
        return p

    def screening(self, consented: bool = False) -> Any:
        if not self.fresh:
            key = f"screening-{consented}"
            if key not in self._spare:
                self.fresh = True
                self._spare[key] = self.screening(consented)
                self.fresh = False
            return self._spare[key]
        coord = self.personas.coord
        entry, _ = do_screen(coord, Site.objects.get(code="YNH"), screening_record())
        if consented:
            do_record_consent(coord, entry, signer="lar", form_version="1.0")
        return entry

    def susar(self) -> str:
        """A new serious, related, unexpected AE of the world's participant: its AE id."""
        do_save_form(self.personas.coord, self.p, "unscheduled", "adverse_event", {
            "term": "Hepatitis", "grade": 3, "onset_date": self.aware.date().isoformat(),
            "serious": True, "seriousness": ["hospitalization"],
            "awareness_at": self.aware.isoformat(), "related_to_study_drug": "probable",
            "expected": False, "outcome": "recovering"})  # fmt: skip
        self.ae_count += 1
        return f"{self.p.study_id}-AE{self.ae_count}"

    def query(self, closed: bool = False) -> int:
        dm = self.personas.datamanager
        query = do_raise_query(dm, self.p, "baseline", "baseline", "weight_kg",
                               text=f"check the weight ({next(self.serial)})")  # fmt: skip
        if closed:
            do_close_query(dm, query.pk, text="fine")
        return int(query.pk)

    def membership(self) -> int:
        """A new user's active monitor membership at YNH (one to withdraw): its id."""
        if not self.fresh:
            if "membership" not in self._spare:
                self.fresh = True
                self._spare["membership"] = self.membership()
                self.fresh = False
            return int(self._spare["membership"])
        user = User.objects.create_user(f"member{next(self.serial)}.{id(self) % 10_000}")
        found = Membership.objects.create(user=user, role="monitor",
                                          site=Site.objects.get(code="YNH"))  # fmt: skip
        return int(found.pk)

    def token_prefix(self, user: User) -> str:
        """A new token of ``user`` (one to revoke; never the one the request is sent with)."""
        from combat_norse.accounts.tokens import do_create_token

        return str(do_create_token(user, user).row.prefix)

    def baseline(self) -> dict[str, Any]:
        return {"weight_kg": 60 + next(self.serial), "premorbid_mrs": 0,
                "first_seizure_at": timezone.now().isoformat(),
                "anesthetic_infusion": True}  # fmt: skip

    def dose(self) -> dict[str, Any]:
        return {"drug": "tocilizumab", "dose_mg": 100 + next(self.serial),
                "given_at": timezone.now().isoformat(), "route": "iv"}  # fmt: skip

    def baseline_form(self, locked: bool) -> str:
        """The baseline form put in the state a transition needs; its path."""
        found = FormInstance.unscoped.get(participant=self.p, form="baseline", number=1)
        dm = self.personas.datamanager
        if locked and found.status != FormStatus.LOCKED:
            do_lock_form(dm, self.p, "baseline", "baseline")
        elif not locked and found.status == FormStatus.LOCKED:
            do_unlock_form(dm, self.p, "baseline", "baseline", reason="matrix: reset")
        return f"/participants/{self.p.study_id}/visits/baseline/forms/baseline"


W = World
U = User
PID = "/participants/{study_id}"


def _pp(w: W, suffix: str = "") -> str:
    return f"/participants/{w.p.study_id}{suffix}"


def _fresh(w: W, suffix: str, randomized: bool = True) -> str:
    return f"/participants/{w.participant(randomized).study_id}{suffix}"


#: Each route of the schema → the request one persona sends (a fresh object where a call
#: changes state for good).
REQUESTS: dict[str, Callable[[W, U], Req]] = {
    "GET /me": lambda w, u: Req("/me"),
    "GET /sites": lambda w, u: Req("/sites"),
    "POST /screenings": lambda w, u: Req("/screenings", body={
        "site": "YNH", "record": screening_record()}),
    "PUT /screenings/{screening_id}": lambda w, u: Req(
        f"/screenings/{w.screening().screening_id}",
        body={"record": screening_record(), "reason": "matrix"}),
    "GET /screenings": lambda w, u: Req("/screenings"),
    "GET /screenings/{screening_id}": lambda w, u: Req(
        f"/screenings/{w.p.screening.screening_id}"),
    "POST /screenings/{screening_id}/not-enrolled": lambda w, u: Req(
        f"/screenings/{w.screening().screening_id}/not-enrolled", body={"reason": "declined"}),
    "POST /screenings/{screening_id}/consents": lambda w, u: Req(
        f"/screenings/{w.screening().screening_id}/consents",
        body={"signer": "lar", "form_version": "1.0", "optional": ["interview"]}),
    "POST /screenings/{screening_id}/enroll": lambda w, u: Req(
        f"/screenings/{w.screening(consented=True).screening_id}/enroll", body={}),
    "GET /participants": lambda w, u: Req("/participants"),
    "GET /participants/{study_id}": lambda w, u: Req(_pp(w)),
    "POST /participants/{study_id}/onset": lambda w, u: Req(_fresh(w, "/onset"), body={
        "se_onset": (timezone.now() - timedelta(days=2, hours=1)).isoformat(),
        "reason": "chart review"}),
    "POST /participants/{study_id}/assessor": lambda w, u: Req(
        _fresh(w, "/assessor"), body={"assessor": "assessor"}),
    "POST /participants/{study_id}/withdrawal": lambda w, u: Req(
        _fresh(w, "/withdrawal"), body={"scope": "stop_treatment", "reason": "family wish"}),
    "POST /participants/{study_id}/follow-up-end": lambda w, u: Req(
        _fresh(w, "/follow-up-end"), body={"status": "lost_to_follow_up", "reason": "moved"}),
    "POST /randomization/lists": lambda w, u: Req("/randomization/lists", body={
        "design": "permuted_blocks", "seed": 42, "environment": "test",
        "blocks_per_stratum": 2}),
    "POST /randomization/lists/active/extend": lambda w, u: Req(
        "/randomization/lists/active/extend", body={
            "stratum": "adult/early", "blocks": 1, "reason": "running low",
            "environment": "production"}),
    "POST /randomization/lists/active/retire": lambda w, u: Req(
        "/randomization/lists/active/retire",
        body={"reason": "matrix", "environment": "production"}),
    "GET /randomization/balance": lambda w, u: Req("/randomization/balance"),
    "GET /randomization/lists/active/verify": lambda w, u: Req(
        "/randomization/lists/active/verify", query={"environment": "production"}),
    "GET /randomization/lists/active/export": lambda w, u: Req(
        "/randomization/lists/active/export", query={"environment": "production"}),
    "POST /participants/{study_id}/randomize": lambda w, u: Req(
        _fresh(w, "/randomize", randomized=False)),
    "POST /participants/{study_id}/allocation/error": lambda w, u: Req(
        _fresh(w, "/allocation/error"), body={"reason": "wrong patient", "password": PASSWORD}),
    "POST /participants/{study_id}/unmask": lambda w, u: Req(
        _fresh(w, "/unmask"), body={"reason": "safety", "password": PASSWORD}),
    "POST /participants/{study_id}/unmaskings": lambda w, u: Req(
        _fresh(w, "/unmaskings"), body={"assessor": "assessor", "how": "family told"}),
    "GET /unmaskings": lambda w, u: Req("/unmaskings"),
    "GET /reports/enrollment": lambda w, u: Req("/reports/enrollment"),
    "GET /forms": lambda w, u: Req("/forms"),
    "GET /participants/{study_id}/visits": lambda w, u: Req(_pp(w, "/visits")),
    "POST /participants/{study_id}/visits/{visit}/missed": lambda w, u: Req(
        _fresh(w, "/visits/month12/missed"), body={"reason": "matrix"}),
    "PUT /participants/{study_id}/visits/{visit}/forms/{form}": lambda w, u: Req(
        w.baseline_form(locked=False), body={"values": w.baseline(), "reason": "matrix"}),
    "GET /participants/{study_id}/visits/{visit}/forms/{form}": lambda w, u: Req(
        _pp(w, "/visits/baseline/forms/baseline")),
    "POST /participants/{study_id}/visits/{visit}/forms/{form}/verify": lambda w, u: Req(
        w.baseline_form(locked=False) + "/verify", body={}),
    "POST /participants/{study_id}/visits/{visit}/forms/{form}/lock": lambda w, u: Req(
        w.baseline_form(locked=False) + "/lock", body={}),
    "POST /participants/{study_id}/visits/{visit}/forms/{form}/unlock": lambda w, u: Req(
        w.baseline_form(locked=True) + "/unlock", body={"reason": "correction"}),
    "POST /participants/{study_id}/signatures": lambda w, u: Req(
        _pp(w, "/signatures"), body={"meaning": "casebook", "password": PASSWORD}),
    "GET /participants/{study_id}/signatures": lambda w, u: Req(_pp(w, "/signatures")),
    "GET /queries": lambda w, u: Req("/queries"),
    "GET /queries/summary": lambda w, u: Req("/queries/summary"),
    "POST /queries": lambda w, u: Req("/queries", body={
        "study_id": w.p.study_id, "visit": "baseline", "form": "baseline", "item": "weight_kg",
        "text": f"please check ({next(w.serial)})"}),
    "POST /queries/{query_id}/answer": lambda w, u: Req(
        f"/queries/{w.query()}/answer", body={"text": "checked"}),
    "POST /queries/{query_id}/close": lambda w, u: Req(
        f"/queries/{w.query()}/close", body={"text": "fine"}),
    "POST /queries/{query_id}/reopen": lambda w, u: Req(
        f"/queries/{w.query(closed=True)}/reopen", body={"text": "not fine"}),
    "GET /due": lambda w, u: Req("/due"),
    "GET /safety/clocks": lambda w, u: Req("/safety/clocks"),
    "POST /safety/events/{ae_id}/reports": lambda w, u: Req(
        f"/safety/events/{w.susar()}/reports",
        body={"to": "coordinating_centre", "at": timezone.now().isoformat()}),
    "GET /safety/events": lambda w, u: Req("/safety/events"),
    "GET /participants/{study_id}/grades": lambda w, u: Req(_pp(w, "/grades")),
    "GET /participants/{study_id}/alerts": lambda w, u: Req(_pp(w, "/alerts")),
    "GET /participants/{study_id}/treatment": lambda w, u: Req(_pp(w, "/treatment")),
    "POST /participants/{study_id}/treatment/plan": lambda w, u: Req(
        _pp(w, "/treatment/plan"), body={"weight_kg": 60 + next(w.serial), "reason": "weighed"}),
    "GET /treatment/deviations": lambda w, u: Req("/treatment/deviations"),
    # the review, pharmacy, report and administration pages' routes (review_routes, admin_routes)
    "GET /participants/{study_id}/audit": lambda w, u: Req(_pp(w, "/audit")),
    "GET /review/forms": lambda w, u: Req("/review/forms", query={"stage": "sdv"}),
    "GET /missing": lambda w, u: Req("/missing", query={"site": "YNH"}),
    "GET /pharmacy/allocations": lambda w, u: Req("/pharmacy/allocations"),
    "GET /reports/closed": lambda w, u: Req("/reports/closed"),
    "GET /admin/users": lambda w, u: Req("/admin/users"),
    "POST /admin/grants": lambda w, u: Req("/admin/grants", body={
        "username": f"granted{next(w.serial)}.{id(w) % 10_000}", "role": "monitor",
        "sites": ["YNH"]}),
    "POST /admin/revocations": lambda w, u: Req(
        "/admin/revocations", body={"membership": w.membership()}),
    "GET /me/tokens": lambda w, u: Req("/me/tokens"),
    "POST /me/tokens/{prefix}/revoke": lambda w, u: Req(f"/me/tokens/{w.token_prefix(u)}/revoke"),
}  # fmt: skip


def schema_routes(schema: dict[str, Any]) -> set[str]:
    """``METHOD /path`` of every operation in the OpenAPI schema (paths without /api/v1)."""
    return {f"{method.upper()} {path.removeprefix('/api/v1')}"
            for path, ops in schema["paths"].items() for method in ops}  # fmt: skip
