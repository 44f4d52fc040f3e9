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
    parser.add_subparsers(dest="command", metavar="COMMAND")
    return parser


def fail(message: str, status: int = EXIT_CONFIG) -> int:
    """Print one clear line to stderr and return ``status``."""
    print(f"alphapt-tui: {message}", file=sys.stderr)
    return status


def main(argv: list[str] | None = None) -> int:
    """Entry point of the console script."""
    args = build_parser().parse_args(argv)
    try:
        settings: Settings = load_settings(args.config)
    except ConfigError as exc:
        return fail(str(exc))
    if args.no_ui:
        from alphapt_tui.daemon import run_daemon

        return run_daemon(settings)
    from alphapt_tui.desk import run_desk

    return run_desk(settings)
