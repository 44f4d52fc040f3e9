"""Both ends of signed attach sessions: the signer in ``attach``, the verifier in the daemon.

The SSH server starts each session's ``alphapt-tui attach`` with ``APT_SESSION_USER``,
``APT_SESSION_ROLE``, ``APT_SESSION_ID``, ``APT_SESSION_SOURCE`` and ``APT_SESSION_KEY``
(hex) in its environment (not ``ALPHAPT_*``: those are settings). The client then stamps
the session's user on every command and signs it; the daemon's RPC server verifies it
before :meth:`Kernel.execute` and passes a :class:`CommandOrigin` saying what it proved.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Mapping
from pathlib import Path

import msgspec

from engine.auth.gate import CommandOrigin
from engine.auth.signing import SignedCommand, load_or_create_secret, sign, verify

ENV_USER = "APT_SESSION_USER"
ENV_ROLE = "APT_SESSION_ROLE"
ENV_ID = "APT_SESSION_ID"
ENV_SOURCE = "APT_SESSION_SOURCE"
ENV_KEY = "APT_SESSION_KEY"

UNSIGNED_ORIGIN = CommandOrigin(session="nats", source="nats", remote=True)
"""Where an unsigned attach command comes from: refused whenever ``auth.enabled`` is on."""


class SessionSigner:
    """Stamps the session's user on commands and signs them with the session key."""

    def __init__(self, user: str, role: str, session: str, source: str, key: bytes) -> None:
        self.user = user
        self.role = role
        self.session = session
        self.source = source
        self._key = key
        self._seq = itertools.count(1)

    def __repr__(self) -> str:  # the key never reaches a log
        return f"SessionSigner(user={self.user!r}, role={self.role!r}, session={self.session!r})"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> SessionSigner | None:
        """The signer the SSH server set up for this process, or ``None`` outside a session."""
        env = os.environ if env is None else env
        if not env.get(ENV_KEY) or not env.get(ENV_USER):
            return None
        try:
            key = bytes.fromhex(env[ENV_KEY])
        except ValueError:
            return None
        return cls(
            env[ENV_USER],
            env.get(ENV_ROLE, "viewer"),
            env.get(ENV_ID, "ssh"),
            env.get(ENV_SOURCE, "ssh"),
            key,
        )

    def stamp(self, command: object) -> object:
        """``command`` acting for this session's user."""
        if hasattr(command, "user") and isinstance(command, msgspec.Struct):
            return msgspec.structs.replace(command, user=self.user)
        return command

    def sign(self, envelope: bytes, ts_ns: int = 0) -> bytes:
        """A signed command around a command envelope (``rpc.encode_command`` bytes)."""
        seq = next(self._seq)
        return sign(
            self._key, self.user, self.role, self.session, self.source, seq, ts_ns, envelope
        )


class SessionVerifier:
    """Checks signed commands with the shared secret; refuses forgeries and replays."""

    def __init__(self, secret_path: Path) -> None:
        self.secret_path = secret_path
        self._secret: bytes | None = None
        self._last_seq: dict[str, int] = {}

    def _load(self) -> bytes:
        if self._secret is None:
            self._secret = load_or_create_secret(self.secret_path)
        return self._secret

    def check(self, payload: bytes) -> tuple[bytes, str, CommandOrigin]:
        """``(command envelope, claimed user, origin)``; a failed check sets ``refusal``."""
        signed = msgspec.msgpack.decode(payload, type=SignedCommand)
        origin = CommandOrigin(signed.session[:64], signed.source[:64], remote=True)
        try:
            genuine = verify(self._load(), signed)
        except (OSError, ValueError):
            genuine = False
        if not genuine:
            refusal = f"refused: bad session signature for {signed.user}"
            return signed.body, signed.user, _refused(origin, refusal)
        if signed.seq <= self._last_seq.get(signed.session, 0):
            return signed.body, signed.user, _refused(origin, "refused: replayed command")
        self._last_seq[signed.session] = signed.seq
        role_origin = CommandOrigin(origin.session, origin.source, True, signed.role)
        return signed.body, signed.user, role_origin


def _refused(origin: CommandOrigin, reason: str) -> CommandOrigin:
    return CommandOrigin(origin.session, origin.source, True, None, reason)
