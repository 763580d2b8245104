"""The command line as an API client (issue 18): what only this mode does. The contracts
themselves (same JSON, same exit statuses) are the §13/§14 tests, which run in both modes
(``cli_face`` in tests/integration/conftest.py)."""

from __future__ import annotations

import argparse
import logging
from typing import Any

import pytest
from tests.integration.crf.conftest import run

from combat_norse.cli.client import (
    LOCAL_ONLY,
    LOCAL_ONLY_HANDLERS,
    PURE,
    ROUTES,
    TOKEN_ENV,
    URL_ENV,
)
from combat_norse.cli.main import build_parser

pytestmark = pytest.mark.req("§13", "#18")


def _handlers(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()) -> dict[str, str]:
    """Every leaf command's words → its handler's name."""
    found: dict[str, str] = {}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, child in action.choices.items():
                found |= _handlers(child, (*path, name))
    func = parser.get_default("func")
    if func is not None and not found:
        found[" ".join(path)] = func.__name__
    return found


def test_every_command_runs_against_a_server_or_says_why_not() -> None:
    """A command added later fails here until it has a route (or is pure or local only)."""
    handlers = _handlers(build_parser(None))
    remote = {words: name for words, name in handlers.items()
              if words.split()[0] not in PURE | LOCAL_ONLY
              and name not in LOCAL_ONLY_HANDLERS}  # fmt: skip
    assert sorted(w for w, name in remote.items() if name not in ROUTES) == []
    assert set(ROUTES) <= set(handlers.values())


@pytest.fixture
def server(live_server: Any, trial_sites: None, personas: Any,
           monkeypatch: pytest.MonkeyPatch) -> str:  # fmt: skip
    from combat_norse.accounts.tokens import do_create_token

    token = do_create_token(personas.coord, personas.coord).token
    for name in ("django.request", "django.server"):  # the server thread's request log is
        monkeypatch.setattr(logging.getLogger(name), "disabled", True)  # not the command's
    monkeypatch.setenv(URL_ENV, live_server.url)
    monkeypatch.setenv(TOKEN_ENV, token)
    return token


@pytest.mark.django_db(transaction=True)
def test_the_tokens_user_acts_and_as_is_refused(
    server: str, capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    code, out, err = run(capsys, "sites")
    assert code == 0 and len(out["sites"]) == 33
    code, out, err = run(capsys, "screening", "list")  # --as is not required here
    assert (code, out) == (0, {"screenings": []})
    code, out, err = run(capsys, "screening", "list", "--as", "coord")
    assert (code, out) == (3, None) and err.startswith("refused: role: --as is not accepted")


@pytest.mark.django_db(transaction=True)
def test_server_operators_commands_stay_on_the_server(
    server: str, capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    for argv in (["audit", "verify"], ["clocks"],
                 ["user", "add", "newbie", "--role", "monitor", "--site", "YNH"]):  # fmt: skip
        code, out, err = run(capsys, *argv)
        assert (code, out) == (2, None), argv
        assert err.startswith(f"error: {argv[0]}: a server operator's command"), argv
    code, out, err = run(capsys, "token", "create")
    assert (code, out) == (2, None) and "never with a token" in err, err


@pytest.mark.django_db(transaction=True)
def test_the_tokens_user_lists_and_revokes_their_own_tokens(
    server: str, personas: Any, capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    from combat_norse.accounts.tokens import do_create_token

    spare = do_create_token(personas.coord, personas.coord).row.prefix
    others = do_create_token(personas.monitor, personas.monitor).row.prefix
    code, out, _ = run(capsys, "token", "list")
    assert code == 0 and {t["prefix"] for t in out["tokens"]} == {server[3:11], spare}
    assert server not in str(out)  # never the token itself
    code, out, err = run(capsys, "token", "revoke", others)  # another user's: as unknown
    assert (code, out) == (2, None) and err.startswith("error:"), err
    code, out, _ = run(capsys, "token", "revoke", spare)
    assert code == 0 and out["prefix"] == spare and out["revoked_at"]
    code, out, _ = run(capsys, "token", "revoke", server[3:11])  # the one in use
    assert code == 0
    code, out, err = run(capsys, "sites")
    assert (code, out) == (3, None) and err.startswith("refused: token:"), err


@pytest.mark.django_db(transaction=True)
def test_a_pure_command_still_runs_here(server: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "dose", "--drug", "anakinra", "--weight-kg", "70")
    assert code == 0 and out


@pytest.mark.django_db(transaction=True)
def test_a_bad_or_revoked_token_is_refused_token(
    server: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    monkeypatch.setenv(TOKEN_ENV, "cn_00000000_" + "x" * 43)
    code, out, err = run(capsys, "sites")
    assert (code, out, err) == (3, None, "refused: token: unknown token\n")


@pytest.mark.parametrize("url", ["http://127.0.0.1:9", "ftp://example.invalid", "localhost"])
def test_an_unreachable_or_malformed_server_address_is_bad_input(
    url: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    monkeypatch.setenv(URL_ENV, url)
    monkeypatch.setenv(TOKEN_ENV, "cn_00000000_x")
    code, out, err = run(capsys, "participant", "show", "YNH-001")
    assert (code, out) == (2, None) and err.startswith("error:"), err
    assert "cn_00000000_x" not in err  # the token is never echoed


@pytest.mark.django_db(transaction=True)
def test_files_and_options_are_checked_here_before_anything_is_sent(
    server: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
    tmp_path: Any,
) -> None:  # fmt: skip
    bad = tmp_path / "bad.json"
    bad.write_text('{"a": 1, "a": 2}')
    code, out, err = run(capsys, "screening", "add", str(bad), "--site", "YNH")
    assert (code, out) == (2, None) and ("twice" in err or "duplicate" in err), err
    code, out, err = run(capsys, "form", "show", "YNH-001", "baseline", "baseline",
                         "--instance", "0")  # fmt: skip
    assert (code, out) == (2, None) and err.startswith("error: instance:")
    code, out, err = run(capsys, "participant", "correct-onset", "YNH-001", "--se-onset",
                         "2026-01-01T00:00:00", "--reason", "x")  # fmt: skip
    assert (code, out) == (2, None) and "UTC offset" in err
