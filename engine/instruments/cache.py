"""Where the instruments dump is kept: a file in the data directory, optionally Redis too.

The disk copy is ``<data dir>/instruments/instruments.csv`` with a small JSON meta file
beside it (when it was downloaded, rows, bytes, sha256). Both are replaced atomically
(write a temporary file, fsync, ``os.replace``); the CSV goes first, so a crash in
between leaves a CSV whose checksum does not match the old meta, which reads as "no
download time known" (a refresh is due) rather than as a fresh dump.

Redis is optional and sits behind :class:`SharedCache`: several desks on one machine or
network share one download a day.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from pathlib import Path
from typing import Protocol

import msgspec
import structlog

log = structlog.get_logger("engine.instruments")


class InstrumentsMeta(msgspec.Struct, frozen=True):
    """Facts about one downloaded dump."""

    downloaded_ns: int
    """When it was downloaded (engine clock, epoch ns)."""
    rows: int
    bytes: int
    sha256: str


def digest(data: bytes) -> str:
    """Hex sha256 of ``data``."""
    return hashlib.sha256(data).hexdigest()


def _atomic_write(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}-", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


class DiskCache:
    """The dump and its meta under ``directory``."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)
        self.csv_path = self.directory / "instruments.csv"
        self.meta_path = self.directory / "instruments.meta.json"

    def read(self) -> tuple[bytes, InstrumentsMeta | None] | None:
        """The cached CSV and its meta (None if unknown or out of step); None if no cache."""
        try:
            data = self.csv_path.read_bytes()
        except FileNotFoundError:
            return None
        try:
            meta = msgspec.json.decode(self.meta_path.read_bytes(), type=InstrumentsMeta)
        except (OSError, msgspec.DecodeError):
            return data, None
        return data, meta if meta.sha256 == digest(data) else None

    def write(self, data: bytes, meta: InstrumentsMeta) -> None:
        """Replace the cache with ``data`` (atomically, CSV first)."""
        self.directory.mkdir(parents=True, exist_ok=True)
        _atomic_write(self.csv_path, data)
        _atomic_write(self.meta_path, msgspec.json.encode(meta))


class SharedCache(Protocol):
    """A cache shared between desks (Redis); failures are the caller's to tolerate."""

    async def get(self) -> tuple[bytes, InstrumentsMeta] | None:
        """The shared dump and its meta, if any."""
        ...

    async def put(self, data: bytes, meta: InstrumentsMeta) -> None:
        """Publish a freshly downloaded dump."""
        ...


class RedisCache:
    """:class:`SharedCache` on Redis: two keys, written in one transaction."""

    def __init__(self, url: str, key: str = "alphapt:instruments") -> None:
        self.url = url
        self.key = key

    def __repr__(self) -> str:
        return f"RedisCache(key={self.key!r})"  # the URL may hold a password

    async def get(self) -> tuple[bytes, InstrumentsMeta] | None:
        import redis.asyncio as redis

        async with redis.from_url(self.url) as client:
            data, raw_meta = await client.mget(f"{self.key}:csv", f"{self.key}:meta")
        if data is None or raw_meta is None:
            return None
        meta = msgspec.json.decode(raw_meta, type=InstrumentsMeta)
        return (data, meta) if meta.sha256 == digest(data) else None

    async def put(self, data: bytes, meta: InstrumentsMeta) -> None:
        import redis.asyncio as redis

        async with redis.from_url(self.url) as client, client.pipeline(transaction=True) as pipe:
            pipe.set(f"{self.key}:csv", data)
            pipe.set(f"{self.key}:meta", msgspec.json.encode(meta))
            await pipe.execute()
