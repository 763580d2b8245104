"""Trial settings (issue 13 item 7): one module defines each ``COMBAT_NORSE_*`` setting with
its default, type and check (``combat_norse.core.conf``); a bad value fails ``manage.py check``
with a stable id and is never silently replaced by a default."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.checks import run_checks
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings

from combat_norse.allocation.models import Environment
from combat_norse.core.conf import DEFAULTS, ENVIRONMENTS, SPECS, trial_settings
from combat_norse.sites.roles import Role, is_masked, two_factor_roles

pytestmark = [pytest.mark.req("#13")]

BAD_VALUES = [
    # (setting, bad value, check id)
    ("COMBAT_NORSE_ENVIRONMENT", "staging", "combat_norse.E101"),
    ("COMBAT_NORSE_ENVIRONMENT", "", "combat_norse.E101"),
    ("COMBAT_NORSE_ENVIRONMENT", None, "combat_norse.E101"),
    ("COMBAT_NORSE_MASKED_ROLES", "outcome_assessor", "combat_norse.E102"),
    ("COMBAT_NORSE_MASKED_ROLES", ["outcome_assessor", 3], "combat_norse.E102"),
    ("COMBAT_NORSE_MASKED_ROLES", None, "combat_norse.E102"),
    ("COMBAT_NORSE_TWO_FACTOR_ROLES", "admin", "combat_norse.E103"),
    ("COMBAT_NORSE_TWO_FACTOR_ROLES", ["admin", "nurse"], "combat_norse.E106"),
    ("COMBAT_NORSE_AUDIT_EXPORT_ROLES", 7, "combat_norse.E104"),
    ("COMBAT_NORSE_AUDIT_EXPORT_ROLES", ["statistician", "nurse"], "combat_norse.E107"),
    ("COMBAT_NORSE_AUDIT_EXPORT_ROLES", ["statistician", "outcome_assessor"], "combat_norse.E107"),
    ("COMBAT_NORSE_REGULATOR_DAYS", [["FR", 7, 15]], "combat_norse.E105"),
    ("COMBAT_NORSE_REGULATOR_DAYS", {"France": [7, 15]}, "combat_norse.E105"),
    ("COMBAT_NORSE_REGULATOR_DAYS", {"fr": [7, 15]}, "combat_norse.E105"),
    ("COMBAT_NORSE_REGULATOR_DAYS", {"FR": [15, 7]}, "combat_norse.E105"),
    ("COMBAT_NORSE_REGULATOR_DAYS", {"FR": [0, 15]}, "combat_norse.E105"),
    ("COMBAT_NORSE_REGULATOR_DAYS", {"FR": [7, "15"]}, "combat_norse.E105"),
    ("COMBAT_NORSE_REGULATOR_DAYS", {"FR": [7]}, "combat_norse.E105"),
]


def our_check_ids() -> list[str]:
    return sorted(e.id for e in run_checks() if e.id.startswith("combat_norse."))


def test_defaults_pass_the_checks_and_read_as_documented() -> None:
    assert our_check_ids() == []
    current = trial_settings()
    assert current.environment == "production"
    assert current.masked_roles == {Role.OUTCOME_ASSESSOR, Role.SPONSOR_VIEWER}
    assert current.audit_export_roles == {Role.STATISTICIAN, Role.DATA_MANAGER}
    assert Role.ADMIN in current.two_factor_roles


def test_every_default_role_code_is_a_role_and_environments_match_the_model() -> None:
    roles = {r.value for r in Role}
    for spec in SPECS:
        if spec.field.endswith("_roles"):
            assert spec.default <= roles, spec.setting
    assert set(ENVIRONMENTS) == set(Environment.values)
    assert len({spec.check_id for spec in SPECS}) == len(SPECS)


@pytest.mark.parametrize(("setting", "value", "check_id"), BAD_VALUES)
def test_bad_trial_setting_fails_the_checks_with_its_id(
    setting: str, value: object, check_id: str
) -> None:
    with override_settings(**{setting: value}):
        assert check_id in our_check_ids()


@pytest.mark.parametrize(
    ("setting", "value"),
    [(s, v) for s, v, i in BAD_VALUES if i in {spec.check_id for spec in SPECS}],
)
def test_code_never_runs_on_a_bad_trial_setting(setting: str, value: object) -> None:
    with override_settings(**{setting: value}), pytest.raises(ImproperlyConfigured, match=setting):
        trial_settings()


def test_settings_are_read_at_call_time() -> None:
    assert not is_masked(Role.SITE_INVESTIGATOR)
    with override_settings(COMBAT_NORSE_MASKED_ROLES=[*DEFAULTS["COMBAT_NORSE_MASKED_ROLES"],
                                                      Role.SITE_INVESTIGATOR]):  # fmt: skip
        assert is_masked(Role.SITE_INVESTIGATOR)
    with override_settings(COMBAT_NORSE_TWO_FACTOR_ROLES=[Role.ADMIN]):
        assert two_factor_roles() == {Role.ADMIN}
    with override_settings(COMBAT_NORSE_ENVIRONMENT="test"):
        assert trial_settings().environment == "test"


def test_unknown_environment_fails_manage_py_check(tmp_path: Path) -> None:
    """End to end: a deployment's settings module with a bad value stops ``manage.py check``."""
    (tmp_path / "bad_trial_settings.py").write_text(
        "from combat_norse.config.settings import *  # noqa: F403\n"
        'COMBAT_NORSE_ENVIRONMENT = "staging"\n',
        encoding="utf-8",
    )
    env = {k: v for k, v in os.environ.items() if k != "SECRET_KEY"}
    env.update(DJANGO_SETTINGS_MODULE="bad_trial_settings", PYTHONPATH=str(tmp_path),
               VAR_DIR=str(tmp_path / "var"))  # fmt: skip
    env.pop("DATABASE_URL", None)
    manage = Path(__file__).resolve().parents[3] / "manage.py"
    done = subprocess.run([sys.executable, str(manage), "check"], env=env, capture_output=True,
                          text=True, timeout=120, check=False)  # fmt: skip
    assert done.returncode != 0
    assert "combat_norse.E101" in done.stderr and "COMBAT_NORSE_ENVIRONMENT" in done.stderr
    assert "combat_norse.E105" not in done.stderr
