"""Signed session commands: how the daemon knows an attach command comes from a real session.

The SSH server and the daemon share one secret file. For each session the SSH server
derives a session key ``HMAC(secret, user|role|session)`` and hands only that key to the
session's ``alphapt-tui attach`` process. Every command it sends carries ``user``, ``role``,
``session``, a sequence number, a timestamp and ``HMAC(session key, all of those + body)``.
The daemon re-derives the key from the secret, so a hand-crafted NATS command without the
key, with another user or role, or replayed, is refused. See docs/decisions.md.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path

import msgspec

SECRET_BYTES = 32


class SignedCommand(msgspec.Struct, array_like=True, frozen=True):
    """A command envelope (``rpc.encode_command`` bytes) with who sent it and its MAC."""

    user: str
    role: str
    session: str
    source: str
    seq: int
    ts_ns: int
    body: bytes
    mac: bytes


def load_or_create_secret(path: Path) -> bytes:
    """The shared secret, created (0600, in a 0700 directory) if the file does not exist."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(secrets.token_bytes(SECRET_BYTES))
    secret = path.read_bytes()
    if len(secret) < 16:
        raise ValueError(f"session secret {path} is too short")
    return secret


def session_key(secret: bytes, user: str, role: str, session: str) -> bytes:
    """The key of one session; only the SSH server and the daemon can compute it."""
    return hmac.new(secret, f"{user}\0{role}\0{session}".encode(), hashlib.sha256).digest()


def _mac(
    key: bytes, user: str, role: str, session: str, source: str, seq: int, ts_ns: int, body: bytes
) -> bytes:
    head = f"{user}\0{role}\0{session}\0{source}\0{seq}\0{ts_ns}\0".encode()
    return hmac.new(key, head + body, hashlib.sha256).digest()


def sign(
    key: bytes, user: str, role: str, session: str, source: str, seq: int, ts_ns: int, body: bytes
) -> bytes:
    """The msgpack bytes of a :class:`SignedCommand`."""
    mac = _mac(key, user, role, session, source, seq, ts_ns, body)
    signed = SignedCommand(user, role, session, source, seq, ts_ns, body, mac)
    return msgspec.msgpack.encode(signed)


def verify(secret: bytes, signed: SignedCommand) -> bool:
    """Whether ``signed`` was made with the session key of its user, role and session."""
    key = session_key(secret, signed.user, signed.role, signed.session)
    expected = _mac(
        key,
        signed.user,
        signed.role,
        signed.session,
        signed.source,
        signed.seq,
        signed.ts_ns,
        signed.body,
    )
    return hmac.compare_digest(expected, signed.mac)
