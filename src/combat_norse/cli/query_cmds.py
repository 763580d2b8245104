"""Data-query commands of §14: ``queries [--site CODE] [--status S] [--summary]`` and ``query
raise|answer|close|reopen`` (same JSON, exit-status and ``--as`` rules as §13).

A module of its own (not ``crf_cmds``) so that the list of the data-capture commands and this
one grow apart; ``COMMAND_MODULES`` in ``cli/main.py`` names both."""

from __future__ import annotations

import argparse
from typing import Any

from combat_norse.cli.common import (
    BadInput,
    active_user,
    add_as_option,
    emit_json,
    optional_site,
    setup_django,
    translate_errors,
)

STATUSES = ("open", "answered", "closed")


def _instance(raw: str | None) -> int | None:
    if raw is None:
        return None
    if not raw.isdigit() or not 1 <= int(raw) <= 1_000_000:
        raise BadInput(f"instance: a positive whole number, got {raw[:20]!r}")
    return int(raw)


def _query_id(raw: str) -> int:
    if not raw.isdigit() or len(raw) > 12 or int(raw) < 1:
        raise BadInput(f"id: a query id is a positive whole number, got {raw[:20]!r}")
    return int(raw)


def cmd_queries(args: argparse.Namespace) -> int:
    setup_django()
    from combat_norse.audit.vocabulary import AuditAction
    from combat_norse.core.refusals import read_refusals_audited
    from combat_norse.crf.access import access_queries, query_counts
    from combat_norse.crf.presenters import present_queries
    from combat_norse.sites.access import scope_for

    actor = active_user(args.as_user)
    scope = scope_for(actor)
    with translate_errors(), read_refusals_audited(actor, AuditAction.READ_REFUSED):
        site = optional_site(args.site)
        if args.summary:
            emit_json({"summary": query_counts(scope, site=site)})
            return 0
        queries = list(access_queries(scope, site=site, status=args.status))
    emit_json(present_queries(queries, scope))
    return 0


def cmd_query_raise(args: argparse.Namespace) -> int:
    instance = _instance(args.instance)
    setup_django()
    from combat_norse.crf.actions.queries import do_raise_query
    from combat_norse.crf.presenters import present_query_state

    actor = active_user(args.as_user)
    with translate_errors():
        query = do_raise_query(actor, args.study_id, args.visit, args.form, args.item,
                               text=args.text, instance=instance)  # fmt: skip
    emit_json(present_query_state(query))
    return 0


def cmd_query_change(args: argparse.Namespace) -> int:
    query_id = _query_id(args.id)
    setup_django()
    from combat_norse.crf.actions.queries import (
        do_answer_query,
        do_close_query,
        do_reopen_query,
    )
    from combat_norse.crf.presenters import present_query_state

    action = {"answer": do_answer_query, "close": do_close_query,
              "reopen": do_reopen_query}[args.query_command]  # fmt: skip
    actor = active_user(args.as_user)
    with translate_errors():
        query = action(actor, query_id, text=args.text)
    emit_json(present_query_state(query))
    return 0


def register(sub: Any) -> None:
    p = sub.add_parser("queries", help="data queries you may read (§14)")
    p.add_argument("--site", help="only this site")
    which = p.add_mutually_exclusive_group()
    which.add_argument("--status", choices=STATUSES, help="only this status (default: every)")
    which.add_argument("--summary", action="store_true",
                       help="counts instead: open and answered, open per site, per form and "
                       "by age in days (0-7, 8-30, over_30)")  # fmt: skip
    add_as_option(p)
    p.set_defaults(func=cmd_queries)

    query = sub.add_parser("query", help="raise, answer, close or reopen a data query")
    qs = query.add_subparsers(dest="query_command", required=True)
    p = qs.add_parser("raise", help="raise a query on an item of a saved form (data manager "
                      "or monitor)")  # fmt: skip
    p.add_argument("study_id")
    p.add_argument("visit")
    p.add_argument("form")
    p.add_argument("item")
    p.add_argument("--text", required=True, help="what the query asks")
    p.add_argument("--instance", help="the instance of a repeating form")
    add_as_option(p)
    p.set_defaults(func=cmd_query_raise)
    for name, text in (("answer", "answer an open query (site coordinator or investigator)"),
                       ("close", "close an open or answered query (data manager or monitor)"),
                       ("reopen", "open an answered or closed query again (data manager or "
                        "monitor)")):  # fmt: skip
        p = qs.add_parser(name, help=text)
        p.add_argument("id", help="the query id")
        p.add_argument("--text", help="the answer, or why it is closed or reopened")
        add_as_option(p)
        p.set_defaults(func=cmd_query_change)
