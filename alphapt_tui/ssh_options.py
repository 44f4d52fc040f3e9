"""The options of ``alphapt-tui serve-ssh``: kept apart from the server so building the
command line (every start of the desk) does not import asyncssh."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class SshOptions:
    """How the SSH server listens and what each session runs."""

    keys_file: Path
    secret_file: Path
    host_key_file: Path
    host: str = "127.0.0.1"
    port: int = 2222
    command: Sequence[str] = field(default_factory=lambda: default_command(None, None))
    idle_timeout_s: float = 900.0
    max_sessions: int = 8
    keepalive_s: float = 30.0


def default_command(nats_url: str | None, config: Path | None) -> list[str]:
    """``alphapt-tui attach`` run by this Python, with the same config and NATS URL."""
    command = [sys.executable, "-m", "alphapt_tui"]
    if config is not None:
        command += ["--config", str(config)]
    command.append("attach")
    if nats_url:
        command += ["--nats", nats_url]
    return command


def add_arguments(parser: Any) -> None:
    """Options of ``serve-ssh``."""
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=2222, help="port to listen on")
    parser.add_argument("--nats", metavar="URL", help="NATS URL sessions attach through")
    parser.add_argument(
        "--idle-timeout",
        type=float,
        default=900.0,
        metavar="S",
        help="close a session after this many seconds without input",
    )
    parser.add_argument("--max-sessions", type=int, default=8, help="concurrent sessions")
    parser.add_argument(
        "--keepalive",
        type=float,
        default=30.0,
        metavar="S",
        help="seconds between SSH keepalives (3 missed close the connection)",
    )


def options_from(settings: Any, args: Any) -> SshOptions:
    """Options from the desk settings (keys file, secret, data dir) and the command line."""
    auth, data_dir = settings.auth, settings.data_dir
    nats_url = args.nats or getattr(settings.nats, "url", None)
    return SshOptions(
        keys_file=auth.keys_path(data_dir),
        secret_file=auth.secret_path(data_dir),
        host_key_file=data_dir / "ssh" / "host_ed25519",
        host=args.host,
        port=args.port,
        command=default_command(nats_url, getattr(args, "config", None)),
        idle_timeout_s=args.idle_timeout,
        max_sessions=args.max_sessions,
        keepalive_s=args.keepalive,
    )
