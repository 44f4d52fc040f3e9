"""Secrets never reach a log line, not even inside a traceback."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import structlog

from engine.clock import TestClock
from engine.logs import configure_logging

CANARY = "kite-secret-CANARY-7f3a9c"


def lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_json_lines_with_run_id_and_ist_timestamp(tmp_path: Path) -> None:
    log_file = tmp_path / "logs" / "desk.log"
    run_id = configure_logging(TestClock(), file=log_file, run_id="run123")
    structlog.get_logger("t").info("hello", symbol="INFY")
    record = lines(log_file)[-1]
    assert run_id == "run123"
    assert record["event"] == "hello" and record["run_id"] == "run123"
    assert record["ts"].endswith("+05:30")


def test_secret_keys_and_registered_values_are_redacted(tmp_path: Path) -> None:
    log_file = tmp_path / "desk.log"
    configure_logging(TestClock(), file=log_file, secrets=[CANARY])
    log = structlog.get_logger("t")
    log.info("login", api_secret=CANARY, access_token="abc123", nested={"password": "pw"})
    log.info("url", url=f"wss://ws.kite.trade?api_key=k&access_token={CANARY}")
    try:
        raise RuntimeError(f"rejected token {CANARY}")
    except RuntimeError:
        log.exception("failed")
    logging.getLogger("thirdparty").warning("header Authorization: %s", CANARY)
    text = log_file.read_text()
    assert CANARY not in text
    assert "abc123" not in text and '"pw"' not in text
    records = lines(log_file)
    assert records[0]["api_secret"] == "***" and records[0]["nested"]["password"] == "***"
    assert "RuntimeError: rejected token ***" in records[2]["exception"]
    assert records[3]["logger"] == "thirdparty"
