"""Trial-operation commands of §13 (Django-backed; set up lazily per call).

Participant operations take ``--as USERNAME`` and run with that user's memberships; they are
audited as theirs. Exit status 0 done, 2 bad input, 3 refused (``refused: ...``).
"""

from __future__ import annotations

import argparse
from typing import Any

from combat_norse.cli.common import (
    active_user,
    add_as_option,
    audited_read,
    emit_json,
    read_json_source,
    read_password,
    setup_django,
    translate_errors,
    warn,
)

_user = active_user  # the short name reads better at the many call sites


# ---------------------------------------------------------------- sites
def cmd_sites(args: argparse.Namespace) -> int:
    setup_django()
    from combat_norse.sites.access import access_sites
    from combat_norse.sites.presenters import present_site

    emit_json({"sites": [present_site(s) for s in access_sites()]})
    return 0


def _site(code: str) -> Any:
    from combat_norse.sites.access import access_site

    with translate_errors():
        return access_site(code)


_password = read_password


# ---------------------------------------------------------------- participants
def cmd_screening_add(args: argparse.Namespace) -> int:
    data = read_json_source(args.file)
    setup_django()
    from combat_norse.participants.actions import do_screen
    from combat_norse.participants.presenters import present_screening_result

    actor = _user(args.as_user)
    site = _site(args.site)
    with translate_errors():
        entry, warnings = do_screen(actor, site, data)
    for w in warnings:
        warn(w)
    emit_json(present_screening_result(entry))
    return 0


def cmd_screening_update(args: argparse.Namespace) -> int:
    data = read_json_source(args.file)
    setup_django()
    from combat_norse.participants.actions import do_rescreen
    from combat_norse.participants.presenters import present_screening_result

    actor = _user(args.as_user)
    with translate_errors():
        entry, warnings = do_rescreen(actor, args.screening_id, data, reason=args.reason)
    for w in warnings:
        warn(w)
    emit_json(present_screening_result(entry))
    return 0


def cmd_screening_not_enrolled(args: argparse.Namespace) -> int:
    setup_django()
    from combat_norse.participants.actions import do_record_not_enrolled
    from combat_norse.participants.presenters import present_not_enrolled
    from combat_norse.sites.access import scope_for

    actor = _user(args.as_user)
    with translate_errors():
        entry = do_record_not_enrolled(actor, args.screening_id, args.reason)
    emit_json(present_not_enrolled(entry, scope_for(actor)))
    return 0


def cmd_end_follow_up(args: argparse.Namespace) -> int:
    setup_django()
    from combat_norse.participants.actions import do_end_follow_up
    from combat_norse.participants.presenters import present_follow_up_end

    actor = _user(args.as_user)
    with translate_errors():
        participant = do_end_follow_up(
            actor, args.study_id, status=args.status, reason=args.reason
        )
    emit_json(present_follow_up_end(participant))
    return 0


def cmd_consent_add(args: argparse.Namespace) -> int:
    setup_django()
    from combat_norse.participants.actions import do_record_consent
    from combat_norse.participants.presenters import present_consent

    actor = _user(args.as_user)
    optional = [v for v in (args.optional or "").split(",") if v.strip()]
    with translate_errors():
        consent = do_record_consent(
            actor,
            args.screening_id,
            signer=args.signer,
            form_version=args.form_version,
            optional=optional,
        )
    emit_json(present_consent(consent, consent.screening))
    return 0


def cmd_enroll(args: argparse.Namespace) -> int:
    setup_django()
    from combat_norse.participants.actions import do_enroll
    from combat_norse.participants.presenters import present_enrollment
    from combat_norse.sites.access import scope_for

    actor = _user(args.as_user)
    with translate_errors():
        participant = do_enroll(
            actor, args.screening_id, observational_reason=args.observational_reason or ""
        )
    emit_json(present_enrollment(participant, scope_for(actor)))
    return 0


def cmd_withdraw(args: argparse.Namespace) -> int:
    setup_django()
    from combat_norse.participants.actions import do_withdraw
    from combat_norse.participants.presenters import present_withdrawal

    actor = _user(args.as_user)
    with translate_errors():
        w = do_withdraw(actor, args.study_id, scope=args.scope, reason=args.reason)
    emit_json(present_withdrawal(w))
    return 0


# ---------------------------------------------------------------- randomization
def cmd_randomization_setup(args: argparse.Namespace) -> int:
    setup_django()
    from combat_norse.allocation.actions import do_setup_list
    from combat_norse.allocation.presenters import present_list_setup

    actor = _user(args.as_user)
    with translate_errors():
        rlist = do_setup_list(
            actor,
            design=args.design,
            seed=None if args.seed == "random" else args.seed,
            environment=args.environment,
            blocks_per_stratum=args.blocks_per_stratum,
        )
    emit_json(present_list_setup(rlist))
    return 0


def cmd_randomization_extend(args: argparse.Namespace) -> int:
    setup_django()
    from combat_norse.allocation.actions import access_active_list, do_extend_list
    from combat_norse.allocation.presenters import present_list_extension
    from combat_norse.audit.vocabulary import AuditAction

    actor = _user(args.as_user)
    with translate_errors():  # the statistician gate first: nobody else learns of lists
        rlist = access_active_list(actor, AuditAction.LIST_EXTEND, args.environment)
    with translate_errors():
        added = do_extend_list(
            actor, rlist, stratum=args.stratum, n_blocks=args.blocks, reason=args.reason
        )
    emit_json(present_list_extension(rlist, args.stratum, added))
    return 0


def cmd_randomization_balance(args: argparse.Namespace) -> int:
    setup_django()
    from combat_norse.allocation.actions import balance_report

    actor = _user(args.as_user)
    with translate_errors():
        emit_json(balance_report(actor))
    return 0


def cmd_randomization_verify(args: argparse.Namespace) -> int:
    setup_django()
    from combat_norse.allocation.actions import access_active_list, verify_stored_list
    from combat_norse.allocation.presenters import present_list_check
    from combat_norse.audit.vocabulary import AuditAction

    actor = _user(args.as_user)
    with translate_errors():  # the statistician gate first: nobody else learns of lists
        rlist = access_active_list(actor, AuditAction.LIST_VERIFY, args.environment)
    with translate_errors():
        problems = verify_stored_list(actor, rlist)
    emit_json(present_list_check(rlist, problems))
    return 0 if not problems else 1


def cmd_randomization_export(args: argparse.Namespace) -> int:
    setup_django()
    from combat_norse.allocation.actions import access_active_list, export_list
    from combat_norse.audit.vocabulary import AuditAction

    actor = _user(args.as_user)
    with translate_errors():  # the statistician gate first: nobody else learns of lists
        rlist = access_active_list(actor, AuditAction.LIST_EXPORT, args.environment)
    with translate_errors():
        emit_json(export_list(actor, rlist))
    return 0


def cmd_randomize(args: argparse.Namespace) -> int:
    setup_django()
    from combat_norse.allocation.actions import do_randomize
    from combat_norse.allocation.presenters import present_allocation
    from combat_norse.sites.access import scope_for

    actor = _user(args.as_user)
    with translate_errors():
        allocation = do_randomize(actor, args.study_id)
        emit_json(present_allocation(allocation, scope_for(actor)))
    return 0


def cmd_mark_error(args: argparse.Namespace) -> int:
    setup_django()
    from combat_norse.allocation.actions import do_mark_allocation_error
    from combat_norse.allocation.presenters import present_allocation_error
    from combat_norse.sites.access import scope_for

    actor = _user(args.as_user)
    password = _password(args)
    with translate_errors():
        allocation = do_mark_allocation_error(
            actor, args.study_id, reason=args.reason, password=password
        )
    emit_json(present_allocation_error(allocation, scope_for(actor)))
    return 0


def cmd_unmask(args: argparse.Namespace) -> int:
    setup_django()
    from combat_norse.allocation.presenters import present_deliberate_unmasking
    from combat_norse.participants.actions import do_unmask
    from combat_norse.sites.access import scope_for

    actor = _user(args.as_user)
    password = _password(args)
    with translate_errors():
        unmasking, _arm = do_unmask(actor, args.study_id, reason=args.reason, password=password)
        emit_json(present_deliberate_unmasking(unmasking, scope_for(actor)))
    return 0


def cmd_unmasking_record(args: argparse.Namespace) -> int:
    setup_django()
    from combat_norse.participants.actions import do_record_assessor_unmasked
    from combat_norse.participants.presenters import present_unmasking_record

    actor = _user(args.as_user)
    assessor = _user(args.assessor, "assessor")
    with translate_errors():
        u = do_record_assessor_unmasked(actor, args.study_id, assessor, how=args.how)
    emit_json(present_unmasking_record(u))
    return 0


def cmd_unmasking_report(args: argparse.Namespace) -> int:
    setup_django()
    from combat_norse.crf.actions.reports import unmasking_report

    actor = _user(args.as_user)
    with translate_errors():
        emit_json({"unmaskings": unmasking_report(actor)})
    return 0


# ---------------------------------------------------------------- reading back
_read = audited_read


def cmd_screening_list(args: argparse.Namespace) -> int:
    setup_django()
    from combat_norse.participants.access import access_screenings
    from combat_norse.participants.presenters import present_screening
    from combat_norse.sites.access import scope_for

    actor = _user(args.as_user)
    scope = scope_for(actor)
    entries = access_screenings(scope).order_by("screening_id")
    if args.site:
        entries = entries.filter(site=_site(args.site))
    emit_json({"screenings": [present_screening(e, scope) for e in entries]})
    return 0


def cmd_screening_show(args: argparse.Namespace) -> int:
    setup_django()
    from combat_norse.participants.access import access_screening
    from combat_norse.participants.presenters import present_screening
    from combat_norse.sites.access import scope_for

    actor = _user(args.as_user)
    scope = scope_for(actor)
    with translate_errors(), _read(actor):
        entry = access_screening(scope, args.screening_id)
    emit_json(present_screening(entry, scope))
    return 0


def cmd_participant_list(args: argparse.Namespace) -> int:
    setup_django()
    from combat_norse.participants.access import access_participants
    from combat_norse.participants.presenters import present_participant
    from combat_norse.sites.access import scope_for

    actor = _user(args.as_user)
    scope = scope_for(actor)
    participants = access_participants(scope).select_related("screening").order_by("study_id")
    if args.site:
        participants = participants.filter(site=_site(args.site))
    emit_json({"participants": [present_participant(p, scope) for p in participants]})
    return 0


def cmd_participant_show(args: argparse.Namespace) -> int:
    setup_django()
    from combat_norse.participants.access import access_participant
    from combat_norse.participants.presenters import present_participant
    from combat_norse.sites.access import scope_for

    actor = _user(args.as_user)
    scope = scope_for(actor)
    with translate_errors(), _read(actor):
        participant = access_participant(scope, args.study_id)
    emit_json(present_participant(participant, scope))
    return 0


def cmd_correct_onset(args: argparse.Namespace) -> int:
    from combat_norse.protocol import parse_aware_datetime

    with translate_errors():
        se_onset = parse_aware_datetime("se_onset", args.se_onset.strip())
    setup_django()
    from combat_norse.participants.actions import do_correct_onset
    from combat_norse.participants.presenters import present_onset_correction

    actor = _user(args.as_user)
    with translate_errors():
        participant, discrepancies = do_correct_onset(
            actor, args.study_id, se_onset=se_onset, reason=args.reason
        )
    emit_json(present_onset_correction(participant, se_onset, discrepancies))
    return 0


def cmd_assessor_assign(args: argparse.Namespace) -> int:
    setup_django()
    from combat_norse.participants.actions import do_assign_assessor
    from combat_norse.participants.presenters import present_assignment

    actor = _user(args.as_user)
    assessor = _user(args.assessor, "assessor")
    with translate_errors():
        assignment = do_assign_assessor(actor, args.study_id, assessor)
    emit_json(present_assignment(assignment))
    return 0


def cmd_randomization_retire(args: argparse.Namespace) -> int:
    setup_django()
    from combat_norse.allocation.actions import access_active_list, do_retire_list
    from combat_norse.allocation.presenters import present_list_state
    from combat_norse.audit.vocabulary import AuditAction

    actor = _user(args.as_user)
    with translate_errors():  # the statistician gate first: nobody else learns of lists
        rlist = access_active_list(actor, AuditAction.LIST_RETIRE, args.environment)
    with translate_errors():
        rlist = do_retire_list(actor, rlist, reason=args.reason)
    emit_json(present_list_state(rlist))
    return 0


def cmd_clocks(args: argparse.Namespace) -> int:
    setup_django()
    from combat_norse.safety.periodic import run_periodic

    emit_json(run_periodic())
    return 0


_as = add_as_option


def _seed(value: str) -> int | str:
    if value == "random":
        return value
    try:
        seed = int(value, 10)
    except ValueError:
        raise argparse.ArgumentTypeError("seed: a whole number") from None
    if not 0 <= seed < 2**128:
        raise argparse.ArgumentTypeError("seed: from 0 to 2^128-1")
    return seed


def _register_participants(sub: Any) -> None:
    screening = sub.add_parser("screening", help="the screening log")
    ss = screening.add_subparsers(dest="screening_command", required=True)
    p = ss.add_parser("add", help="screen a patient (§3-§5)")
    p.add_argument("file", help="screening record JSON (- for stdin)")
    p.add_argument("--site", required=True)
    _as(p)
    p.set_defaults(func=cmd_screening_add)
    p = ss.add_parser("update", help="re-screen with new data (earlier decisions are kept)")
    p.add_argument("screening_id")
    p.add_argument("file")
    p.add_argument("--reason", required=True, help="why the saved record changes")
    _as(p)
    p.set_defaults(func=cmd_screening_update)
    p = ss.add_parser("list", help="the screening log you may read (masked for masked roles)")
    p.add_argument("--site", help="only this site")
    _as(p)
    p.set_defaults(func=cmd_screening_list)
    p = ss.add_parser("show", help="one screening entry and its latest decision")
    p.add_argument("screening_id")
    _as(p)
    p.set_defaults(func=cmd_screening_show)
    p = ss.add_parser("not-enrolled", help="record why a screened patient was not enrolled")
    p.add_argument("screening_id")
    p.add_argument("--reason", required=True)
    _as(p)
    p.set_defaults(func=cmd_screening_not_enrolled)

    consent = sub.add_parser("consent", help="consent records")
    cs = consent.add_subparsers(dest="consent_command", required=True)
    p = cs.add_parser("add", help="record a signed consent")
    p.add_argument("screening_id")
    p.add_argument("--signer", required=True, choices=["patient", "lar"])
    p.add_argument("--form-version", required=True)
    p.add_argument("--optional", default="", help="interview,annual_followup,biosamples")
    _as(p)
    p.set_defaults(func=cmd_consent_add)

    p = sub.add_parser("enroll", help="enroll a screened, consented patient")
    p.add_argument("screening_id")
    p.add_argument(
        "--observational-reason",
        default="",
        help="enroll a randomized-cohort candidate observationally, saying why",
    )
    _as(p)
    p.set_defaults(func=cmd_enroll)

    participant = sub.add_parser("participant", help="read participants back")
    ps = participant.add_subparsers(dest="participant_command", required=True)
    p = ps.add_parser("list", help="participants you may read (the arm only if you may see it)")
    p.add_argument("--site", help="only this site")
    _as(p)
    p.set_defaults(func=cmd_participant_list)
    p = ps.add_parser("show", help="one participant (the arm only if you may see it)")
    p.add_argument("study_id")
    _as(p)
    p.set_defaults(func=cmd_participant_show)
    p = ps.add_parser("correct-onset", help="correct the SE onset (data manager; cohort and "
                      "stratum are kept, a changed stratum is listed as a discrepancy)")
    p.add_argument("study_id")
    p.add_argument("--se-onset", required=True, help="ISO datetime with offset")
    p.add_argument("--reason", required=True)
    _as(p)
    p.set_defaults(func=cmd_correct_onset)

    assessor = sub.add_parser("assessor", help="outcome assessor assignments")
    asub = assessor.add_subparsers(dest="assessor_command", required=True)
    p = asub.add_parser("assign", help="assign a masked outcome assessor to a participant")
    p.add_argument("study_id")
    p.add_argument("--assessor", required=True, help="the assessor's username")
    _as(p)
    p.set_defaults(func=cmd_assessor_assign)

    p = sub.add_parser("withdraw", help="record a withdrawal")
    p.add_argument("study_id")
    p.add_argument(
        "--scope", required=True, choices=["stop_treatment", "stop_follow_up", "stop_all_data"]
    )
    p.add_argument("--reason", required=True)
    _as(p)
    p.set_defaults(func=cmd_withdraw)

    p = sub.add_parser("end-follow-up", help="record death or loss to follow-up")
    p.add_argument("study_id")
    p.add_argument("--status", required=True, choices=["died", "lost_to_follow_up"])
    p.add_argument("--reason", required=True)
    _as(p)
    p.set_defaults(func=cmd_end_follow_up)

    p = sub.add_parser("clocks", help="run the periodic clocks (day-8 cohort move, visit "
                       "status, SAE clock alerts and lapses)")
    p.set_defaults(func=cmd_clocks)


def _register_randomization(sub: Any) -> None:
    rnd = sub.add_parser("randomization", help="randomization lists (statistician)")
    rs = rnd.add_subparsers(dest="randomization_command", required=True)
    p = rs.add_parser("setup", help="generate a list from a recorded seed")
    p.add_argument("--design", required=True, choices=["permuted_blocks", "minimization"])
    p.add_argument(
        "--seed",
        required=True,
        type=_seed,
        help="'random' (128 bits from the OS CSPRNG; the only choice for production), "
        "or a whole number for a test list",
    )
    p.add_argument("--environment", choices=["production", "test"], default=None)
    p.add_argument("--blocks-per-stratum", type=int, default=60)
    _as(p)
    p.set_defaults(func=cmd_randomization_setup)
    p = rs.add_parser("extend", help="add blocks to a stratum (audited)")
    p.add_argument("--stratum", required=True)
    p.add_argument("--blocks", required=True, type=int)
    p.add_argument("--reason", required=True)
    p.add_argument("--environment", choices=["production", "test"], default=None)
    _as(p)
    p.set_defaults(func=cmd_randomization_extend)
    p = rs.add_parser("retire", help="retire the active list (audited; a new one can be set up)")
    p.add_argument("--reason", required=True)
    p.add_argument("--environment", choices=["production", "test"], default=None)
    _as(p)
    p.set_defaults(func=cmd_randomization_retire)
    p = rs.add_parser("balance", help="allocations by arm per stratum and site")
    _as(p)
    p.set_defaults(func=cmd_randomization_balance)
    p = rs.add_parser("verify", help="regenerate the list from its seed and compare")
    p.add_argument("--environment", choices=["production", "test"], default=None)
    _as(p)
    p.set_defaults(func=cmd_randomization_verify)

    p = rs.add_parser("export", help="the whole list as JSON, for offline checks (audited)")
    p.add_argument("--environment", choices=["production", "test"], default=None)
    _as(p)
    p.set_defaults(func=cmd_randomization_export)

    p = sub.add_parser("randomize", help="allocate an arm (treating team)")
    p.add_argument("study_id")
    _as(p)
    p.set_defaults(func=cmd_randomize)

    alloc = sub.add_parser("allocation", help="allocation corrections")
    als = alloc.add_subparsers(dest="allocation_command", required=True)
    p = als.add_parser("mark-error", help="mark an allocation made in error (re-authenticates)")
    p.add_argument("study_id")
    p.add_argument("--reason", required=True)
    p.add_argument("--password-stdin", action="store_true")
    _as(p)
    p.set_defaults(func=cmd_mark_error)

    p = sub.add_parser("unmask", help="deliberate unmasking of a masked user (re-authenticates)")
    p.add_argument("study_id")
    p.add_argument("--reason", required=True)
    p.add_argument("--password-stdin", action="store_true")
    _as(p)
    p.set_defaults(func=cmd_unmask)

    um = sub.add_parser("unmasking", help="assessor unmasking records")
    ums = um.add_subparsers(dest="unmasking_command", required=True)
    p = ums.add_parser("record", help="an assessor learned a participant's arm")
    p.add_argument("study_id")
    p.add_argument("--assessor", required=True)
    p.add_argument("--how", required=True)
    _as(p)
    p.set_defaults(func=cmd_unmasking_record)
    p = ums.add_parser("report", help="unmaskings and outcome entries assessed unmasked")
    _as(p)
    p.set_defaults(func=cmd_unmasking_report)


def _register_sites(sub: Any) -> None:
    p = sub.add_parser("sites", help="list the trial sites")
    p.set_defaults(func=cmd_sites)



def register(sub: Any) -> None:
    _register_sites(sub)
    _register_participants(sub)
    _register_randomization(sub)
