"""A masked persona's output is arm-invariant (§11, §13; issue 13).

For every command a masked persona can run on a participant (an outcome assessor assigned to
both participants; a sponsor viewer), the output for a participant allocated anakinra and for
one allocated tocilizumab is the same once the identifiers are replaced: stdout, stderr and the
exit status. No output names a drug, an arm or an allocation code."""

from __future__ import annotations

import io
import json
import re
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.utils import timezone

from combat_norse.allocation.actions import do_randomize
from combat_norse.cli.main import main
from combat_norse.participants.access import access_participant
from combat_norse.participants.actions import do_assign_assessor, do_withdraw
from combat_norse.participants.presenters import (
    present_enrollment,
    present_participant,
    present_screening,
)
from combat_norse.sites.access import scope_for

pytestmark = [pytest.mark.django_db, pytest.mark.req("§11", "§13", "#13", "#18"),
              pytest.mark.usefixtures("cli_face")]  # locally and through the API

MASKED_PERSONAS = ("assessor", "sponsor")
WRONG_PASSWORD = "not my password\n"

# (name, argv with {study_id} / {screening_id}, standard input). The order matters: commands
# that change something come after those that only read, and the assessor's own unmasking
# record comes last (the same sequence runs for both participants).
COMMANDS: tuple[tuple[str, tuple[str, ...], str | None], ...] = (
    ("participant show", ("participant", "show", "{study_id}"), None),
    ("visits", ("visits", "{study_id}"), None),
    ("forms", ("forms",), None),
    ("form show dose", ("form", "show", "{study_id}", "unscheduled", "dose", "--instance", "1"),
     None),
    ("form show adverse event", ("form", "show", "{study_id}", "unscheduled", "adverse_event",
                                 "--instance", "1"), None),
    ("form save dose", ("form", "save", "{study_id}", "unscheduled", "dose", "-"), "DOSE"),
    # treatment and safety (issue 16): plans, doses, deviations and lab alerts are refused
    # masked; clocks and grade suggestions name no drug
    ("treatment show", ("treatment", "show", "{study_id}"), None),
    ("treatment plan", ("treatment", "plan", "{study_id}", "--weight-kg", "60", "--reason",
                        "weighed"), None),
    ("alerts", ("alerts", "{study_id}"), None),
    ("safety grade", ("safety", "grade", "{study_id}"), None),
    ("safety report", ("safety", "report", "{study_id}-AE1", "--to", "coordinating_centre",
                       "--at", "2026-11-01T10:00:00+00:00"), None),
    ("randomize", ("randomize", "{study_id}"), None),
    ("screening update", ("screening", "update", "{screening_id}", "-", "--reason", "new labs"),
     "RECORD"),
    ("screening not-enrolled", ("screening", "not-enrolled", "{screening_id}", "--reason", "x"),
     None),
    ("consent add", ("consent", "add", "{screening_id}", "--signer", "patient",
                     "--form-version", "2.0"), None),
    ("enroll", ("enroll", "{screening_id}"), None),
    ("unmask without a password", ("unmask", "{study_id}", "--reason", "rash"), None),
    ("unmask, wrong password", ("unmask", "{study_id}", "--reason", "rash", "--password-stdin"),
     WRONG_PASSWORD),
    ("allocation mark-error", ("allocation", "mark-error", "{study_id}", "--reason", "x",
                               "--password-stdin"), WRONG_PASSWORD),
    ("randomization balance", ("randomization", "balance"), None),
    ("randomization export", ("randomization", "export"), None),
    ("unmasking report", ("unmasking", "report"), None),
    ("audit export", ("audit", "export", "--participant", "{study_id}"), None),
    ("withdraw", ("withdraw", "{study_id}", "--scope", "stop_treatment", "--reason", "rash"),
     None),
    ("end-follow-up", ("end-follow-up", "{study_id}", "--status", "lost_to_follow_up",
                       "--reason", "moved abroad"), None),
    ("unmasking record (own)", ("unmasking", "record", "{study_id}", "--assessor", "{persona}",
                                "--how", "saw the infusion bag"), None),
)  # fmt: skip


def _allocated_both_arms(
    enroll: Callable[..., Any], coord: Any, now: datetime | None = None
) -> tuple[Any, Any]:
    """Two participants of one stratum with different arms (a permuted block holds both)."""
    seen: dict[str, Any] = {}
    for _ in range(12):
        p = enroll(now=now)
        seen.setdefault(do_randomize(coord, p, now=now).arm, p)
        if len(seen) == 2:
            return seen["anakinra"], seen["tocilizumab"]
    raise AssertionError("twelve randomizations in one stratum gave one arm only")


def _run(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
         argv: list[str], stdin: str) -> tuple[int, str, str]:  # fmt: skip
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    try:
        code = main(argv)
    except SystemExit as exited:
        code = int(exited.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def _normalized(text: str, participant: Any) -> str:
    text = text.replace(participant.study_id, "<study_id>")
    text = text.replace(participant.screening.screening_id, "<screening_id>")
    text = re.sub(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?[+-]\d\d:\d\d", "<time>", text)
    return re.sub(r'"unmasking_id": \d+', '"unmasking_id": "<id>"', text)


@pytest.mark.parametrize("persona", MASKED_PERSONAS)
def test_a_masked_personas_output_is_the_same_whichever_arm_was_allocated(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, personas: Any,
    enroll: Callable[..., Any], production_list: Any, make_record: Callable[..., dict[str, Any]],
    persona: str,
) -> None:
    anakinra, tocilizumab = _allocated_both_arms(enroll, personas.coord)
    allocations = [anakinra.allocation, tocilizumab.allocation]
    assert {a.arm for a in allocations} == {"anakinra", "tocilizumab"}
    from combat_norse.crf.actions.forms import do_save_form

    for p in (anakinra, tocilizumab):
        do_assign_assessor(personas.coord, p, personas.assessor)
        drug = p.allocation.arm  # the treating team records the drug it gives, and an AE
        do_save_form(personas.pharmacist, p, "unscheduled", "dose", {
            "drug": drug, "dose_mg": 100 if drug == "anakinra" else 576, "route": "iv",
            "given_at": timezone.now().isoformat()})  # fmt: skip
        do_save_form(personas.coord, p, "unscheduled", "adverse_event", {
            "term": "Rash", "grade": 2, "onset_date": "2026-11-01", "serious": True,
            "seriousness": ["hospitalization"], "awareness_at": "2026-11-01T09:00:00+00:00",
            "related_to_study_drug": "possible", "expected": False, "outcome": "recovering",
            "narrative": f"rash two days after the first {drug} dose"})  # fmt: skip
        # labs that alert on tocilizumab only (ANC 800: hold) and the DRESS watch on both
        do_save_form(personas.coord, p, "unscheduled", "labs", {
            "collected_at": timezone.now().isoformat(), "anc_per_mm3": 800,
            "eosinophils_per_mm3": 2000, "alt_u_l": 100, "alt_uln_u_l": 40})  # fmt: skip
    forbidden = {"anakinra", "tocilizumab", "kineret", "actemra", "arm"}
    codes = [a.code for a in allocations]
    record = json.dumps(make_record())

    transcript: dict[str, list[tuple[str, tuple[int, str, str]]]] = {}
    for label, p in (("anakinra", anakinra), ("tocilizumab", tocilizumab)):
        rows = transcript.setdefault(label, [])
        for name, template, stdin in COMMANDS:
            argv = [arg.format(study_id=p.study_id, screening_id=p.screening.screening_id,
                               persona=persona) for arg in template]  # fmt: skip
            dose = json.dumps({"drug": "anakinra", "dose_mg": 100})
            feed = {"RECORD": record, "DOSE": dose}.get(stdin or "", stdin or "")
            code, out, err = _run(capsys, monkeypatch, [*argv, "--as", persona], feed)
            for stream in (out, err):
                words = set(re.findall(r"[a-z0-9_-]+", stream.lower()))
                assert not words & forbidden, (name, stream)
                assert not [c for c in codes if c in stream], (name, stream)
            rows.append((name, (code, _normalized(out, p), _normalized(err, p))))

    differences = [
        (a[0], a[1], b[1])
        for a, b in zip(transcript["anakinra"], transcript["tocilizumab"], strict=True)
        if a != b
    ]
    assert differences == []
    # the persona ran something on both participants: most commands are refused, some are not
    status = {name: result[0] for name, result in transcript["anakinra"]}
    assert status["randomize"] == 3 and status["unmask, wrong password"] == 3
    assert status["unmask without a password"] == 2
    assert status["form show dose"] == 3 and status["form save dose"] == 3
    for refused in ("treatment show", "treatment plan", "alerts", "safety report"):
        assert status[refused] == 3, refused
    if persona == "assessor":
        assert status["unmasking record (own)"] == 0
        assert status["participant show"] == 0 and status["visits"] == 0
        assert status["form show adverse event"] == 0  # shown, the narrative masked


def test_the_presenters_show_a_masked_reader_the_same_participant_whichever_arm(
    personas: Any, enroll: Callable[..., Any], production_list: Any
) -> None:
    """What the pages and the API will show: the participant, its enrollment and its screening
    through the presenters, read through ``access_participant`` by the assigned assessor. The
    withdrawal reasons name each participant's own drug, so only masking makes them equal."""
    now = timezone.now()
    anakinra, tocilizumab = _allocated_both_arms(enroll, personas.coord, now=now)
    shown = []
    for p, drug in ((anakinra, "Kineret"), (tocilizumab, "RoActemra")):
        do_assign_assessor(personas.coord, p, personas.assessor)
        do_withdraw(personas.coord, p, scope="stop_follow_up", reason=f"rash after {drug}",
                    effective_at=now)  # fmt: skip
        scope = scope_for(personas.assessor)
        read = access_participant(scope, p.study_id)
        objects = {
            "participant": present_participant(read, scope),
            "enrollment": present_enrollment(read, scope),
            "screening": present_screening(read.screening, scope),
        }
        text = _normalized(json.dumps(objects, sort_keys=True), p)
        assert not {"arm", "code"} & set(objects["participant"])
        for word in ("anakinra", "tocilizumab", "kineret", "actemra", p.allocation.code.lower()):
            assert word not in text.lower()
        shown.append(text)
    assert shown[0] == shown[1]
    unmasked = scope_for(personas.coord)
    assert present_participant(anakinra, unmasked)["arm"] == "anakinra"
    assert present_participant(tocilizumab, unmasked)["arm"] == "tocilizumab"


@pytest.mark.req("§14", "#16")
@pytest.mark.parametrize("persona", MASKED_PERSONAS)
def test_the_site_lists_show_a_masked_persona_no_dose_alert_or_drug_specific_lab(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, personas: Any,
    enroll: Callable[..., Any], production_list: Any, persona: str,
) -> None:
    """``due``, ``safety clocks`` and ``treatment deviations`` list several participants, so
    they are checked for content rather than compared across arms: an unmasked user's lists
    have the deviations and overdue anakinra labs; a masked persona's have none of them."""
    from django.core import mail

    from combat_norse.crf.actions.forms import do_save_form

    anakinra, tocilizumab = _allocated_both_arms(enroll, personas.coord)
    given = (timezone.now() - timedelta(days=5)).isoformat()
    for p in (anakinra, tocilizumab):
        do_assign_assessor(personas.coord, p, personas.assessor)
        do_save_form(personas.pharmacist, p, "unscheduled", "dose", {
            "drug": p.allocation.arm, "dose_mg": 1, "route": "iv", "given_at": given})
        do_save_form(personas.pharmacist, p, "unscheduled", "dose", {
            "drug": p.allocation.arm, "dose_mg": 1, "route": "iv",
            "given_at": timezone.now().isoformat()})  # fmt: skip
    lists = {"due": ["due"], "clocks": ["safety", "clocks"],
             "deviations": ["treatment", "deviations"]}  # fmt: skip
    seen = {}
    for who in ("coord", persona):
        for name, argv in lists.items():
            code, out, err = _run(capsys, monkeypatch, [*argv, "--as", who], "")
            assert code == 0, err
            seen[(who, name)] = json.loads(out)
    assert seen[("coord", "deviations")]["deviations"]  # 1 mg: off the plan
    assert seen[("coord", "due")]["overdue_safety_labs"]  # the anakinra participant's
    assert seen[(persona, "deviations")] == {"deviations": []}
    assert seen[(persona, "due")]["overdue_safety_labs"] == []
    for name in lists:
        text = json.dumps(seen[(persona, name)]).lower()
        assert not {"anakinra", "tocilizumab", "kineret", "actemra"} & set(
            re.findall(r"[a-z]+", text)), name
    assert not [m for m in mail.outbox if f"{persona}@example.invalid" in m.to]
