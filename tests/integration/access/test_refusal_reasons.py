"""Each refusal reason, driven through the command line, exits with its status from
``cli.common.EXIT_STATUS`` (3) and prints one ``refused: <reason text>`` line; the audit of the
attempt carries the same reason code. ``other_site`` is checked before the role (§13,
issue 13)."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.contrib.auth.models import User

from combat_norse.accounts.actions import do_add_user
from combat_norse.audit.models import AuditEvent
from combat_norse.cli.common import EXIT_STATUS
from combat_norse.cli.main import main
from combat_norse.core.errors import Reason, Refused
from combat_norse.participants.actions import do_enroll, do_record_consent, do_screen, do_withdraw
from combat_norse.sites.access import AccessDenied, Scope, scope_for
from combat_norse.sites.models import Site
from combat_norse.sites.roles import RANDOMIZER_ROLES, Role

pytestmark = [pytest.mark.django_db, pytest.mark.req("§13", "#13", "#18"),
              pytest.mark.usefixtures("cli_face")]  # locally and through the API


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    try:
        code = main(list(argv))
    except SystemExit as exited:
        code = int(exited.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


@dataclass
class Ctx:
    personas: Any
    enroll: Callable[..., Any]
    make_record: Callable[..., dict[str, Any]]


@dataclass
class Case:
    argv: tuple[str, ...]
    audited: str | None  # the ``<verb>`` of the ``<verb>_refused`` event, None: none expected
    stdin: str | None = None


def _screened(ctx: Ctx) -> Any:
    entry, _ = do_screen(ctx.personas.coord, Site.objects.get(code="YNH"), ctx.make_record())
    return entry


def _other_site(ctx: Ctx) -> Case:
    return Case(("randomize", ctx.enroll().study_id, "--as", "othercoord"), "randomize")


def _role(ctx: Ctx) -> Case:
    return Case(("randomize", ctx.enroll().study_id, "--as", "pharmacist"), "randomize")


def _masked(ctx: Ctx) -> Case:
    # a masked central role given the export right by configuration is still refused
    return Case(("audit", "export", "--as", "sponsor"), "export")


def _reason_required(ctx: Ctx) -> Case:
    p = ctx.enroll()
    return Case(("withdraw", p.study_id, "--scope", "stop_treatment", "--reason", " ",
                 "--as", "coord"), "withdraw")  # fmt: skip


def _password(ctx: Ctx) -> Case:
    p = ctx.enroll()
    return Case(("allocation", "mark-error", p.study_id, "--reason", "wrong stratum",
                 "--password-stdin", "--as", "statistician"), "allocation_error",
                "not the password\n")  # fmt: skip


def _no_valid_consent(ctx: Ctx) -> Case:
    return Case(("enroll", _screened(ctx).screening_id, "--as", "coord"), "enroll")


def _rule(ctx: Ctx) -> Case:
    entry = _screened(ctx)
    do_record_consent(ctx.personas.coord, entry, signer="lar", form_version="1.0")
    p = do_enroll(ctx.personas.coord, entry, observational_reason="no tocilizumab in stock")
    return Case(("randomize", p.study_id, "--as", "coord"), "randomize")


def _state(ctx: Ctx) -> Case:
    p = ctx.enroll()
    do_withdraw(ctx.personas.coord, p, scope="stop_follow_up", reason="family request")
    return Case(("withdraw", p.study_id, "--scope", "stop_follow_up", "--reason", "again",
                 "--as", "coord"), "withdraw")  # fmt: skip


def _unavailable(ctx: Ctx) -> Case:
    return Case(("randomize", ctx.enroll().study_id, "--as", "coord"), "randomize")  # no list


SCENARIOS: dict[Reason, Callable[[Ctx], Case]] = {
    Reason.OTHER_SITE: _other_site,
    Reason.ROLE: _role,
    Reason.MASKED: _masked,
    Reason.REASON_REQUIRED: _reason_required,
    Reason.PASSWORD: _password,
    Reason.NO_VALID_CONSENT: _no_valid_consent,
    Reason.RULE: _rule,
    Reason.STATE: _state,
    Reason.UNAVAILABLE: _unavailable,
}
# No action raises these yet (data capture will): they are driven through a command whose
# action is replaced, so the command line's own plumbing is what is tested.
NOT_RAISED_YET = (Reason.LOCKED, Reason.CONFLICT)


def test_every_reason_is_driven_through_the_command_line() -> None:
    assert set(SCENARIOS) | set(NOT_RAISED_YET) == set(Reason)


@pytest.mark.parametrize("reason", list(SCENARIOS), ids=str)
def test_a_refused_command_exits_with_the_reasons_status_and_one_refused_line(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, settings: Any,
    personas: Any, enroll: Callable[..., Any], make_record: Callable[..., dict[str, Any]],
    reason: Reason,
) -> None:
    settings.COMBAT_NORSE_AUDIT_EXPORT_ROLES = {Role.STATISTICIAN, Role.SPONSOR_VIEWER}
    case = SCENARIOS[reason](Ctx(personas, enroll, make_record))
    if case.stdin is not None:
        monkeypatch.setattr("sys.stdin", io.StringIO(case.stdin))
    events = AuditEvent.objects.count()
    code, out, err = run(capsys, *case.argv)
    assert (code, out) == (EXIT_STATUS[reason], "")
    assert code == 3
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("refused: ")
    if reason.text:
        assert lines[0] == f"refused: {reason.text}" or lines[0].startswith(
            f"refused: {reason.text} ("
        )
    new = list(AuditEvent.objects.order_by("seq")[events:])
    assert [e.action for e in new] == [f"{case.audited}_refused"]
    assert new[0].changes == {"code": [None, reason.value]}
    assert new[0].reason == lines[0].removeprefix("refused: ")


@pytest.mark.parametrize("reason", NOT_RAISED_YET, ids=str)
def test_a_reason_no_action_raises_yet_has_its_exit_status_and_line(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
    enroll: Callable[..., Any], reason: Reason,
) -> None:
    import combat_norse.participants.actions as actions

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise Refused(reason, "the record changed")

    p = enroll()
    monkeypatch.setattr(actions, "do_withdraw", refuse)
    code, out, err = run(capsys, "withdraw", p.study_id, "--scope", "stop_treatment",
                         "--reason", "x", "--as", "coord")  # fmt: skip
    assert (code, out) == (EXIT_STATUS[reason], "")
    assert err == f"refused: {reason.text} (the record changed)\n"


# ------------------------------------------------------------------ other site before the role
def test_the_site_is_checked_before_the_role_in_the_scope() -> None:
    right_role_elsewhere = Scope(1, "u", roles_by_site={2: frozenset({Role.SITE_COORDINATOR})})
    with pytest.raises(AccessDenied) as denied:
        right_role_elsewhere.require(1, roles=RANDOMIZER_ROLES, action="randomize")
    assert denied.value.code is Reason.OTHER_SITE
    assert denied.value.text == "other site"  # names nothing of the other site
    wrong_role_here = Scope(1, "u", roles_by_site={1: frozenset({Role.PHARMACIST}),
                                                   2: frozenset({Role.SITE_COORDINATOR})})
    with pytest.raises(AccessDenied) as denied:
        wrong_role_here.require(1, roles=RANDOMIZER_ROLES, action="randomize")
    assert denied.value.code is Reason.ROLE


@pytest.fixture
def snu_participant(enroll: Callable[..., Any]) -> Any:
    return enroll(site="SNU")


COMMANDS_ON_A_PARTICIPANT: dict[str, Callable[[Any], tuple[str, ...]]] = {
    "randomize": lambda p: ("randomize", p.study_id),
    "withdraw": lambda p: ("withdraw", p.study_id, "--scope", "stop_treatment", "--reason", "x"),
    "end_follow_up": lambda p: ("end-follow-up", p.study_id, "--status", "died", "--reason", "x"),
    "enroll": lambda p: ("enroll", p.screening.screening_id),
    "rescreen": lambda p: ("screening", "update", p.screening.screening_id, "-",
                           "--reason", "new labs"),
    "consent": lambda p: ("consent", "add", p.screening.screening_id, "--signer", "patient",
                          "--form-version", "1.0"),
    "not_enrolled": lambda p: ("screening", "not-enrolled", p.screening.screening_id,
                               "--reason", "x"),
}  # fmt: skip


@pytest.mark.parametrize("verb", list(COMMANDS_ON_A_PARTICIPANT))
def test_a_user_with_the_right_role_at_another_site_is_refused_other_site(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, personas: Any,
    snu_participant: Any, make_record: Callable[..., dict[str, Any]], verb: str,
) -> None:
    """``coord`` is a site coordinator, the role every one of these commands needs, at YNH
    only; the participant is at SNU. The answer is ``other site``, never ``role``, and the
    line names nothing of SNU."""
    monkeypatch.setattr("sys.stdin", io.StringIO(json.dumps(make_record())))
    events = AuditEvent.objects.count()
    argv = COMMANDS_ON_A_PARTICIPANT[verb](snu_participant)
    code, out, err = run(capsys, *argv, "--as", "coord")
    assert (code, out, err) == (EXIT_STATUS[Reason.OTHER_SITE], "", "refused: other site\n")
    refusals = AuditEvent.objects.order_by("seq")[events:]
    assert [e.changes for e in refusals] == [{"code": [None, "other_site"]}]


def test_a_role_at_the_site_but_not_the_right_one_is_refused_role(
    capsys: pytest.CaptureFixture[str], personas: Any, snu_participant: Any
) -> None:
    both: User = do_add_user("both", Role.PHARMACIST, ["SNU"]).user
    do_add_user("both", Role.SITE_COORDINATOR, ["YNH"])
    assert scope_for(both).roles_at(snu_participant.site_id) == {Role.PHARMACIST}
    code, _, err = run(capsys, "randomize", snu_participant.study_id, "--as", "both")
    assert code == 3
    assert err.startswith("refused: role (needs site_coordinator or site_investigator at SNU")


def test_an_unknown_participant_is_bad_input_not_a_refusal(
    capsys: pytest.CaptureFixture[str], personas: Any
) -> None:
    code, out, err = run(capsys, "randomize", "YNH-999", "--as", "coord")
    assert (code, out) == (2, "")
    assert err == "error: study_id: unknown participant YNH-999\n"
