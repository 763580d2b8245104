"""Masked users' API answers are arm-invariant (issue 18, §11): every route of the schema,
called by the assigned outcome assessor and by the sponsor viewer for a participant allocated
anakinra and for one allocated tocilizumab, with the same data apart from the drug, answers the
same status and body once identifiers and times are replaced. No answer names a drug, an arm
or an allocation code, except the arm a masked user is told when unmasked on purpose."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import timedelta
from itertools import count
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone
from tests.integration.access.test_masked_output import _allocated_both_arms
from tests.integration.api.conftest import Api
from tests.integration.api.test_api_persona_matrix import DELIBERATE_UNMASKING
from tests.integration.api.world import REQUESTS, World

from combat_norse.crf.actions.forms import do_save_form
from combat_norse.participants.actions import do_assign_assessor

pytestmark = [pytest.mark.django_db, pytest.mark.req("§11", "#18")]

FORBIDDEN = {"anakinra", "tocilizumab", "kineret", "actemra", "roactemra", "arm"}
TIME = re.compile(r"^\d{4}-\d\d-\d\d(T\d\d:\d\d:\d\d(\.\d+)?([+-]\d\d:\d\d|Z)?)?$")


class ArmWorld(World):
    """World's objects around one given participant; the routes that take a fresh participant
    act on this one too (reads first, changes after, the same sequence for both arms)."""

    def __init__(self, personas: Any, p: Any) -> None:
        self.personas, self.p, self.serial = personas, p, count(1)
        self.fresh, self._spare = True, {}
        self.aware = timezone.now() - timedelta(hours=1)
        drug = p.allocation.arm
        do_assign_assessor(personas.coord, p, personas.assessor)
        do_save_form(personas.coord, p, "baseline", "baseline", self.baseline())
        do_save_form(personas.pharmacist, p, "unscheduled", "dose", {
            "drug": drug, "dose_mg": 100 if drug == "anakinra" else 576, "route": "iv",
            "given_at": timezone.now().isoformat()})  # fmt: skip
        do_save_form(personas.coord, p, "unscheduled", "adverse_event", {
            "term": "Rash", "grade": 2, "onset_date": self.aware.date().isoformat(),
            "serious": True, "seriousness": ["hospitalization"],
            "awareness_at": self.aware.isoformat(), "related_to_study_drug": "possible",
            "expected": False, "outcome": "recovering",
            "narrative": f"rash two days after the first {drug} dose"})  # fmt: skip
        do_save_form(personas.coord, p, "unscheduled", "labs", {
            "collected_at": timezone.now().isoformat(), "anc_per_mm3": 800,
            "eosinophils_per_mm3": 2000, "alt_u_l": 100, "alt_uln_u_l": 40})  # fmt: skip
        self.ae_count = 1

    def participant(self, randomized: bool = True) -> Any:
        return self.p


def normalized(value: Any, p: Any) -> Any:
    """Identifiers, ids and times replaced (they differ between the two participants)."""
    if isinstance(value, dict):
        return {k: "<id>" if (k in ("id", "prefix") or k.endswith("_id"))
                and not isinstance(v, dict | list)
                else normalized(v, p) for k, v in value.items()}  # fmt: skip
    if isinstance(value, list):
        return [normalized(v, p) for v in value]
    if isinstance(value, str):
        if TIME.match(value):
            return "<time>"
        value = value.replace(p.study_id, "<study_id>")
        value = value.replace(p.screening.screening_id, "<screening_id>")
        return re.sub(r"YNH-S\d{4}", "<screening_id>", value)
    return value


def order(route: str) -> tuple[int, str]:
    """Reads first, then changes, the deliberate unmasking last."""
    return (2 if route == DELIBERATE_UNMASKING else 0 if route.startswith("GET") else 1, route)


@pytest.mark.parametrize("persona", ["assessor", "sponsor"])
def test_every_route_answers_a_masked_user_the_same_whichever_arm(
    persona: str, personas: Any, enroll: Callable[..., Any], production_list: Any, api: Api,
) -> None:  # fmt: skip
    pair = _allocated_both_arms(enroll, personas.coord)
    assert [p.allocation.arm for p in pair] == ["anakinra", "tocilizumab"]
    codes = [p.allocation.code for p in pair]
    worlds = [ArmWorld(personas, p) for p in pair]
    transcripts: list[list[tuple[str, int, Any]]] = [[], []]
    reached = set()
    for route in sorted(REQUESTS, key=order):
        method = route.split()[0].lower()
        for world, rows in zip(worlds, transcripts, strict=True):
            req = REQUESTS[route](world, getattr(personas, persona))
            status, body = api.call(method, persona, req.path, req.body, req.query)
            text = json.dumps(body).lower()
            if route != DELIBERATE_UNMASKING:
                assert not set(re.findall(r"[a-z0-9_-]+", text)) & FORBIDDEN, (route, text[:300])
                assert not [c for c in codes if c.lower() in text], route
            rows.append((route, status, normalized(body, world.p)))
            if status == 200:
                reached.add(route)
    different = [(a, b) for a, b in zip(*transcripts, strict=True)
                 if a != b and a[0] != DELIBERATE_UNMASKING]  # fmt: skip
    assert different == []
    if persona == "assessor":  # the routes an assessor's work needs are among those compared
        for needed in ("GET /participants/{study_id}", "GET /participants/{study_id}/visits",
                       "GET /participants/{study_id}/visits/{visit}/forms/{form}",
                       "GET /safety/events", "GET /queries", "GET /due", "GET /forms"):  # fmt: skip
            assert needed in reached, needed
        told = [rows[-1] for rows in transcripts]  # unmasked on purpose: now told the arm
        assert [t[2]["arm"] for t in told] == ["anakinra", "tocilizumab"]


def test_the_schema_names_no_drug_and_only_unmasked_models_name_the_arm(db: None) -> None:
    """The schema serves every user: it names no drug anywhere, and only the ``...Unmasked``
    models (what a reader who may see the arm gets) name the arm (tests/integration/api/
    test_api_schemas.py checks the masked models' fields against the masking definitions)."""
    schema = Client().get("/api/v1/openapi.json").json()
    words = set(re.findall(r"[a-z0-9_-]+", json.dumps(schema).lower()))
    assert not words & (FORBIDDEN - {"arm"})
    components = schema["components"]["schemas"]
    assert [name for name in components if name.endswith("Unmasked")]
    masked = {**schema, "components": {"schemas": {
        name: model for name, model in components.items() if not name.endswith("Unmasked")}}}
    assert not set(re.findall(r"[a-z0-9_-]+", json.dumps(masked).lower())) & FORBIDDEN
