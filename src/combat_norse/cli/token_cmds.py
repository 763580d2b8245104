"""``combat-norse token create|list|revoke --as USER``: personal API tokens (issue 18), issued
by the server's operator for a user (the user can also make their own on ``/me/tokens/``).
The token is printed once, by ``create``; only its hash is kept."""

from __future__ import annotations

import argparse
from typing import Any

from combat_norse.cli.common import (
    active_user,
    add_as_option,
    emit_json,
    setup_django,
    translate_errors,
)


def cmd_token_create(args: argparse.Namespace) -> int:
    setup_django()
    from combat_norse.accounts.presenters import present_token
    from combat_norse.accounts.tokens import do_create_token

    user = active_user(args.as_user)
    with translate_errors():
        new = do_create_token(user, user, expires_days=args.expires_days)
    emit_json(present_token(new.row, new.token))
    return 0


def cmd_token_list(args: argparse.Namespace) -> int:
    setup_django()
    from combat_norse.accounts.presenters import present_token
    from combat_norse.accounts.tokens import tokens_of

    user = active_user(args.as_user)
    emit_json({"tokens": [present_token(t) for t in tokens_of(user)]})
    return 0


def cmd_token_revoke(args: argparse.Namespace) -> int:
    setup_django()
    from combat_norse.accounts.presenters import present_token
    from combat_norse.accounts.tokens import do_revoke_token

    user = active_user(args.as_user)
    with translate_errors():
        row = do_revoke_token(user, user, args.prefix)
    emit_json(present_token(row))
    return 0


def _days(raw: str) -> int:
    if not raw.isdigit() or len(raw) > 4:
        raise argparse.ArgumentTypeError("expires-days: a whole number of days")
    return int(raw)


def register(sub: Any) -> None:
    token = sub.add_parser("token", help="personal API tokens (create: on the server; list, "
                           "revoke: also against a server, one's own)")  # fmt: skip
    ts = token.add_subparsers(dest="token_command", required=True)
    p = ts.add_parser("create", help="issue a token for USER (printed once, stored hashed)")
    p.add_argument("--expires-days", type=_days, default=None,
                   help="days until it expires (default 90, at most 366)")  # fmt: skip
    add_as_option(p)
    p.set_defaults(func=cmd_token_create)
    p = ts.add_parser("list", help="USER's tokens (prefix, dates, state; never the token)")
    add_as_option(p)
    p.set_defaults(func=cmd_token_list)
    p = ts.add_parser("revoke", help="revoke one of USER's tokens by its prefix")
    p.add_argument("prefix")
    add_as_option(p)
    p.set_defaults(func=cmd_token_revoke)
