"""``alphapt-tui audit export --from --to [--user]``: the audit trail as CSV.

Times are ISO dates or datetimes (IST when no offset is given) or nanoseconds since the
epoch; ``--to`` is exclusive and defaults to far in the future. Output goes to stdout or
``--out FILE``.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import datetime
from pathlib import Path

from engine.auth.rows import AuditRow, audit_row_of, to_csv
from engine.clock import IST
from engine.settings import Settings

FAR_FUTURE_NS = 2**62


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The ``audit`` subcommand's own subcommands and options."""
    actions = parser.add_subparsers(dest="audit_command", metavar="ACTION", required=True)
    export = actions.add_parser("export", help="write audit entries in a time range as CSV")
    export.add_argument(
        "--from",
        dest="from_",
        metavar="WHEN",
        default="0",
        help="start (inclusive): 2026-11-25, 2026-11-25T09:15 or ns",
    )
    export.add_argument("--to", metavar="WHEN", default=None, help="end (exclusive)")
    export.add_argument("--user", default=None, help="only this user's entries")
    export.add_argument("--out", type=Path, default=None, help="CSV file (default: stdout)")


def parse_when(text: str) -> int:
    """Nanoseconds since the epoch of an ISO date/datetime (IST if naive) or an integer."""
    if text.strip().lstrip("-").isdigit():
        return int(text)
    try:
        when = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(f"not a date, datetime or ns timestamp: {text!r}") from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=IST)
    return int(when.timestamp()) * 1_000_000_000 + when.microsecond * 1000


async def fetch(settings: Settings, from_ns: int, to_ns: int, user: str | None) -> list[AuditRow]:
    """Audit rows straight from the ledger the settings name."""
    from engine.clock import LiveClock
    from engine.ledger import open_ledger

    ledger = await open_ledger(settings.ledger, settings.data_dir, LiveClock())
    try:
        return [audit_row_of(row) for row in await ledger.audit(from_ns, to_ns, user)]
    finally:
        await ledger.close()


def run_audit(settings: Settings, args: argparse.Namespace) -> int:
    """Run ``audit export``; one line on stderr and status 2 for bad input, 1 for a ledger error."""
    from engine.ledger.errors import LedgerError

    try:
        from_ns = parse_when(args.from_)
        to_ns = parse_when(args.to) if args.to else FAR_FUTURE_NS
    except ValueError as exc:
        print(f"alphapt-tui: {exc}", file=sys.stderr)
        return 2
    try:
        rows = asyncio.run(fetch(settings, from_ns, to_ns, args.user))
    except LedgerError as exc:
        print(f"alphapt-tui: audit export failed: {str(exc).splitlines()[0]}", file=sys.stderr)
        return 1
    text = to_csv(rows)
    if args.out is None:
        sys.stdout.write(text)
    else:
        args.out.write_text(text)
        print(f"{len(rows)} audit entries written to {args.out}", file=sys.stderr)
    return 0
