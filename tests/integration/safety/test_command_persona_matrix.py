"""The treatment and safety command persona matrix (issue 16): every command that addresses a
participant, run as every role of §11 at its own site (YNH) and, for the site roles, at another
site (SNU), against one randomized YNH participant with a SUSAR and labs. Each cell answers
what :data:`TABLE` says: exit 0, or exit 3 with ``refused: role…``, ``refused: other site`` or
``refused: masked``.

The table is read from PROTOCOL.md §11 and §14 and the issue, not from the code:
- dose plans, dose records, deviations and lab alerts are arm-revealing (§14): the treating
  team (site coordinator, investigator, pharmacist), the data manager and the monitor read
  them; the assigned outcome assessor is refused ``masked``; the statistician, who follows no
  patient, and the aggregate-only roles are refused ``role``;
- the treating team changes a dose plan (a new weight);
- a report to the coordinating centre is recorded by the site (coordinator, investigator) or
  the coordinating centre's data manager; a report to a regulator by the data manager or the
  site investigator;
- grade suggestions read labs, which name no drug: every role with participant scope;
- adverse events and labs are entered like site forms (site coordinator, investigator, data
  manager) and read like them.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from itertools import count
from typing import Any

import pytest
from django.utils import timezone
from tests.integration.crf.test_command_persona_matrix import (
    DRUGS,
    SUBJECTS,
    check,
    parse,
    run,
    subject_user,
)

from combat_norse.allocation.actions import do_randomize
from combat_norse.crf.actions.forms import do_save_form
from combat_norse.participants.actions import do_assign_assessor
from combat_norse.sites.roles import Role, is_masked

pytestmark = [pytest.mark.django_db, pytest.mark.req("§11", "§14", "#16")]

TABLE = """
command          form  site_coordinator site_investigator pharmacist outcome_assessor data_manager monitor statistician dsmb_member sponsor_viewer admin
treatment_show   -     ok               ok                ok         masked           ok           ok      role         role        role           role
treatment_plan   -     ok               ok                ok         role             role         role    role         role        role           role
alerts           -     ok               ok                ok         masked           ok           ok      role         role        role           role
safety_grade     -     ok               ok                ok         ok               ok           ok      ok           role        role           role
report_centre    -     ok               ok                role       role             ok           role    role         role        role           role
report_regulator -     role             ok                role       role             ok           role    role         role        role           role
form_save        ae    ok               ok                role       role             ok           role    role         role        role           role
form_show        ae    ok               ok                ok         ok               ok           ok      ok           role        role           role
form_save        labs  ok               ok                role       role             ok           role    role         role        role           role
"""  # noqa: E501  (one row a line: the table is the specification)
EXPECTED = parse(TABLE)


def test_the_table_covers_every_role() -> None:
    assert {r.value for r in Role} == set(next(iter(EXPECTED.values())))


class World:
    """A randomized YNH participant assigned to the YNH assessor, with a SUSAR (both clocks
    open) and labs."""

    def __init__(self, personas: Any, enroll: Callable[..., Any]) -> None:
        self.p = enroll()
        do_randomize(personas.coord, self.p)
        do_assign_assessor(personas.coord, self.p, personas.assessor)
        self.aware = timezone.now() - timedelta(hours=1)
        do_save_form(personas.coord, self.p, "unscheduled", "adverse_event", self.ae())
        do_save_form(personas.coord, self.p, "unscheduled", "labs", self.labs())
        self.serial = count(1)

    def ae(self, n: int = 0) -> dict[str, Any]:
        return {"term": "Hepatitis", "grade": 3 + n % 2, "onset_date": self.aware.date()
                .isoformat(), "serious": True, "seriousness": ["hospitalization"],
                "awareness_at": self.aware.isoformat(), "related_to_study_drug": "probable",
                "expected": False, "outcome": "recovering"}  # fmt: skip

    def labs(self, n: int = 0) -> dict[str, Any]:
        return {"collected_at": timezone.now().isoformat(), "anc_per_mm3": 800 + n}

    def argv(self, command: str, form: str, username: str) -> tuple[list[str], str | None]:
        sid, n = self.p.study_id, next(self.serial)
        at = timezone.now().isoformat()
        report = ["safety", "report", f"{sid}-AE1", "--at", at, "--to"]
        argv = {
            "treatment_show": ["treatment", "show", sid],
            "treatment_plan": ["treatment", "plan", sid, "--weight-kg", str(60 + n), "--reason",
                               "weighed"],
            "alerts": ["alerts", sid],
            "safety_grade": ["safety", "grade", sid],
            "report_centre": [*report, "coordinating_centre"],
            "report_regulator": [*report, "regulator"],
            "form_save": ["form", "save", sid, "unscheduled",
                          "adverse_event" if form == "ae" else "labs", "-", "--instance", "1",
                          "--reason", "matrix"],
            "form_show": ["form", "show", sid, "unscheduled", "adverse_event", "--instance",
                          "1"],
        }[command]  # fmt: skip
        stdin = None
        if command == "form_save":
            stdin = json.dumps(self.ae(n) if form == "ae" else self.labs(n))
        return [*argv, "--as", username], stdin


@pytest.mark.parametrize("subject", SUBJECTS)
def test_each_role_gets_what_the_protocol_says_for_each_safety_command(
    subject: str, personas: Any, enroll: Callable[..., Any], production_list: Any,
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    world = World(personas, enroll)
    user = subject_user(personas, subject)
    role, _, site = subject.partition("@")
    wrong = []
    for (command, form), expected in EXPECTED.items():
        argv, stdin = world.argv(command, form, user.username)
        answer = run(capsys, monkeypatch, *argv, stdin=stdin)
        problem = check(answer, "other site" if site == "SNU" else expected[role])
        if problem:
            wrong.append(f"{command} {form}: {problem}")
        if is_masked(role):
            assert not any(d in answer[1] + answer[2] for d in DRUGS), (command, form)
    assert not wrong, f"{subject}:\n" + "\n".join(wrong)
