"""``alphapt-tui login``: log in to Kite and store the day's access token.

Shows the Kite login URL, reads the redirect URL (or the bare ``request_token``) from
standard input, exchanges it for an access token and stores it, mode 0600, in the data
directory. ``--status`` reports whether the stored token still works. The API key and
secret come from settings, the environment or a secret file, never from arguments.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import TextIO

from pydantic_settings import BaseSettings, SettingsConfigDict

from engine.clock import Clock, LiveClock, now_ist
from engine.kite.rest import KiteRest
from engine.kite.session import LoginError, exchange_request_token, login_url, parse_request_token
from engine.kite.settings import KiteSecretError, KiteSettings
from engine.kite.token_store import (
    TokenUnavailable,
    describe_expiry,
    load_session,
    load_valid_session,
    save_session,
)

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_CONFIG = 2


class _KiteOnly(BaseSettings):
    """Reads only the ``kite`` section (``ALPHAPT_KITE__*``), for settings that lack one."""

    model_config = SettingsConfigDict(
        env_prefix="ALPHAPT_", env_nested_delimiter="__", env_file=".env", extra="ignore"
    )

    kite: KiteSettings = KiteSettings()
    """Kite Connect settings."""


def kite_settings_of(settings: object) -> KiteSettings:
    """The desk settings' ``kite`` section, or one read from the environment and ``.env``."""
    section = getattr(settings, "kite", None)
    return section if isinstance(section, KiteSettings) else _KiteOnly().kite


def run_login(
    kite: KiteSettings,
    data_dir: Path,
    *,
    status_only: bool = False,
    clock: Clock | None = None,
    stdin: TextIO | None = None,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
) -> int:
    """Log in interactively (or, with ``status_only``, report the stored session)."""
    clock = clock or LiveClock()
    stdin, stdout, stderr = stdin or sys.stdin, stdout or sys.stdout, stderr or sys.stderr
    path = kite.resolved_token_file(data_dir)

    def fail(message: str, status: int = EXIT_FAILED) -> int:
        print(f"alphapt-tui: {message}", file=stderr)
        return status

    if status_only:
        try:
            session = load_valid_session(path, clock)
        except TokenUnavailable as exc:
            return fail(str(exc))
        print(f"Kite session of {session.user_id}: {describe_expiry(session, clock)}", file=stdout)
        return EXIT_OK

    if not kite.api_key:
        return fail("kite.api_key is not set [ALPHAPT_KITE__API_KEY]", EXIT_CONFIG)
    try:
        secret = kite.secret()
    except KiteSecretError as exc:
        return fail(str(exc), EXIT_CONFIG)
    if secret is None:
        return fail(
            "the Kite API secret is not set [ALPHAPT_KITE__API_SECRET or "
            "ALPHAPT_KITE__API_SECRET_FILE]",
            EXIT_CONFIG,
        )
    try:
        current = load_session(path)
        print(
            f"Current Kite session of {current.user_id}: {describe_expiry(current, clock)}",
            file=stdout,
        )
    except TokenUnavailable:
        pass
    print(f"Log in to Kite at:\n\n  {login_url(kite.api_key, kite.login_url)}\n", file=stdout)
    print("Then paste the redirect URL (or the request_token): ", end="", file=stdout)
    stdout.flush()
    line = stdin.readline()
    try:
        request_token = parse_request_token(line)
        session = asyncio.run(_exchange(kite, request_token, secret, clock))
    except LoginError as exc:
        return fail(str(exc))
    try:
        save_session(path, session)
    except OSError as exc:
        return fail(f"cannot store the access token in {path}: {exc.strerror or exc}")
    print(
        f"Logged in to Kite as {session.user_id}; token saved to {path} (mode 0600), "
        f"{describe_expiry(session, clock)}.",
        file=stdout,
    )
    try:
        count = asyncio.run(_download_instruments(kite, data_dir, session.access_token, clock))
    except Exception as exc:  # the login itself succeeded; the feed will say what is missing
        print(f"alphapt-tui: instruments dump not downloaded: {exc}".splitlines()[0], file=stderr)
    else:
        print(f"Instruments dump cached: {count:,} instruments.", file=stdout)
    return EXIT_OK


async def _download_instruments(
    kite: KiteSettings, data_dir: Path, access_token: str, clock: Clock
) -> int:
    """Fetch (or reuse today's) instruments dump so the Kite feed can start."""
    from engine.instruments import InstrumentsService

    assert kite.api_key is not None
    async with KiteRest(
        kite.root, kite.api_key, lambda: access_token, timeout_s=kite.request_timeout_s
    ) as rest:
        registry = await InstrumentsService(data_dir, clock, rest).ensure()
    return len(registry.all())


async def _exchange(kite: KiteSettings, request_token: str, secret, clock: Clock):
    assert kite.api_key is not None
    async with KiteRest(
        kite.root, kite.api_key, lambda: None, timeout_s=kite.request_timeout_s
    ) as rest:
        return await exchange_request_token(rest, request_token, secret, now_ist(clock))
