"""A local PostgreSQL cluster with peer authentication, for `evalkit hub --demo` and the tests.

In production the operator's server is configured the same way (docs/operators.md): every local connection goes
through the server's Unix socket with peer authentication, mapped by ``pg_ident.conf`` so that root (the hub) is
the database's owner ``postgres`` and every other system user is the role of the same name; TCP connections
need a password (``scram-sha-256``), never ``trust``. The cluster belongs to the ``postgres`` system user
(PostgreSQL refuses to run as root); its socket folder is open to every user, its data folder to ``postgres`` only.
"""
from __future__ import annotations

import glob
import os
import pwd
import socket
import subprocess
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa

__all__ = ["PG_HBA", "PG_IDENT", "bindir", "LocalCluster"]

#: pg_hba.conf: peer authentication over the socket (through the ``evalkit`` map), passwords over TCP.
PG_HBA = """\
# evalkit hub: local connections are peer-authenticated (the system user is the database role, see pg_ident.conf);
# TCP connections need a password. Never `trust`.
local   all   all                    peer map=evalkit
host    all   all   127.0.0.1/32     scram-sha-256
host    all   all   ::1/128          scram-sha-256
"""

#: pg_ident.conf: root (the hub, its services) acts as the owner role ``postgres``; every other system user as
#: the role of its own name.
PG_IDENT = """\
# MAPNAME  SYSTEM-USERNAME  PG-USERNAME
evalkit    root             postgres
evalkit    postgres         postgres
evalkit    /^(.*)$          \\1
"""

def bindir() -> Path | None:
    """The newest installed PostgreSQL server's ``bin`` folder (Debian: /usr/lib/postgresql/N/bin), or None."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=lambda p: int(Path(p).parts[-3]))
    return Path(found[-1]).parent if found else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class LocalCluster:
    """A cluster in ``base`` (``data/`` 0700 and ``sock/`` 0755, owned by ``postgres``), listening on its Unix
    socket only. :meth:`start` makes it on first use; :meth:`stop` stops it (the data stays)."""

    base: Path
    port: int = 0
    database: str = "evalkit"

    @property
    def data(self) -> Path:
        return self.base / "data"

    @property
    def socket_dir(self) -> Path:
        return self.base / "sock"

    @property
    def log(self) -> Path:
        return self.data / "server.log"  # the postgres user writes it: inside its own folder

    def owner_url(self, database: str | None = None) -> str:
        """The owner's URL (root connects as ``postgres`` through the ident map)."""
        return (f"postgresql+psycopg://postgres@/{database or self.database}?host={self.socket_dir}"
                f"&port={self.port}")

    def _run(self, *command: str) -> subprocess.CompletedProcess:
        done = subprocess.run(["runuser", "-u", "postgres", "--", *command], capture_output=True, text=True)
        if done.returncode:
            raise RuntimeError(f"{Path(command[0]).name} failed: {(done.stderr or done.stdout).strip()[-500:]}")
        return done

    def start(self) -> "LocalCluster":
        """Make the cluster if it is not there, start it, and make the database. Needs root and the server."""
        binaries = bindir()
        if binaries is None:
            raise RuntimeError("the PostgreSQL server is not installed (bash scripts/system_packages.sh)")
        owner = pwd.getpwnam("postgres")
        self.base.mkdir(parents=True, exist_ok=True)
        os.chmod(self.base, 0o755)
        port_file = self.base / "port"
        if not (self.data / "PG_VERSION").exists():
            for folder in (self.data, self.socket_dir):
                folder.mkdir(exist_ok=True)
                os.chown(folder, owner.pw_uid, owner.pw_gid)
            os.chmod(self.data, 0o700)
            self._run(str(binaries / "initdb"), "-D", str(self.data), "-U", "postgres", "-A", "peer", "-E", "UTF8",
                      "--no-sync")
            for name, text in (("pg_hba.conf", PG_HBA), ("pg_ident.conf", PG_IDENT)):
                (self.data / name).write_text(text)
                os.chown(self.data / name, owner.pw_uid, owner.pw_gid)
        os.chmod(self.socket_dir, 0o755)
        if not self.port:
            self.port = int(port_file.read_text()) if port_file.exists() else _free_port()
        port_file.write_text(str(self.port))
        status = subprocess.run(["runuser", "-u", "postgres", "--", str(binaries / "pg_ctl"), "-D", str(self.data),
                                 "status"], capture_output=True)
        if status.returncode != 0:  # not already running (an earlier start that was not stopped)
            self._run(str(binaries / "pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-w", "-t", "60", "-o",
                      f"-p {self.port} -k {self.socket_dir} -c listen_addresses='' -c fsync=off", "start")
        engine = sa.create_engine(self.owner_url("postgres"), isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as conn:
                if conn.execute(sa.text("SELECT 1 FROM pg_database WHERE datname = :d"),
                                {"d": self.database}).first() is None:
                    conn.exec_driver_sql(f'CREATE DATABASE "{self.database}"')
        finally:
            engine.dispose()
        return self

    def stop(self) -> None:
        """Stop the server (fast shutdown: sessions are ended)."""
        binaries = bindir()
        if binaries is not None and (self.data / "postmaster.pid").exists():
            subprocess.run(["runuser", "-u", "postgres", "--", str(binaries / "pg_ctl"), "-D", str(self.data),
                            "-m", "fast", "-w", "stop"], capture_output=True)
