"""Kite login: the login URL, the request-token exchange, and when an access token expires.

Kite's flow: the trader opens :func:`login_url`, logs in, and Kite redirects to the app's
redirect URL with ``?request_token=...&status=success``. :func:`exchange_request_token`
trades it for an access token with ``POST /session/token`` and the checksum
``sha256(api_key + request_token + api_secret)``. Every access token dies at 06:00 IST
the next morning (:func:`token_expiry`).
"""

from __future__ import annotations

import hashlib
import re
from datetime import datetime, time, timedelta
from urllib.parse import parse_qs, urlencode, urlsplit

import msgspec
from pydantic import SecretStr

from engine.clock import IST
from engine.feeds.kite_protocol import KiteFrameError, parse_kite_time
from engine.kite.rest import KiteApiError, KiteRest
from engine.logs import register_secret

EXPIRY_TIME_IST = time(6, 0)
_TOKEN = re.compile(r"^[A-Za-z0-9]{6,128}$")


class LoginError(ValueError):
    """The login could not complete; the message is one line and carries no secret."""


class KiteSession(msgspec.Struct, frozen=True):
    """A logged-in Kite session: the access token and when it stops working."""

    access_token: str
    user_id: str
    login_time: datetime
    expires_at: datetime

    def __repr__(self) -> str:
        return f"KiteSession(user_id={self.user_id!r}, expires_at={self.expires_at.isoformat()})"


def login_url(api_key: str, base: str = "https://kite.zerodha.com/connect/login") -> str:
    """The URL where the trader logs in (Kite Connect v3)."""
    return f"{base}?{urlencode({'v': '3', 'api_key': api_key})}"


def checksum(api_key: str, request_token: str, api_secret: str) -> str:
    """Kite's session checksum: hex ``sha256(api_key + request_token + api_secret)``."""
    return hashlib.sha256((api_key + request_token + api_secret).encode()).hexdigest()


def parse_request_token(text: str) -> str:
    """The request token from Kite's redirect URL, or the bare token as pasted.

    Raises :class:`LoginError` for an empty line, a redirect that reports a failed login,
    or anything that does not look like a token.
    """
    text = text.strip()
    if not text:
        raise LoginError("no request token given: paste the redirect URL or the request_token")
    if "request_token=" in text or "://" in text:
        query_text = urlsplit(text).query if "://" in text else text.rpartition("?")[2]
        query = parse_qs(query_text)
        status = query.get("status", ["success"])[0]
        if status != "success":
            raise LoginError(f"Kite reported the login as {status!r}: log in again")
        tokens = query.get("request_token")
        if not tokens:
            raise LoginError("the redirect URL has no request_token parameter")
        text = tokens[0]
    if not _TOKEN.match(text):
        raise LoginError("that is not a Kite request token (letters and digits only)")
    return text


def token_expiry(login_time: datetime) -> datetime:
    """06:00 IST after ``login_time``: when Kite invalidates the access token."""
    local = login_time.astimezone(IST)
    expiry = datetime.combine(local.date(), EXPIRY_TIME_IST, tzinfo=IST)
    return expiry if local < expiry else expiry + timedelta(days=1)


async def exchange_request_token(
    rest: KiteRest, request_token: str, api_secret: SecretStr, now: datetime
) -> KiteSession:
    """Trade a request token for an access token (``POST /session/token``).

    ``now`` (from the injected clock) stands in for the login time if Kite sends none.
    Raises :class:`LoginError` with one line on any failure.
    """
    secret = api_secret.get_secret_value()
    form = {
        "api_key": rest.api_key,
        "request_token": request_token,
        "checksum": checksum(rest.api_key, request_token, secret),
    }
    try:
        data = await rest.request("POST", "/session/token", form=form, auth=False)
    except KiteApiError as exc:
        raise LoginError(f"Kite refused the request token: {exc.message}") from None
    if not isinstance(data, dict) or not isinstance(data.get("access_token"), str):
        raise LoginError("Kite's session answer has no access token")
    token = data["access_token"]
    register_secret(token)
    try:
        login_time = parse_kite_time(data.get("login_time")) or now
    except KiteFrameError:
        login_time = now
    return KiteSession(
        access_token=token,
        user_id=str(data.get("user_id") or ""),
        login_time=login_time,
        expires_at=token_expiry(login_time),
    )
