"""The §14 command persona matrix: every data-capture command built so far, run as every role
of §11 at its own site (YNH) and, for the site roles, as a user holding the role at another
site (SNU), against one participant of YNH. Each cell must answer what :data:`TABLE` says:
exit 0, or exit 3 with ``refused: role…``, ``refused: other site`` or ``refused: masked``.

The table is read from PROTOCOL.md §11 and §14 (not from the code):
- reading a participant (``visits``, ``form show``): the roles with participant scope, i.e. the
  site team, the pharmacist, the outcome assessor for the participants assigned to them, the
  data manager, the monitor and the statistician; DSMB members and sponsor viewers see
  aggregates only and the administrator no participant data (``role``);
- an arm-revealing form (the whole ``dose`` form) never reaches a masked role: ``masked`` for
  the outcome assessor's ``form show``; writing or verifying it is not their role (``role``);
- writing: site forms (``baseline``) and ``visit missed`` by the site coordinator, site
  investigator or data manager; outcome forms (``mrs``) by the assigned outcome assessor only;
  ``dose`` also by the pharmacist;
- ``form verify`` monitor only; ``form lock``/``unlock`` data manager only;
- ``forms`` (the data dictionary) is metadata: everyone, a masked user without the dose form;
- §13: a record of another site is refused ``other site`` before any role check. Central roles
  (data manager, statistician, DSMB, sponsor, admin) hold every site, so they have no
  "other site" column.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from itertools import count
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from combat_norse.accounts.actions import do_add_user
from combat_norse.cli.main import main
from combat_norse.crf.actions.forms import do_lock_form, do_save_form, do_unlock_form
from combat_norse.crf.models import FormInstance, FormStatus
from combat_norse.participants.actions import do_assign_assessor
from combat_norse.sites.roles import SITE_ROLES, Role, is_masked

pytestmark = [pytest.mark.django_db, pytest.mark.req("§11", "§14")]

# ok = exit 0; role / masked = exit 3 with that refusal. Columns: the roles of §11.
TABLE = """
command        form      site_coordinator site_investigator pharmacist outcome_assessor data_manager monitor statistician dsmb_member sponsor_viewer admin
forms          -         ok               ok                ok         ok               ok           ok      ok           ok          ok             ok
visits         -         ok               ok                ok         ok               ok           ok      ok           role        role           role
visit_missed   -         ok               ok                role       role             ok           role    role         role        role           role
form_save      baseline  ok               ok                role       role             ok           role    role         role        role           role
form_save      mrs       role             role              role       ok               role         role    role         role        role           role
form_save      dose      ok               ok                ok         role             ok           role    role         role        role           role
form_show      baseline  ok               ok                ok         ok               ok           ok      ok           role        role           role
form_show      mrs       ok               ok                ok         ok               ok           ok      ok           role        role           role
form_show      dose      ok               ok                ok         masked           ok           ok      ok           role        role           role
form_verify    baseline  role             role              role       role             role         ok      role         role        role           role
form_verify    mrs       role             role              role       role             role         ok      role         role        role           role
form_verify    dose      role             role              role       role             role         ok      role         role        role           role
form_lock      baseline  role             role              role       role             ok           role    role         role        role           role
form_lock      mrs       role             role              role       role             ok           role    role         role        role           role
form_lock      dose      role             role              role       role             ok           role    role         role        role           role
form_unlock    baseline  role             role              role       role             ok           role    role         role        role           role
form_unlock    mrs       role             role              role       role             ok           role    role         role        role           role
form_unlock    dose      role             role              role       role             ok           role    role         role        role           role
"""  # noqa: E501  (one row a line: the table is the specification)


def parse(table: str) -> dict[tuple[str, str], dict[str, str]]:
    lines = [line.split() for line in table.strip().splitlines()]
    header, rows = lines[0], lines[1:]
    roles = header[2:]
    return {(row[0], row[1]): dict(zip(roles, row[2:], strict=True)) for row in rows}


EXPECTED = parse(TABLE)
CELLS = list(EXPECTED)
WHERE = {"baseline": "baseline", "mrs": "day30", "dose": "unscheduled"}
SUBJECTS = [f"{r.value}@YNH" for r in Role] + [f"{r}@SNU" for r in sorted(SITE_ROLES)]
DRUGS = ("anakinra", "tocilizumab")


def test_the_table_covers_every_role_command_and_form() -> None:
    assert {r.value for r in Role} == set(next(iter(EXPECTED.values())))
    commands = {c for c, _ in CELLS}
    assert commands == {"forms", "visits", "visit_missed", "form_save", "form_show",
                        "form_verify", "form_lock", "form_unlock"}  # fmt: skip
    for command in commands - {"forms", "visits", "visit_missed"}:
        assert {f for c, f in CELLS if c == command} == set(WHERE), command


# ------------------------------------------------------------------------------ the world
def run(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, *argv: str,
        stdin: str | None = None) -> tuple[int, str, str]:  # fmt: skip
    if stdin is not None:
        monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    try:
        code = main(list(argv))
    except SystemExit as exited:
        code = int(exited.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def subject_user(personas: Any, subject: str) -> User:
    """The persona holding ``role`` at YNH (central roles: everywhere), or a user made here
    holding it at SNU only."""
    role, _, site = subject.partition("@")
    if site == "YNH":
        held = (u for name, u in personas.users.items() if name != "othercoord")
        return next(u for u in held if u.memberships.filter(role=role).exists())
    return do_add_user(f"snu-{role}".replace("_", "-"), role, ["SNU"]).user


class World:
    """One YNH participant, assigned to the YNH assessor, with a complete baseline form, a
    complete day-30 mRS and one dose instance; :meth:`prepare` puts a form in the state a
    command needs (unlocked, or locked for ``unlock``) through the actions, as the data
    manager."""

    def __init__(self, personas: Any, enroll: Callable[..., Any]) -> None:
        self.personas = personas
        self.p = enroll()
        do_assign_assessor(personas.coord, self.p, personas.assessor)
        self.serial = count(1)
        do_save_form(personas.coord, self.p, "baseline", "baseline", self.values("baseline"))
        do_save_form(personas.assessor, self.p, "day30", "mrs", self.values("mrs"))
        do_save_form(personas.pharmacist, self.p, "unscheduled", "dose", self.values("dose"))
        assert set(FormInstance.unscoped.filter(participant=self.p)
                   .values_list("status", flat=True)) == {FormStatus.COMPLETE}  # fmt: skip

    def values(self, form: str) -> dict[str, Any]:
        """A complete document that differs from the last one saved (so a save changes it)."""
        n = next(self.serial)
        now = timezone.now().isoformat()
        return {
            "baseline": {"weight_kg": 60 + n, "premorbid_mrs": 0, "first_seizure_at": now,
                         "anesthetic_infusion": True},
            "mrs": {"mrs": n % 6, "assessed_on": timezone.now().date().isoformat()},
            "dose": {"drug": "anakinra", "dose_mg": 100 + n, "given_at": now, "route": "sc"},
        }[form]  # fmt: skip

    def prepare(self, command: str, form: str) -> None:
        found = FormInstance.unscoped.get(participant=self.p, form=form, number=1)
        dm, where = self.personas.datamanager, WHERE[form]
        if command == "form_unlock" and found.status != FormStatus.LOCKED:
            do_lock_form(dm, self.p, where, form)
        elif command != "form_unlock" and found.status == FormStatus.LOCKED:
            do_unlock_form(dm, self.p, where, form, reason="matrix: reset")

    def argv(self, command: str, form: str, username: str) -> tuple[list[str], str | None]:
        sid = self.p.study_id
        if command == "forms":
            return ["forms", "--as", username], None
        if command == "visits":
            return ["visits", sid, "--as", username], None
        if command == "visit_missed":
            return ["visit", "missed", sid, "month12", "--reason", "matrix", "--as",
                    username], None  # fmt: skip
        self.prepare(command, form)
        verb = command.removeprefix("form_")
        where = [sid, WHERE[form], form, *(["--instance", "1"] if form == "dose" else [])]
        if verb == "save":
            return (["form", "save", *where[:3], "-", *where[3:], "--reason", "matrix", "--as",
                     username], json.dumps(self.values(form)))  # fmt: skip
        extra = ["--reason", "matrix"] if verb == "unlock" else []
        return ["form", verb, *where, *extra, "--as", username], None


def want(subject: str, command: str, form: str) -> str:
    role, _, site = subject.partition("@")
    if site == "SNU" and command != "forms":
        return "other site"
    return EXPECTED[command, form][role]


def check(answer: tuple[int, str, str], expected: str) -> str | None:
    """None when the answer is the expected one, else what was wrong."""
    code, out, err = answer
    line = err.strip().splitlines()[-1] if err.strip() else ""
    if expected == "ok":
        ok = code == 0 and json.loads(out) is not None
    elif expected == "role":
        ok = code == 3 and line.startswith("refused: role")
    else:  # "other site", "masked": nothing after the reason names the other site or the arm
        ok = code == 3 and line == f"refused: {expected}"
    return None if ok else f"expected {expected}, got exit {code}: {line or out[:120]!r}"


# ------------------------------------------------------------------------------ the matrix
@pytest.mark.parametrize("subject", SUBJECTS)
def test_each_role_gets_what_the_protocol_says_for_each_data_capture_command(
    subject: str, personas: Any, enroll: Callable[..., Any],
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    world = World(personas, enroll)
    user = subject_user(personas, subject)
    role = subject.partition("@")[0]
    wrong = []
    for command, form in CELLS:
        argv, stdin = world.argv(command, form, user.username)
        answer = run(capsys, monkeypatch, *argv, stdin=stdin)
        problem = check(answer, want(subject, command, form))
        if problem:
            wrong.append(f"{command} {form}: {problem}")
        if is_masked(role):
            assert not any(d in answer[1] + answer[2] for d in DRUGS), (command, form)
    assert not wrong, f"{subject}:\n" + "\n".join(wrong)


def test_an_outcome_assessor_not_assigned_to_the_participant_is_refused_role(
    personas: Any, enroll: Callable[..., Any],
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    """§11: an outcome assessor's scope is the participants assigned to them."""
    world = World(personas, enroll)
    other = do_add_user("assessor-two", "outcome_assessor", ["YNH"]).user
    for command, form in CELLS:
        argv, stdin = world.argv(command, form, other.username)
        expected = "ok" if command == "forms" else "role"
        problem = check(run(capsys, monkeypatch, *argv, stdin=stdin), expected)
        assert problem is None, f"{command} {form}: {problem}"


@pytest.mark.parametrize("username", ["othercoord", "sponsor", "monitor"])
def test_another_site_or_a_missing_role_is_refused_before_a_missing_reason(
    username: str, personas: Any, enroll: Callable[..., Any],
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    """§13: ``other site`` before any other check, so a user of another site learns nothing
    of the record (not even that it exists: an unknown study id is ``error:``); a blank reason
    from someone who may not act at all is refused for who they are, not for the reason."""
    world = World(personas, enroll)
    expected = "other site" if username == "othercoord" else "role"
    sid = world.p.study_id
    world.prepare("form_unlock", "mrs")
    for argv in (["visit", "missed", sid, "day30", "--reason", " "],
                 ["form", "unlock", sid, "day30", "mrs", "--reason", " "],
                 ["form", "unlock", sid, "day30", "mrs"]):  # fmt: skip
        problem = check(run(capsys, monkeypatch, *argv, "--as", username), expected)
        assert problem is None, f"{argv}: {problem}"
