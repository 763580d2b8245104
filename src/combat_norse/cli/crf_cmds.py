"""Data-capture commands of §14: ``forms``, ``visits``, ``visit missed``, ``form save|show|
verify|lock|unlock`` (same JSON, exit-status and ``--as`` rules as §13)."""

from __future__ import annotations

import argparse
from typing import Any

from combat_norse.cli.common import (
    BadInput,
    active_user,
    add_as_option,
    emit_json,
    read_json_source,
    read_password,
    setup_django,
    translate_errors,
)


def _instance(raw: str | None) -> int | None:
    if raw is None:
        return None
    if not raw.isdigit() or not 1 <= int(raw) <= 1_000_000:
        raise BadInput(f"instance: a positive whole number, got {raw[:20]!r}")
    return int(raw)


def _version(raw: str | None) -> int | None:
    if raw is None:
        return None
    if not raw.isdigit() or int(raw) > 1_000_000:
        raise BadInput(f"if_version: a whole number, got {raw[:20]!r}")
    return int(raw)


def cmd_forms(args: argparse.Namespace) -> int:
    setup_django()
    from combat_norse.crf.presenters import present_forms
    from combat_norse.sites.access import ANONYMOUS, scope_for

    scope = scope_for(active_user(args.as_user)) if args.as_user else ANONYMOUS
    emit_json(present_forms(scope, full=args.dictionary))
    return 0


def cmd_visits(args: argparse.Namespace) -> int:
    setup_django()
    from combat_norse.audit.vocabulary import AuditAction
    from combat_norse.core.refusals import read_refusals_audited
    from combat_norse.crf.access import access_visits
    from combat_norse.crf.presenters import present_visits
    from combat_norse.sites.access import scope_for

    actor = active_user(args.as_user)
    scope = scope_for(actor)
    with translate_errors(), read_refusals_audited(actor, AuditAction.READ_REFUSED):
        participant, visits, saved = access_visits(scope, args.study_id)
    emit_json(present_visits(participant, visits, saved, scope))
    return 0


def cmd_visit_missed(args: argparse.Namespace) -> int:
    setup_django()
    from combat_norse.crf.actions.visits import do_mark_visit_missed

    actor = active_user(args.as_user)
    with translate_errors():
        visit = do_mark_visit_missed(actor, args.study_id, args.visit, reason=args.reason)
    emit_json({"study_id": visit.participant.study_id, "visit": visit.code,
               "status": visit.status})  # fmt: skip
    return 0


def cmd_form_save(args: argparse.Namespace) -> int:
    data = read_json_source(args.file)
    instance, if_version = _instance(args.instance), _version(args.if_version)
    setup_django()
    from combat_norse.crf.actions.forms import do_save_form
    from combat_norse.crf.presenters import present_form_save
    from combat_norse.sites.access import scope_for

    actor = active_user(args.as_user)
    with translate_errors():
        found, queries = do_save_form(actor, args.study_id, args.visit, args.form, data,
                                      instance=instance, reason=args.reason or "",
                                      if_version=if_version)  # fmt: skip
    emit_json(present_form_save(found, queries, scope_for(actor)))
    return 0


def cmd_form_show(args: argparse.Namespace) -> int:
    instance = _instance(args.instance)
    setup_django()
    from combat_norse.audit.vocabulary import AuditAction
    from combat_norse.core.refusals import read_refusals_audited
    from combat_norse.crf.access import access_form
    from combat_norse.crf.actions.forms import form_def
    from combat_norse.crf.presenters import present_form
    from combat_norse.sites.access import scope_for

    actor = active_user(args.as_user)
    scope = scope_for(actor)
    with translate_errors():
        form = form_def(args.form)
        with read_refusals_audited(actor, AuditAction.READ_REFUSED):
            participant, found = access_form(scope, args.study_id, args.visit, form, instance)
    emit_json(present_form(form, found, participant, scope))
    return 0


def cmd_form_transition(args: argparse.Namespace) -> int:
    instance = _instance(args.instance)
    setup_django()
    from combat_norse.crf.actions.forms import do_lock_form, do_unlock_form, do_verify_form
    from combat_norse.crf.presenters import present_form_state

    actor = active_user(args.as_user)
    with translate_errors():
        if args.form_command == "verify":
            found = do_verify_form(actor, args.study_id, args.visit, args.form, instance=instance)
        elif args.form_command == "lock":
            found = do_lock_form(actor, args.study_id, args.visit, args.form, instance=instance)
        else:
            found = do_unlock_form(actor, args.study_id, args.visit, args.form,
                                   reason=args.reason or "", instance=instance)  # fmt: skip
    emit_json(present_form_state(found))
    return 0


_as = add_as_option


def _where(p: argparse.ArgumentParser) -> None:
    p.add_argument("study_id")
    p.add_argument("visit", help="baseline, day30, month3, …, annual_N, inpatient_day_N, "
                   "se_resolution, death, discharge, interview, unscheduled")  # fmt: skip
    p.add_argument("form")


def register(sub: Any) -> None:
    p = sub.add_parser("forms", help="the data dictionary: forms and items (§14)")
    p.add_argument("--dictionary", action="store_true",
                   help="also labels, CDASH/SDTM names and SI alternatives")  # fmt: skip
    _as(p, required=False)
    p.set_defaults(func=cmd_forms)

    p = sub.add_parser("visits", help="a participant's visits, windows, statuses and forms")
    p.add_argument("study_id")
    _as(p)
    p.set_defaults(func=cmd_visits)

    visit = sub.add_parser("visit", help="visit actions")
    vs = visit.add_subparsers(dest="visit_command", required=True)
    p = vs.add_parser("missed", help="declare a visit missed, with a reason")
    p.add_argument("study_id")
    p.add_argument("visit")
    p.add_argument("--reason", required=True)
    _as(p)
    p.set_defaults(func=cmd_visit_missed)

    form = sub.add_parser("form", help="case report forms")
    fs = form.add_subparsers(dest="form_command", required=True)
    p = fs.add_parser("save", help="save items of a form (JSON object of item codes)")
    _where(p)
    p.add_argument("file", help="JSON file (- for stdin)")
    p.add_argument("--instance", help="the instance of a repeating form to change")
    p.add_argument("--reason", help="why saved data change (required once a form is complete)")
    p.add_argument("--if-version", help="refuse (conflict) unless the stored version is this")
    _as(p)
    p.set_defaults(func=cmd_form_save)
    p = fs.add_parser("show", help="a form's values, version, status and SDV")
    _where(p)
    p.add_argument("--instance")
    _as(p)
    p.set_defaults(func=cmd_form_show)
    for name, text in (("verify", "source data verified (monitor)"),
                       ("lock", "lock a complete form (data manager)"),
                       ("unlock", "unlock a form (data manager; --reason)")):  # fmt: skip
        p = fs.add_parser(name, help=text)
        _where(p)
        p.add_argument("--instance")
        p.add_argument("--reason")
        _as(p)
        p.set_defaults(func=cmd_form_transition)
    _register_signatures(sub)


# ---------------------------------------------------------------- signatures (§14 sign)
def cmd_sign(args: argparse.Namespace) -> int:
    password = read_password(args, "signature")
    setup_django()
    from combat_norse.crf.actions.signatures import do_sign
    from combat_norse.crf.presenters import present_signed
    from combat_norse.sites.access import scope_for

    actor = active_user(args.as_user)
    with translate_errors():
        signature = do_sign(actor, args.study_id, meaning=args.meaning, password=password)
    emit_json(present_signed(signature, scope_for(actor)))
    return 0


def cmd_signatures(args: argparse.Namespace) -> int:
    setup_django()
    from combat_norse.audit.vocabulary import AuditAction
    from combat_norse.core.refusals import read_refusals_audited
    from combat_norse.crf.access import access_signatures
    from combat_norse.crf.presenters import present_signatures
    from combat_norse.sites.access import scope_for

    actor = active_user(args.as_user)
    scope = scope_for(actor)
    with translate_errors(), read_refusals_audited(actor, AuditAction.READ_REFUSED):
        participant, found = access_signatures(scope, args.study_id)
    emit_json(present_signatures(participant, found, scope))
    return 0


def _register_signatures(sub: Any) -> None:
    p = sub.add_parser("sign", help="sign a participant's eligibility or casebook "
                       "(site investigator; the password again)")  # fmt: skip
    p.add_argument("study_id")
    p.add_argument("--meaning", required=True, choices=("eligibility", "casebook"))
    p.add_argument("--password-stdin", action="store_true",
                   help="read the signer's password from the first line of stdin")  # fmt: skip
    _as(p)
    p.set_defaults(func=cmd_sign)

    p = sub.add_parser("signatures", help="a participant's signatures and whether each is valid")
    p.add_argument("study_id")
    _as(p)
    p.set_defaults(func=cmd_signatures)
