"""Properties of the risk manager over random commands and random arrival times."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.alerts import Severity
from engine.clock import NS_PER_SECOND
from engine.orders.commands import CancelAllOrders, CancelOrder, ModifyOrder, SubmitOrder
from engine.orders.model import OrderType, Product, Side, Validity, Variety
from engine.risk import RiskSettings, TradingState
from tests.test_risk_support import INFY, NIFTY_CE, NIFTY_FUT, RELIANCE, Desk, submit

INSTRUMENTS = [RELIANCE, INFY, NIFTY_CE, NIFTY_FUT]

prices = st.floats(min_value=0.0, max_value=30_000.0, allow_nan=False).map(lambda p: round(p, 1))
submits = st.builds(
    SubmitOrder,
    user=st.just("AB1234"),
    exchange=st.sampled_from(["NSE", "NFO", "BSE"]),
    tradingsymbol=st.just("X"),
    instrument_token=st.sampled_from([i.token for i in INSTRUMENTS] + [1, 256265]),
    side=st.sampled_from(Side),
    order_type=st.sampled_from(OrderType),
    product=st.sampled_from(Product),
    quantity=st.integers(min_value=-5, max_value=5_000),
    price=prices,
    trigger_price=prices,
    market_protection=st.sampled_from([0.0, -1.0, 2.0, 100.0]),
    validity=st.sampled_from(Validity),
    variety=st.sampled_from(Variety),
    strategy_id=st.sampled_from(["manual", "sma", "kill-switch"]),
)
modifies = st.builds(
    ModifyOrder,
    user=st.just("AB1234"),
    client_order_id=st.sampled_from(["T1", "T2", "NOPE"]),
    quantity=st.none() | st.integers(min_value=1, max_value=5_000),
    price=st.none() | prices,
    order_type=st.none() | st.sampled_from(OrderType),
)
cancels = st.builds(CancelOrder, user=st.just("AB1234"), client_order_id=st.text(max_size=5))
cancel_alls = st.builds(CancelAllOrders, user=st.just("AB1234"))
commands = st.one_of(submits, modifies, cancels, cancel_alls)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(commands=st.lists(commands, min_size=1, max_size=10), net=st.integers(-500, 500))
def test_halted_passes_nothing_but_cancels(commands: list[object], net: int) -> None:
    desk = Desk(RiskSettings.model_validate({"session": {"session": "always-open"}}))
    desk.ctx.nets[RELIANCE.token] = net
    desk.ctx.rest(submit(price=1500.0))
    desk.ctx.rest(submit(side=Side.SELL, price=1540.0))
    desk.risk.halt("property test")
    for cmd in commands:
        verdict = desk.check(cmd)
        if isinstance(cmd, CancelOrder | CancelAllOrders):
            assert verdict is None
        else:
            assert verdict is not None and verdict.startswith("rejected by ")


@settings(max_examples=300, deadline=None)
@given(
    net=st.integers(-1_000, 1_000),
    resting=st.lists(st.tuples(st.sampled_from(Side), st.integers(1, 400)), max_size=4),
    side=st.sampled_from(Side),
    quantity=st.integers(1, 1_500),
    order_type=st.sampled_from([OrderType.LIMIT, OrderType.MARKET]),
)
def test_reducing_never_increases_absolute_exposure(
    net: int, resting: list[tuple[Side, int]], side: Side, quantity: int, order_type: OrderType
) -> None:
    desk = Desk(RiskSettings.model_validate({"self_trade": {"enabled": False}}))
    desk.ctx.nets[RELIANCE.token] = net
    for n, (rest_side, rest_qty) in enumerate(resting):
        desk.ctx.rest(submit(side=rest_side, quantity=rest_qty, price=1500.0 + n))
    desk.risk.reduce_only("property test")
    verdict = desk.check(submit(side=side, quantity=quantity, order_type=order_type, price=1519.0))
    if verdict is None:
        pending = sum(q for s, q in resting if s is side)
        # Even if this order and every resting order on its side fill, |position| shrinks.
        assert abs(net + side.sign * (quantity + pending)) <= abs(net)
        assert abs(net + side.sign * quantity) < abs(net)


@settings(max_examples=100, deadline=None)
@given(gaps_ms=st.lists(st.integers(min_value=0, max_value=20_000), min_size=1, max_size=400))
def test_throttle_never_exceeds_its_windows(gaps_ms: list[int]) -> None:
    limits = {"per_second": 3, "per_minute": 20, "per_day": 60}
    desk = Desk(
        RiskSettings.model_validate(
            {
                "throttle": limits,
                "duplicate": {"enabled": False},
                "session": {"session": "always-open"},
            }
        )
    )
    accepted: list[int] = []
    for n, gap in enumerate(gaps_ms):
        desk.advance(gap / 1000)
        if desk.check(submit(price=1500.0 + (n % 50) * 0.05)) is None:
            accepted.append(desk.clock.now_ns())
    for i, start in enumerate(accepted):
        in_second = sum(1 for t in accepted[i:] if t < start + NS_PER_SECOND)
        in_minute = sum(1 for t in accepted[i:] if t < start + 60 * NS_PER_SECOND)
        assert in_second <= limits["per_second"]
        assert in_minute <= limits["per_minute"]
    days: dict[int, int] = {}
    for t in accepted:
        day = (t + 19_800 * NS_PER_SECOND) // (86_400 * NS_PER_SECOND)
        days[day] = days.get(day, 0) + 1
    assert all(count <= limits["per_day"] for count in days.values())


def test_flood_is_throttled_and_alerted_once() -> None:
    desk = Desk()
    accepted = 0
    for n in range(1_000):
        desk.clock.advance(0.000999)
        cmd = submit(quantity=1 + n % 7, price=1500.0 + (n % 300) * 0.05, strategy_id="scalper")
        if desk.check(cmd) is None:
            accepted += 1
    assert accepted == 8  # the per-second default; the last tick of the ctx is still fresh
    assert desk.risk.rejections.total == 992
    throttle_alerts = [a for a in desk.alerts if "rejected by throttle" in a[2]]
    assert len(throttle_alerts) == 1
    assert throttle_alerts[0][0] is Severity.WARNING
    assert "(scalper)" in throttle_alerts[0][2]
    assert desk.rejections("throttle") == 992
    assert desk.risk.state is TradingState.ACTIVE
