"""Pure protocol commands (no Django): ``screen``, ``dose`` and ``schedule``.

* ``combat-norse screen FILE.json`` (``-`` = stdin) prints the §5 object;
* ``combat-norse dose --drug anakinra|tocilizumab --weight-kg W`` prints the §7 object;
* ``combat-norse schedule --se-onset YYYY-MM-DD [--years N]`` prints the §8 list.

Bad input exits 2 with one line on stderr naming the field (``error: weight_kg: ...``);
an unknown extra field of a screening record is a warning on stderr, and the exit status is 0.
Option values are parsed here rather than by argparse so that the error names the field
(``weight_kg``, ``se_onset``, ``years``) instead of the option.
"""

from __future__ import annotations

import argparse
import re
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from combat_norse.cli.common import BadInput, emit_json, read_json_source, warn
from combat_norse.protocol.dosing import DoseError, Drug, suggested_dose
from combat_norse.protocol.eligibility import evaluate
from combat_norse.protocol.parameters import DEFAULT
from combat_norse.protocol.records import RecordError, parse_screening_record
from combat_norse.protocol.schedule import visit_schedule

_NUMBER_RE = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")
_DATE_RE = re.compile(r"\d{4}-\d{2}-\d{2}")
_INT_RE = re.compile(r"[+-]?\d+")


def cmd_screen(args: argparse.Namespace) -> int:
    data = read_json_source(args.file)
    try:
        parsed = parse_screening_record(data)
    except RecordError as exc:
        raise BadInput(str(exc)) from None
    for message in parsed.warnings:
        warn(message)
    emit_json(evaluate(parsed.record).to_json())
    return 0


def _weight(text: str) -> Decimal:
    if not _NUMBER_RE.fullmatch(text.strip()):
        raise BadInput(f"weight_kg: expected a number of kilograms, got {text[:40]!r}")
    try:
        value = Decimal(text.strip())
    except InvalidOperation:  # pragma: no cover - the pattern admits only decimals
        raise BadInput(f"weight_kg: expected a number of kilograms, got {text[:40]!r}") from None
    return value


def cmd_example_record(args: argparse.Namespace) -> int:
    """A fresh synthetic screening record (onset hours ago), for the README's walkthrough."""
    from datetime import UTC, datetime
    from zoneinfo import ZoneInfoNotFoundError

    from combat_norse.protocol.examples import MAX_HOURS_AGO, fresh_example_record

    if not _INT_RE.fullmatch(args.onset_hours_ago.strip()):
        raise BadInput("onset_hours_ago: expected a whole number of hours")
    hours = int(args.onset_hours_ago)
    if not 0 <= hours <= MAX_HOURS_AGO:
        raise BadInput(f"onset_hours_ago: from 0 to {MAX_HOURS_AGO}")
    zone = args.timezone
    if args.site is not None:
        from combat_norse.protocol.sites import SITES_BY_CODE

        site = SITES_BY_CODE.get(args.site.strip().upper())
        if site is None:
            raise BadInput(f"site: unknown site code {args.site[:40]!r}")
        zone = site.timezone
    try:
        record = fresh_example_record(datetime.now(UTC), onset_hours_ago=hours, timezone=zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise BadInput(f"site_timezone: unknown IANA zone {args.timezone[:40]!r}") from None
    emit_json(record)
    return 0


def cmd_dose(args: argparse.Namespace) -> int:
    try:
        suggestion = suggested_dose(args.drug, _weight(args.weight_kg))
    except DoseError as exc:
        raise BadInput(str(exc)) from None
    emit_json(suggestion.to_json())
    return 0


def _onset_date(text: str) -> date:
    if not _DATE_RE.fullmatch(text):
        raise BadInput(f"se_onset: malformed date {text[:40]!r}, expected YYYY-MM-DD")
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise BadInput(f"se_onset: not a calendar date: {text!r}") from None


def _years(text: str) -> int:
    limit = DEFAULT.max_schedule_years
    if not _INT_RE.fullmatch(text.strip()) or len(text.strip()) > 12:
        raise BadInput(f"years: expected a whole number of years, got {text[:40]!r}")
    value = int(text)
    if not 1 <= value <= limit:
        raise BadInput(f"years: must be between 1 and {limit}, got {value}")
    return value


def cmd_schedule(args: argparse.Namespace) -> int:
    onset = _onset_date(args.se_onset)
    years = _years(args.years)
    try:
        windows = visit_schedule(onset, years)
    except ValueError as exc:
        raise BadInput(f"se_onset: {exc}") from None
    emit_json([w.to_json() for w in windows])
    return 0


def register(sub: Any) -> None:
    """Add ``screen``, ``dose`` and ``schedule`` to the ``combat-norse`` subcommands."""
    p = sub.add_parser("screen", help="evaluate a screening record (§5)")
    p.add_argument("file", metavar="FILE", help="screening record JSON file, or - for stdin")
    p.set_defaults(func=cmd_screen)

    p = sub.add_parser("example", help="print synthetic example data")
    es = p.add_subparsers(dest="example_command", required=True)
    e = es.add_parser(
        "screening-record",
        help="a synthetic randomized-cohort screening record with onset hours ago (no "
        "evaluated_at: screening uses the moment of the command)",
    )
    e.add_argument("--onset-hours-ago", default="30", help="hours since SE onset (default 30)")
    e.add_argument("--site", help="the site whose time zone the record carries (default YNH)")
    e.add_argument("--timezone", default="America/New_York", help="an IANA zone instead of --site")
    e.set_defaults(func=cmd_example_record)
    p = sub.add_parser("dose", help="suggested dose of a study drug (§7)")
    p.add_argument("--drug", required=True, choices=[d.value for d in Drug])
    p.add_argument("--weight-kg", required=True, metavar="W", help="actual body weight, kg")
    p.set_defaults(func=cmd_dose)

    p = sub.add_parser("schedule", help="windowed visit schedule (§8)")
    p.add_argument("--se-onset", required=True, metavar="DATE", help="SE onset date, day 0")
    p.add_argument(
        "--years",
        default=str(DEFAULT.default_follow_up_years),
        metavar="N",
        help="follow-up years: 1 ends at month12, N adds annual_2..annual_N (default 1)",
    )
    p.set_defaults(func=cmd_schedule)
