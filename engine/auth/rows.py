"""Audit entries as the front end sees them, and their CSV form."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping
from typing import Any

import msgspec

CSV_COLUMNS = ("id", "ts_ns", "time_ist", "user", "session", "source", "action", "result", "detail")


class AuditRow(msgspec.Struct, frozen=True):
    """One audit-log entry; ``detail`` is the JSON text the ledger stores."""

    id: int
    ts_ns: int
    user: str
    session: str
    source: str
    action: str
    detail: str
    result: str


def audit_row_of(row: Mapping[str, Any]) -> AuditRow:
    """An :class:`AuditRow` from a ledger row (a column → value mapping)."""
    return AuditRow(
        id=int(row["id"]),
        ts_ns=int(row["ts_ns"]),
        user=str(row["user"]),
        session=str(row["session"]),
        source=str(row["source"]),
        action=str(row["action"]),
        detail=str(row["detail"]),
        result=str(row["result"]),
    )


def to_csv(rows: Iterable[AuditRow]) -> str:
    """The rows as CSV text with a header (``time_ist`` is ISO 8601 in IST)."""
    from engine.clock import ns_to_ist

    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for r in rows:
        when = ns_to_ist(r.ts_ns).isoformat()
        writer.writerow(
            (r.id, r.ts_ns, when, r.user, r.session, r.source, r.action, r.result, r.detail)
        )
    return out.getvalue()
