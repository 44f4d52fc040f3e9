"""Settings of paper trading (pydantic; nested under the desk settings as ``paper``)."""

from __future__ import annotations

from datetime import time

from pydantic import BaseModel, ConfigDict, Field


class PaperSettings(BaseModel):
    """How the paper broker fills orders and what the paper account holds."""

    model_config = ConfigDict(extra="forbid")

    starting_capital: float = Field(default=1_000_000.0, gt=0)
    """Rupees in the paper account before any trade."""
    latency_ms: float = Field(default=0.0, ge=0, le=10_000)
    """Simulated broker round trip (engine clock) before an order reaches the book or a
    modify/cancel takes effect. Not part of the tick-to-fill latency the engine measures."""
    slippage_bps: float = Field(default=0.0, ge=0, le=500)
    """Basis points added against the trader to MARKET and SL-M fill prices (kept on the tick
    grid and never beyond the order's market-protection price)."""
    market_protection_pct: float = Field(default=2.0, gt=0, le=100)
    """Market protection used when an order asks for the automatic one (-1): a MARKET or SL-M
    order never fills more than this percent worse than the LTP it arrived at."""
    mis_margin_fraction: float = Field(default=0.2, gt=0, le=1)
    """Share of the order value blocked as margin for MIS (intraday) orders and positions."""
    nrml_margin_fraction: float = Field(default=0.15, gt=0, le=1)
    """Share of the order value blocked as margin for NRML (F&O carry-forward) positions."""
    mis_squareoff_time: time = time(15, 20)
    """IST time at which open MIS orders are cancelled and MIS positions squared off with MARKET
    orders; after it, new MIS orders that add exposure are refused for the day."""
    market_open: time = time(9, 15)
    """IST time the exchange opens on weekdays: when waiting AMO orders go to the book."""
    market_close: time = time(15, 30)
    """IST time the exchange closes; AMO orders are accepted only outside open..close."""
    flush_interval_ms: int = Field(default=50, ge=1, le=10_000)
    """How often order events, fills and positions are written to the ledger in one batch."""
    ledger_retry_s: float = Field(default=2.0, gt=0, le=300)
    """While the ledger is unreachable: seconds between reconnection attempts."""
