"""A used form version is immutable (issue 15 item 1): the first save seals its fingerprint, and
a later change to that version's definition fails the database system check E301."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import pytest

from combat_norse.crf import catalog
from combat_norse.crf.checks import check_used_form_versions_unchanged
from combat_norse.crf.models import FormInstance, FormVersionSeal

pytestmark = [pytest.mark.django_db, pytest.mark.req("§14")]


def test_a_used_form_version_that_changes_fails_the_check(
    personas: Any, enroll: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    from combat_norse.crf.actions.forms import do_save_form

    p = enroll()
    assert check_used_form_versions_unchanged(databases=["default"]) == []
    do_save_form(personas.coord, p, "se_resolution", "se_resolution",
                 {"resolved_at": p.enrolled_at.isoformat()})  # fmt: skip
    seal = FormVersionSeal.unscoped.get(form="se_resolution", version=1)
    assert seal.fingerprint == catalog.form("se_resolution").fingerprint()
    assert FormInstance.unscoped.get(form="se_resolution").form_version == 1
    assert check_used_form_versions_unchanged(databases=["default"]) == []

    edited = dataclasses.replace(catalog.form("se_resolution"), title="SE end (edited)")
    monkeypatch.setattr(catalog, "FORMS", tuple(
        edited if f.code == "se_resolution" else f for f in catalog.FORMS))  # fmt: skip
    errors = check_used_form_versions_unchanged(databases=["default"])
    assert [e.id for e in errors] == ["combat_norse.E301"]
    assert "se_resolution version 1" in errors[0].msg
    # without a database (manage.py check with no --database) the check stays quiet
    assert check_used_form_versions_unchanged(databases=None) == []
