"""The strategy API: subclass :class:`Strategy`, declare ``Params``, override ``on_*``.

Callbacks run on the engine loop and must return quickly: ``on_tick`` runs inside
the bus hot path, ``on_bar``/``on_bars`` right after the batch that closed the bars.
``buy``/``sell``/``cancel`` only schedule the gateway call, so they never block. Heavy work goes to :meth:`Strategy.run_in_thread`.
An exception in any callback marks the strategy FAILED; nothing else is affected.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from enum import StrEnum
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from engine.model import Instrument, Tick
from engine.orders.commands import SubmitOrder
from engine.orders.events import OrderEvent
from engine.orders.model import Fill, Order, Product, Side

if TYPE_CHECKING:
    from engine.clock import Clock
    from engine.strategies.bars import Bar
    from engine.strategies.batch import BarBatch
    from engine.strategies.slot import MarketView, StrategySlot


class StrategyState(StrEnum):
    """Lifecycle of one strategy instance."""

    DISABLED = "disabled"
    STOPPED = "stopped"
    RUNNING = "running"
    FAILED = "failed"


class StrategyParams(BaseModel):
    """Parameters every strategy has; subclass it to add a strategy's own."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)

    quantity: int = Field(default=1, gt=0)
    """Units per order (a multiple of the lot size for derivatives)."""
    product: Product = Product.MIS
    """Kite product of its orders."""
    market_protection: float = Field(default=-1.0, ge=-1.0, le=100.0)
    """Market protection percent of MARKET orders; -1 lets the broker choose."""
    allow_short: bool = True
    """Whether a sell signal may take the position below zero."""


class Strategy:
    """Base class of every strategy. Subclasses override the ``on_*`` callbacks they need."""

    Params: ClassVar[type[StrategyParams]] = StrategyParams
    """The pydantic model validating this strategy's parameters."""
    key: ClassVar[str] = ""
    """The name settings use for this class; defaults to the class name."""

    def __init__(self, slot: StrategySlot) -> None:
        self._slot = slot
        self.name: str = slot.name
        self.params: Any = slot.params
        self.instruments: tuple[Instrument, ...] = slot.instruments
        self.clock: Clock = slot.clock
        self.market: MarketView = slot.market
        self.__book = slot.book  # the slot keeps one book for its lifetime

    # -- callbacks ---------------------------------------------------------------

    def on_start(self) -> None:
        """Called when the strategy starts (again after every stop): build indicators here."""

    def on_tick(self, tick: Tick) -> None:
        """Every tick of its instruments. Override only if needed: bar-only strategies cost nothing per tick."""

    def on_bar(self, bar: Bar) -> None:
        """A closed bar of a timeframe it subscribed to with :meth:`subscribe_bars`."""

    def on_bars(self, bars: BarBatch) -> None:
        """Closed bars of one timeframe and bucket at once, as columns (see :mod:`engine.strategies.batch`).

        Override it instead of ``on_bar`` to handle a minute close with a few vector
        operations on per-instrument arrays (row ``bars.index[i]`` for bar ``i``): the
        manager then calls it once per strategy and bucket, never ``on_bar``.
        Not overridden, the manager calls ``on_bar`` for each bar (this default does
        the same for a direct caller).
        """
        for bar in bars:
            self.on_bar(bar)

    def on_order_update(self, event: OrderEvent) -> None:
        """An event on one of its orders (accepted, rejected, filled, cancelled, …)."""

    def on_fill(self, fill: Fill) -> None:
        """A trade of one of its orders; its position already includes it."""

    def on_params_changed(self, old: StrategyParams) -> None:
        """New parameters were applied at runtime (``self.params`` holds them)."""

    def on_stop(self) -> None:
        """Called when the strategy stops (not after a failure)."""

    def stats(self) -> dict[str, float | int | str]:
        """Extra figures for the strategies screen (e.g. a model's hit rate)."""
        return {}

    # -- services ----------------------------------------------------------------

    def subscribe_bars(self, timeframe: str) -> None:
        """Receive ``on_bar`` for closed bars of ``timeframe`` (``1m``, ``5m``, ``15m``)."""
        self._slot.subscribe_bars(timeframe)

    def position(self, token: int) -> int:
        """Signed net quantity this strategy holds in ``token``, from its own fills."""
        return self.__book.net(token)

    def positions(self) -> dict[int, int]:
        """Every non-flat position of this strategy: token → net quantity."""
        return {t: p.net_qty for t, p in self.__book.positions.items() if p.net_qty}

    def open_orders(self, token: int | None = None) -> list[Order | SubmitOrder]:
        """Its orders not yet closed, including submissions not yet acknowledged."""
        return self.__book.open_orders(token)

    def expected_position(self, token: int) -> int:
        """Position once every open order fills: what a target-position rule compares against."""
        return self.__book.expected(token)

    def expected_positions(self, rows: np.ndarray) -> np.ndarray:
        """:meth:`expected_position` of the instruments at integer ``rows`` of ``instruments``
        (a :class:`~engine.strategies.batch.BarBatch`'s ``index``), as a new int64 array."""
        return self.__book.expected_rows[rows]

    def set_timer(self, name: str, seconds: float, callback: Callable[[], None]) -> None:
        """Call ``callback`` every ``seconds`` of engine-clock time until stopped or cancelled."""
        self._slot.set_timer(name, seconds, callback)

    def cancel_timer(self, name: str) -> None:
        """Stop the timer called ``name``, if any."""
        self._slot.cancel_timer(name)

    def buy(
        self, instrument: Instrument | int, quantity: int | None = None, price: float | None = None
    ) -> str | None:
        """Send a BUY (LIMIT at ``price``, else MARKET); returns its client order id."""
        return self._slot.send(Side.BUY, instrument, quantity, price)

    def sell(
        self, instrument: Instrument | int, quantity: int | None = None, price: float | None = None
    ) -> str | None:
        """Send a SELL (LIMIT at ``price``, else MARKET); returns its client order id."""
        return self._slot.send(Side.SELL, instrument, quantity, price)

    def cancel(self, client_order_id: str) -> None:
        """Ask to cancel one of its orders."""
        self._slot.cancel(client_order_id)

    def cancel_all(self) -> None:
        """Ask to cancel every open order of this strategy."""
        self._slot.cancel_all("requested by the strategy")

    def target_position(self, instrument: Instrument | int, target: int) -> str | None:
        """Send the order that moves the expected position to ``target`` (nothing if already there)."""
        token = instrument if isinstance(instrument, int) else instrument.instrument_token
        if target < 0 and not self.params.allow_short:
            target = 0
        diff = target - self.expected_position(token)
        if diff > 0:
            return self.buy(instrument, diff)
        if diff < 0:
            return self.sell(instrument, -diff)
        return None

    def run_in_thread(
        self,
        fn: Callable[..., Any],
        *args: Any,
        on_result: Callable[[Any], None] | None = None,
        budget_s: float | None = None,
    ) -> None:
        """Run ``fn(*args)`` in a worker thread; ``on_result`` gets its value back on the loop.

        Past ``budget_s`` (default: the settings' ``train_budget_s``) the result is
        dropped and a warning raised; an exception in ``fn`` fails the strategy.
        """
        self._slot.run_in_thread(fn, args, on_result, budget_s)

    def history(self, token: int, timeframe: str, count: int) -> Sequence[Bar]:
        """Up to ``count`` past bars from the injected history source (blocking: call in a thread)."""
        return self._slot.history(token, timeframe, count)

    def instrument(self, token: int) -> Instrument | None:
        """One of its instruments (or any the cache knows) by token."""
        return self._slot.instrument(token)
