"""The ``alphapt-tui`` command line."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from alphapt_tui import __version__
from engine.settings import ConfigError, Settings, load_settings

EXIT_CONFIG = 2


def build_parser() -> argparse.ArgumentParser:
    """The argument parser; subcommands are added here as the desk grows."""
    parser = argparse.ArgumentParser(
        prog="alphapt-tui",
        description="A terminal trading desk for Indian markets (paper by default).",
    )
    parser.add_argument("--version", action="version", version=f"alphapt-tui {__version__}")
    parser.add_argument(
        "--config", type=Path, metavar="FILE", help="TOML settings file (env vars still win)"
    )
    parser.add_argument(
        "--no-ui",
        action="store_true",
        help="run the engine headless as a daemon until SIGINT/SIGTERM; JSON logs on stdout",
    )
    parser.add_argument(
        "--live",
        action="store_true",
        help="trade real money on Kite (needs every risk money limit set and a typed LIVE)",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.add_parser(
        "migrate", help="bring the ledger database up to the latest schema (PostgreSQL needs this)"
    )
    attach = commands.add_parser("attach", help="open the desk on a running daemon through NATS")
    attach.add_argument("--nats", metavar="URL", help="NATS server URL (default: nats.url)")
    replay = commands.add_parser(
        "replay", help="replay stored ticks through one strategy on the paper broker, then report"
    )
    from alphapt_tui.replay import add_arguments as add_replay_arguments

    add_replay_arguments(replay)
    from alphapt_tui.ssh_options import add_arguments as add_ssh_arguments

    add_ssh_arguments(commands.add_parser("serve-ssh", help="serve the desk over SSH (keys)"))
    from alphapt_tui.audit_cli import add_arguments as add_audit_arguments

    add_audit_arguments(commands.add_parser("audit", help="export the audit trail as CSV"))
    login = commands.add_parser("login", help="log in to Kite and store the day's access token")
    login.add_argument(
        "--status", action="store_true", help="only say whether the stored Kite session still works"
    )
    return parser


def run_migrate(settings: Settings) -> int:
    """Apply pending ledger migrations and say where the database now stands."""
    import asyncio

    from engine.ledger.errors import LedgerError
    from engine.ledger.migrate import current_revision, head_revision, upgrade
    from engine.ledger.urls import redact

    url = settings.ledger.resolved_url(settings.data_dir)
    if settings.ledger.embedded:
        (settings.data_dir / "ledger").mkdir(parents=True, exist_ok=True)

    async def migrate() -> str | None:
        await upgrade(url)
        return await current_revision(url)

    try:
        revision = asyncio.run(migrate())
    except LedgerError as exc:
        return fail(f"migration failed: {str(exc).splitlines()[0]}", status=1)
    print(f"ledger {redact(url)} is at revision {revision} (head {head_revision()})")
    return 0


def fail(message: str, status: int = EXIT_CONFIG) -> int:
    """Print one clear line to stderr and return ``status``."""
    print(f"alphapt-tui: {message}", file=sys.stderr)
    return status


def confirm_live(settings: Settings) -> Settings | int:
    """Live-mode gate: every risk money limit set, then the trader types ``LIVE`` on stdin.

    Returns the settings switched to live, or the exit status (2) after saying why not.
    """
    from engine.risk import validate_for_live

    missing = validate_for_live(settings.risk)
    if missing:
        for key in missing:
            print(f"alphapt-tui: live mode refused: {key}", file=sys.stderr)
        return EXIT_CONFIG
    print(
        "LIVE TRADING: orders go to Kite with real money. Type LIVE to continue: ",
        end="",
        flush=True,
    )
    answer = sys.stdin.readline().strip()
    if answer != "LIVE":
        return fail("live mode not confirmed; nothing started")
    return settings.model_copy(update={"mode": "live"})


def main(argv: list[str] | None = None) -> int:
    """Entry point of the console script."""
    args = build_parser().parse_args(argv)
    try:
        settings: Settings = load_settings(args.config)
    except ConfigError as exc:
        return fail(str(exc))
    if args.live and args.command is not None:
        return fail(f"--live starts the desk or the daemon; it does not apply to {args.command}")
    if args.command is None and (args.live or settings.mode == "live"):
        if not args.live:
            return fail(
                "the settings say mode = live: start live trading with `alphapt-tui --live`"
            )
        confirmed = confirm_live(settings)
        if isinstance(confirmed, int):
            return confirmed
        settings = confirmed
    if args.command == "migrate":
        return run_migrate(settings)
    if args.command == "replay":
        from alphapt_tui.replay import run_replay

        return run_replay(settings, args)
    if args.command == "login":
        from alphapt_tui.login import kite_settings_of, run_login

        return run_login(kite_settings_of(settings), settings.data_dir, status_only=args.status)
    if args.command == "serve-ssh":
        from alphapt_tui.ssh_options import options_from
        from alphapt_tui.ssh_server import run_serve_ssh

        return run_serve_ssh(options_from(settings, args))
    if args.command == "audit":
        from alphapt_tui.audit_cli import run_audit

        return run_audit(settings, args)
    if args.command == "attach":
        from alphapt_tui.attach import attach_url, run_attach

        url = attach_url(settings, args.nats)
        if url is None:
            return fail("attach needs a NATS server: --nats URL or ALPHAPT_NATS__URL")
        return run_attach(settings, url)
    if args.no_ui:
        from alphapt_tui.daemon import run_daemon

        return run_daemon(settings)
    from alphapt_tui.desk import run_desk

    return run_desk(settings)
