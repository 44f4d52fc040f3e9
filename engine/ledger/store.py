"""The ledger: orders, order events, fills, positions and the audit log in one database.

One code path for the embedded SQLite file and a PostgreSQL server. The only
dialect-specific piece is the ``INSERT ... ON CONFLICT`` construct, chosen once
from the URL; SQLite and PostgreSQL spell the upsert the same way.

Writes are idempotent, so replaying a flush after a crash or a reconnect is safe:

- an order row is replaced only by a strictly newer ``version``;
- an order event (``event_id``) or fill (``client_order_id`` + ``trade_id``) is recorded once,
  and the write reports whether it was new;
- a position is replaced only by one at least as recent (``updated_ns``).

Every public coroutine raises :class:`LedgerUnavailable` when the database
cannot be reached and :class:`LedgerError` when it refuses a write.

Each operation is one synchronous function of a connection, handed to the
back-end's :class:`~engine.ledger.runner.Runner`: SQLite runs it in the ledger's
worker thread (one thread hop per operation), PostgreSQL through asyncpg.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Insert, Select, exc, select, text
from sqlalchemy.engine import URL, Connection

from engine.clock import Clock
from engine.ledger.connect import open_runner, translate_error
from engine.ledger.errors import LedgerError
from engine.ledger.migrate import ensure_schema
from engine.ledger.rows import (
    Record,
    audit_row,
    event_row,
    fill_row,
    order_row,
    position_row,
)
from engine.ledger.runner import Runner, Work
from engine.ledger.schema import (
    CLOSED_STATUSES,
    audit_log,
    fills,
    order_events,
    orders,
    positions,
)
from engine.ledger.settings import LedgerSettings
from engine.ledger.urls import async_url, redact

T = TypeVar("T")


def _dialect_insert(backend: str) -> Any:
    """The dialect's ``insert`` (with ON CONFLICT); imported on use: a desk on SQLite never
    loads the PostgreSQL dialect (2 MB of RSS)."""
    if backend not in ("sqlite", "postgresql"):
        raise LedgerError(f"ledger backend {backend!r} is not supported (sqlite or postgresql)")
    return importlib.import_module(f"sqlalchemy.dialects.{backend}").insert


# Never changed by a later version of the same order.
_ORDER_IMMUTABLE = frozenset({"client_order_id", "created_ns"})


@dataclass(frozen=True, slots=True)
class BatchResult:
    """What one :meth:`Ledger.write_batch` changed."""

    orders_applied: tuple[str, ...] = ()
    """Client order ids inserted or updated (an older or equal version is skipped)."""
    new_event_ids: tuple[str, ...] = ()
    """Event ids recorded by this batch (already-recorded ones are left out)."""
    new_fills: tuple[tuple[str, str], ...] = ()
    """(client order id, trade id) of each fill recorded by this batch: apply only these
    to positions (already-recorded fills are left out)."""
    positions_applied: int = 0
    """Positions inserted or updated (an older ``updated_ns`` is skipped)."""
    audit_ids: tuple[int, ...] = ()
    """Ids the database assigned to the audit entries of this batch."""


class Ledger:
    """Durable record of orders, fills, positions and the audit log.

    Create with :meth:`open` (or :func:`open_ledger` from settings), close with
    :meth:`close`; also an async context manager.
    """

    def __init__(self, runner: Runner, clock: Clock, url: str | URL) -> None:
        self._runner = runner
        self._clock = clock
        self._url = async_url(url)
        self._closed = False
        insert = _dialect_insert(self._url.get_backend_name())
        self._upsert_orders = _order_upsert(insert)
        self._insert_events = (
            insert(order_events)
            .on_conflict_do_nothing(index_elements=[order_events.c.event_id])
            .returning(order_events.c.event_id)
        )
        self._insert_fills = (
            insert(fills)
            .on_conflict_do_nothing(index_elements=[fills.c.client_order_id, fills.c.trade_id])
            .returning(fills.c.client_order_id, fills.c.trade_id)
        )
        self._upsert_positions = _position_upsert(insert)
        self._insert_audit = insert(audit_log).returning(audit_log.c.id)

    @classmethod
    async def open(
        cls,
        url: str | URL,
        clock: Clock,
        *,
        sqlite_synchronous: str = "FULL",
        sqlite_on_loop: bool = False,
        connect_timeout_s: float = 5.0,
        statement_timeout_s: float = 30.0,
    ) -> Ledger:
        """Connect to the ledger at ``url`` and check it answers.

        Does not create or migrate tables: call
        :func:`engine.ledger.migrate.ensure_schema` first (:func:`open_ledger` does).
        Raises :class:`LedgerUnavailable` if the database cannot be reached.
        """
        runner = open_runner(
            url,
            sqlite_synchronous=sqlite_synchronous,
            sqlite_on_loop=sqlite_on_loop,
            connect_timeout_s=connect_timeout_s,
            statement_timeout_s=statement_timeout_s,
        )
        ledger = cls(runner, clock, url)
        try:
            await ledger.ping()
        except BaseException:
            await runner.close()
            raise
        return ledger

    async def close(self) -> None:
        """Release every connection (SQLite: after the operations already handed in, then
        stop the worker thread); the ledger cannot be used afterwards."""
        self._closed = True
        await self._runner.close()

    async def __aenter__(self) -> Ledger:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.close()

    @property
    def dialect(self) -> str:
        """``"sqlite"`` or ``"postgresql"``."""
        return self._url.get_backend_name()

    @property
    def url(self) -> str:
        """The database URL with any password hidden."""
        return redact(self._url)

    async def ping(self) -> None:
        """Round-trip to the database; raises :class:`LedgerUnavailable` if it does not answer."""
        await self._run(_ping)

    # -- writes ------------------------------------------------------------------------

    async def upsert_order(self, order: Record) -> bool:
        """Insert or update an order; True if written, False if the stored version is not older."""
        result = await self.write_batch(orders=[order])
        return bool(result.orders_applied)

    async def append_order_event(
        self, event: Record, seq: int | None = None, kind: str | None = None
    ) -> bool:
        """Record an order event once; True if it was new. See :func:`~engine.ledger.rows.event_row`."""
        result = await self.write_batch(events=[event_row(event, seq, kind)])
        return bool(result.new_event_ids)

    async def record_fill(self, fill: Record) -> bool:
        """Record a fill once per (client order id, trade id); True if it was new.

        Apply a fill to positions only when this says it was new.
        """
        result = await self.write_batch(fills=[fill])
        return bool(result.new_fills)

    async def write_order_and_event(
        self, order: Record, event: Record, seq: int | None = None
    ) -> tuple[bool, bool]:
        """Write an order's new state and the event that produced it in one transaction.

        Either both are written or neither is. ``seq`` defaults to the order's
        ``version``. Returns (order written, event new).
        """
        row = order_row(order)
        result = await self.write_batch(
            orders=[row], events=[event_row(event, row["version"] if seq is None else seq)]
        )
        return bool(result.orders_applied), bool(result.new_event_ids)

    async def upsert_position(self, position: Record) -> bool:
        """Insert or replace a position unless the stored one is more recent; True if written."""
        result = await self.write_batch(positions=[position])
        return bool(result.positions_applied)

    async def append_audit(
        self,
        *,
        user: str,
        session: str,
        source: str,
        action: str,
        detail: Any = None,
        result: str = "ok",
        ts_ns: int | None = None,
    ) -> int:
        """Append one audit entry (``detail`` is stored as JSON); returns its id."""
        entry: dict[str, Any] = {
            "user": user,
            "session": session,
            "source": source,
            "action": action,
            "detail": {} if detail is None else detail,
            "result": result,
        }
        if ts_ns is not None:
            entry["ts_ns"] = ts_ns
        written = await self.write_batch(audit=[entry])
        return written.audit_ids[0]

    async def write_batch(
        self,
        *,
        orders: Iterable[Record] = (),
        events: Iterable[Record] = (),
        fills: Iterable[Record] = (),
        positions: Iterable[Record] = (),
        audit: Iterable[Record] = (),
    ) -> BatchResult:
        """Write everything of one engine flush in a single transaction.

        All or nothing: if any row is refused, none of the batch is written. Rows
        are validated before the database is touched. ``events`` are mappings or
        rows from :func:`~engine.ledger.rows.event_row` (a struct needs its
        ``seq``). Within a batch the newest version of an order wins and a
        repeated event or trade id counts once.
        """
        now_ns = self._clock.now_ns()
        order_rows = _newest_versions(order_row(o) for o in orders)
        event_rows = _first_by((event_row(e) for e in events), "event_id")
        fill_rows = _first_by((fill_row(f) for f in fills), "client_order_id", "trade_id")
        position_rows = _newest_positions(position_row(p, now_ns) for p in positions)
        audit_rows = [audit_row(a, now_ns) for a in audit]

        def write(conn: Connection) -> BatchResult:
            applied = _execute(conn, self._upsert_orders, order_rows)
            new_events = _execute(conn, self._insert_events, event_rows)
            new_fills = _execute(conn, self._insert_fills, fill_rows)
            new_positions = _execute(conn, self._upsert_positions, position_rows)
            audit_ids = _execute(conn, self._insert_audit, audit_rows)
            return BatchResult(
                orders_applied=tuple(applied),
                new_event_ids=tuple(new_events),
                new_fills=tuple(new_fills),
                positions_applied=len(new_positions),
                audit_ids=tuple(sorted(audit_ids)),
            )

        # No lock: SQLite's worker thread runs one operation at a time in arrival order,
        # and PostgreSQL takes concurrent writers.
        return await self._run(write, begin=True)

    # -- reads -------------------------------------------------------------------------

    async def load_orders(self, open_only: bool = False) -> list[dict[str, Any]]:
        """Every order (or only those not COMPLETE, CANCELLED or REJECTED), oldest first."""
        query = select(orders).order_by(orders.c.created_ns, orders.c.client_order_id)
        if open_only:
            query = query.where(orders.c.status.not_in(CLOSED_STATUSES))
        return await self._fetch(query)

    async def get_order(self, client_order_id: str) -> dict[str, Any] | None:
        """One order by its client order id, or None."""
        rows = await self._fetch(select(orders).where(orders.c.client_order_id == client_order_id))
        return rows[0] if rows else None

    async def load_events(self, client_order_id: str | None = None) -> list[dict[str, Any]]:
        """Order events in the order they happened; ``payload`` is JSON text.

        Decode a payload with ``msgspec.json.decode(row["payload"], type=OrderEvent)``.
        """
        query = select(order_events).order_by(
            order_events.c.ts_ns, order_events.c.client_order_id, order_events.c.seq
        )
        if client_order_id is not None:
            query = query.where(order_events.c.client_order_id == client_order_id)
        return await self._fetch(query)

    async def load_fills(self, client_order_id: str | None = None) -> list[dict[str, Any]]:
        """Fills oldest first, all of them or one order's."""
        query = select(fills).order_by(fills.c.ts_ns, fills.c.trade_id)
        if client_order_id is not None:
            query = query.where(fills.c.client_order_id == client_order_id)
        return await self._fetch(query)

    async def load_positions(self) -> list[dict[str, Any]]:
        """Every stored position."""
        return await self._fetch(
            select(positions).order_by(
                positions.c.strategy_id, positions.c.instrument_token, positions.c.product
            )
        )

    async def audit(
        self, from_ns: int, to_ns: int, user: str | None = None
    ) -> list[dict[str, Any]]:
        """Audit entries with ``from_ns <= ts_ns < to_ns``, oldest first; ``detail`` is JSON text."""
        query = (
            select(audit_log)
            .where(audit_log.c.ts_ns >= from_ns, audit_log.c.ts_ns < to_ns)
            .order_by(audit_log.c.ts_ns, audit_log.c.id)
        )
        if user is not None:
            query = query.where(audit_log.c.user == user)
        return await self._fetch(query)

    # -- plumbing ----------------------------------------------------------------------

    async def _fetch(self, query: Select[Any]) -> list[dict[str, Any]]:
        # Plain str keys: SQLAlchemy's own names are a str subclass msgspec.convert refuses.
        keys = [str(column.name) for column in query.selected_columns]

        def fetch(conn: Connection) -> list[dict[str, Any]]:
            return [dict(zip(keys, row, strict=True)) for row in conn.execute(query)]

        return await self._run(fetch)

    async def _run(self, work: Work[T], *, begin: bool = False) -> T:
        """Run one operation; driver errors become :class:`LedgerError` /
        :class:`LedgerUnavailable`."""
        if self._closed:
            raise LedgerError(f"ledger {self.url} is closed")
        try:
            return await self._runner.run(work, begin=begin)
        except (exc.SQLAlchemyError, OSError) as error:
            raise translate_error(error, self._url) from error


async def open_ledger(settings: LedgerSettings, data_dir: Path, clock: Clock) -> Ledger:
    """Open the ledger the settings name, migrating the embedded one if it is behind.

    Raises :class:`~engine.ledger.errors.SchemaBehind` for a server database that
    needs ``alphapt-tui migrate``, and :class:`LedgerUnavailable` if unreachable.
    """
    url = settings.resolved_url(data_dir)
    await ensure_schema(url, embedded=settings.embedded)
    return await Ledger.open(
        url,
        clock,
        sqlite_synchronous=settings.sqlite_synchronous,
        sqlite_on_loop=settings.sqlite_on_loop,
        connect_timeout_s=settings.connect_timeout_s,
        statement_timeout_s=settings.statement_timeout_s,
    )


def _ping(conn: Connection) -> None:
    conn.execute(text("SELECT 1"))


def _execute(conn: Connection, statement: Insert, rows: list[dict[str, Any]]) -> list[Any]:
    """Execute ``statement`` for ``rows``; what its RETURNING clause gave (a tuple if several)."""
    if not rows:
        return []
    result = conn.execute(statement, rows)
    return [row[0] if len(row) == 1 else tuple(row) for row in result]


def _order_upsert(insert: Any) -> Insert:
    stmt = insert(orders)
    new = stmt.excluded
    return stmt.on_conflict_do_update(
        index_elements=[orders.c.client_order_id],
        set_={c.name: new[c.name] for c in orders.c if c.name not in _ORDER_IMMUTABLE},
        where=orders.c.version < new.version,
    ).returning(orders.c.client_order_id)


def _position_upsert(insert: Any) -> Insert:
    stmt = insert(positions)
    new = stmt.excluded
    key = [positions.c.instrument_token, positions.c.product, positions.c.strategy_id]
    return stmt.on_conflict_do_update(
        index_elements=key,
        set_={c.name: new[c.name] for c in positions.c if not c.primary_key},
        where=positions.c.updated_ns <= new.updated_ns,
    ).returning(positions.c.instrument_token)


# PostgreSQL refuses an upsert that touches one row twice in a statement, so a
# batch keeps one row per key before it is sent.
def _newest_versions(rows: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    newest: dict[str, dict[str, Any]] = {}
    for row in rows:
        kept = newest.get(row["client_order_id"])
        if kept is None or row["version"] > kept["version"]:
            newest[row["client_order_id"]] = row
    return list(newest.values())


def _newest_positions(rows: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    newest: dict[tuple[Any, ...], dict[str, Any]] = {}
    for row in rows:
        key = (row["instrument_token"], row["product"], row["strategy_id"])
        kept = newest.get(key)
        if kept is None or row["updated_ns"] >= kept["updated_ns"]:
            newest[key] = row
    return list(newest.values())


def _first_by(rows: Iterable[dict[str, Any]], *key: str) -> list[dict[str, Any]]:
    first: dict[tuple[Any, ...], dict[str, Any]] = {}
    for row in rows:
        first.setdefault(tuple(row[k] for k in key), row)
    return list(first.values())
