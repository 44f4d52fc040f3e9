"""``alphapt-tui replay``: stored ticks through the engine with one strategy on paper.

Checks everything first (window, symbols, strategy, parameters, tick store), so bad
input is one line, a non-zero exit and nothing written. Then replays, printing
progress, and saves ``report.json``, ``summary.txt`` and the equity curve in ``--out``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import os
import re
import sys
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, TextIO

from engine.clock import IST, NS_PER_SECOND, Clock, LiveClock, now_ist
from engine.settings import Settings

EXIT_INPUT = 2
EXIT_FAILED = 1
EXIT_INTERRUPTED = 130
PROGRESS_EVERY_S = 5.0
TTY_EVERY_S = 0.25
_NAME = re.compile(r"[a-z][a-z0-9_]{0,31}")


class BadInput(ValueError):
    """A command-line value that cannot be used; the message is one line."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The ``replay`` subcommand's options."""
    parser.add_argument(
        "--from",
        dest="start",
        required=True,
        metavar="WHEN",
        help="start, IST: YYYY-MM-DD or YYYY-MM-DDTHH:MM[:SS]",
    )
    parser.add_argument(
        "--to",
        dest="end",
        required=True,
        metavar="WHEN",
        help="end, IST, exclusive (a bare date means the end of that day)",
    )
    parser.add_argument(
        "--symbols",
        required=True,
        metavar="LIST",
        help="comma-separated symbols, e.g. RELIANCE,INFY or NSE:RELIANCE",
    )
    parser.add_argument(
        "--strategy",
        required=True,
        metavar="NAME[:k=v,...]",
        help="strategy class and parameters, e.g. sma_crossover:fast=5,slow=20",
    )
    parser.add_argument(
        "--speed",
        default="max",
        metavar="max|1x|10x",
        help="max (no waiting) or a multiple of real time (default max)",
    )
    parser.add_argument("--ui", action="store_true", help="show the replay in the desk")
    parser.add_argument(
        "--out",
        type=Path,
        metavar="DIR",
        help="report folder (default <data_dir>/replays/<timestamp>/)",
    )


def parse_when(text: str, *, end: bool) -> int:
    """An IST date or date-time as epoch ns; a bare date as ``--to`` means the next midnight."""
    value = text.strip()
    try:
        if len(value) == 10:
            day = date.fromisoformat(value)
            moment = datetime(day.year, day.month, day.day, tzinfo=IST)
            if end:
                moment += timedelta(days=1)
        else:
            moment = datetime.fromisoformat(value)
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=IST)
    except ValueError:
        flag = "--to" if end else "--from"
        raise BadInput(
            f"bad {flag} time {text!r}: use YYYY-MM-DD or YYYY-MM-DDTHH:MM (IST)"
        ) from None
    return int(moment.timestamp()) * NS_PER_SECOND + moment.microsecond * 1000


def _value(raw: str) -> Any:
    for kind in (int, float):
        try:
            return kind(raw)
        except ValueError:
            pass
    lowered = raw.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    return raw


def parse_strategy(spec: str, symbols: tuple[str, ...]) -> Any:
    """``NAME[:k=v,k=v]`` → a strategy settings entry trading ``symbols``."""
    from engine.strategies.settings import StrategyEntry

    name, _, rest = spec.strip().partition(":")
    if not name:
        raise BadInput("--strategy needs a strategy name, e.g. sma_crossover:fast=5,slow=20")
    params: dict[str, Any] = {}
    for item in filter(None, (part.strip() for part in rest.split(","))):
        key, eq, raw = item.partition("=")
        if not eq or not key.strip():
            raise BadInput(f"bad strategy parameter {item!r}: use key=value")
        params[key.strip()] = _value(raw.strip())
    entry_name = name if _NAME.fullmatch(name) else "replay"
    return StrategyEntry.model_validate(
        {"name": entry_name, "class": name, "instruments": symbols, "params": params}
    )


def build_request(args: argparse.Namespace) -> Any:
    """The replay request from the command line (raises :class:`BadInput`)."""
    from engine.replay import ReplayRequest, parse_speed

    symbols = tuple(s.strip() for s in args.symbols.split(",") if s.strip())
    if not symbols:
        raise BadInput("--symbols needs at least one symbol")
    try:
        speed = parse_speed(args.speed)
    except ValueError as exc:
        raise BadInput(str(exc)) from None
    start, end = parse_when(args.start, end=False), parse_when(args.end, end=True)
    return ReplayRequest(start, end, symbols, parse_strategy(args.strategy, symbols), speed)


def run_replay(settings: Settings, args: argparse.Namespace, wall: Clock | None = None) -> int:
    """The ``replay`` command: check, replay, report. Returns the exit status."""
    from alphapt_tui.cli import fail
    from engine.logs import configure_logging
    from engine.replay import ReplayInputError, ReplaySession
    from engine.storage.errors import TickStoreError

    wall = wall or LiveClock()
    # Until the report folder exists, log lines go nowhere: bad input writes nothing.
    configure_logging(wall, settings.log.level, stream=io.StringIO())
    try:
        request = build_request(args)
    except BadInput as exc:
        return fail(str(exc), EXIT_INPUT)
    session = ReplaySession(settings, request, wall)
    try:
        with _native_stderr_silenced():
            session.open()
    except ReplayInputError as exc:
        return fail(str(exc), EXIT_INPUT)
    except TickStoreError as exc:
        return fail(str(exc).splitlines()[0], EXIT_FAILED)
    try:
        stamp = now_ist(wall).strftime("%Y%m%d-%H%M%S")
        out = args.out or Path(settings.data_dir) / "replays" / stamp
        try:
            out.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            return fail(f"cannot create the report folder {out}: {exc.strerror}", EXIT_FAILED)
        assert session.kernel is not None
        configure_logging(session.kernel.clock, settings.log.level, file=out / "replay.log")
        try:
            if args.ui:
                _run_in_desk(session, settings)
            else:
                asyncio.run(_run_with_progress(session, wall, sys.stdout))
        except KeyboardInterrupt:
            # Ctrl-C stops the replay early; the report still covers what was replayed.
            print("\nreplay interrupted", file=sys.stderr)
            _report(session, out)
            return EXIT_INTERRUPTED
        except (ReplayInputError, TickStoreError) as exc:
            return fail(f"replay failed: {str(exc).splitlines()[0]}", EXIT_FAILED)
        return _report(session, out)
    finally:
        session.close()


@contextlib.contextmanager
def _native_stderr_silenced() -> Iterator[None]:
    """Hide what chDB's C++ engine prints straight to fd 2 while the store opens.

    A corrupt directory makes it dump a multi-line native error before Python sees the
    exception; the trader gets our one line instead.
    """
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


async def _run_with_progress(session: Any, wall: Clock, stream: TextIO) -> None:
    tty = stream.isatty()
    every = TTY_EVERY_S if tty else PROGRESS_EVERY_S

    async def report() -> None:
        while True:
            await wall.sleep(every)
            _show(session.feed.progress().line(), stream, tty)

    printer = asyncio.create_task(report())
    try:
        await session.run()
    finally:
        printer.cancel()
        _show(session.feed.progress().line(), stream, tty)
        if tty:
            stream.write("\n")


def _show(line: str, stream: TextIO, tty: bool) -> None:
    if tty:
        stream.write("\r" + line.ljust(100)[:100])
    else:
        stream.write(line + "\n")
    stream.flush()


def _run_in_desk(session: Any, settings: Settings) -> None:
    from alphapt_tui.app import DeskApp
    from engine.client import LocalEngineClient
    from engine.runner import EngineThread

    engine = EngineThread(session.kernel)
    try:
        engine.start()
        session.check_loaded()
        DeskApp(LocalEngineClient(engine), settings).run()
    finally:
        engine.stop()


def _report(session: Any, out: Path) -> int:
    import msgspec

    from engine.replay import summary_text
    from engine.replay.picture import write_equity_picture

    summary = session.summary()
    text = summary_text(summary)
    (out / "report.json").write_bytes(msgspec.json.format(msgspec.json.encode(summary)))
    (out / "summary.txt").write_text(text + "\n", encoding="utf-8")
    picture = write_equity_picture(summary.equity, out / "equity", summary.strategy_class)
    print(text)
    print(f"report: {out / 'report.json'}, {out / 'summary.txt'}, {picture}")
    return 0
