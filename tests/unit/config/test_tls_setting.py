"""BEHIND_TLS_PROXY, formerly HTTPS: the old name is the CGI variable that wsgiref (runserver)
copies from the process environment into every request, so plain HTTP counted as HTTPS."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

# Sends one plain-HTTP request through runserver's own handler (wsgiref) to Django.
REQUEST_THROUGH_RUNSERVER_HANDLER = """
import io, os, django
os.environ["DJANGO_SETTINGS_MODULE"] = "combat_norse.config.settings"
django.setup()
from django.conf import settings
from django.core.handlers.wsgi import WSGIHandler
from django.core.servers.basehttp import ServerHandler
environ = {"REQUEST_METHOD": "GET", "PATH_INFO": "/accounts/login/", "QUERY_STRING": "",
           "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "8000", "HTTP_HOST": "127.0.0.1:8000",
           "SERVER_PROTOCOL": "HTTP/1.1", "CONTENT_LENGTH": "0", "REMOTE_ADDR": "127.0.0.1"}
out = io.BytesIO()
handler = ServerHandler(io.BytesIO(), out, io.StringIO(), environ)
handler.request_handler = type("Log", (), {"log_request": lambda *args: None, "server": None,
                                           "close_connection": True})()
handler.run(WSGIHandler())
head = out.getvalue().split(b"\\r\\n\\r\\n")[0].decode()
print(settings.SESSION_COOKIE_SECURE, head.splitlines()[0].split()[1],
      [line for line in head.splitlines() if line.startswith("Location:")])
"""


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("HTTPS", "BEHIND_TLS_PROXY", "SECRET_KEY")}  # fmt: skip
    env.update(VAR_DIR=str(tmp_path), **extra)
    return env


def _python(code: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                          text=True, timeout=120, check=False)  # fmt: skip


def test_behind_tls_proxy_redirects_a_plain_http_request_made_through_runserver(
    tmp_path: Path,
) -> None:
    done = _python(REQUEST_THROUGH_RUNSERVER_HANDLER, _env(tmp_path, BEHIND_TLS_PROXY="1"))
    assert done.returncode == 0, done.stderr
    assert done.stdout.split(maxsplit=2)[:2] == ["True", "301"], done.stdout
    assert "Location: https://127.0.0.1:8000/accounts/login/" in done.stdout


def test_plain_http_is_plain_http_without_the_setting(tmp_path: Path) -> None:
    done = _python(REQUEST_THROUGH_RUNSERVER_HANDLER, _env(tmp_path, BEHIND_TLS_PROXY="0"))
    assert done.returncode == 0, done.stderr
    assert done.stdout.split(maxsplit=2)[:2] == ["False", "200"], done.stdout


@pytest.mark.parametrize("value", ["1", "on", "yes", "true", "TRUE"])
def test_old_https_variable_stops_start_up_naming_it(tmp_path: Path, value: str) -> None:
    done = _python("import combat_norse.config.settings", _env(tmp_path, HTTPS=value))
    assert done.returncode != 0
    last = done.stderr.strip().splitlines()[-1]
    assert "HTTPS" in last and "BEHIND_TLS_PROXY" in last


@pytest.mark.parametrize("value", ["", "0", "off"])
def test_an_off_https_variable_is_harmless(tmp_path: Path, value: str) -> None:
    code = "import combat_norse.config.settings as s; print(s.SESSION_COOKIE_SECURE)"
    done = _python(code, _env(tmp_path, HTTPS=value))
    assert (done.returncode, done.stdout.strip()) == (0, "False"), done.stderr


@pytest.mark.parametrize("value", ["2", "perhaps", "https"])
def test_malformed_behind_tls_proxy_stops_start_up_naming_it(tmp_path: Path, value: str) -> None:
    done = _python("import combat_norse.config.settings", _env(tmp_path, BEHIND_TLS_PROXY=value))
    assert done.returncode != 0
    assert "BEHIND_TLS_PROXY" in done.stderr.strip().splitlines()[-1]
