"""Strict parsing of the environment for the settings module (DESIGN.md principle 8).

Every function raises :class:`ConfigError` naming the variable when its value is malformed, so
a bad deployment stops at start-up with a message instead of running half-configured.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qsl, unquote, urlsplit

from django.core.exceptions import ImproperlyConfigured


class ConfigError(ImproperlyConfigured):
    """A configuration value is malformed; the message names the variable. It is Django's
    ``ImproperlyConfigured``, so the command line reports it in one line without importing
    this package."""


_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ConfigError(f"{name}: expected one of 1/0, true/false, yes/no, on/off, got {raw!r}")


def env_int(name: str, default: int, *, minimum: int = 0) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw.strip())
    except ValueError:
        raise ConfigError(f"{name}: expected an integer, got {raw!r}") from None
    if value < minimum:
        raise ConfigError(f"{name}: must be >= {minimum}, got {value}")
    return value


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None:
        return default
    items = [item.strip() for item in raw.split(",")]
    if any(not item for item in items):
        raise ConfigError(f"{name}: empty entry in comma-separated list {raw!r}")
    for item in items:
        if any(ch.isspace() for ch in item) or "/" in item:
            raise ConfigError(f"{name}: {item!r} is not a host name")
    return items


@dataclass(frozen=True)
class DatabaseConfig:
    engine: str
    name: str
    user: str = ""
    password: str = ""
    host: str = ""
    port: str = ""
    options: dict[str, str] | None = None

    def as_django(self) -> dict[str, object]:
        return {
            "ENGINE": self.engine,
            "NAME": self.name,
            "USER": self.user,
            "PASSWORD": self.password,
            "HOST": self.host,
            "PORT": self.port,
            "OPTIONS": dict(self.options or {}),
            "ATOMIC_REQUESTS": False,
            "CONN_MAX_AGE": 0,
        }


def parse_database_url(url: str, *, base_dir: Path) -> DatabaseConfig:
    """Parse ``DATABASE_URL``: ``sqlite:///path`` (relative to the project) or
    ``postgres://user:pass@host:port/name``."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme == "sqlite":
        path = unquote(parts.path)
        if parts.netloc:
            raise ConfigError(f"DATABASE_URL: sqlite URL must be sqlite:///path, got {url!r}")
        if path in ("", "/"):
            raise ConfigError("DATABASE_URL: sqlite URL names no file")
        if path == "/:memory:":
            return DatabaseConfig("django.db.backends.sqlite3", ":memory:")
        # sqlite:///var/db.sqlite3 -> relative; sqlite:////abs/path -> absolute
        rel = path[1:]
        file = Path(rel) if rel.startswith("/") else base_dir / rel
        return DatabaseConfig("django.db.backends.sqlite3", str(file))
    if scheme in ("postgres", "postgresql", "pgsql"):
        name = unquote(parts.path.lstrip("/"))
        if not name or "/" in name:
            raise ConfigError(f"DATABASE_URL: PostgreSQL URL must name one database, got {url!r}")
        try:
            port = parts.port
        except ValueError:
            raise ConfigError("DATABASE_URL: port is not a number") from None
        options = dict(parse_qsl(parts.query, keep_blank_values=False))
        return DatabaseConfig(
            "django.db.backends.postgresql",
            name,
            user=unquote(parts.username or ""),
            password=unquote(parts.password or ""),
            host=parts.hostname or "",
            port=str(port) if port else "",
            options=options,
        )
    raise ConfigError(
        f"DATABASE_URL: unsupported scheme {scheme or '(none)'!r}; use sqlite:/// or postgres://"
    )
