"""A throw-away PostgreSQL server on 127.0.0.1 for tests (the history store's second engine).

Use it as a pytest fixture from any test directory (tests/conftest.py imports it)::

    def test_store(postgres_server):
        url = postgres_server.new_database()   # postgresql://patchpilot:<password>@127.0.0.1:<port>/<fresh db>
        url = postgres_server.new_schema()     # the same, a fresh schema of one database (faster)
        ...

``postgres_server`` is session-scoped: one cluster per test process (each pytest-xdist worker makes
its own), made with Debian's PostgreSQL binaries (``initdb``, ``pg_ctl``, ``postgres``: on PATH or in
/usr/lib/postgresql/<version>/bin) in a temporary folder, listening on 127.0.0.1 on a free port only
(no unix socket), scram-sha-256 password authentication for everyone, and a test role
``patchpilot`` WITH a password (URLs carry a password as production ones do). It is stopped and
removed at the end of the session. As root (the lab's test runs) the cluster belongs to the
``postgres`` user (initdb refuses root): it is made and started through ``runuser``.

A missing binary skips, or under PATCHPILOT_REQUIRE_TOOLS=1 fails (support.skips). Start time: about
1.5 s on the 2-core test machine (initdb most of it; ``fsync=off``: the data is thrown away).
"""

from __future__ import annotations

import glob
import os
import pwd
import secrets
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field

import pytest

from support.servers import LOOPBACK, free_port
from support.skips import missing, require_module

BINARIES = ("initdb", "pg_ctl", "postgres")
ROLE = "patchpilot"
ADMIN = "pp_admin"


def _bin_dir() -> str | None:
    """The folder holding initdb, pg_ctl and postgres: PATH first, then Debian's newest version."""
    found = [shutil.which(name) for name in BINARIES]
    if all(found) and len({os.path.dirname(os.path.realpath(f)) for f in found}) == 1:
        return os.path.dirname(os.path.realpath(found[0]))
    for folder in sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(p.split("/")[-2])
                         if p.split("/")[-2].isdigit() else 0, reverse=True):
        if all(os.access(os.path.join(folder, name), os.X_OK) for name in BINARIES):
            return folder
    return None


@dataclass
class PostgresServer:
    """A running throw-away cluster; :meth:`url` and :meth:`new_database` give password URLs."""
    port: int
    password: str = field(repr=False)
    admin_password: str = field(repr=False)
    root: str
    bin_dir: str
    as_user: list = field(default_factory=list)
    started_in: float = 0.0
    _count: int = 0

    @property
    def host(self) -> str:
        return LOOPBACK

    def url(self, database: str = ROLE, user: str = ROLE, password: str | None = None) -> str:
        return f"postgresql://{user}:{password or self.password}@{LOOPBACK}:{self.port}/{database}"

    def admin_url(self, database: str = "postgres") -> str:
        return self.url(database, ADMIN, self.admin_password)

    def new_database(self, prefix: str = "t") -> str:
        """A fresh empty database owned by the test role; its URL."""
        import psycopg  # pylint: disable=import-outside-toplevel

        self._count += 1
        name = f"{prefix}_{os.getpid()}_{self._count}"
        with psycopg.connect(self.admin_url(), autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{name}" OWNER {ROLE} TEMPLATE template0')
        return self.url(name)

    def new_schema(self, prefix: str = "s") -> str:
        """A fresh empty schema of the test role's database (cheaper than a database: no copy); a URL
        whose connections use it (libpq ``options=-csearch_path=...``)."""
        self._count += 1
        name = f"{prefix}_{os.getpid()}_{self._count}"
        self.sql(self.url(), f'CREATE SCHEMA "{name}"')
        return f"{self.url()}?options=-csearch_path%3D{name}"

    def sql(self, url: str, statement: str, args=()) -> list:
        """Run one statement on ``url`` (as its user: a test editing rows behind a store); its rows."""
        import psycopg  # pylint: disable=import-outside-toplevel

        with psycopg.connect(url, autocommit=True) as conn:
            cursor = conn.execute(statement, args or None)
            return cursor.fetchall() if cursor.description else []

    def _ctl(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run(self.as_user + [os.path.join(self.bin_dir, "pg_ctl"), "-D", self.data, *args],
                              capture_output=True, text=True, timeout=60, check=False)

    @property
    def data(self) -> str:
        return os.path.join(self.root, "data")

    def stop(self) -> None:
        self._ctl("stop", "-m", "immediate", "-w")


def start_server() -> PostgresServer:
    """Make and start a cluster (see the module's doc); the caller stops it and removes ``root``."""
    bin_dir = _bin_dir()
    if bin_dir is None:
        missing("needs PostgreSQL's initdb, pg_ctl and postgres (Debian: apt-get install postgresql; ./dev setup)")
    require_module("psycopg", "pip install -r requirements.txt")
    began = time.monotonic()
    as_user: list = []
    owner = None
    if os.geteuid() == 0:
        try:
            owner = pwd.getpwnam("postgres")
        except KeyError:
            missing("running as root needs the postgres user to own the test cluster (Debian's postgresql package)")
        as_user = ["runuser", "-u", "postgres", "--"]
    root = tempfile.mkdtemp(prefix="patchpilot-pg-")
    server = PostgresServer(port=0, password="pw-" + secrets.token_urlsafe(12),
                            admin_password="adm-" + secrets.token_urlsafe(12), root=root, bin_dir=bin_dir,
                            as_user=as_user)
    try:
        pwfile = os.path.join(root, "admin.pw")
        with open(os.open(pwfile, os.O_CREAT | os.O_WRONLY | os.O_EXCL, 0o600), "w", encoding="utf-8") as handle:
            handle.write(server.admin_password + "\n")
        if owner is not None:
            os.chown(root, owner.pw_uid, owner.pw_gid)
            os.chown(pwfile, owner.pw_uid, owner.pw_gid)
        subprocess.run(as_user + [os.path.join(bin_dir, "initdb"), "-D", server.data, "-U", ADMIN, "--pwfile", pwfile,
                                  "--auth=scram-sha-256", "-E", "UTF8", "--locale=C", "--no-sync"],
                       capture_output=True, text=True, timeout=120, check=True)
        os.unlink(pwfile)
        with open(os.path.join(server.data, "postgresql.conf"), "a", encoding="utf-8") as conf:
            conf.write(f"listen_addresses = '{LOOPBACK}'\nunix_socket_directories = ''\nfsync = off\n"
                       "synchronous_commit = off\nfull_page_writes = off\nmax_connections = 40\n"
                       "shared_buffers = 16MB\n")
        with open(os.path.join(server.data, "pg_hba.conf"), "w", encoding="utf-8") as hba:
            hba.write(f"host all all {LOOPBACK}/32 scram-sha-256\n")
        for _attempt in range(3):  # another process may take the free port first
            server.port = free_port()
            started = server._ctl("start", "-w", "-t", "60", "-l", os.path.join(server.root, "server.log"),
                                  "-o", f"-p {server.port}")
            if started.returncode == 0:
                break
        else:
            log = ""
            try:
                with open(os.path.join(server.root, "server.log"), encoding="utf-8") as handle:
                    log = handle.read()[-2000:]
            except OSError:
                pass
            raise RuntimeError(f"PostgreSQL test cluster did not start: {started.stderr}{log}")
        import psycopg  # pylint: disable=import-outside-toplevel

        with psycopg.connect(server.admin_url(), autocommit=True) as admin:
            admin.execute(f"CREATE ROLE {ROLE} LOGIN PASSWORD '{server.password}'")  # token_urlsafe: no quote
            admin.execute(f"CREATE DATABASE {ROLE} OWNER {ROLE}")
    except BaseException:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)
        raise
    server.started_in = time.monotonic() - began
    return server


@pytest.fixture(scope="session")
def postgres_server():
    """A throw-away PostgreSQL server on 127.0.0.1 for the test process (see the module's doc)."""
    server = start_server()
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(server.root, ignore_errors=True)
