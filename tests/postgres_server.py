"""A throwaway PostgreSQL server for tests: initdb in a temporary folder, ``postgres`` on 127.0.0.1 and a free
port, waited for by its own readiness mark (never a fixed sleep), stopped and removed at the end.

The binaries are found on PATH or in Debian's ``/usr/lib/postgresql/<version>/bin``; ``.ci/run`` installs
them on a fresh machine. PostgreSQL refuses to run as root, so as root the server runs as the ``postgres``
user (or ``nobody``) in a folder that user owns. Where no binaries are found, ``find_binaries`` says why;
the fixtures skip with that reason, or fail when ``SPRINGBOARD_REQUIRE_POSTGRES=1`` (CI).
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

READY_CEILING_S = 60.0
"""How long the server may take to accept connections (generous: a wait ends as soon as it is ready)."""

REQUIRED = os.environ.get("SPRINGBOARD_REQUIRE_POSTGRES") == "1"
"""In CI a test that needs the server fails instead of skipping when it cannot have one."""


def find_binaries() -> tuple[Path | None, str]:
    """The folder holding ``initdb`` and ``postgres`` (newest Debian version first), or None and why not."""
    candidates: list[Path] = []
    on_path = shutil.which("initdb")
    if on_path:
        candidates.append(Path(on_path).resolve().parent)
    debian = sorted(
        Path("/usr/lib/postgresql").glob("*/bin"),
        key=lambda folder: int(folder.parent.name) if folder.parent.name.isdigit() else 0,
        reverse=True,
    )
    candidates.extend(debian)
    for folder in candidates:
        if (folder / "initdb").is_file() and (folder / "postgres").is_file():
            return folder, ""
    return None, (
        "no PostgreSQL server binaries (initdb and postgres) on PATH or in /usr/lib/postgresql/*/bin; "
        "install the Debian 'postgresql' package (.ci/run does) to run the PostgreSQL tests"
    )


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _server_user() -> pwd.struct_passwd | None:
    """Who runs the server: None (ourselves) unless we are root, which PostgreSQL refuses."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        with contextlib.suppress(KeyError):
            return pwd.getpwnam(name)
    raise RuntimeError("running as root, and neither a 'postgres' nor a 'nobody' user exists to run PostgreSQL")


@dataclass
class PostgresServer:
    """A running server: ``url(database)`` to connect, ``stop()`` to end it and remove its folder."""

    folder: Path
    port: int
    process: subprocess.Popen[bytes]
    user: str = "springboard"
    launch: Callable[[int], subprocess.Popen[bytes]] | None = None
    """Starts the server again on the same folder and a given port (for ``restart``)."""

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{self.user}@127.0.0.1:{self.port}/{database}"

    async def create(self, kind: str, name: str) -> str:
        """``CREATE SCHEMA`` or ``CREATE DATABASE`` (``kind``) ``name`` on this server; returns ``name``."""
        import asyncpg

        admin = await asyncpg.connect(self.url())
        try:
            await admin.execute(f"CREATE {kind} {name}")
        finally:
            await admin.close()
        return name

    def _shut_down(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)  # fast shutdown: roll back sessions, stop at once
            try:
                self.process.wait(timeout=READY_CEILING_S)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def restart(self, down_for: float) -> None:
        """Shut the server down (every session ends), stay down ``down_for`` seconds, start it again on the
        same port and data, and return once it accepts connections: an outage as a failover makes one."""
        assert self.launch is not None
        self._shut_down()
        time.sleep(down_for)  # the outage itself, not a wait for an event
        self.process = self.launch(self.port)
        if not _wait_ready(self.folder / "data", self.process):
            raise RuntimeError(f"PostgreSQL did not start again; its log ends:\n{_log_tail(self.folder)}")

    def stop(self) -> None:
        self._shut_down()
        shutil.rmtree(self.folder, ignore_errors=True)


def _log_tail(folder: Path) -> str:
    log = folder / "server.log"
    return log.read_text(errors="replace")[-2000:] if log.exists() else "(no log)"


def start_server(binaries: Path) -> PostgresServer:
    """initdb a cluster in a fresh temporary folder and start it on loopback; waits until it accepts connections."""
    runner = _server_user()
    folder = Path(tempfile.mkdtemp(prefix="springboard-pg-"))
    as_user: dict[str, int] = {}
    if runner is not None:
        os.chown(folder, runner.pw_uid, runner.pw_gid)
        as_user = {"user": runner.pw_uid, "group": runner.pw_gid, "extra_groups": []}
    data = folder / "data"
    env = {**os.environ, "LC_ALL": "C", "LANG": "C"}
    if runner is not None:
        env["HOME"] = str(folder)
    subprocess.run(
        [
            str(binaries / "initdb"),
            "-D",
            str(data),
            "-U",
            "springboard",
            "--auth=trust",
            "--encoding=UTF8",
            "--locale=C",
            "--no-sync",
            "--no-instructions",
        ],
        check=True,
        capture_output=True,
        cwd=folder,
        env=env,
        **as_user,  # type: ignore[arg-type]
    )

    def launch(port: int) -> subprocess.Popen[bytes]:
        with open(folder / "server.log", "ab") as log:
            return subprocess.Popen(
                [
                    str(binaries / "postgres"),
                    "-D",
                    str(data),
                    "-p",
                    str(port),
                    "-c",
                    "listen_addresses=127.0.0.1",
                    "-c",
                    f"unix_socket_directories={folder}",
                    # A throwaway cluster: durability is not what these tests check, speed is welcome.
                    "-c",
                    "fsync=off",
                    "-c",
                    "synchronous_commit=off",
                    "-c",
                    "full_page_writes=off",
                    "-c",
                    "max_connections=100",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=folder,
                env=env,
                **as_user,  # type: ignore[arg-type]
            )

    for _attempt in range(3):  # a free port can be taken between choosing and binding it
        port = _free_port()
        server = PostgresServer(folder, port, launch(port), launch=launch)
        if _wait_ready(data, server.process):
            return server
        server.process.wait()
    tail = _log_tail(folder)
    shutil.rmtree(folder, ignore_errors=True)
    raise RuntimeError(f"PostgreSQL did not start; its log ends:\n{tail}")


def _wait_ready(data: Path, process: subprocess.Popen[bytes]) -> bool:
    """Wait until the postmaster marks itself ready in postmaster.pid (True), or exits (False)."""
    deadline = time.monotonic() + READY_CEILING_S
    pid_file = data / "postmaster.pid"
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return False
        with contextlib.suppress(OSError):
            lines = pid_file.read_text().splitlines()
            if len(lines) >= 8 and lines[7].strip() == "ready":  # LOCK_FILE_LINE_PM_STATUS
                return True
        time.sleep(0.02)  # polling for an event, bounded by the ceiling
    process.kill()
    process.wait()
    raise RuntimeError(
        f"PostgreSQL was not ready within {READY_CEILING_S:.0f} s; its log ends:\n{_log_tail(data.parent)}"
    )
