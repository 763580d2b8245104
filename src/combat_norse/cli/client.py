"""The command line as a client of the REST API (issue 18).

With ``COMBAT_NORSE_URL`` (the server's address, e.g. ``https://trial.example.org``) and
``COMBAT_NORSE_TOKEN`` (a personal API token) set, every participant operation runs on that
server over ``/api/v1/``, as the token's user: the same arguments, the same JSON on stdout and
the same exit statuses (0 done, 1 a failed check, 2 ``error:`` bad input or unknown id, 3
``refused: <reason>``). ``--as`` is refused in this mode (the token says who acts). Input files,
passwords (``--password-stdin``) and option values are read and checked here first, exactly as
locally; the server answers the rest. The pure commands (screen, example, dose, schedule,
power) run locally as ever; the server operators' commands (user, audit, clocks, token) stay
on the server and say so.

Only the standard library talks HTTP here (urllib), so the client needs no dependency beyond
the package itself.
"""

from __future__ import annotations

import argparse
import json
import os
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from combat_norse.cli.common import (
    EXIT_BAD_INPUT,
    EXIT_FAILED_CHECK,
    EXIT_OK,
    EXIT_STATUS,
    BadInput,
    CliError,
    Refused,
    emit_json,
    read_json_source,
    read_password,
    warn,
)

URL_ENV = "COMBAT_NORSE_URL"
TOKEN_ENV = "COMBAT_NORSE_TOKEN"  # noqa: S105 — the variable's name, not a token
API_PREFIX = "/api/v1"
TIMEOUT_S = 120
WARNINGS_HEADER = "X-Combat-Norse-Warnings"

#: Commands that run only on the server (its database, its keys, its users).
LOCAL_ONLY = frozenset({"user", "audit", "clocks"})
#: Handlers that run only on the server, within commands whose other handlers run remotely: a
#: token is made on /me/tokens/ (behind two-factor sign-in) or by the server's operator, never
#: with a token (a stolen one must not outlive its own expiry).
LOCAL_ONLY_HANDLERS = frozenset({"cmd_token_create"})
#: Commands that never touch a database: they run here in either mode.
PURE = frozenset({"screen", "example", "dose", "schedule", "power"})


def client_mode() -> bool:
    """Both variables set (non-empty): the commands run against that server."""
    return bool(os.environ.get(URL_ENV, "").strip() and os.environ.get(TOKEN_ENV, "").strip())


@dataclass
class Call:
    method: str
    path: str
    query: dict[str, Any] = field(default_factory=dict)
    body: dict[str, Any] | None = None
    exit_on: Callable[[Any], int] | None = None  # exit status from the answer (verify)


def _q(value: str) -> str:
    return urllib.parse.quote(value, safe="")


def _form_path(a: argparse.Namespace) -> str:
    return (f"/participants/{_q(a.study_id)}/visits/{_q(a.visit)}/forms/{_q(a.form)}")


def _screening_add(a: argparse.Namespace) -> Call:
    record = read_json_source(a.file)
    return Call("POST", "/screenings", body={"site": a.site, "record": record})


def _screening_update(a: argparse.Namespace) -> Call:
    record = read_json_source(a.file)
    return Call("PUT", f"/screenings/{_q(a.screening_id)}",
                body={"record": record, "reason": a.reason})  # fmt: skip


def _consent_add(a: argparse.Namespace) -> Call:
    optional = [v for v in (a.optional or "").split(",") if v.strip()]
    return Call("POST", f"/screenings/{_q(a.screening_id)}/consents",
                body={"signer": a.signer, "form_version": a.form_version,
                      "optional": optional})  # fmt: skip


def _reauth(path: str) -> Callable[[argparse.Namespace], Call]:
    def build(a: argparse.Namespace) -> Call:
        password = read_password(a)
        return Call("POST", path.format(id=_q(a.study_id)),
                    body={"reason": a.reason, "password": password})  # fmt: skip

    return build


def _correct_onset(a: argparse.Namespace) -> Call:
    from combat_norse.cli.common import translate_errors
    from combat_norse.protocol import parse_aware_datetime

    with translate_errors():  # checked here first, as locally; the server parses it alike
        parse_aware_datetime("se_onset", a.se_onset.strip())
    return Call("POST", f"/participants/{_q(a.study_id)}/onset",
                body={"se_onset": a.se_onset.strip(), "reason": a.reason})  # fmt: skip


def _verify_exit(answer: Any) -> int:
    return EXIT_OK if isinstance(answer, dict) and answer.get("ok") else EXIT_FAILED_CHECK


def _form_save(a: argparse.Namespace) -> Call:
    from combat_norse.cli.crf_cmds import _instance, _version

    values = read_json_source(a.file)
    instance, if_version = _instance(a.instance), _version(a.if_version)
    return Call("PUT", _form_path(a), body={
        "values": values, "instance": instance, "reason": a.reason or "",
        "if_version": if_version})  # fmt: skip


def _form_show(a: argparse.Namespace) -> Call:
    from combat_norse.cli.crf_cmds import _instance

    return Call("GET", _form_path(a), query={"instance": _instance(a.instance)})


def _form_transition(a: argparse.Namespace) -> Call:
    from combat_norse.cli.crf_cmds import _instance

    return Call("POST", f"{_form_path(a)}/{a.form_command}",
                body={"instance": _instance(a.instance), "reason": a.reason or ""})  # fmt: skip


def _sign(a: argparse.Namespace) -> Call:
    password = read_password(a, "signature")
    return Call("POST", f"/participants/{_q(a.study_id)}/signatures",
                body={"meaning": a.meaning, "password": password})  # fmt: skip


def _queries(a: argparse.Namespace) -> Call:
    if a.summary:
        return Call("GET", "/queries/summary", query={"site": a.site})
    return Call("GET", "/queries", query={"site": a.site, "status": a.status})


def _query_raise(a: argparse.Namespace) -> Call:
    from combat_norse.cli.query_cmds import _instance

    return Call("POST", "/queries", body={
        "study_id": a.study_id, "visit": a.visit, "form": a.form, "item": a.item,
        "text": a.text, "instance": _instance(a.instance)})  # fmt: skip


def _query_change(a: argparse.Namespace) -> Call:
    from combat_norse.cli.query_cmds import _query_id

    return Call("POST", f"/queries/{_query_id(a.id)}/{a.query_command}", body={"text": a.text})


def _treatment_plan(a: argparse.Namespace) -> Call:
    from combat_norse.cli.safety_cmds import _number

    return Call("POST", f"/participants/{_q(a.study_id)}/treatment/plan",
                body={"weight_kg": _number(a.weight_kg), "reason": a.reason or ""})  # fmt: skip


def _p(suffix: str, method: str = "GET",
       body: Callable[[argparse.Namespace], dict[str, Any]] | None = None,
       ) -> Callable[[argparse.Namespace], Call]:  # fmt: skip
    """A route under one participant (``{id}`` = the study id)."""
    def build(a: argparse.Namespace) -> Call:
        return Call(method, f"/participants/{_q(a.study_id)}{suffix}",
                    body=body(a) if body else ({} if method == "POST" else None))  # fmt: skip

    return build


def _s(suffix: str, body: Callable[[argparse.Namespace], dict[str, Any]],
       ) -> Callable[[argparse.Namespace], Call]:  # fmt: skip
    """A POST under one screening entry."""
    return lambda a: Call("POST", f"/screenings/{_q(a.screening_id)}{suffix}", body=body(a))


#: Each command's handler name (``args.func.__name__``) → the request that does it remotely.
ROUTES: dict[str, Callable[[argparse.Namespace], Call]] = {
    "cmd_sites": lambda a: Call("GET", "/sites"),
    "cmd_screening_add": _screening_add,
    "cmd_screening_update": _screening_update,
    "cmd_screening_list": lambda a: Call("GET", "/screenings", query={"site": a.site}),
    "cmd_screening_show": lambda a: Call("GET", f"/screenings/{_q(a.screening_id)}"),
    "cmd_screening_not_enrolled": _s("/not-enrolled", lambda a: {"reason": a.reason}),
    "cmd_consent_add": _consent_add,
    "cmd_enroll": _s("/enroll", lambda a: {"observational_reason": a.observational_reason or ""}),
    "cmd_participant_list": lambda a: Call("GET", "/participants", query={"site": a.site}),
    "cmd_participant_show": _p(""),
    "cmd_correct_onset": _correct_onset,
    "cmd_assessor_assign": _p("/assessor", "POST", lambda a: {"assessor": a.assessor}),
    "cmd_withdraw": _p("/withdrawal", "POST", lambda a: {"scope": a.scope, "reason": a.reason}),
    "cmd_end_follow_up": _p("/follow-up-end", "POST",
                            lambda a: {"status": a.status, "reason": a.reason}),
    "cmd_randomization_setup": lambda a: Call("POST", "/randomization/lists", body={
        "design": a.design, "seed": a.seed, "environment": a.environment,
        "blocks_per_stratum": a.blocks_per_stratum}),
    "cmd_randomization_extend": lambda a: Call("POST", "/randomization/lists/active/extend",
        body={"stratum": a.stratum, "blocks": a.blocks, "reason": a.reason,
              "environment": a.environment}),
    "cmd_randomization_retire": lambda a: Call("POST", "/randomization/lists/active/retire",
        body={"reason": a.reason, "environment": a.environment}),
    "cmd_randomization_balance": lambda a: Call("GET", "/randomization/balance"),
    "cmd_randomization_verify": lambda a: Call("GET", "/randomization/lists/active/verify",
        query={"environment": a.environment}, exit_on=_verify_exit),
    "cmd_randomization_export": lambda a: Call("GET", "/randomization/lists/active/export",
        query={"environment": a.environment}),
    "cmd_randomize": _p("/randomize", "POST"),
    "cmd_mark_error": _reauth("/participants/{id}/allocation/error"),
    "cmd_unmask": _reauth("/participants/{id}/unmask"),
    "cmd_unmasking_record": _p("/unmaskings", "POST",
                               lambda a: {"assessor": a.assessor, "how": a.how}),
    "cmd_unmasking_report": lambda a: Call("GET", "/unmaskings"),
    "cmd_forms": lambda a: Call("GET", "/forms", query={"dictionary": a.dictionary or None}),
    "cmd_visits": _p("/visits"),
    "cmd_visit_missed": lambda a: Call(
        "POST", f"/participants/{_q(a.study_id)}/visits/{_q(a.visit)}/missed",
        body={"reason": a.reason}),
    "cmd_form_save": _form_save,
    "cmd_form_show": _form_show,
    "cmd_form_transition": _form_transition,
    "cmd_sign": _sign,
    "cmd_signatures": _p("/signatures"),
    "cmd_queries": _queries,
    "cmd_query_raise": _query_raise,
    "cmd_query_change": _query_change,
    "cmd_due": lambda a: Call("GET", "/due", query={"site": a.site}),
    "cmd_safety_clocks": lambda a: Call("GET", "/safety/clocks",
                                        query={"site": a.site, "all": a.all or None}),
    "cmd_safety_report": lambda a: Call("POST", f"/safety/events/{_q(a.ae_id)}/reports",
                                        body={"to": a.to, "at": a.at}),
    "cmd_safety_events": lambda a: Call("GET", "/safety/events",
                                        query={"site": a.site, "unresolved": a.unresolved or None}),
    "cmd_safety_grade": _p("/grades"),
    "cmd_alerts": _p("/alerts"),
    "cmd_treatment_show": _p("/treatment"),
    "cmd_treatment_plan": _treatment_plan,
    "cmd_treatment_deviations": lambda a: Call("GET", "/treatment/deviations",
                                               query={"site": a.site, "all": a.all or None}),
    "cmd_token_list": lambda a: Call("GET", "/me/tokens"),
    "cmd_token_revoke": lambda a: Call("POST", f"/me/tokens/{_q(a.prefix)}/revoke", body={}),
}  # fmt: skip


def _send(call: Call) -> tuple[int, Any, dict[str, str]]:
    import urllib.error  # here: the local commands start without the HTTP client
    import urllib.request

    base = os.environ[URL_ENV].strip().rstrip("/")
    if not base.startswith(("http://", "https://")):
        raise BadInput(f"{URL_ENV}: an http:// or https:// address, got {base[:60]!r}")
    query = {k: ("true" if v is True else v) for k, v in call.query.items() if v is not None}
    url = f"{base}{API_PREFIX}{call.path}"
    if query:
        url += "?" + urllib.parse.urlencode(query)
    data = None if call.body is None else json.dumps(call.body).encode("utf-8")
    request = urllib.request.Request(url, data=data, method=call.method, headers={  # noqa: S310
        "Authorization": f"Bearer {os.environ[TOKEN_ENV].strip()}",
        "Accept": "application/json", "Content-Type": "application/json"})  # fmt: skip
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_S) as answer:  # noqa: S310
            status, raw, headers = answer.status, answer.read(), dict(answer.headers)
    except urllib.error.HTTPError as exc:
        status, raw, headers = exc.code, exc.read(), dict(exc.headers or {})
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise BadInput(f"server unreachable ({URL_ENV}={base[:80]}): {reason}") from None
    try:
        body = json.loads(raw.decode("utf-8")) if raw else None
    except (UnicodeDecodeError, json.JSONDecodeError):
        body = None
    return status, body, headers


def _error(status: int, body: Any) -> CliError:
    """The command line's error for an error answer (the one table, read backwards)."""
    code = body.get("code") if isinstance(body, dict) else None
    detail = str(body.get("detail", "")) if isinstance(body, dict) else ""
    if status == 401:
        refused = Refused(f"token: {detail or 'not accepted'}")
        return refused
    if code in EXIT_STATUS:
        refused = Refused(detail or code)
        refused.exit_status = EXIT_STATUS[code]
        return refused
    if code in ("bad_input", "not_found"):
        return BadInput(detail or code)
    return BadInput(f"server answered HTTP {status}")


def run_remote(args: argparse.Namespace) -> int:
    """Run the parsed command on the server; the exit status."""
    if args.command in LOCAL_ONLY:
        raise BadInput(f"{args.command}: a server operator's command; run it on the server "
                       f"(without {URL_ENV})")  # fmt: skip
    if args.func.__name__ in LOCAL_ONLY_HANDLERS:
        raise BadInput(f"{args.command} create: a token is made on the server's /me/tokens/ "
                       f"page or by its operator (without {URL_ENV}), never with a token")
    if getattr(args, "as_user", None):
        raise Refused("role: --as is not accepted with COMBAT_NORSE_URL: the token's user acts")
    build = ROUTES.get(args.func.__name__)
    if build is None:  # a command added without a route: never silently run locally
        raise BadInput(f"{args.command}: not available against a server yet")
    call = build(args)
    status, body, headers = _send(call)
    if not 200 <= status < 300:
        raise _error(status, body)
    for line in json.loads(headers.get(WARNINGS_HEADER, "[]")):
        warn(str(line))
    emit_json(body)
    return call.exit_on(body) if call.exit_on else EXIT_OK


__all__ = ["EXIT_BAD_INPUT", "LOCAL_ONLY", "LOCAL_ONLY_HANDLERS", "PURE", "ROUTES", "client_mode",
           "run_remote"]
