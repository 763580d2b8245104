"""Electronic signatures through the §14 commands (21 CFR 11.50/11.200): ``sign`` for both
meanings with re-authentication and its lockout, who may sign, what a signature covers, its
validity after later changes, ``form show``'s ``signature`` object, what a masked reader sees,
and ``signatures`` (an addition to §14)."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone
from tests.integration.conftest import PASSWORD

from combat_norse.audit.models import AuditEvent
from combat_norse.cli.main import main
from combat_norse.core.errors import Refused
from combat_norse.crf.models import FormInstance, Signature

pytestmark = [pytest.mark.django_db, pytest.mark.req("§14", "#18"),
              pytest.mark.usefixtures("cli_face")]  # locally and through the API
DRUGS = ("anakinra", "tocilizumab")
SIGNATURE_KEYS = {"signature_id", "meaning", "signer", "signer_name", "signed_at", "valid"}


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Callable[..., Any]:
    def _run(*argv: str, stdin: str = "") -> tuple[int, Any, str]:
        monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
        try:
            code = main(list(argv))
        except SystemExit as exited:
            code = int(exited.code or 0)
        out, err = capsys.readouterr()
        return code, (json.loads(out) if out.strip() else None), err

    return _run


@pytest.fixture
def sign(cli: Callable[..., Any]) -> Callable[..., Any]:
    def _sign(study_id: str, meaning: str, user: str = "investigator",
              password: str = PASSWORD) -> tuple[int, Any, str]:  # fmt: skip
        return cli("sign", study_id, "--meaning", meaning, "--password-stdin", "--as", user,
                   stdin=password + "\n")  # fmt: skip

    return _sign


@pytest.fixture
def participant(personas: Any, enroll: Callable[..., Any], save: Callable[..., Any]) -> Any:
    """An enrolled YNH participant, assigned to the assessor, with a complete day-30 mRS, a
    baseline labs entry and a dose form."""
    from combat_norse.participants.actions import do_assign_assessor

    p = enroll()
    do_assign_assessor(personas.coord, p, personas.assessor)
    assert save(p.study_id, "day30", "mrs", {"mrs": 3, "assessed_on": "2026-01-05"},
                "assessor")[0] == 0  # fmt: skip
    assert save(p.study_id, "unscheduled", "dose", {"drug": "anakinra", "dose_mg": 100,
                "given_at": timezone.now().isoformat(), "route": "sc"}, "pharmacist")[0] == 0
    return p


def test_a_casebook_signature_covers_every_form_and_prints_the_contract(
    personas: Any, participant: Any, sign: Callable[..., Any]
) -> None:
    personas.investigator.first_name, personas.investigator.last_name = "Ada", "Lindqvist"
    personas.investigator.save()
    code, out, err = sign(participant.study_id, "casebook")
    assert (code, err) == (0, "")
    assert set(out) == {"signature_id", "meaning", "signed_at", "covers"}
    assert out["meaning"] == "casebook"
    forms = FormInstance.unscoped.filter(participant=participant)
    assert sorted((c["kind"], c["id"], c["version"]) for c in out["covers"]) == sorted(
        ("form", fi.pk, fi.version) for fi in forms)  # fmt: skip
    assert {c["form"] for c in out["covers"]} == {"mrs", "dose"}
    stored = Signature.unscoped.get(pk=out["signature_id"])
    assert stored.signer == personas.investigator and stored.signer_name == "Ada Lindqvist"
    assert len(stored.digest) == 64
    event = AuditEvent.objects.get(action="sign")
    assert event.participant_ref == participant.study_id
    assert event.actor_id == personas.investigator.pk


def test_an_eligibility_signature_covers_the_screening_decision_and_the_consents(
    participant: Any, sign: Callable[..., Any]
) -> None:
    code, out, _ = sign(participant.study_id, "eligibility")
    assert code == 0 and out["meaning"] == "eligibility"
    kinds = [c["kind"] for c in out["covers"]]
    assert kinds.count("screening") == 1 and kinds.count("consent") == 1
    screening = next(c for c in out["covers"] if c["kind"] == "screening")
    assert screening["id"] == participant.screening.screening_id
    assert screening["decision_id"] == participant.screening.decisions.latest("decided_at").pk


def test_a_wrong_password_is_refused_and_counted_and_five_lock_the_signer_out(
    personas: Any, participant: Any, sign: Callable[..., Any]
) -> None:
    for _ in range(5):
        code, out, err = sign(participant.study_id, "casebook", password="not my password")
        assert (code, out) == (3, None)
        assert err.startswith("refused: password")
    assert AuditEvent.objects.filter(action="sign_refused",
                                     reason__startswith="password").count() == 5  # fmt: skip
    code, _, err = sign(participant.study_id, "casebook")  # the right password, too late
    assert code == 3
    assert err.strip() == "refused: password (too many failed attempts; try again later)"
    assert not Signature.unscoped.exists()


@pytest.mark.parametrize(("user", "refusal"), [
    ("othercoord", "refused: other site"),
    ("investigator.snu", "refused: other site"),
    ("coord", "refused: role (needs site_investigator at YNH to sign the casebook)"),
    ("pharmacist", "refused: role"),
    ("assessor", "refused: role"),
    ("monitor", "refused: role"),
    ("datamanager", "refused: role"),
    ("statistician", "refused: role"),
])  # fmt: skip
def test_only_the_site_investigator_of_the_participants_site_signs(
    participant: Any, sign: Callable[..., Any], user: str, refusal: str
) -> None:
    from combat_norse.accounts.actions import do_add_user

    snu = do_add_user("investigator.snu", "site_investigator", ["SNU"]).user
    snu.set_password(PASSWORD)
    snu.save()
    code, _, err = sign(participant.study_id, "casebook", user=user)
    assert code == 3 and err.strip().startswith(refusal), err
    assert not Signature.unscoped.exists()
    assert AuditEvent.objects.filter(action="sign_refused").count() == 1


def test_a_form_saved_after_the_signature_invalidates_it_and_form_show_says_so(
    participant: Any, sign: Callable[..., Any], save: Callable[..., Any],
    cli: Callable[..., Any],
) -> None:  # fmt: skip
    code, signed, _ = sign(participant.study_id, "casebook")
    code, shown, _ = cli("form", "show", participant.study_id, "day30", "mrs", "--as", "coord")
    assert set(shown["signature"]) == SIGNATURE_KEYS
    assert shown["signature"] == {"signature_id": signed["signature_id"], "meaning": "casebook",
                                  "signer": "investigator", "signer_name": "investigator",
                                  "signed_at": signed["signed_at"], "valid": True}  # fmt: skip
    code, _, _ = save(participant.study_id, "day30", "mrs", {"mrs": 4}, "assessor",
                        "--reason", "rescored")  # fmt: skip
    assert code == 0
    code, shown, _ = cli("form", "show", participant.study_id, "day30", "mrs", "--as", "coord")
    assert shown["signature"]["valid"] is False
    stored = Signature.unscoped.get(pk=signed["signature_id"])
    assert stored.invalidated_at is not None  # recorded when the save broke it
    assert AuditEvent.objects.filter(action="signature_invalidated").count() == 1
    # a new signature covers the new version; the form now shows it, valid
    code, again, _ = sign(participant.study_id, "casebook")
    code, shown, _ = cli("form", "show", participant.study_id, "day30", "mrs", "--as", "coord")
    assert shown["signature"]["signature_id"] == again["signature_id"]
    assert shown["signature"]["valid"] is True


def test_a_new_form_instance_invalidates_the_casebook_but_not_eligibility(
    participant: Any, sign: Callable[..., Any], save: Callable[..., Any],
    cli: Callable[..., Any],
) -> None:  # fmt: skip
    sign(participant.study_id, "casebook")
    sign(participant.study_id, "eligibility")
    code, _, _ = save(participant.study_id, "unscheduled", "labs", {"anc_per_mm3": 1500},
                        "coord")  # fmt: skip
    assert code == 0
    code, listed, _ = cli("signatures", participant.study_id, "--as", "coord")
    assert {s["meaning"]: s["valid"] for s in listed["signatures"]} == {
        "casebook": False, "eligibility": True}  # fmt: skip
    # a form the signature never covered shows no signature
    code, shown, _ = cli("form", "show", participant.study_id, "unscheduled", "labs",
                         "--instance", "1", "--as", "coord")  # fmt: skip
    assert shown["signature"] is None


def test_a_consent_added_after_the_eligibility_signature_invalidates_it(
    personas: Any, participant: Any, sign: Callable[..., Any], cli: Callable[..., Any]
) -> None:
    from combat_norse.participants.actions import do_record_consent

    assert sign(participant.study_id, "eligibility")[0] == 0
    signed = Signature.unscoped.get()
    do_record_consent(personas.coord, participant.screening, signer="patient",
                      form_version="1.0")  # the patient regained capacity  # fmt: skip
    code, listed, _ = cli("signatures", participant.study_id, "--as", "investigator")
    assert code == 0 and listed["study_id"] == participant.study_id
    [entry] = listed["signatures"]
    assert entry["signature_id"] == signed.pk and entry["valid"] is False
    assert set(entry) == SIGNATURE_KEYS | {"covers"}


def test_a_changed_screening_record_invalidates_the_eligibility_signature(
    personas: Any, participant: Any, sign: Callable[..., Any], cli: Callable[..., Any]
) -> None:
    """A re-screen is refused once a patient is enrolled (and every signature is of an enrolled
    participant), so the screening record changes after enrollment only by an onset correction
    (recorded at the time) or by a new decision on the entry (noticed on read)."""
    from tests.integration.conftest import screening_record

    from combat_norse.participants.actions import do_correct_onset, do_rescreen
    from combat_norse.participants.models import ScreeningDecision

    assert sign(participant.study_id, "eligibility")[0] == 0
    with pytest.raises(Refused, match="already enrolled"):
        do_rescreen(personas.coord, participant.screening, screening_record(), reason="x")
    onset = participant.screening.se_onset - timedelta(minutes=20)
    do_correct_onset(personas.datamanager, participant, se_onset=onset, reason="EMS sheet")
    code, listed, _ = cli("signatures", participant.study_id, "--as", "coord")
    assert code == 0 and [s["valid"] for s in listed["signatures"]] == [False]
    assert Signature.unscoped.get().invalidated_at is not None
    # sign again, then a new decision on the entry (what a re-screen writes) breaks it too
    assert sign(participant.study_id, "eligibility")[0] == 0
    latest = participant.screening.decisions.latest("decided_at")
    ScreeningDecision.unscoped.create(
        screening=participant.screening, decided_at=timezone.now(), decided_by=personas.coord,
        purpose="rescreen", evaluated_at=latest.evaluated_at, rules_version=latest.rules_version,
        record=latest.record, result=latest.result,
    )  # fmt: skip
    _, listed, _ = cli("signatures", participant.study_id, "--as", "coord")
    assert [s["valid"] for s in listed["signatures"]] == [False, False]


def test_a_masked_reader_sees_no_dose_form_among_the_covered_records(
    participant: Any, sign: Callable[..., Any], cli: Callable[..., Any]
) -> None:
    sign(participant.study_id, "casebook")
    code, listed, _ = cli("signatures", participant.study_id, "--as", "assessor")
    assert code == 0
    [entry] = listed["signatures"]
    assert [c["form"] for c in entry["covers"]] == ["mrs"]
    text = json.dumps(listed)
    assert "dose" not in text and not any(d in text for d in DRUGS)
    code, unmasked, _ = cli("signatures", participant.study_id, "--as", "coord")
    assert {c["form"] for c in unmasked["signatures"][0]["covers"]} == {"mrs", "dose"}
    code, shown, _ = cli("form", "show", participant.study_id, "day30", "mrs", "--as",
                         "assessor")  # fmt: skip
    assert set(shown["signature"]) == SIGNATURE_KEYS and shown["signature"]["valid"] is True


def test_signatures_are_read_within_the_readers_scope(
    participant: Any, cli: Callable[..., Any]
) -> None:
    code, _, err = cli("signatures", participant.study_id, "--as", "othercoord")
    assert (code, err.strip()) == (3, "refused: other site")
    code, out, _ = cli("signatures", participant.study_id, "--as", "monitor")
    assert out == {"study_id": participant.study_id, "signatures": []}


def test_bad_input_is_exit_2_and_signs_nothing(
    participant: Any, cli: Callable[..., Any], sign: Callable[..., Any]
) -> None:
    # no --password-stdin and standard input is not a terminal
    code, _, err = cli("sign", participant.study_id, "--meaning", "casebook", "--as",
                       "investigator", stdin=PASSWORD + "\n")  # fmt: skip
    assert code == 2 and err.startswith("error: password:")
    code, _, err = sign(participant.study_id, "everything")
    assert code == 2 and err.startswith("error:") and "meaning" in err
    code, _, err = sign("YNH-999", "casebook")
    assert code == 2 and err.startswith("error: study_id:")
    code, _, err = sign(participant.study_id, "casebook", user="nobody")
    assert code == 2 and err.startswith("error:")
    code, _, err = cli("sign", participant.study_id, "--password-stdin", "--as", "investigator",
                       stdin=PASSWORD + "\n")  # fmt: skip
    assert code == 2 and "--meaning" in err
    assert not Signature.unscoped.exists()
    assert not AuditEvent.objects.filter(action__in=("sign", "sign_refused")).exists()


def test_sign_and_signatures_are_registered_with_the_crf_commands() -> None:
    from combat_norse.cli.main import COMMAND_MODULES

    assert {"sign", "signatures"} <= set(COMMAND_MODULES["combat_norse.cli.crf_cmds"])
