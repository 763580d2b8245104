"""Issue 15 (items 2 and 4): the remaining forms saved through the action and the command line
(consent-guarded interview, MoCA only at month 12, age rules, discharge rules), outcome forms
flagged ``assessed_unmasked`` by data capture's receiver of the ``unmasked`` event, the unmasking
report from data capture, and the migration that replaced ``OutcomeAssessment``."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from combat_norse.audit.models import AuditEvent
from combat_norse.cli.main import main
from combat_norse.core.errors import BadInput, Refused
from combat_norse.crf.actions.forms import do_save_form
from combat_norse.crf.models import FormInstance, Visit

pytestmark = [pytest.mark.django_db, pytest.mark.req("§14", "§9", "§11")]
PASSWORD = "correct horse battery staple 42"  # the personas' (tests/integration/conftest.py)
ROOT = Path(__file__).resolve().parents[3]


def today() -> str:
    return timezone.now().date().isoformat()


def _assigned(personas: Any, enroll: Callable[..., Any], **record: Any) -> Any:
    from combat_norse.participants.actions import do_assign_assessor

    p = enroll(**record)
    do_assign_assessor(personas.coord, p, personas.assessor)
    return p


def _child(personas: Any, enroll: Callable[..., Any]) -> Any:
    dob = (timezone.now() - timedelta(days=365 * 10 + 30)).date().isoformat()
    p = _assigned(personas, enroll, date_of_birth=dob)
    assert p.screening.age_years is not None and p.screening.age_years < 18
    return p


def test_the_interview_is_refused_without_its_optional_consent_and_saved_with_it(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, personas: Any,
    enroll: Callable[..., Any],
) -> None:  # fmt: skip
    from combat_norse.participants.actions import do_record_consent

    p = enroll()
    values = {"interviewed_on": today(), "respondent": "participant", "duration_min": 60}
    monkeypatch.setattr("sys.stdin", io.StringIO(json.dumps(values)))
    code = main(["form", "save", p.study_id, "interview", "interview", "-", "--as", "coord"])
    _, err = capsys.readouterr()
    assert code == 3 and err.startswith("refused: no valid consent")
    assert not Visit.unscoped.filter(participant=p, code="interview").exists()  # nothing saved
    assert AuditEvent.objects.filter(action="form_save_refused").count() == 1
    with pytest.raises(Refused, match="no valid consent"):
        do_save_form(personas.coord, p, "unscheduled", "biosamples",
                     {"specimen": "serum", "collected_at": timezone.now().isoformat()})
    # the patient, now able to, re-consents and accepts the interview
    do_record_consent(personas.coord, p.screening, signer="patient", form_version="1.0",
                      optional=["interview"])  # fmt: skip
    found, queries = do_save_form(personas.coord, p, "interview", "interview", values)
    assert (found.status, queries) == ("complete", [])
    assert Visit.unscoped.get(participant=p, code="interview").status == "done"


def test_moca_is_bad_input_outside_month12_and_an_assessors_form_at_month12(
    personas: Any, enroll: Callable[..., Any]
) -> None:
    p = _assigned(personas, enroll)
    with pytest.raises(BadInput, match="not collected at visit month6"):
        do_save_form(personas.assessor, p, "month6", "moca", {"moca": 25})
    with pytest.raises(Refused, match="role"):
        do_save_form(personas.coord, p, "month12", "moca", {"moca": 25})
    found, queries = do_save_form(personas.assessor, p, "month12", "moca", {"moca": 25})
    assert found.assessed_by == personas.assessor and found.status == "in_progress"
    assert [q.item for q in queries] == []  # an adult
    with pytest.raises(BadInput, match="above 30"):
        do_save_form(personas.assessor, p, "month12", "moca", {"moca": 31})


def test_child_and_adult_instruments_are_queried_in_the_wrong_age_group_and_saved(
    personas: Any, enroll: Callable[..., Any]
) -> None:
    adult, child = _assigned(personas, enroll), _child(personas, enroll)
    _, q = do_save_form(personas.assessor, adult, "day30", "pcpc", {"pcpc": 2})
    assert [(x.rule, x.item) for x in q] == [("pcpc_for_children", "pcpc")]
    _, q = do_save_form(personas.assessor, adult, "month3", "pedsql",
                        {"pedsql_total": 70, "respondent": "child"})  # fmt: skip
    assert [x.rule for x in q] == ["pedsql_for_children"]
    _, q = do_save_form(personas.assessor, child, "month3", "qolie31", {"qolie31_total": 55})
    assert [x.rule for x in q] == ["qolie31_for_adults"]
    _, q = do_save_form(personas.assessor, child, "month12", "moca", {"moca": 20})
    assert [x.rule for x in q] == ["moca_for_adults"]
    _, q = do_save_form(personas.assessor, child, "day30", "pcpc", {"pcpc": 2})
    assert q == []
    assert FormInstance.unscoped.filter(form__in=["pcpc", "pedsql", "qolie31", "moca"]).count() \
        == 5  # fmt: skip


def test_discharge_before_enrollment_opens_a_query_that_closes_when_corrected(
    personas: Any, enroll: Callable[..., Any]
) -> None:
    p = enroll()
    values = {"discharged_on": (timezone.now() - timedelta(days=30)).date().isoformat(),
              "icu_days": 3, "hospital_days": 5, "ventilator_days": 2,
              "asms_at_discharge": ["levetiracetam"]}  # fmt: skip
    found, q = do_save_form(personas.coord, p, "discharge", "discharge", values)
    assert found.status == "complete"
    assert [(x.rule, x.item) for x in q] == [("discharge_after_enrollment", "discharged_on")]
    _, q = do_save_form(personas.coord, p, "discharge", "discharge",
                        {"discharged_on": today()}, reason="wrong year")  # fmt: skip
    assert q == []
    assert Visit.unscoped.get(participant=p, code="discharge").status == "done"


def test_the_daily_course_is_saved_at_a_study_day_and_not_elsewhere(
    personas: Any, enroll: Callable[..., Any]
) -> None:
    p = enroll()
    values = {"clinical_seizures": False, "eeg_status": "periodic_discharges",
              "anesthetic_infusion": True, "anesthetic_agents": ["propofol", "midazolam"],
              "mechanical_ventilation": True, "in_icu": True, "asm_count": 2}  # fmt: skip
    found, _ = do_save_form(personas.coord, p, "inpatient_day_1", "inpatient_daily", values)
    assert found.status == "complete"
    assert found.values["anesthetic_agents"] == ["midazolam", "propofol"]  # code-list order
    with pytest.raises(BadInput, match="not collected at visit baseline"):
        do_save_form(personas.coord, p, "baseline", "inpatient_daily", values)


def test_an_unmasking_flags_that_users_outcome_forms_saved_from_its_time_on(
    personas: Any, enroll: Callable[..., Any], production_list: Any
) -> None:
    """crf's receiver of ``unmasked``: every outcome form (not only mRS) of that assessor for
    that participant saved at or after the unmasking time, in the unmasking's transaction,
    with a history row naming the actor; not earlier saves, other forms or other users."""
    from combat_norse.accounts.actions import do_add_user
    from combat_norse.participants.actions import (
        do_assign_assessor,
        do_record_assessor_unmasked,
    )

    p = _assigned(personas, enroll)
    other = do_add_user("assessor2", "outcome_assessor", ("YNH",)).user
    do_assign_assessor(personas.coord, p, other)
    early, _ = do_save_form(personas.assessor, p, "day30", "mrs", {"mrs": 3})
    cut = timezone.now()
    gose, _ = do_save_form(personas.assessor, p, "day30", "gose", {"gose": 5})
    pcpc, _ = do_save_form(personas.assessor, p, "month3", "pcpc", {"pcpc": 2})
    theirs, _ = do_save_form(other, p, "month3", "mrs", {"mrs": 2})
    do_save_form(personas.coord, p, "baseline", "baseline", {"weight_kg": 70})
    assert not any(f.assessed_unmasked for f in (early, gose, pcpc, theirs))
    do_record_assessor_unmasked(personas.coord, p, personas.assessor, how="saw the chart",
                                occurred_at=cut)  # fmt: skip
    flags = {f.form + "@" + f.visit.code: f.assessed_unmasked
             for f in FormInstance.unscoped.select_related("visit")}  # fmt: skip
    assert flags == {"mrs@day30": False, "gose@day30": True, "pcpc@month3": True,
                     "mrs@month3": False, "baseline@baseline": False}  # fmt: skip
    last = FormInstance.unscoped.get(pk=gose.pk).history.order_by("-history_id").first()
    assert last.history_user == personas.coord
    assert last.history_change_reason.startswith("assessor unmasked (record ")
    assert last.version == gose.version  # a flag is not a new version of the data


def test_a_receiver_failure_rolls_the_unmasking_back(
    personas: Any, enroll: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    from combat_norse.crf.actions import outcomes
    from combat_norse.participants.actions import do_record_assessor_unmasked
    from combat_norse.participants.models import Unmasking

    p = _assigned(personas, enroll)
    do_save_form(personas.assessor, p, "day30", "mrs", {"mrs": 3})

    def broken(*args: Any, **kwargs: Any) -> int:
        raise RuntimeError("flagging failed")

    monkeypatch.setattr(outcomes, "flag_outcomes_after_unmasking", broken)
    with pytest.raises(RuntimeError):
        do_record_assessor_unmasked(personas.coord, p, personas.assessor, how="told",
                                    occurred_at=timezone.now() - timedelta(hours=1))  # fmt: skip
    assert not Unmasking.unscoped.exists()


def test_a_deliberate_unmasking_flags_later_saves_and_the_report_lists_them(
    personas: Any, enroll: Callable[..., Any], production_list: Any,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    from combat_norse.allocation.actions import do_randomize
    from combat_norse.participants.actions import do_unmask

    p = _assigned(personas, enroll)
    do_randomize(personas.coord, p)
    do_unmask(personas.assessor, p, reason="severe rash", password=PASSWORD)
    found, _ = do_save_form(personas.assessor, p, "day30", "mrs",
                            {"mrs": 2, "assessed_on": today()})  # fmt: skip
    assert found.assessed_unmasked
    assert main(["unmasking", "report", "--as", "statistician"]) == 0
    rows = json.loads(capsys.readouterr().out)["unmaskings"]
    assert [r["type"] for r in rows] == ["unmasking", "assessed_unmasked"]
    entry = rows[1]
    assert (entry["study_id"], entry["user"], entry["visit"], entry["instrument"],
            entry["instance"]) == (p.study_id, "assessor", "day30", "mrs", 1)  # fmt: skip
    assert "arm" not in json.dumps(rows) and "values" not in entry


# ------------------------------------------------------------------------------ the migration
MIGRATE_WITH_ROWS = r'''
import django, sys
from datetime import datetime, timezone as tz
django.setup()
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

before = [("participants", "0002_historicalassessorassignment_and_more"), ("crf", "0001_initial")]
executor = MigrationExecutor(connection)
executor.migrate(before)
apps = executor.loader.project_state(before).apps
User = apps.get_model("auth", "User")
Site = apps.get_model("trial_sites", "Site")
Entry = apps.get_model("participants", "ScreeningEntry")
Participant = apps.get_model("participants", "Participant")
Outcome = apps.get_model("participants", "OutcomeAssessment")
HOutcome = apps.get_model("participants", "HistoricalOutcomeAssessment")
Visit = apps.get_model("crf", "Visit")
m = lambda model: model._default_manager
assessor = m(User).create(username="assessor")
coord = m(User).create(username="coord")
site = m(Site).get(code="YNH")
at = datetime(2026, 3, 1, 2, 0, tzinfo=tz.utc)  # 2026-02-28 in New York
entry = m(Entry).create(screening_id="S-1", site=site, created_at=at, created_by=coord,
    record={}, evaluated_at=at, decision="enroll", rules_version="1")
p = m(Participant).create(study_id="YNH-001", site=site, screening=entry,
    cohort="randomized_cohort", enrolled_at=at, enrolled_by=coord, status="active")
m(Visit).create(participant=p, code="day30")
o = m(Outcome).create(participant=p, visit="day30", instrument="mrs", score=3, assessed_at=at,
    assessed_by=assessor, assessed_unmasked=True)
m(HOutcome).create(id=o.pk, participant=p, visit="day30", instrument="mrs", score=3,
    assessed_at=at, assessed_by=assessor, assessed_unmasked=False, history_date=at,
    history_type="+", history_user=assessor, history_change_reason="")
m(Outcome).create(participant=p, visit="discharge", instrument="gose", score=6, assessed_at=at,
    assessed_by=assessor)
executor = MigrationExecutor(connection)
executor.loader.build_graph()
executor.migrate(executor.loader.graph.leaf_nodes())
from combat_norse.crf.models import FormInstance
out = []
for f in FormInstance.unscoped.select_related("visit", "assessed_by").order_by("id"):
    out.append([f.visit.code, f.form, f.values, f.status, f.assessed_by.username,
                f.assessed_unmasked, f.history.count()])
print(__import__("json").dumps(out))
'''


def _sqlite_env(tmp_path: Path) -> dict[str, str]:
    return dict(os.environ, DATABASE_URL=f"sqlite:///{tmp_path / 'm.sqlite3'}",
                VAR_DIR=str(tmp_path), DJANGO_SETTINGS_MODULE="combat_norse.config.settings")


def test_a_fresh_database_migrates_without_outcome_assessment(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, str(ROOT / "manage.py"), "migrate", "--noinput"],
                          capture_output=True, text=True, env=_sqlite_env(tmp_path), timeout=300,
                          check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "participants.0003_delete_outcomeassessment... OK" in done.stdout
    assert "crf.0002_outcome_assessments_to_forms... OK" in done.stdout


def test_outcome_assessment_rows_become_outcome_forms_before_the_model_is_deleted(
    tmp_path: Path,
) -> None:
    done = subprocess.run([sys.executable, "-c", MIGRATE_WITH_ROWS], capture_output=True,
                          text=True, env=_sqlite_env(tmp_path), timeout=300, check=False,
                          cwd=ROOT)  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    rows = json.loads(done.stdout.strip().splitlines()[-1])
    assert rows == [
        ["day30", "mrs", {"mrs": 3, "assessed_on": "2026-02-28"}, "complete", "assessor", True,
         2],  # its own history row copied, plus the move
        ["discharge", "gose", {"gose": 6, "assessed_on": "2026-02-28"}, "complete", "assessor",
         False, 1],
    ]  # fmt: skip
