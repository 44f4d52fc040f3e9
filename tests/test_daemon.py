"""``alphapt-tui --no-ui`` as a real subprocess: metrics, health, clean SIGTERM."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest


def daemon_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ALPHAPT_")}
    env.update(
        {
            "ALPHAPT_DATA_DIR": str(tmp_path / "data"),
            "ALPHAPT_METRICS__PORT": "0",
            "ALPHAPT_FEED__TICKS_PER_SECOND": "2000",
            **extra,
        }
    )
    return env


def start_daemon(tmp_path: Path, **extra: str) -> tuple[subprocess.Popen[str], int]:
    process = subprocess.Popen(
        [sys.executable, "-m", "alphapt_tui", "--no-ui"],
        env=daemon_env(tmp_path, **extra),
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    for line in process.stdout:
        record = json.loads(line)
        if record["event"] == "metrics endpoint":
            return process, record["port"]
    process.kill()
    raise AssertionError(f"daemon never served metrics: {process.stderr.read()}")


def get(port: int, path: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def wait_for_ticks(port: int) -> str:
    for _ in range(100):
        _status, body = get(port, "/metrics")
        received = [
            float(line.split()[-1])
            for line in body.splitlines()
            if line.startswith("alphapt_ticks_received_total")
        ]
        if received and received[0] > 0:
            return body
        subprocess.run(["sleep", "0.1"], check=True)
    raise AssertionError("no ticks counted")


@pytest.mark.slow
def test_daemon_serves_metrics_and_exits_cleanly_on_sigterm(tmp_path: Path) -> None:
    process, port = start_daemon(tmp_path)
    try:
        body = wait_for_ticks(port)
        for name in (
            "alphapt_ticks_processed_total",
            "alphapt_feed_to_cache_seconds_bucket",
            'alphapt_component_up{component="feed"} 1.0',
            "process_resident_memory_bytes",
        ):
            assert name in body
        assert get(port, "/healthz") == (200, '{"status":"alive"}')
        status, ready = get(port, "/readyz")
        assert status == 200 and json.loads(ready)["feed"] == "live"
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=10)
    finally:
        process.kill()
    assert process.returncode == 0
    assert "Traceback" not in err and "Traceback" not in out
    events = [json.loads(line)["event"] for line in out.splitlines()]
    assert events[-1] == "daemon exited cleanly"
    assert "engine stopped" in events


@pytest.mark.slow
def test_metrics_port_in_use_is_one_line_and_exit_2(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "-m", "alphapt_tui", "--no-ui"],
            env=daemon_env(tmp_path, ALPHAPT_METRICS__PORT=str(port)),
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.count("\n") == 1
    assert f"metrics address 127.0.0.1:{port} is unavailable" in result.stderr


@pytest.mark.slow
def test_unreachable_ledger_is_one_line_and_exit_1(tmp_path: Path) -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    result = subprocess.run(
        [sys.executable, "-m", "alphapt_tui", "--no-ui"],
        env=daemon_env(
            tmp_path,
            ALPHAPT_LEDGER__URL=f"postgresql+asyncpg://postgres:s3cretpw@127.0.0.1:{port}/x",
            ALPHAPT_STORAGE__ENABLED="false",
        ),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert "Traceback" not in result.stderr and "Traceback" not in result.stdout
    assert result.stderr.startswith("alphapt-tui: execution could not start: ")
    assert result.stderr.count("\n") == 1
    assert "s3cretpw" not in result.stderr + result.stdout
