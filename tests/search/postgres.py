"""A throw-away PostgreSQL server for tests: ``initdb`` in a temporary directory, started
on a free local port, stopped and removed at the end. As root, the server runs as the
``postgres`` (else ``nobody``) user, since PostgreSQL refuses to run as root."""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def pg_bin() -> Path | None:
    """The directory of PostgreSQL's server programs (Debian: /usr/lib/postgresql/<v>/bin)."""
    found = shutil.which("pg_ctl")
    if found:
        return Path(found).resolve().parent
    versions = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    return Path(versions[-1]).parent if versions else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _user() -> str | None:
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        try:
            pwd.getpwnam(name)
            return name
        except KeyError:
            continue
    return None


@contextmanager
def postgres_server(database: str = "ador") -> Iterator[str]:
    """Yield the URL of a fresh database on a temporary server."""
    bindir = pg_bin()
    assert bindir is not None
    user = _user()
    root = Path(tempfile.mkdtemp(prefix="ador-pg-"))
    data, port = root / "data", _free_port()
    prefix = ["runuser", "-u", user, "--"] if user else []
    if user:
        pw = pwd.getpwnam(user)
        os.chown(root, pw.pw_uid, pw.pw_gid)
    role = user or pwd.getpwuid(os.geteuid()).pw_name

    def run(*cmd: str) -> None:
        subprocess.run([*prefix, *cmd], check=True, capture_output=True, cwd=root, timeout=60)

    try:
        run(str(bindir / "initdb"), "-D", str(data), "-A", "trust", "-U", role, "--no-sync")
        run(str(bindir / "pg_ctl"), "-D", str(data), "-l", str(root / "log"), "-w", "-o",
            f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off", "start")
        try:
            run(str(bindir / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", role,
                database)
            yield f"postgresql+psycopg2://{role}@127.0.0.1:{port}/{database}"
        finally:
            run(str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop")
    finally:
        shutil.rmtree(root, ignore_errors=True)
