"""A small async Kite Connect REST client over aiohttp (no kiteconnect, no Twisted).

Answers come in Kite's envelopes: ``{"status": "success", "data": ...}`` or
``{"status": "error", "message": ..., "error_type": ...}``. Errors become
:class:`KiteApiError` (a 403 ``TokenException`` is :class:`KiteTokenError`: the session
expired, log in again). No message ever carries the access token or the API secret.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any

import aiohttp

from engine.logs import register_secret

KITE_VERSION = "3"


class KiteApiError(Exception):
    """Kite answered with an error (or not at all); ``status`` 0 means no answer."""

    def __init__(self, status: int, error_type: str, message: str) -> None:
        super().__init__(f"Kite {error_type} (HTTP {status}): {message}")
        self.status = status
        self.error_type = error_type
        self.message = message


class KiteTokenError(KiteApiError):
    """The access token is missing, invalid or expired: run ``alphapt-tui login``."""


def _error(status: int, body: Any, fallback: str) -> KiteApiError:
    if isinstance(body, dict):
        kind = str(body.get("error_type") or "GeneralException")
        message = str(body.get("message") or fallback)
    else:
        kind, message = "GeneralException", fallback
    message = message.splitlines()[0][:300] if message else fallback
    cls = KiteTokenError if status == 403 or kind == "TokenException" else KiteApiError
    return cls(status, kind, message)


class KiteRest:
    """Authenticated REST calls; the access token is read from ``access_token`` per call.

    Use as an async context manager (it owns one :class:`aiohttp.ClientSession`).
    """

    def __init__(
        self,
        root: str,
        api_key: str,
        access_token: Callable[[], str | None],
        *,
        timeout_s: float = 10.0,
    ) -> None:
        self.root = root.rstrip("/")
        self.api_key = api_key
        self._access_token = access_token
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._session: aiohttp.ClientSession | None = None

    def __repr__(self) -> str:
        return f"KiteRest(root={self.root!r})"

    async def __aenter__(self) -> KiteRest:
        self._session = aiohttp.ClientSession(timeout=self._timeout)
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    def _headers(self, auth: bool) -> dict[str, str]:
        headers = {"X-Kite-Version": KITE_VERSION}
        if auth:
            token = self._access_token()
            if not token:
                raise KiteTokenError(403, "TokenException", "no access token: log in first")
            register_secret(token)
            headers["Authorization"] = f"token {self.api_key}:{token}"
        return headers

    def _require_session(self) -> aiohttp.ClientSession:
        if self._session is None:
            raise RuntimeError("KiteRest is not open: use 'async with KiteRest(...)'")
        return self._session

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        form: Mapping[str, str] | None = None,
        auth: bool = True,
    ) -> Any:
        """Call ``path`` and return the envelope's ``data``; raises :class:`KiteApiError`."""
        session = self._require_session()
        try:
            async with session.request(
                method, self.root + path, params=params, data=form, headers=self._headers(auth)
            ) as response:
                try:
                    body = await response.json(content_type=None)
                except ValueError:
                    body = None
                if response.status >= 400 or not isinstance(body, dict):
                    raise _error(response.status, body, f"HTTP {response.status} from {path}")
                if body.get("status") != "success":
                    raise _error(response.status, body, "unexpected answer")
                return body.get("data")
        except aiohttp.ClientError as exc:
            raise KiteApiError(0, "NetworkException", f"{path}: {type(exc).__name__}") from None
        except TimeoutError:
            raise KiteApiError(0, "NetworkException", f"{path}: timed out") from None

    async def stream(
        self,
        path: str,
        chunk_size: int = 64 * 1024,
        on_length: Callable[[int | None], None] | None = None,
    ) -> AsyncIterator[bytes]:
        """GET a non-JSON body (the instruments CSV) in chunks; errors as in :meth:`request`.

        ``on_length`` gets the declared Content-Length (None if not sent) before the first
        chunk. aiohttp raises if the body ends short of that length.
        """
        session = self._require_session()
        try:
            async with session.get(self.root + path, headers=self._headers(True)) as response:
                if response.status >= 400:
                    try:
                        body = await response.json(content_type=None)
                    except ValueError:
                        body = None
                    raise _error(response.status, body, f"HTTP {response.status} from {path}")
                if on_length is not None:
                    on_length(response.content_length)
                async for chunk in response.content.iter_chunked(chunk_size):
                    yield chunk
        except aiohttp.ClientError as exc:
            raise KiteApiError(0, "NetworkException", f"{path}: {type(exc).__name__}") from None
        except TimeoutError:
            raise KiteApiError(0, "NetworkException", f"{path}: timed out") from None
