"""The desk in a real terminal: it paints first, and an engine that cannot start closes it
with one line and exit status 1."""

from __future__ import annotations

import os
import pty
import re
import select
import subprocess
import sys
import time
from pathlib import Path

from tests.test_daemon import daemon_env

ROOT = Path(__file__).resolve().parent.parent


def run_in_terminal(env: dict[str, str], cwd: Path, limit_s: float = 90.0) -> tuple[int, str]:
    """Run the desk on a pseudo-terminal until it exits; its status and all it printed."""
    main, child = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "alphapt_tui"],
        env={**env, "TERM": "xterm-256color", "PYTHONPATH": str(ROOT)},
        cwd=cwd,
        stdin=child,
        stdout=child,
        stderr=child,
        close_fds=True,
    )
    os.close(child)
    output = bytearray()
    deadline = time.monotonic() + limit_s
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([main], [], [], 0.2)
            if ready:
                try:
                    chunk = os.read(main, 65536)
                except OSError:  # the terminal closed with the process
                    break
                if not chunk:
                    break
                output += chunk
            elif process.poll() is not None:
                break
        return process.wait(timeout=10), output.decode(errors="replace")
    finally:
        if process.poll() is None:
            process.kill()
        os.close(main)


def test_an_engine_that_cannot_start_closes_the_desk_with_one_line(tmp_path: Path) -> None:
    env = daemon_env(
        tmp_path,
        ALPHAPT_METRICS__ENABLED="false",
        ALPHAPT_STORAGE__ENABLED="false",
        ALPHAPT_LEDGER__URL="postgresql+asyncpg://nobody@127.0.0.1:1/ledger",
        ALPHAPT_LEDGER__CONNECT_TIMEOUT_S="1",
    )
    status, printed = run_in_terminal(env, tmp_path)
    assert status == 1
    # The desk drew its first screen before the engine gave up...
    drawn = re.sub(r"\x1b\[[0-9;?<>=$]*[A-Za-z~]", "", printed)
    assert "Symbol" in drawn and "connecting to engine" in drawn
    # ...and the reason is one line on the restored terminal, with no traceback.
    tail = re.sub(r"\x1b\[[0-9;?<>=$]*[A-Za-z~]", "", printed.rsplit("\x1b[?1049l", 1)[-1])
    lines = [line for line in tail.replace("\r", "").split("\n") if line.strip()]
    assert len(lines) == 1, lines
    assert lines and lines[0].startswith("alphapt-tui: execution could not start: ledger")
    assert "Traceback" not in printed
