"""Files that hold trial data are private to the server's user (no Django import).

The SQLite database holds the arms, the unused list rows and the seed; mail files hold
unmasking notices; the secret key signs sessions. They are created mode 0600 in a 0700
directory rather than under a process-wide umask: a umask set in settings would also apply to
everything else the process writes (static files a proxy serves, a statistician's export to
a shared folder) and would depend on settings being imported first.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

PRIVATE_DIR_MODE = 0o700
PRIVATE_FILE_MODE = 0o600
SQLITE_SIDE_FILES = ("-wal", "-shm", "-journal")
"""SQLite creates these next to the database with the database file's own mode."""


def _tighten(path: Path, fd: int | None = None) -> None:
    """Drop group and other permission bits of a file or directory we own."""
    info = os.fstat(fd) if fd is not None else path.stat()
    if info.st_uid != os.geteuid() or not info.st_mode & 0o077:
        return
    mode = stat.S_IMODE(info.st_mode) & 0o700
    if fd is not None:
        os.fchmod(fd, mode)
    else:
        path.chmod(mode)


def private_dir(path: Path) -> Path:
    """Create ``path`` (and parents) mode 0700, or take group/other access off it if ours."""
    path.mkdir(mode=PRIVATE_DIR_MODE, parents=True, exist_ok=True)
    _tighten(path)
    return path


def private_file(path: Path) -> Path:
    """Create ``path`` empty with mode 0600 unless it exists (never truncated); an existing
    file we own loses group/other access. The parent directory must exist."""
    fd = os.open(path, os.O_RDONLY | os.O_CREAT, PRIVATE_FILE_MODE)
    try:
        _tighten(path, fd)
    finally:
        os.close(fd)
    return path


def private_sqlite_database(path: Path) -> None:
    """Make a SQLite database file 0600 before SQLite opens it (its -wal, -shm and -journal
    files then inherit the mode); tighten side files left by an older run. Does nothing when
    the directory does not exist (SQLite reports that itself)."""
    if not path.parent.is_dir():
        return
    private_file(path)
    for suffix in SQLITE_SIDE_FILES:
        side = path.with_name(path.name + suffix)
        if side.exists():
            _tighten(side)
