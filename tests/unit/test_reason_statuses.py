"""Every refusal reason has one exit status (command line) and one HTTP status (pages, API), and
the faces translate the shared errors alike (§13, issue 13). No database."""

from __future__ import annotations

import json

import pytest

from combat_norse.cli.common import EXIT_BAD_INPUT, EXIT_REFUSED, EXIT_STATUS, translate_errors
from combat_norse.cli.common import BadInput as CliBadInput
from combat_norse.cli.common import Refused as CliRefused
from combat_norse.core.errors import BadInput, NotFound, Reason, Refused
from combat_norse.protocol import RecordError
from combat_norse.sites.access import AccessDenied
from combat_norse.web.errors import HTTP_STATUS, error_body, error_response, status_for

pytestmark = pytest.mark.req("§13", "#13", "#18")

EXPECTED_HTTP = {
    "other_site": 403,
    "role": 403,
    "masked": 403,
    "password": 403,
    "locked": 423,
    "conflict": 409,
    "reason_required": 422,
    "no_valid_consent": 422,
    "rule": 422,
    "state": 409,
    "unavailable": 503,
}


def test_every_reason_has_exactly_one_exit_status_and_it_is_3() -> None:
    assert set(EXIT_STATUS) == {r.value for r in Reason}
    assert all(EXIT_STATUS[r] == EXIT_REFUSED == 3 for r in Reason)


def test_every_reason_has_exactly_one_http_status() -> None:
    assert set(HTTP_STATUS) == set(Reason)
    assert {r.value: s for r, s in HTTP_STATUS.items()} == EXPECTED_HTTP


@pytest.mark.parametrize("reason", list(Reason))
def test_a_refusal_maps_to_its_exit_status_and_its_http_status(reason: Reason) -> None:
    exc = Refused(reason, "what would be needed")
    with pytest.raises(CliRefused) as translated, translate_errors():
        raise exc
    assert translated.value.exit_status == EXIT_STATUS[reason.value] == 3
    assert translated.value.line() == f"refused: {exc.text}"
    assert translated.value.line().startswith(f"refused: {reason.text or 'what would'}")
    assert status_for(exc) == status_for(exc, face="api") == HTTP_STATUS[reason]
    assert error_body(exc) == {"code": reason.value, "field": None, "detail": exc.text}


@pytest.mark.parametrize("reason", [Reason.OTHER_SITE, Reason.ROLE, Reason.MASKED])
def test_an_access_denial_is_a_refusal_with_its_reason_code(reason: Reason) -> None:
    exc = AccessDenied(reason)
    assert status_for(exc) == 403
    assert error_body(exc) == {"code": reason.value, "field": None, "detail": reason.text}
    with pytest.raises(CliRefused) as translated, translate_errors():
        raise exc
    assert translated.value.line() == f"refused: {reason.text}"


def test_bad_input_is_400_and_exit_2_naming_its_field() -> None:
    exc = BadInput("se_onset", "is in the future")
    assert status_for(exc) == 400
    assert status_for(exc, face="api") == 422  # issue 18: the API's one difference, made here
    assert error_response(exc, face="api").status_code == 422
    assert error_body(exc) == {"code": "bad_input", "field": "se_onset",
                               "detail": "se_onset: is in the future"}  # fmt: skip
    with pytest.raises(CliBadInput) as translated, translate_errors():
        raise exc
    assert translated.value.exit_status == EXIT_BAD_INPUT == 2
    assert translated.value.line() == "error: se_onset: is in the future"


def test_an_unknown_id_is_404_and_exit_2_naming_its_field() -> None:
    exc = NotFound("study_id", "participant YNH-999")
    assert status_for(exc) == 404
    assert error_body(exc) == {"code": "not_found", "field": "study_id",
                               "detail": "study_id: unknown participant YNH-999"}  # fmt: skip
    with pytest.raises(CliBadInput) as translated, translate_errors():
        raise exc
    assert translated.value.exit_status == 2


def test_a_pure_package_error_is_bad_input_on_both_faces() -> None:
    exc = RecordError("age_years", "not a number")
    assert status_for(exc) == 400
    assert error_body(exc)["field"] == "age_years"
    with pytest.raises(CliBadInput), translate_errors():
        raise exc


def test_any_other_exception_is_not_translated() -> None:
    with pytest.raises(TypeError):
        status_for(ValueError("boom"))
    with pytest.raises(TypeError):
        error_body(KeyError("x"))
    with pytest.raises(ZeroDivisionError), translate_errors():
        raise ZeroDivisionError


def test_the_api_answer_carries_the_status_and_the_code() -> None:
    response = error_response(Refused(Reason.LOCKED, "form signed"))
    assert response.status_code == 423
    assert json.loads(response.content) == {"code": "locked", "field": None,
                                           "detail": "locked (form signed)"}
