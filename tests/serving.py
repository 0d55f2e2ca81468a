"""The real app behind a real gunicorn, on a database of a test's own, for tests that need processes:
worker timeouts, killed workers, exports streaming while other requests come in.

`served_database` makes and seeds the database (PostgreSQL beside TEST_DATABASE_URL, else a SQLite file);
`Gunicorn` serves `tests.served_app:app` on it and finds its worker processes through /proc.
"""

from __future__ import annotations

import http.client
import io
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from flask_migrate import upgrade
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from config import BASE_DIR, TestConfig
from tests.conftest import IS_POSTGRES
from webapp import create_app
from webapp.auth.services import create_user, issue_token, resolve_scope
from webapp.extensions import db
from webapp.geo.seed import seed_region
from webapp.geo.services import REGIONS_CSV, import_regions


def _dki_regions() -> io.StringIO:
    """The rows of the region table for DKI Jakarta (province 31) only: all a 31.01 world needs, in seconds."""
    with REGIONS_CSV.open(encoding="utf-8") as table:
        lines = [line for n, line in enumerate(table) if n == 0 or line.startswith(("31,", "31."))]
    return io.StringIO("".join(lines))


def fresh_database_url(suffix: str, tmp_dir: Path) -> str:
    """An empty database of a test's own: `<test database>_<suffix>` on PostgreSQL (dropped and made again),
    else a SQLite file in `tmp_dir`."""
    if not IS_POSTGRES:
        return f"sqlite:///{tmp_dir / f'{suffix}.db'}"
    url = make_url(TestConfig.SQLALCHEMY_DATABASE_URI)
    name = f"{url.database}_{suffix}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return url.set(database=name).render_as_string(hide_password=False)


def served_database(suffix: str, tmp_dir: Path, people: dict[str, tuple[str, str]]) -> tuple[str, dict[str, str]]:
    """A fresh database (`<test database>_<suffix>` on PostgreSQL) with DKI Jakarta's regions, Kepulauan Seribu
    (31.01) seeded, and `people` ({username: (role, scope)}) with a bearer token each; returns (url, tokens)."""
    uri = fresh_database_url(suffix, tmp_dir)

    class Setup(TestConfig):
        SQLALCHEMY_DATABASE_URI = uri

    app = create_app(Setup)
    tokens = {}
    with app.app_context():
        upgrade()
        import_regions(db.session, _dki_regions())
        seed_region(db.session, "31.01", app.config)
        for username, (role, scope) in people.items():
            user = create_user(
                db.session, username=username, role=role, scope=resolve_scope(db.session, scope), password="password123"
            )
            tokens[username] = issue_token(db.session, user)
        db.session.commit()
        db.engine.dispose()
    return uri, tokens


def app_for(uri: str):
    """An app on a served database, for a test to read what the server wrote."""

    class Reader(TestConfig):
        SQLALCHEMY_DATABASE_URI = uri

    return create_app(Reader)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Gunicorn:
    """`gunicorn tests.served_app:app` in a process of its own, with the repository's gunicorn.conf.py when
    there is one and the worker settings given here on top."""

    def __init__(self, uri: str, tmp_dir: Path, *, args: list[str], env: dict[str, str] | None = None):
        self.port = _free_port()
        self.log_path = tmp_dir / f"gunicorn-{self.port}.log"
        environment = {
            **os.environ,
            "JEJAK_SERVED_DATABASE": uri,
            "JEJAK_SERVED_SLOTS": str(tmp_dir / f"export-slots-{self.port}"),
            **(env or {}),
        }
        self._log = self.log_path.open("wb")
        # No control socket: its default path is one per user, and other servers may be running.
        command = [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{self.port}", "--no-control-socket"]
        self.process = subprocess.Popen(
            [*command, *args, "tests.served_app:app"],
            cwd=BASE_DIR,
            env=environment,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        self._wait_until_up()

    def _wait_until_up(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited: {self.log()}")
            try:
                if self.request("GET", "/api/v1/openapi.json", timeout=5)[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"gunicorn did not answer within {timeout} s: {self.log()}")

    def request(self, method: str, path: str, *, token: str | None = None, body=None, timeout: float = 30):
        """(status, headers, body bytes) of one request on a new connection."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            headers = {"Authorization": f"Bearer {token}"} if token else {}
            data = None
            if body is not None:
                data = json.dumps(body).encode()
                headers["Content-Type"] = "application/json"
            conn.request(method, path, body=data, headers=headers)
            response = conn.getresponse()
            return response.status, dict(response.getheaders()), response.read()
        finally:
            conn.close()

    def workers(self) -> list[int]:
        """The master's child processes (its workers), read from /proc."""
        children = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
            except OSError:  # gone meanwhile
                continue
            # pid (comm) state ppid ...: comm may hold spaces, so read after its closing parenthesis
            fields = stat[stat.rindex(")") + 2 :].split()
            if int(fields[1]) == self.process.pid and fields[0] != "Z":
                children.append(int(entry.name))
        return sorted(children)

    def requests_in_flight(self) -> dict[int, int]:
        """Each worker's open client connections (so a test can kill one that is serving a request): the
        TCP connections established to our port, matched to the workers' socket descriptors."""
        connections = set()
        for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
            fields = line.split()
            if fields[1].endswith(f":{self.port:04X}") and fields[3] == "01":  # local port, ESTABLISHED
                connections.add(fields[9])  # inode
        counts = {}
        for pid in self.workers():
            try:
                links = [os.readlink(fd) for fd in Path(f"/proc/{pid}/fd").iterdir()]
            except OSError:  # gone meanwhile
                continue
            counts[pid] = sum(link.startswith("socket:[") and link[8:-1] in connections for link in links)
        return counts

    def log(self) -> str:
        """What gunicorn and the app logged so far (the tail)."""
        self._log.flush()
        return self.log_path.read_text(errors="replace")[-4000:]

    def stop(self) -> None:
        """Stop the master and its workers; kill them if they take too long."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()
