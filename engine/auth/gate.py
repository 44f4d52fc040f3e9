"""The gate every command passes in :meth:`Kernel.execute`: role check, then the audit trail.

Each command, allowed or refused, is written to the ledger's append-only ``audit_log``
(who, session, source, command type and fields as JSON, result, when) and published on
``audit.<user>``, which the NATS bridge stores in the durable audit stream. Auditing is
best effort: a ledger outage is logged, never raised (trading refuses orders then anyway).
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec
import structlog

from engine.auth.keys import KeysFileError, load_keys, users_table
from engine.auth.roles import Role, authorize
from engine.auth.settings import AuthSettings
from engine.bus import MessageBus
from engine.clock import Clock
from engine.distributed.codec import AuditRecorded
from engine.snapshot import CommandResult

log = structlog.get_logger("engine.auth")

LOCAL_USER = "local"
AUDIT_TIMEOUT_S = 2.0


@dataclass(frozen=True, slots=True)
class CommandOrigin:
    """Where a command came from, as the transport that delivered it knows it."""

    session: str = "desk"
    source: str = "local"
    remote: bool = False
    """Arrived over NATS (attach) rather than from this process."""
    signed_role: str | None = None
    """The role a verified session signature vouches for; ``None`` when unsigned."""
    refusal: str | None = None
    """Set by the transport when the command failed verification: refuse with this line."""


LOCAL_ORIGIN = CommandOrigin()


class AuthGate:
    """Decides, runs and records one command at a time for one kernel."""

    def __init__(
        self,
        settings: AuthSettings,
        data_dir: Path,
        clock: Clock,
        bus: MessageBus,
        ledger: Callable[[], Any],
    ) -> None:
        self.settings = settings
        self.keys_path = settings.keys_path(data_dir)
        self.clock = clock
        self.bus = bus
        self.ledger = ledger
        self.audit_failures = 0
        self._table: dict[str, str] = {}
        self._stamp: float | None = -1.0

    def users(self) -> dict[str, str]:
        """User → role from the keys file, re-read when it changes; a bad file is an empty table."""
        try:
            stamp: float | None = self.keys_path.stat().st_mtime
        except OSError:
            stamp = None
        if stamp != self._stamp:
            self._stamp = stamp
            try:
                self._table = users_table(load_keys(self.keys_path))
            except (KeysFileError, OSError) as exc:
                log.warning("authorized keys unusable; nobody remote may act", error=str(exc))
                self._table = {}
        return self._table

    def role_of(self, user: str, origin: CommandOrigin) -> str | None:
        """The role ``user`` acts with, or ``None`` (refused)."""
        table = self.users()
        if not self.settings.enabled:
            if user == LOCAL_USER and not origin.remote:
                return Role.ADMIN
            return table.get(user, Role.ADMIN)
        if origin.remote and origin.signed_role is None:
            return None
        if user == LOCAL_USER:
            return None if origin.remote else self.settings.local_role
        return table.get(user)

    async def run(
        self,
        command: object,
        origin: CommandOrigin | None,
        execute: Callable[[object], Awaitable[CommandResult]],
    ) -> CommandResult:
        """Refuse, or run ``execute(command)``; audit either way."""
        origin = origin or LOCAL_ORIGIN
        user = str(getattr(command, "user", LOCAL_USER))
        role = None if origin.refusal else self.role_of(user, origin)
        reason = origin.refusal or authorize(role, command)
        if reason is not None:
            result = CommandResult(False, reason.splitlines()[0])
            await self.record(command, user, role, origin, result, "refused")
            return result
        result = await execute(command)
        await self.record(command, user, role, origin, result, "ok" if result.ok else "failed")
        return result

    async def record(
        self,
        command: object,
        user: str,
        role: str | None,
        origin: CommandOrigin,
        result: CommandResult,
        outcome: str,
    ) -> None:
        """Write one audit row and publish it; never raises."""
        action = type(command).__name__
        ts_ns = self.clock.now_ns()
        try:
            fields = msgspec.to_builtins(command)
        except (TypeError, msgspec.EncodeError):
            fields = {"repr": repr(command)[:500]}
        detail = {"command": fields, "role": role, "reply": result.message}
        try:
            self.bus.publish(
                f"audit.{user}",
                AuditRecorded(
                    event_id=uuid.uuid4().hex,
                    ts_ns=ts_ns,
                    actor=user,
                    action=action,
                    detail=json.dumps({**detail, "result": outcome}, default=str),
                ),
            )
        except Exception as exc:  # auditing must never take the engine down
            log.warning("audit publish failed", error=type(exc).__name__)
        ledger = self.ledger()
        if ledger is None:
            return
        try:
            await asyncio.wait_for(
                ledger.append_audit(
                    user=user[:64],
                    session=origin.session[:64],
                    source=origin.source[:64],
                    action=action,
                    detail=detail,
                    result=outcome,
                    ts_ns=ts_ns,
                ),
                AUDIT_TIMEOUT_S,
            )
        except Exception as exc:
            self.audit_failures += 1
            log.warning("audit write failed", action=action, error=type(exc).__name__)
