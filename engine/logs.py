"""Structured logging: JSON lines with a run id, secrets redacted before anything is written.

Desk mode writes to a file (the terminal belongs to the UI); daemon mode writes to
stdout. Redaction covers any key that looks like a secret and any string that
contains a registered secret value, including formatted tracebacks.
"""

from __future__ import annotations

import logging
import re
import sys
import uuid
from collections.abc import Iterable, MutableMapping
from pathlib import Path
from typing import Any, TextIO

import structlog

from engine.clock import Clock, ns_to_ist

SECRET_KEY = re.compile(r"token|secret|password|passwd|api_key|authorization", re.IGNORECASE)
REDACTED = "***"
_secret_values: set[str] = set()


def register_secret(value: str | None) -> None:
    """Make sure ``value`` never appears in a log line, whatever key it travels under."""
    if value and len(value) >= 4:
        _secret_values.add(value)


def _scrub(value: Any) -> Any:
    if isinstance(value, str):
        for secret in _secret_values:
            if secret in value:
                value = value.replace(secret, REDACTED)
        return value
    if isinstance(value, dict):
        return {k: REDACTED if _is_secret_key(k) else _scrub(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_scrub(v) for v in value)
    return value


def _is_secret_key(key: object) -> bool:
    return isinstance(key, str) and SECRET_KEY.search(key) is not None


def redact_secrets(
    _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """structlog processor: hide secret-looking keys and registered secret values."""
    for key, value in list(event_dict.items()):
        event_dict[key] = REDACTED if _is_secret_key(key) else _scrub(value)
    return event_dict


def _clock_timestamper(clock: Clock):
    def add_timestamp(
        _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
    ) -> MutableMapping[str, Any]:
        event_dict["ts"] = ns_to_ist(clock.now_ns()).isoformat(timespec="milliseconds")
        return event_dict

    return add_timestamp


def configure_logging(
    clock: Clock,
    level: str = "info",
    file: Path | None = None,
    stream: TextIO | None = None,
    run_id: str | None = None,
    secrets: Iterable[str | None] = (),
) -> str:
    """Send structlog and stdlib logging to ``file`` (desk) or ``stream`` (daemon).

    Returns the run id stamped on every line.
    """
    for secret in secrets:
        register_secret(secret)
    run_id = run_id or uuid.uuid4().hex[:12]
    if file is not None:
        file.parent.mkdir(parents=True, exist_ok=True)
        output: TextIO = file.open("a", encoding="utf-8", buffering=1)
    else:
        output = stream or sys.stdout
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        _clock_timestamper(clock),
        lambda _l, _m, event_dict: {**event_dict, "run_id": run_id},
    ]
    tail: list[Any] = [
        structlog.processors.format_exc_info,
        redact_secrets,
        structlog.processors.JSONRenderer(),
    ]
    numeric_level = logging.getLevelNamesMapping()[level.upper()]
    structlog.configure(
        processors=[*shared, *tail],
        wrapper_class=structlog.make_filtering_bound_logger(numeric_level),
        logger_factory=structlog.PrintLoggerFactory(file=output),
        cache_logger_on_first_use=False,
    )
    handler = logging.StreamHandler(output)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=[structlog.stdlib.add_logger_name, *shared],
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, *tail],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(numeric_level)
    return run_id
