"""schemathesis over the API's own OpenAPI schema (issue 18): for every operation, requests
generated from the schema (bounded: a few per operation) are sent with a token of each role of
§11 against a small trial (one randomized participant with forms, a query and a SUSAR). No
answer may be a server error, use a status the schema does not declare, or carry a body
outside its declared schema. Runs once, on PostgreSQL (the fuzz suites run on the production
engine only, to keep the suite short)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import schemathesis
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections, connection
from django.test import Client
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import (
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)
from tests.integration.api.conftest import Api
from tests.integration.api.world import World

pytestmark = [pytest.mark.django_db, pytest.mark.req("#18")]

EXAMPLES_PER_OPERATION = 2
ROLES = ("coord", "investigator", "pharmacist", "assessor", "datamanager", "monitor",
         "statistician", "dsmb", "sponsor", "sysadmin", "othercoord")  # fmt: skip
CHECKS = [not_a_server_error, status_code_conformance, response_schema_conformance]


def test_generated_requests_as_every_role_get_no_server_error_and_answers_in_the_schema(
    personas: Any, enroll: Callable[..., Any], production_list: Any, api: Api,
) -> None:  # fmt: skip
    if connection.vendor != "postgresql":  # a fuzz suite runs once, on the production engine
        pytest.skip("schemathesis runs on PostgreSQL only")
    World(personas, enroll)  # something to find: a participant, forms, a query, a SUSAR
    raw = Client().get("/api/v1/openapi.json").json()
    schema = schemathesis.openapi.from_dict(raw)
    app = get_wsgi_application()
    headers = {name: {"Authorization": f"Bearer {api.token(name)}"} for name in ROLES}
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 50
    failures: list[str] = []
    # in-process, as Django's test client does: the end of a request must not close the test's
    # database connection (on PostgreSQL that would end the test's transaction)
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        for operation in operations:
            fuzz_one(operation, app, headers, failures)
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)
    assert failures == []


def fuzz_one(operation: Any, app: Any, headers: dict[str, dict[str, str]],
             failures: list[str]) -> None:  # fmt: skip
    """A few generated requests to ``operation``, each sent as every role."""

    @given(case=operation.as_strategy())
    @settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, database=None,
              phases=[Phase.explicit, Phase.generate], derandomize=True,
              suppress_health_check=list(HealthCheck))  # fmt: skip
    def fuzz(case: Any) -> None:
        for role in ROLES:
            try:
                response = case.call(app=app, headers=headers[role])
                case.validate_response(response, checks=CHECKS)
            except Exception as exc:
                failures.append(f"{operation.label} as {role}: {str(exc)[:400]}")

    fuzz()
