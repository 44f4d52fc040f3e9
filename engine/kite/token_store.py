"""The access token on disk: a 0600 JSON file in the data directory, with its expiry.

Written atomically (a 0600 temporary file in the same directory, then ``os.replace``), so
a crash never leaves a half-written token and the token is never readable by others,
not even for an instant.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from datetime import datetime
from pathlib import Path

from engine.clock import Clock, now_ist
from engine.kite.session import KiteSession
from engine.logs import register_secret

FILE_MODE = 0o600
RELOGIN = "run alphapt-tui login"


class TokenUnavailable(Exception):
    """No usable access token (none stored, unreadable, or expired); one line."""


def save_session(path: Path, session: KiteSession) -> None:
    """Store ``session`` at ``path`` with mode 0600, replacing any previous one atomically."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    body = json.dumps(
        {
            "access_token": session.access_token,
            "user_id": session.user_id,
            "login_time": session.login_time.isoformat(),
            "expires_at": session.expires_at.isoformat(),
        }
    )
    fd, tmp = tempfile.mkstemp(prefix=".session-", dir=path.parent)  # mkstemp creates 0600
    try:
        os.fchmod(fd, FILE_MODE)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(body)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def load_session(path: Path) -> KiteSession:
    """The stored session, expired or not; raises :class:`TokenUnavailable` (one line)."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        session = KiteSession(
            access_token=str(raw["access_token"]),
            user_id=str(raw.get("user_id", "")),
            login_time=datetime.fromisoformat(raw["login_time"]),
            expires_at=datetime.fromisoformat(raw["expires_at"]),
        )
    except FileNotFoundError:
        raise TokenUnavailable(f"not logged in to Kite: {RELOGIN}") from None
    except (OSError, ValueError, KeyError, TypeError):
        raise TokenUnavailable(f"the stored Kite session {path} is unreadable: {RELOGIN}") from None
    if session.expires_at.tzinfo is None:
        raise TokenUnavailable(f"the stored Kite session {path} is unreadable: {RELOGIN}")
    register_secret(session.access_token)
    return session


def load_valid_session(path: Path, clock: Clock) -> KiteSession:
    """The stored session if it has not expired; else :class:`TokenUnavailable`."""
    session = load_session(path)
    if now_ist(clock) >= session.expires_at:
        expired = session.expires_at.astimezone(now_ist(clock).tzinfo).strftime("%d %b %H:%M")
        raise TokenUnavailable(f"the Kite session expired at {expired} IST: {RELOGIN}")
    return session


def describe_expiry(session: KiteSession, clock: Clock) -> str:
    """``expires in 7h`` (or ``in 25m``), ``expired`` once past."""
    seconds = (session.expires_at - now_ist(clock)).total_seconds()
    if seconds <= 0:
        return "expired"
    if seconds >= 3600:
        return f"expires in {int(seconds // 3600)}h"
    return f"expires in {max(1, int(seconds // 60))}m"


def token_provider(path: Path, clock: Clock):
    """A callable for :class:`~engine.feeds.kite_ticker.KiteFeed`: the valid token or None."""

    def provide() -> str | None:
        try:
            return load_valid_session(path, clock).access_token
        except TokenUnavailable:
            return None

    return provide
