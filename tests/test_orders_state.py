"""The order state machine, order book, id minting and submit/modify validation."""

from __future__ import annotations

import random
from datetime import datetime

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.clock import IST, TestClock
from engine.model import Instrument
from engine.orders import (
    ClientOrderIdMinter,
    Fill,
    InvalidTransition,
    ModifyOrder,
    Order,
    OrderAccepted,
    OrderBook,
    OrderCancelled,
    OrderCancelRejected,
    OrderEvent,
    OrderFilled,
    OrderInitialized,
    OrderModified,
    OrderModifyRejected,
    OrderPendingCancel,
    OrderPendingModify,
    OrderRejected,
    OrderStatus,
    OrderSubmitted,
    OrderTriggered,
    OrderType,
    Product,
    Side,
    StatusGroup,
    SubmitOrder,
    apply,
    fill_event_id,
    is_valid_client_order_id,
    validate_modify,
    validate_submit,
)
from engine.orders.validation import submit_problems

S = OrderStatus
T0 = 1_764_045_000_000_000_000

SBIN = Instrument(779521, 3045, "SBIN", "STATE BANK OF INDIA", "NSE", "NSE", "EQ", 0.05, 1)
NIFTY_FUT = Instrument(13238786, 51714, "NIFTY26DECFUT", "NIFTY", "NFO", "NFO-FUT", "FUT", 0.1, 75)
NIFTY_IDX = Instrument(256265, 1001, "NIFTY 50", "NIFTY 50", "NSE", "INDICES", "EQ", 0.0, 0)


def cmd(**kw) -> SubmitOrder:
    base = dict(
        user="AB1234",
        exchange="NSE",
        tradingsymbol="SBIN",
        instrument_token=779521,
        side=Side.BUY,
        order_type=OrderType.LIMIT,
        product=Product.MIS,
        quantity=10,
        price=800.0,
    )
    base.update(kw)
    return SubmitOrder(**base)


class Flow:
    """Drives one order through a book with fresh event ids and advancing time."""

    def __init__(self, book: OrderBook | None = None, coid: str = "C1", **kw) -> None:
        self.book = book if book is not None else OrderBook()
        self.coid = coid
        self.n = 0
        self.trades = 0
        self.book.apply(OrderInitialized(**self._ids(), command=cmd(**kw)))

    def _ids(self) -> dict:
        self.n += 1
        return {
            "event_id": f"{self.coid}-e{self.n}",
            "ts_ns": T0 + self.n,
            "client_order_id": self.coid,
        }

    def ev(self, kind, **kw):
        return kind(**self._ids(), **kw)

    def go(self, kind, **kw) -> Order | None:
        return self.book.apply(self.ev(kind, **kw))

    def fill_event(self, qty: int, px: float, side: Side = Side.BUY) -> OrderFilled:
        self.trades += 1
        trade_id = f"{self.coid}-T{self.trades}"
        o = self.order
        fill = Fill(
            trade_id=trade_id,
            client_order_id=self.coid,
            broker_order_id=o.broker_order_id,
            instrument_token=o.instrument_token,
            exchange=o.exchange,
            tradingsymbol=o.tradingsymbol,
            side=side,
            product=o.product,
            quantity=qty,
            price=px,
            ts_ns=T0 + self.n,
        )
        self.n += 1
        return OrderFilled(
            event_id=fill_event_id(trade_id),
            ts_ns=T0 + self.n,
            client_order_id=self.coid,
            fill=fill,
        )

    def fill(self, qty: int, px: float, side: Side = Side.BUY) -> Order | None:
        return self.book.apply(self.fill_event(qty, px, side))

    def open(self, broker_id: str = "B1") -> Order | None:
        self.go(OrderSubmitted)
        return self.go(OrderAccepted, broker_order_id=broker_id)

    @property
    def order(self) -> Order:
        return self.book[self.coid]


# -- transitions ---------------------------------------------------------------------------


def test_initialized_order_is_local_and_carries_the_command() -> None:
    f = Flow(quantity=5, price=801.5, strategy_id="s1")
    o = f.order
    assert o.status is S.PUT_ORDER_REQ_RECEIVED and o.group is StatusGroup.LOCAL
    assert (o.quantity, o.price, o.strategy_id, o.user) == (5, 801.5, "s1", "AB1234")
    assert o.version == 1 and o.created_ns == o.updated_ns == T0 + 1
    assert o.filled_quantity == 0 and o.broker_order_id is None


def test_submitted_goes_in_flight_once() -> None:
    f = Flow()
    o = f.go(OrderSubmitted)
    assert o.status is S.OPEN_PENDING and o.group is StatusGroup.IN_FLIGHT and o.version == 2
    with pytest.raises(InvalidTransition, match="already sent"):
        f.go(OrderSubmitted)


def test_accepted_rests_open_or_trigger_pending() -> None:
    assert Flow().open().status is S.OPEN
    sl = Flow(order_type=OrderType.SL, price=800.0, trigger_price=799.0)
    o = sl.open("B9")
    assert o.status is S.TRIGGER_PENDING and o.broker_order_id == "B9"
    assert sl.book.by_broker_id("B9") == o
    with pytest.raises(InvalidTransition, match="already accepted"):
        sl.go(OrderAccepted, broker_order_id="B9")


def test_accepted_may_come_straight_from_local_and_refuses_a_closed_status() -> None:
    f = Flow()
    with pytest.raises(InvalidTransition, match="cannot rest"):
        f.go(OrderAccepted, broker_order_id="B1", status=S.COMPLETE)
    assert f.go(OrderAccepted, broker_order_id="B1").status is S.OPEN


def test_rejected_closes_and_later_events_are_refused_as_late() -> None:
    f = Flow()
    f.go(OrderSubmitted)
    o = f.go(OrderRejected, reason="Insufficient funds")
    assert o.status is S.REJECTED and o.status_message == "Insufficient funds" and o.is_closed
    with pytest.raises(InvalidTransition) as err:
        f.go(OrderAccepted, broker_order_id="B1")
    assert err.value.late and "closed" in str(err.value)
    with pytest.raises(InvalidTransition):
        f.fill(1, 800.0)


def test_risk_can_reject_a_local_order_before_it_is_sent() -> None:
    assert Flow().go(OrderRejected, reason="HALTED").status is S.REJECTED


def test_triggered_moves_a_stop_order_to_open() -> None:
    f = Flow(order_type=OrderType.SL, price=800.0, trigger_price=799.0)
    f.open()
    assert f.go(OrderTriggered).status is S.OPEN
    with pytest.raises(InvalidTransition, match="not waiting"):
        f.go(OrderTriggered)
    limit = Flow()
    limit.open()
    with pytest.raises(InvalidTransition, match="no trigger"):
        limit.go(OrderTriggered)


def test_modify_round_trip() -> None:
    f = Flow()
    f.open()
    assert f.go(OrderPendingModify).status is S.MODIFY_PENDING
    o = f.go(OrderModified, price=801.0, quantity=20)
    assert (o.status, o.price, o.quantity, o.modifications) == (S.OPEN, 801.0, 20, 1)


def test_direct_modify_keeps_resting_status_and_order_type_change_recomputes_it() -> None:
    f = Flow(order_type=OrderType.SL, price=800.0, trigger_price=799.0)
    f.open()
    assert f.go(OrderModified, trigger_price=798.0).status is S.TRIGGER_PENDING
    o = f.go(OrderModified, order_type=OrderType.LIMIT, trigger_price=0.0)
    assert o.status is S.OPEN and o.order_type is OrderType.LIMIT and o.modifications == 2


def test_modify_cannot_cut_quantity_to_the_filled_amount() -> None:
    f = Flow()
    f.open()
    f.fill(4, 800.0)
    with pytest.raises(InvalidTransition, match="exceed filled"):
        f.go(OrderModified, quantity=4)
    assert f.go(OrderModified, quantity=5).quantity == 5


def test_modify_rejected_returns_to_rest() -> None:
    f = Flow(order_type=OrderType.SL, price=800.0, trigger_price=799.0)
    f.open()
    f.go(OrderPendingModify)
    o = f.go(OrderModifyRejected, reason="Trigger price out of range")
    assert o.status is S.TRIGGER_PENDING and o.status_message == "Trigger price out of range"
    assert o.modifications == 0


def test_cancel_round_trip_and_cancel_rejected() -> None:
    f = Flow()
    f.open()
    assert f.go(OrderPendingCancel).status is S.CANCEL_PENDING
    assert f.go(OrderCancelRejected, reason="busy").status is S.OPEN
    f.go(OrderPendingCancel)
    o = f.go(OrderCancelled, reason="user")
    assert o.status is S.CANCELLED and o.group is StatusGroup.CLOSED
    with pytest.raises(InvalidTransition) as err:
        f.go(OrderCancelled)
    assert err.value.late


def test_pending_cancel_needs_a_resting_order() -> None:
    f = Flow()
    with pytest.raises(InvalidTransition, match="resting"):
        f.go(OrderPendingCancel)
    assert f.go(OrderCancelled, reason="kill switch").status is S.CANCELLED


def test_partial_then_full_fill_with_vwap() -> None:
    f = Flow()
    f.open()
    o = f.fill(4, 800.0)
    assert (o.status, o.filled_quantity, o.pending_quantity) == (S.OPEN, 4, 6)
    o = f.fill(6, 801.0)
    assert o.status is S.COMPLETE and o.filled_quantity == 10
    assert o.average_price == pytest.approx((4 * 800.0 + 6 * 801.0) / 10)


def test_overfill_and_mismatched_fills_are_refused() -> None:
    f = Flow()
    f.open()
    with pytest.raises(InvalidTransition, match="exceeds pending"):
        f.fill(11, 800.0)
    with pytest.raises(InvalidTransition, match="side"):
        f.fill(1, 800.0, side=Side.SELL)
    assert f.order.filled_quantity == 0 and f.book.fills == ()


def test_a_fill_on_a_never_sent_order_is_refused() -> None:
    f = Flow()
    with pytest.raises(InvalidTransition, match="never sent"):
        f.fill(1, 800.0)


def test_market_fill_racing_acceptance_opens_the_order() -> None:
    f = Flow(order_type=OrderType.MARKET, price=0.0, market_protection=-1.0)
    f.go(OrderSubmitted, broker_order_id="B7")
    assert f.fill(3, 800.0).status is S.OPEN
    assert f.fill(7, 800.0).status is S.COMPLETE


def test_fill_racing_a_cancel_is_applied() -> None:
    f = Flow()
    f.open()
    f.go(OrderPendingCancel)
    o = f.fill(4, 800.0)
    assert o.status is S.CANCEL_PENDING and o.filled_quantity == 4
    assert f.go(OrderCancelled).status is S.CANCELLED


def test_late_fill_on_a_cancelled_order_is_applied_and_it_stays_cancelled() -> None:
    f = Flow()
    f.open()
    f.go(OrderCancelled)
    o = f.fill(4, 800.0)
    assert o.status is S.CANCELLED and o.filled_quantity == 4
    assert f.book.net_quantity(779521) == 4


def test_fill_after_complete_is_refused() -> None:
    f = Flow()
    f.open()
    f.fill(10, 800.0)
    with pytest.raises(InvalidTransition) as err:
        f.fill(1, 800.0)
    assert err.value.late


def test_same_event_twice_and_same_trade_twice_change_nothing() -> None:
    f = Flow()
    f.open()
    event = f.fill_event(4, 800.0)
    first = f.book.apply(event)
    assert f.book.apply(event) is None
    again = msgspec.structs.replace(event, event_id="postback-123")
    assert f.book.apply(again) is None
    assert f.order == first and f.order.filled_quantity == 4 and len(f.book.fills) == 1


def test_unknown_order_wrong_order_and_double_initialize_are_refused() -> None:
    book = OrderBook()
    with pytest.raises(InvalidTransition, match="unknown order"):
        book.apply(OrderSubmitted(event_id="x", ts_ns=T0, client_order_id="NOPE"))
    f = Flow(book)
    with pytest.raises(InvalidTransition, match="already in use"):
        book.apply(OrderInitialized(event_id="y", ts_ns=T0, client_order_id="C1", command=cmd()))
    with pytest.raises(InvalidTransition, match="event is for"):
        apply(f.order, OrderSubmitted(event_id="z", ts_ns=T0, client_order_id="C2"))


def test_apply_is_pure() -> None:
    f = Flow()
    before = f.order
    after = apply(before, f.ev(OrderSubmitted))
    assert before.status is S.PUT_ORDER_REQ_RECEIVED and after.status is S.OPEN_PENDING
    assert f.order is before


def test_event_log_survives_encoding_and_replays_to_the_same_book() -> None:
    f = Flow()
    f.open()
    f.fill(3, 800.0)
    f.go(OrderModified, price=799.0)
    Flow(f.book, coid="C2", side=Side.SELL).go(OrderRejected, reason="RMS")
    wire = msgspec.json.encode(f.book.events)
    decoded = msgspec.json.decode(wire, type=list[OrderEvent])
    rebuilt = OrderBook.replay(decoded)
    assert list(rebuilt) == list(f.book) and rebuilt.fills == f.book.fills


def test_book_queries() -> None:
    book = OrderBook()
    a = Flow(book, coid="A", strategy_id="s1")
    a.open()
    Flow(book, coid="B", strategy_id="s2").go(OrderRejected, reason="x")
    Flow(book, coid="C", strategy_id="s1")
    assert [o.client_order_id for o in book.working(strategy_id="s1")] == ["A", "C"]
    assert [o.client_order_id for o in book.orders(StatusGroup.CLOSED)] == ["B"]
    assert [o.client_order_id for o in book.orders(StatusGroup.OPEN)] == ["A"]
    assert "A" in book and len(book) == 3 and book.get("Z") is None


# -- properties ----------------------------------------------------------------------------

# Weighted so that orders usually open and fill before something closes them.
KINDS = (
    ["submit", "accept"] * 3
    + ["fill"] * 6
    + ["trigger", "pend_modify", "modify", "pend_cancel", "dup"] * 2
    + ["modify_reject", "cancel", "cancel_reject", "reject"]
)
ACTIONS = st.tuples(
    st.sampled_from(KINDS),
    st.integers(1, 25),
    st.integers(1, 200),
    st.sampled_from(list(OrderType)),
)
ORDER_SPECS = st.lists(
    st.tuples(st.sampled_from(list(Side)), st.sampled_from(list(OrderType)), st.integers(1, 30)),
    min_size=1,
    max_size=3,
)


def _event(f: Flow, action: tuple) -> OrderEvent:
    kind = action[0]
    simple = {
        "submit": OrderSubmitted,
        "trigger": OrderTriggered,
        "pend_modify": OrderPendingModify,
        "pend_cancel": OrderPendingCancel,
        "cancel": OrderCancelled,
    }
    if kind in simple:
        return f.ev(simple[kind])
    if kind == "accept":
        return f.ev(OrderAccepted, broker_order_id=f"B-{f.coid}")
    if kind == "reject":
        return f.ev(OrderRejected, reason="no")
    if kind == "modify":
        return f.ev(OrderModified, quantity=action[1] + 5, order_type=action[3])
    if kind == "modify_reject":
        return f.ev(OrderModifyRejected, reason="no")
    if kind == "cancel_reject":
        return f.ev(OrderCancelRejected, reason="no")
    return f.fill_event(action[1], action[2] * 0.05 + 700, f.order.side)


@settings(max_examples=300, deadline=None)
@given(ORDER_SPECS, st.lists(st.tuples(st.integers(0, 2), ACTIONS), max_size=60))
def test_order_book_invariants_hold_for_any_event_sequence(specs, steps) -> None:
    book = OrderBook()
    flows = [
        Flow(book, coid=f"O{i}", side=side, order_type=ot, quantity=qty)
        for i, (side, ot, qty) in enumerate(specs)
    ]
    history: list[OrderEvent] = list(book.events)
    for index, action in steps:
        f = flows[index % len(flows)]
        before = f.order
        snapshot = list(book)
        if action[0] == "dup":
            # Applying an already-applied event changes nothing.
            assert book.apply(history[action[1] * action[2] % len(history)]) is None
            assert list(book) == snapshot
            continue
        event = _event(f, action)
        try:
            result = book.apply(event)
        except InvalidTransition:
            assert list(book) == snapshot
            continue
        history.append(event)
        after = f.order
        assert result == after and after.version == before.version + 1
        # Closed stays closed.
        if before.is_closed:
            assert after.status is before.status
            assert isinstance(event, OrderFilled) and before.status is S.CANCELLED
        assert 0 <= after.filled_quantity <= after.quantity
        if after.status is S.COMPLETE:
            assert after.filled_quantity == after.quantity
        # The working orders kept as events apply are a scan of the book, in creation order.
        assert book.working() == [o for o in book if o.group is not StatusGroup.CLOSED]
    for f in flows:
        o = f.order
        fills = [x for x in book.fills if x.client_order_id == f.coid]
        assert o.filled_quantity == sum(x.quantity for x in fills) <= o.quantity
        if fills:
            vwap = sum(x.price * x.quantity for x in fills) / o.filled_quantity
            assert o.average_price == pytest.approx(vwap)
    # The position implied by fills is the sum of the fills.
    assert book.net_quantity(779521) == sum(o.signed_filled for o in book)
    # Replaying the event log rebuilds the same state.
    rebuilt = OrderBook.replay(book.events)
    assert list(rebuilt) == list(book)
    assert rebuilt.fills == book.fills


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.integers(1, 10), st.integers(1, 1000)), min_size=1, max_size=12))
def test_vwap_of_partial_fills(fills) -> None:
    total = sum(q for q, _ in fills)
    f = Flow(quantity=total)
    f.open()
    for q, p in fills:
        f.fill(q, p * 0.05)
    o = f.order
    assert o.status is S.COMPLETE and o.filled_quantity == total
    assert o.average_price == pytest.approx(sum(q * p * 0.05 for q, p in fills) / total)


# -- client order ids ------------------------------------------------------------------------


def test_minted_ids_fit_kite_tag_and_are_unique() -> None:
    clock = TestClock()
    mint = ClientOrderIdMinter(clock)
    ids = {mint() for _ in range(5000)}
    clock.advance(0.001)
    ids |= {mint.next() for _ in range(5000)}
    assert len(ids) == 10_000
    assert all(is_valid_client_order_id(i) and len(i) <= 20 for i in ids)


def test_minting_is_deterministic_with_a_seeded_source_and_differs_across_runs() -> None:
    def run(seed: int) -> list[str]:
        mint = ClientOrderIdMinter(TestClock(), rng=random.Random(seed))
        return [mint() for _ in range(3)]

    assert run(7) == run(7)
    assert not set(run(7)) & set(run(8))


def test_a_restart_at_a_later_time_cannot_reuse_an_id() -> None:
    clock = TestClock()
    first = ClientOrderIdMinter(clock, run_id="AAAA")
    earlier = [first() for _ in range(3)]
    clock.advance(60)
    again = ClientOrderIdMinter(clock, run_id="AAAA")
    later = [again() for _ in range(3)]
    assert not set(earlier) & set(later)
    assert sorted(earlier + later) == earlier + later


def test_id_time_prefix_lasts_beyond_2050() -> None:
    mint = ClientOrderIdMinter(TestClock(datetime(2055, 1, 1, tzinfo=IST)), run_id="ZZZZ")
    assert len(mint()) == 18
    with pytest.raises(ValueError):
        ClientOrderIdMinter(TestClock(), run_id="AB-1")


# -- validation ---------------------------------------------------------------------------


FUT = {"exchange": "NFO", "tradingsymbol": "NIFTY26DECFUT", "instrument_token": 13238786}


def test_a_good_order_passes() -> None:
    assert validate_submit(cmd(), SBIN) is None
    fut = cmd(**FUT)
    assert (
        validate_submit(
            fut.__replace__(quantity=150, product=Product.NRML, price=26000.1), NIFTY_FUT
        )
        is None
    )


@pytest.mark.parametrize(
    ("changes", "instrument", "fragment"),
    [
        ({"quantity": 0}, SBIN, "quantity must be positive"),
        ({"quantity": -5}, SBIN, "quantity must be positive"),
        ({"quantity": 2.5}, SBIN, "whole number"),
        (
            {**FUT, "quantity": 100, "product": Product.NRML},
            NIFTY_FUT,
            "multiple of the lot size 75",
        ),
        ({"price": 800.03}, SBIN, "not a multiple of the tick size 0.05"),
        ({"price": 0.0}, SBIN, "LIMIT order needs a price"),
        (
            {"order_type": OrderType.SL, "price": 800.0, "trigger_price": 800.5},
            SBIN,
            "BUY SL trigger 800.5 must not be above the price 800",
        ),
        (
            {"side": Side.SELL, "order_type": OrderType.SL, "price": 800.0, "trigger_price": 799.0},
            SBIN,
            "SELL SL trigger 799 must not be below the price 800",
        ),
        (
            {"order_type": OrderType.SL, "price": 800.0, "trigger_price": 799.97},
            SBIN,
            "trigger price 799.97 is not a multiple",
        ),
        (
            {"order_type": OrderType.MARKET, "price": 0.0},
            SBIN,
            "MARKET order needs market protection",
        ),
        (
            {"order_type": OrderType.SLM, "trigger_price": 790.0, "market_protection": 0.0},
            SBIN,
            "SL-M order needs market protection",
        ),
        (
            {"order_type": OrderType.SLM, "trigger_price": 0.0, "market_protection": 2.0},
            SBIN,
            "trigger",
        ),
        ({"product": Product.NRML}, SBIN, "NRML is for derivatives"),
        ({**FUT, "product": Product.CNC, "quantity": 75}, NIFTY_FUT, "CNC is for equity delivery"),
        ({"instrument_token": 1}, SBIN, "not NSE:SBIN"),
        ({"instrument_token": 256265}, NIFTY_IDX, "index"),
    ],
)
def test_submit_validation_reasons(changes, instrument, fragment) -> None:
    reason = validate_submit(cmd(**changes), instrument)
    assert reason is not None and fragment in reason and "\n" not in reason


def test_market_orders_accept_auto_or_a_percent_protection() -> None:
    assert validate_submit(cmd(order_type=OrderType.MARKET, market_protection=-1.0), SBIN) is None
    assert validate_submit(cmd(order_type=OrderType.MARKET, market_protection=2.5), SBIN) is None
    assert validate_submit(cmd(order_type=OrderType.MARKET, market_protection=150), SBIN)


def test_submit_problems_lists_every_problem() -> None:
    assert len(submit_problems(cmd(quantity=0, price=800.01, product=Product.NRML), SBIN)) == 3


def test_modify_validation() -> None:
    f = Flow()
    modify = ModifyOrder(user="AB1234", client_order_id="C1", price=801.0)
    assert "only a resting order" in validate_modify(f.order, modify, SBIN)
    f.open()
    assert validate_modify(f.order, modify, SBIN) is None
    assert "tick size" in validate_modify(f.order, modify.__replace__(price=801.01), SBIN)
    to_market = modify.__replace__(order_type=OrderType.MARKET)
    assert "market protection" in validate_modify(f.order, to_market, SBIN)
    f.fill(4, 800.0)
    assert "exceed the filled 4" in validate_modify(f.order, modify.__replace__(quantity=4), SBIN)
    for _ in range(25):
        f.go(OrderModified, price=801.0)
    assert "modified 25 times" in validate_modify(f.order, modify, SBIN)
    f.go(OrderCancelled)
    assert "CANCELLED and can no longer be modified" in validate_modify(f.order, modify, SBIN)
