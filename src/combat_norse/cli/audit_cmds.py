"""``combat-norse audit verify | seal | proof | export`` (§13, issue 19).

``verify`` prints ``{"ok": true, "events": N, "sealed": S, "unsealed": U, "checkpoints": C,
...}`` (exit 0) or ``{"ok": false, "first_bad_event": SEQ, "reason": ...}`` (exit 1); it writes
nothing. ``seal`` seals the committed events into the Merkle tree and signs a checkpoint
(``{"sealed": N}``; ``--every S`` repeats every S seconds, the background sealer of
``make run``). ``proof SEQ`` prints the inclusion proof of one event against the latest
checkpoint (``python -m combat_norse.audit.monitor`` checks it with the public key alone);
``proof --consistency SIZE`` the consistency proof from an earlier head.
``export`` writes the trail as CSV, streamed, to ``--output``
(``-``: standard output, nothing else printed); with a file it prints ``{"output", "rows"}``.
The trail holds arm-revealing events and screening data, so ``export`` runs ``--as`` a central
unmasked role (statistician or data manager; the setting ``COMBAT_NORSE_AUDIT_EXPORT_ROLES``),
is refused (exit 3) for anyone else, and is itself recorded in the trail.
Options are checked before the database is touched; a bad value is exit 2 with one line naming
the option.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from combat_norse.cli.common import (
    EXIT_FAILED_CHECK,
    EXIT_OK,
    BadInput,
    active_user,
    emit_json,
    setup_django,
    translate_errors,
)


def parse_bound(option: str, raw: str, *, end: bool) -> datetime:
    """``YYYY-MM-DD`` (a UTC day; ``--until`` includes the whole day) or an ISO 8601 datetime
    with an offset. Returns an aware datetime: inclusive start, or exclusive end."""
    text = raw.strip()
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            moment = datetime.combine(day, time.min, tzinfo=UTC)
            return moment + timedelta(days=1) if end else moment
        moment = datetime.fromisoformat(text)
        moment.astimezone(UTC)  # an offset at the edge of the calendar overflows here
    except (ValueError, OverflowError):
        raise BadInput(
            f"{option}: {raw!r} is not a date (YYYY-MM-DD) or ISO 8601 datetime"
        ) from None
    if moment.tzinfo is None:
        raise BadInput(f"{option}: datetime {raw!r} needs a UTC offset, e.g. 2025-03-01T08:00Z")
    return moment


def _chunk_size(raw: str) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {raw!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def cmd_verify(args: argparse.Namespace) -> int:
    public_key = Path(args.public_key) if args.public_key else None
    if public_key is not None and not public_key.is_file():
        raise BadInput(f"--public-key: no such file {args.public_key}")
    setup_django()
    from combat_norse.audit.verify import verify_chain

    result = verify_chain(chunk_size=args.chunk_size, public_key=public_key)
    out = result.as_json()
    ok = result.ok
    if args.state:
        from combat_norse.exports.state import reconcile

        state = reconcile()
        out["state"] = state.as_json()
        ok = ok and state.ok
    emit_json(out)
    return EXIT_OK if ok else EXIT_FAILED_CHECK


def _seconds(raw: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {raw!r}") from None
    if not 0.1 <= value <= 3600:
        raise argparse.ArgumentTypeError("must be between 0.1 and 3600 seconds")
    return value


def cmd_seal(args: argparse.Namespace) -> int:
    setup_django()
    from combat_norse.audit.seal import SealRefused, seal_pending

    try:
        if args.every is None:
            emit_json({"sealed": seal_pending()})
            return EXIT_OK
        import time

        from django.db import DatabaseError, connections

        while True:  # the background sealer: one line per seal that sealed something
            try:
                sealed = seal_pending()
            except DatabaseError as exc:  # the database restarts: try again next time
                print(f"error: seal failed, retrying: {exc}".splitlines()[0], file=sys.stderr)
                connections.close_all()
                sealed = 0
            if sealed:
                emit_json({"sealed": sealed})
                sys.stdout.flush()
            time.sleep(args.every)
    except SealRefused as exc:
        print(f"refused: {exc}", file=sys.stderr)
        return EXIT_FAILED_CHECK
    except KeyboardInterrupt:
        return EXIT_OK


def _positive(raw: str) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {raw!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def cmd_proof(args: argparse.Namespace) -> int:
    if (args.event is None) == (args.consistency is None):
        raise BadInput("proof: give an EVENT id or --consistency SIZE (one of them)")
    setup_django()
    from combat_norse.audit.proof import NotSealed, consistency_proof, inclusion_proof

    try:
        if args.event is not None:
            emit_json(inclusion_proof(args.event))
        else:
            emit_json(consistency_proof(args.consistency))
    except NotSealed as exc:
        raise BadInput(str(exc)) from None
    return EXIT_OK


def _known_site(code: str) -> bool:
    from combat_norse.core.errors import NotFound
    from combat_norse.sites.access import access_site

    try:
        access_site(code)
    except NotFound:
        return False
    return True


def _exporter(username: str) -> Any:
    """The user the export runs as (policy in combat_norse.exports.audit_trail)."""
    from combat_norse.exports.audit_trail import check_audit_exporter

    user = active_user(username)
    with translate_errors():
        return user, check_audit_exporter(user)


def cmd_export(args: argparse.Namespace) -> int:
    since = parse_bound("--since", args.since, end=False) if args.since else None
    until = parse_bound("--until", args.until, end=True) if args.until else None
    if since is not None and until is not None and until <= since:
        raise BadInput("--until: must be after --since")
    if args.participant is not None and not args.participant.strip():
        raise BadInput("--participant: empty reference")
    output: str = args.output
    if output != "-" and not Path(output).resolve().parent.is_dir():
        raise BadInput(f"--output: directory of {output} does not exist")
    if output != "-" and Path(output).is_dir():
        raise BadInput(f"--output: {output} is a directory")

    setup_django()
    from combat_norse.audit.export import write_csv
    from combat_norse.exports.audit_trail import export_filter_for
    from combat_norse.exports.audit_trail import record_audit_export as _record_export

    site = args.site.strip().upper() if args.site is not None else None
    if site is not None and not _known_site(site):
        raise BadInput(f"--site: unknown site code {args.site!r}")
    user, scope = _exporter(args.as_user)
    flt = export_filter_for(scope, since=since, until=until, site_code=site,
                            participant_ref=args.participant)
    filters = {"since": args.since, "until": args.until, "site": site,
               "participant": args.participant}  # fmt: skip
    if output == "-":
        try:
            rows = write_csv(sys.stdout, flt, chunk_size=args.chunk_size)
            sys.stdout.flush()
        except BrokenPipeError:  # the reader stopped early (`| head`): quiet, not a traceback
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            _record_export(user, -1, filters)
            return EXIT_FAILED_CHECK
        _record_export(user, rows, filters)
        return EXIT_OK

    target = Path(output)
    # Write next to the target and rename at the end: a failed export leaves no half file.
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.resolve().parent)
    except OSError as exc:
        raise BadInput(f"--output: cannot write next to {output} ({exc.strerror})") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            rows = write_csv(fh, flt, chunk_size=args.chunk_size)
        os.replace(tmp_name, target)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    _record_export(user, rows, filters)
    emit_json({"output": str(target), "rows": rows})
    return EXIT_OK


def register(subparsers: Any) -> None:
    audit = subparsers.add_parser("audit", help="verify or export the audit trail")
    sub = audit.add_subparsers(dest="audit_command", required=True)

    verify = sub.add_parser(
        "verify", help="check the trail against its signed checkpoints; exit 1 names the "
        "first bad event or the missing range (writes nothing)",
    )  # fmt: skip
    verify.add_argument("--public-key", metavar="PEM",
                        help="check checkpoints with this public key")  # fmt: skip
    verify.add_argument("--state", action="store_true",
                        help="also replay the trail against the data (allocations, screening "
                        "decisions, consents, participants, form values)")  # fmt: skip
    verify.add_argument("--chunk-size", type=_chunk_size, default=2000, help=argparse.SUPPRESS)
    verify.set_defaults(func=cmd_verify)

    seal = sub.add_parser("seal", help="seal committed events into the Merkle tree and sign a "
                          "checkpoint (idempotent; creates the keys on first use)")  # fmt: skip
    seal.add_argument("--every", type=_seconds, metavar="SECONDS",
                      help="keep sealing, every SECONDS (the background sealer)")  # fmt: skip
    seal.set_defaults(func=cmd_seal)

    proof = sub.add_parser("proof", help="inclusion proof of one sealed event (or --consistency)")
    proof.add_argument("event", nargs="?", type=_positive, metavar="EVENT",
                       help="the event's seq")  # fmt: skip
    proof.add_argument("--consistency", type=_positive, metavar="SIZE",
                       help="consistency proof from the head of SIZE to the latest")  # fmt: skip
    proof.set_defaults(func=cmd_proof)

    export = sub.add_parser("export", help="write the trail as CSV (streamed)")
    export.add_argument("--output", "-o", default="-", help="file to write, or - (default)")
    export.add_argument("--since", help="from this UTC date (YYYY-MM-DD) or ISO datetime")
    export.add_argument("--until", help="up to and including this UTC date, or before a datetime")
    export.add_argument("--site", help="only events of this site code")
    export.add_argument("--participant", help="only events of this study or screening id")
    export.add_argument("--chunk-size", type=_chunk_size, default=2000, help=argparse.SUPPRESS)
    export.add_argument("--as", dest="as_user", required=True, metavar="USERNAME",
                        help="a statistician or data manager (the export is audited)")  # fmt: skip
    export.set_defaults(func=cmd_export)
