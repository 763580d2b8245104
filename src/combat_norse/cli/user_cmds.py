"""User commands of §13: ``user add`` and ``user password``.

The local command line is the server operators' tool: these commands run without ``--as`` and
are audited as the operating-system user who ran them (``os:<login>``, see
:mod:`combat_norse.audit.context`). Passwords are read from standard input, never from the
arguments (which other local users can see in the process list).
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from combat_norse.cli.common import BadInput, active_user, emit_json, setup_django, translate_errors

MAX_LINE = 4097  # one character more than accounts.actions.MAX_PASSWORD_LENGTH


def _stdin_lines(count: int, what: str) -> list[str]:
    """``count`` lines from standard input, without their line ends; BadInput otherwise."""
    lines = []
    for _ in range(count):
        try:
            line = sys.stdin.readline(MAX_LINE + 1)
        except UnicodeDecodeError:
            raise BadInput(f"password: {what} is not valid UTF-8 text") from None
        if len(line.rstrip("\r\n")) > MAX_LINE:
            raise BadInput("password: longer than 4096 characters")
        if not line.endswith("\n") and not line:
            raise BadInput(f"password: standard input must hold {what}")
        lines.append(line.rstrip("\r\n"))
    if any(not line for line in lines):
        raise BadInput(f"password: standard input must hold {what}")
    return lines


def cmd_user_add(args: argparse.Namespace) -> int:
    password = None
    if args.password_stdin:
        (password,) = _stdin_lines(1, "the one-time password on one line")
    setup_django()
    from combat_norse.accounts.actions import do_add_user
    from combat_norse.accounts.presenters import present_new_user

    with translate_errors():
        created = do_add_user(args.name, args.role, args.site or (), password=password,
                              email=_email(args.email))  # fmt: skip
    if created.one_time_password and password is None:
        sys.stderr.write(
            f"one-time password for {created.user.username} (changed at first sign-in): "
            f"{created.one_time_password}\n"
        )
    elif created.one_time_password is None:
        sys.stderr.write(f"{created.user.username} existed; role added, password unchanged\n")
    emit_json(present_new_user(created))
    return 0


def cmd_user_password(args: argparse.Namespace) -> int:
    if not args.password_stdin:
        raise BadInput("password: give the current and the new password on stdin "
                       "(--password-stdin)")  # fmt: skip
    current, new = _stdin_lines(2, "the current password and the new one on two lines")
    setup_django()
    from combat_norse.accounts.actions import do_change_password
    from combat_norse.accounts.presenters import present_password_changed

    user = active_user(args.username, "username")
    with translate_errors():
        do_change_password(user, current, new)
    emit_json(present_password_changed(user))
    return 0


def _email(raw: str) -> str:
    from django.core.exceptions import ValidationError
    from django.core.validators import validate_email

    raw = raw.strip()
    if raw:
        try:
            validate_email(raw)
        except ValidationError:
            raise BadInput(f"email: not an e-mail address ({raw[:60]!r})") from None
    return raw


def register(sub: Any) -> None:
    user = sub.add_parser("user", help="manage users (the server operators' tool)")
    user_sub = user.add_subparsers(dest="user_command", required=True)
    p = user_sub.add_parser(
        "add",
        help="create a user with a role, or add the role to an existing user "
        "(one-time password from stdin, or generated and printed on stderr)",
    )
    p.add_argument("name")
    p.add_argument("--role", required=True)
    p.add_argument("--site", action="append", help="site code (repeat for several)")
    p.add_argument("--email", default="", help="where alerts reach the user (SAE clocks, lab "
                   "alerts)")
    p.add_argument("--password-stdin", action="store_true",
                   help="read the one-time password from standard input (one line)")  # fmt: skip
    p.set_defaults(func=cmd_user_add)
    p = user_sub.add_parser(
        "password", help="replace a password: stdin holds the current one and the new one"
    )
    p.add_argument("username")
    p.add_argument("--password-stdin", action="store_true",
                   help="read the current and the new password from stdin (two lines)")  # fmt: skip
    p.set_defaults(func=cmd_user_password)
