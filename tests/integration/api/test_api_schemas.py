"""The API's typed answers (issue 18: "masked users get schemas without arm-revealing fields").

- The models a masked reader can receive (every component reachable from a 200 answer without
  passing through an ``...Unmasked`` model) have no property named like an arm-revealing field,
  the names taken from the code's own masking definitions (``ArmRevealing`` declarations,
  ``present_participant``'s ``ARM_KEYS``, the form metadata's arm-revealing items).
- Real answers: a masked reader's validate as the masked model and not as the unmasked one; a
  reader who may see the arm gets the unmasked model, which the masked one refuses.
- Typing changes no byte: every 200 answer is exactly ``json.dumps`` of the presenter's dict
  (key order, ``null`` and absent keys), so the command line as an API client prints what it
  printed before.
- Every route's 200 answer is typed but those listed in :data:`UNTYPED` with a reason.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any, get_args

import pytest
from django.apps import apps
from django.test import Client
from django.utils import timezone
from pydantic import BaseModel, ValidationError
from tests.integration.api.conftest import Api
from tests.integration.api.world import REQUESTS, World

from combat_norse.api import schemas
from combat_norse.core.masking import declaration_of
from combat_norse.crf import catalog
from combat_norse.crf.actions.forms import do_save_form
from combat_norse.participants.presenters import ARM_KEYS

pytestmark = [pytest.mark.django_db, pytest.mark.req("§11", "#18")]

#: Routes whose 200 answer is still an untyped object, with the reason. A new route must be
#: typed (api/schemas.py) or listed here; a listed route that became typed must leave.
UNTYPED: dict[str, str] = {}

#: Arm-revealing declarations whose masked form keeps the key with filtered content.
FILTERED_FOR_MASKED = {
    "covers": "a masked reader gets the list without arm-revealing forms (shown_covers)",
}


def arm_revealing_names() -> set[str]:
    """The keys that reveal the arm, from the code: the allocation's keys a masked reader of a
    participant does not get, every model's declared arm-revealing fields, and every item of
    the metadata that is arm-revealing or on an arm-revealing form."""
    names = set(ARM_KEYS)
    for model in apps.get_models():
        declared = declaration_of(model)
        if declared is not None:
            names |= declared.fields
    for form in catalog.FORMS:
        names |= {i.code for i in form.items if form.arm_revealing or i.arm_revealing}
    return names - set(FILTERED_FOR_MASKED)


def openapi() -> dict[str, Any]:
    response = Client().get("/api/v1/openapi.json")
    assert response.status_code == 200
    schema: dict[str, Any] = response.json()
    return schema


def ok_schemas(schema: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for path, operations in schema["paths"].items():
        for method, op in operations.items():
            content = op["responses"]["200"]["content"]["application/json"]["schema"]
            yield f"{method.upper()} {path.removeprefix('/api/v1')}", content


def refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        if "$ref" in node:
            yield str(node["$ref"]).rsplit("/", 1)[-1]
        for value in node.values():
            yield from refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from refs(value)


def masked_components(schema: dict[str, Any]) -> set[str]:
    """Components a masked reader may receive: reachable from a 200 answer without entering
    an ``...Unmasked`` model."""
    components = schema["components"]["schemas"]
    seen: set[str] = set()
    todo = [name for _, answer in ok_schemas(schema) for name in refs(answer)]
    while todo:
        name = todo.pop()
        if name in seen or name.endswith("Unmasked"):
            continue
        seen.add(name)
        todo.extend(refs(components[name]))
    return seen


def keys_of(model: dict[str, Any]) -> set[str]:
    """The property names of a component, and the keys its maps may hold (``propertyNames``,
    none today: kept so a map keyed by item codes could not hide one)."""
    found = set(model.get("properties", {}))
    stack: list[Any] = [model]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            names = node.get("propertyNames")
            if isinstance(names, dict):
                found |= {str(v) for v in names.get("enum", [])}
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return found


# ---------------------------------------------------------------- (a) the schema
def test_no_model_a_masked_reader_receives_has_an_arm_revealing_field(db: None) -> None:
    schema = openapi()
    components = schema["components"]["schemas"]
    forbidden = arm_revealing_names()
    assert {"arm", "allocation_in_error", "drug", "dose_mg", "il6_pg_ml", "digest"} <= forbidden
    masked = masked_components(schema)
    assert {"Participant", "FormValues", "Visits", "Signatures", "Queries"} <= masked
    leaks = {name: sorted(keys_of(components[name]) & forbidden - {"code"}) for name in masked}
    assert {k: v for k, v in leaks.items() if v} == {}
    # ``code`` is also a site's, form's or item's code: on a participant's record it is the
    # allocation code, so no masked model about a participant has one
    about_participants = [n for n in masked if "study_id" in components[n].get("properties", {})]
    assert "Participant" in about_participants
    assert [n for n in about_participants if "code" in components[n]["properties"]] == []


def test_the_unmasked_models_are_the_masked_ones_and_the_arm(db: None) -> None:
    """``ParticipantUnmasked`` is ``Participant`` plus the allocation; the form values of
    ``FormValuesUnmasked`` add exactly the arm-revealing items (a model per form version,
    generated from the metadata)."""
    components = openapi()["components"]["schemas"]
    masked, unmasked = components["Participant"], components["ParticipantUnmasked"]
    assert set(unmasked["properties"]) - set(masked["properties"]) == set(ARM_KEYS)
    assert masked["additionalProperties"] is False and unmasked["additionalProperties"] is False

    def items(envelope: str) -> set[str]:
        forms = refs(components[envelope]["properties"]["values"])
        return {key for form in forms for key in components[form]["properties"]}

    shown, everything = items("FormValues"), items("FormValuesUnmasked")
    assert everything - shown == {i.code for f in catalog.FORMS for i in f.items
                                  if f.arm_revealing or i.arm_revealing}  # fmt: skip
    assert {"il6_pg_ml", "drug"} <= everything - shown and "mrs" in shown
    biosamples = components["BiosamplesV1Items"]
    assert biosamples["additionalProperties"] is False and "il6_pg_ml" not in biosamples[
        "properties"]  # fmt: skip
    assert biosamples["properties"]["specimen"]["enum"] == ["serum", "csf"]


def test_a_participant_route_declares_the_unmasked_and_the_masked_model(db: None) -> None:
    answers = dict(ok_schemas(openapi()))
    assert set(refs(answers["GET /participants/{study_id}"])) == {
        "ParticipantUnmasked", "Participant"}
    assert set(refs(answers["GET /participants/{study_id}/visits/{visit}/forms/{form}"])) >= {
        "FormValuesUnmasked", "FormValues"}


# ---------------------------------------------------------------- (c) every route typed
def test_every_route_answers_a_typed_object_but_those_listed(db: None) -> None:
    untyped = sorted(route for route, answer in ok_schemas(openapi())
                     if not list(refs(answer)))  # fmt: skip
    assert untyped == sorted(UNTYPED), "type the route in api/schemas.py (or list it, why)"


# ---------------------------------------------------------------- (b) real answers
def valid(model: type[BaseModel], body: Any) -> bool:
    try:
        model.model_validate(body)
    except ValidationError:
        return False
    return True


@pytest.fixture
def world(personas: Any, enroll: Callable[..., Any], production_list: Any) -> World:
    from combat_norse.participants.actions import do_record_consent

    found = World(personas, enroll)
    do_record_consent(personas.coord, found.p.screening, signer="lar", form_version="1.0",
                      optional=["biosamples"])  # fmt: skip
    do_save_form(personas.coord, found.p, "baseline", "biosamples", {
        "specimen": "serum", "collected_at": timezone.now().isoformat(), "il6_pg_ml": 41.5,
        "tnfa_pg_ml": 3})  # fmt: skip
    return found


PAIRS: dict[str, tuple[str, type[BaseModel], type[BaseModel]]] = {
    "participant": ("", schemas.Participant, schemas.ParticipantUnmasked),
    "biosamples": ("/visits/baseline/forms/biosamples?instance=1", schemas.FormValues,
                   schemas.FormValuesUnmasked),
}  # fmt: skip


@pytest.mark.parametrize("record", sorted(PAIRS))
def test_a_masked_readers_answer_is_the_masked_model_and_no_other(
        record: str, api: Api, world: World) -> None:  # fmt: skip
    suffix, masked, unmasked = PAIRS[record]
    path = f"/participants/{world.p.study_id}{suffix}"
    status, seen_masked = api.get("assessor", path)
    assert status == 200
    assert valid(masked, seen_masked)
    if record == "participant":  # the unmasked model requires the allocation's keys
        assert not valid(unmasked, seen_masked)
    status, seen = api.get("coord", path)
    assert status == 200
    assert valid(unmasked, seen) and not valid(masked, seen)
    assert set(seen) == set(seen_masked) | (set(ARM_KEYS) if record == "participant" else set())


def test_a_masked_readers_list_of_participants_is_the_masked_list(api: Api, world: World) -> None:
    status, body = api.get("assessor", "/participants")
    assert status == 200 and body["participants"]
    assert valid(schemas.Participants, body)
    status, body = api.get("coord", "/participants")
    assert valid(schemas.ParticipantsUnmasked, body) and not valid(schemas.Participants, body)


def test_a_presenter_key_the_schema_lacks_is_refused(db: None) -> None:
    """extra=forbid: a presenter that grows a key fails the answer instead of drifting."""
    answer = {"study_id": "X", "visit": "day30", "status": "missed"}
    assert valid(schemas.VisitMissed, answer)
    assert not valid(schemas.VisitMissed, {**answer, "arm": "anakinra"})
    assert not valid(schemas.VisitMissed, {**answer, "status": None})
    assert not valid(schemas.QueryState, {"id": True, "status": "open"})  # no coercion


RETIRE = "POST /randomization/lists/active/retire"  # later fresh participants need the list
PERSONAS_SEEN = ("coord", "investigator", "monitor", "assessor", "statistician", "datamanager",
                 "pharmacist", "sysadmin")


def test_every_answer_is_byte_for_byte_the_presenters_object(
        api: Api, world: World, monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    """Over every route of the matrix, as a masked reader and as readers who may see the arm:
    the typed answer's JSON is the JSON of the dict the route returned, and each answer the
    masked reader gets fits a masked model of its route (never only an ``...Unmasked`` one)."""
    from ninja.operation import Operation
    from ninja.responses import NinjaJSONEncoder

    real = Operation._result_to_response
    compared: list[str] = []
    masked_answers: list[str] = []
    reader = {"masked": False}

    def checked(self: Operation, request: Any, result: Any, temporal: Any) -> Any:
        response = real(self, request, result, temporal)
        if response.status_code == 200 and isinstance(result, dict):
            assert response.content == json.dumps(result, cls=NinjaJSONEncoder).encode(), \
                request.path  # fmt: skip
            compared.append(request.path)
            if reader["masked"] and "/unmask" not in request.path:  # deliberate: told the arm
                model = self.response_models[200]
                assert model is not None
                members = get_args(model.model_fields["response"].annotation) or (
                    model.model_fields["response"].annotation,)
                fitting = [m.__name__ for m in members if valid(m, result)]
                assert [m for m in fitting if not m.endswith("Unmasked")], (request.path, fitting)
                masked_answers.append(request.path)
        return response

    monkeypatch.setattr(Operation, "_result_to_response", checked)
    ok = set()
    for persona in PERSONAS_SEEN:  # the first takes fresh objects, the others the spare ones
        user = getattr(world.personas, persona)
        world.fresh = persona == PERSONAS_SEEN[0]
        reader["masked"] = persona == "assessor"
        for route, request in REQUESTS.items():
            if route == RETIRE:
                continue
            method = route.split()[0].lower()
            req = request(world, user)
            status, _ = api.call(method, persona, req.path, req.body, req.query)
            if status == 200:
                ok.add(route)
    assert compared and len(ok) == len(REQUESTS) - 1, sorted(set(REQUESTS) - ok)
    assert len(masked_answers) >= 10
