"""System checks of the blinding set-up (DESIGN.md principle 7): a trial-data model without an
``arm_revealing`` declaration (E001) or with an ``objects`` manager (E002), and a masking
setting that unmasks outcome assessors or names an unknown role (E003), fail ``manage.py
check``."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.apps.registry import Apps
from django.core.checks import run_checks
from django.db import models
from django.test import override_settings
from django.test.utils import isolate_apps

from combat_norse.core.masking import NOT_ARM_REVEALING, TRIAL_DATA_APPS, ArmRevealing
from combat_norse.sites.checks import check_masked_roles, check_trial_data_models
from combat_norse.sites.roles import Role

pytestmark = [pytest.mark.req("#3", "§11")]


def ids(errors: list[object]) -> list[str]:
    return [e.id for e in errors]  # type: ignore[attr-defined]


def our_errors() -> list[str]:
    """The project's own check messages from Django's check run (they are registered)."""
    return sorted(f"{e.id} {e.msg}" for e in run_checks() if e.id.startswith("combat_norse."))


@pytest.fixture
def registry() -> Iterator[Apps]:
    """A throw-away app registry holding the participants app (a trial-data app) and the
    sites app (not one), so models can be declared in them without touching the real ones."""
    with isolate_apps("combat_norse.participants", "combat_norse.sites") as apps:
        yield apps


def test_every_trial_data_model_of_the_project_passes_the_checks() -> None:
    assert check_trial_data_models() == []
    assert our_errors() == []
    assert set(TRIAL_DATA_APPS) >= {"participants", "allocation"}


def test_a_trial_data_model_without_a_declaration_fails_with_e001(registry: Apps) -> None:
    class DoseRecord(models.Model):  # noqa: DJ008
        drug = models.CharField(max_length=20)
        unscoped = models.Manager()

        class Meta:
            app_label = "participants"

    errors = check_trial_data_models(app_configs=registry.get_app_configs())
    assert ids(errors) == ["combat_norse.E001"]
    assert errors[0].obj is DoseRecord  # type: ignore[attr-defined]
    assert "participants.DoseRecord does not declare arm_revealing" in errors[0].msg  # type: ignore[attr-defined]


def test_a_trial_data_model_with_an_objects_manager_fails_with_e002(registry: Apps) -> None:
    class AdverseEvent(models.Model):  # noqa: DJ008  (no manager: Django adds `objects`)
        description = models.TextField()
        arm_revealing = ArmRevealing(text_fields={"description"})

        class Meta:
            app_label = "participants"

    class Visit(models.Model):  # noqa: DJ008  (`objects` beside `unscoped`)
        arm_revealing = NOT_ARM_REVEALING
        objects = models.Manager()
        unscoped = models.Manager()

        class Meta:
            app_label = "participants"

    errors = check_trial_data_models(app_configs=registry.get_app_configs())
    assert ids(errors) == ["combat_norse.E002", "combat_norse.E002"]
    assert {e.obj for e in errors} == {AdverseEvent, Visit}  # type: ignore[attr-defined]


def test_a_declared_model_with_an_unscoped_manager_passes(registry: Apps) -> None:
    class Visit(models.Model):  # noqa: DJ008
        arm_revealing = NOT_ARM_REVEALING
        unscoped = models.Manager()

        class Meta:
            app_label = "participants"

    assert check_trial_data_models(app_configs=registry.get_app_configs()) == []


def test_a_model_outside_the_trial_data_apps_needs_no_declaration(registry: Apps) -> None:
    class Note(models.Model):  # noqa: DJ008
        class Meta:
            app_label = "trial_sites"

    assert check_trial_data_models(app_configs=registry.get_app_configs()) == []


@pytest.mark.parametrize(
    "masked",
    [[Role.SPONSOR_VIEWER], [], ["outcome-assessor"]],
    ids=["sponsor only", "nobody", "misspelt"],
)
def test_masking_setting_that_leaves_outcome_assessors_unmasked_fails_with_e003(
    masked: list[str],
) -> None:  # fmt: skip
    with override_settings(COMBAT_NORSE_MASKED_ROLES=masked):
        errors = check_masked_roles()
        assert "combat_norse.E003" in ids(errors)
        assert any("must include outcome_assessor" in e.msg for e in errors)  # type: ignore[attr-defined]
        assert any("E003" in line for line in our_errors())  # registered: manage.py check fails


def test_masking_setting_naming_an_unknown_role_fails_with_e003() -> None:
    with override_settings(COMBAT_NORSE_MASKED_ROLES=[Role.OUTCOME_ASSESSOR, "nurse"]):
        errors = check_masked_roles()
    assert ids(errors) == ["combat_norse.E003"]
    assert "unknown roles ['nurse']" in errors[0].msg  # type: ignore[attr-defined]


def test_masking_more_roles_than_the_registration_passes_the_check() -> None:
    masked = [Role.OUTCOME_ASSESSOR, Role.SPONSOR_VIEWER, Role.SITE_INVESTIGATOR]
    with override_settings(COMBAT_NORSE_MASKED_ROLES=masked):
        assert check_masked_roles() == []
