"""Instruments: parsing Kite's dump, the registry's search and chains, daily refresh and caches."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from pathlib import Path

import pytest

from engine.clock import IST, TestClock
from engine.instruments import (
    DiskCache,
    DownloadProgress,
    InstrumentRegistry,
    InstrumentsError,
    InstrumentsService,
    RedisCache,
    parse_instruments_csv,
    refresh_due,
)
from engine.kite.rest import KiteRest
from tests.kite_fake.market import DATA_DIR
from tests.kite_fake.server import FakeKite

CSV = (DATA_DIR / "instruments_all.csv").read_bytes() + (
    (DATA_DIR / "extra_instruments.csv").read_bytes().split(b"\n", 1)[1]
)
JAN25 = date(2018, 1, 25)


@pytest.fixture(scope="module")
def registry() -> InstrumentRegistry:
    return InstrumentRegistry(parse_instruments_csv(CSV))


@pytest.fixture
def kite():
    with FakeKite(tick_interval=None, heartbeat_interval=None) as fake:
        yield fake


def rest_for(kite: FakeKite) -> KiteRest:
    return KiteRest(kite.root, kite.api_key, lambda: kite.access_token, timeout_s=5)


def downloads(kite: FakeKite) -> int:
    return sum(1 for r in kite.requests if r.path == "/instruments")


# -- parsing ----------------------------------------------------------------------------------


def test_rows_become_instruments_in_engine_types(registry: InstrumentRegistry) -> None:
    assert len(registry) == 99 + 9
    call = registry.resolve("NFO:BANKNIFTY18JAN23500CE")
    assert call is not None
    assert (call.expiry, call.strike, call.lot_size, call.tick_size) == (JAN25, 23500.0, 40, 0.05)
    assert (call.segment, call.instrument_type, call.exchange) == ("NFO-OPT", "CE", "NFO")
    assert call.name == "BANKNIFTY"  # blank in the dump: derived from the symbol
    infy = registry.get(408065)
    assert infy is not None and infy.expiry is None and infy.strike == 0.0
    assert infy.name == "INFOSYS" and infy.segment == "NSE"
    assert registry.resolve("NSE:NIFTY 50").tradable is False
    assert registry.resolve("CDS:USDINR21JUNFUT").tick_size == 0.0025


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda b: b[:-40], "truncated"),
        (lambda b: b.rsplit(b"\n", 3)[0] + b",1,2\n", "fields, expected 12"),
        (lambda b: b.replace(b",0.05,40,CE,", b",0.05,forty,CE,", 1), "line 8"),
        (lambda b: b.replace(b"2018-01-25", b"2018-13-25", 1), "line"),
        (lambda b: b.replace(b"lot_size", b"lots", 1), "lot_size"),
        (lambda b: b"", "empty"),
        (lambda b: b.split(b"\n", 1)[0] + b"\n", "no instruments"),
    ],
)
def test_a_damaged_dump_is_one_clear_error(damage, message: str) -> None:
    with pytest.raises(InstrumentsError, match=message) as err:
        parse_instruments_csv(damage(CSV))
    assert "\n" not in str(err.value)


# -- registry ---------------------------------------------------------------------------------


def test_search_ranks_exact_then_prefix_then_substring(registry: InstrumentRegistry) -> None:
    keys = [i.key for i in registry.search("infy")]
    assert keys[0] == "NSE:INFY"
    hits = [i.key for i in registry.search("BANK", limit=50)]
    assert "NSE:HDFCBANK" in hits  # substring of the symbol
    assert "NSE:NIFTY BANK" in hits
    assert hits.index("NSE:NIFTY BANK") > max(
        hits.index(k) for k in hits if k.split(":")[1].startswith("BANK")
    )
    assert all(k.split(":")[0] in {"NSE", "BSE", "NFO"} for k in hits)
    assert [i.key for i in registry.search("tata consultancy")] == ["NSE:TCS"]  # by name
    assert registry.search("USDINR") == []  # CDS is not searched by default
    assert [i.key for i in registry.search("CDS:usdinr")] == ["CDS:USDINR21JUNFUT"]
    assert len(registry.search("A", limit=5)) == 5
    assert registry.search("  ") == [] and registry.search("ZZZNOPE") == []


def test_option_chain_by_underlying_and_expiry(registry: InstrumentRegistry) -> None:
    assert JAN25 in registry.expiries("banknifty")
    chain = registry.chain("BANKNIFTY", JAN25)
    strikes = [strike for strike, _, _ in chain]
    assert strikes == sorted(strikes) and 23500.0 in strikes
    for strike, ce, pe in chain:
        for leg, kind in ((ce, "CE"), (pe, "PE")):
            if leg is not None:
                assert (leg.strike, leg.expiry, leg.instrument_type) == (strike, JAN25, kind)
    row = dict((s, (c, p)) for s, c, p in chain)[23500.0]
    assert row[0].tradingsymbol == "BANKNIFTY18JAN23500CE"
    assert row[1].tradingsymbol == "BANKNIFTY18JAN23500PE"
    assert registry.chain("BANKNIFTY", date(2030, 1, 1)) == []


def test_lot_and_tick_sizes_for_the_ticket(registry: InstrumentRegistry) -> None:
    token = registry.resolve("NFO:BANKNIFTY18JAN23500PE").instrument_token
    assert (registry.lot_size(token), registry.tick_size(token)) == (40, 0.05)
    with pytest.raises(KeyError):
        registry.lot_size(1)


def test_search_scales_to_a_full_size_dump() -> None:
    base = parse_instruments_csv(CSV)
    many = [
        i.__class__(**{**{f: getattr(i, f) for f in i.__struct_fields__},
                       "instrument_token": n * 1000 + k, "tradingsymbol": f"{i.tradingsymbol}{n}"})
        for n in range(1000) for k, i in enumerate(base)
    ]  # fmt: skip
    big = InstrumentRegistry(many)
    assert len(big) == 108_000
    assert big.search("INFY999")[0].tradingsymbol == "INFY999"
    assert len(big.search("BANKNIFTY18JAN23500CE", limit=10)) == 10


# -- refresh and caches -----------------------------------------------------------------------


def at(hh: int, mm: int, day: int = 25) -> TestClock:
    return TestClock(datetime(2026, 11, day, hh, mm, tzinfo=IST))


async def test_download_reports_progress_and_caches_on_disk(kite: FakeKite, tmp_path: Path):
    seen: list[DownloadProgress] = []
    async with rest_for(kite) as rest:
        service = InstrumentsService(tmp_path, at(9, 0), rest)
        registry = await service.ensure(seen.append)
    assert len(registry) == 108
    assert seen and seen[-1].rows == 108 and seen[-1].bytes_read == service.meta.bytes
    assert seen[-1].total_bytes in (None, service.meta.bytes)
    assert [p.bytes_read for p in seen] == sorted(p.bytes_read for p in seen)
    cached = DiskCache(tmp_path / "instruments").read()
    assert cached is not None and cached[1] == service.meta
    assert parse_instruments_csv(cached[0]) == registry.all()


async def test_refreshes_once_a_day_after_0830_ist(kite: FakeKite, tmp_path: Path) -> None:
    clock = at(7, 0)
    async with rest_for(kite) as rest:
        service = InstrumentsService(tmp_path, clock, rest)
        await service.ensure()  # no cache: download even before 08:30
        assert downloads(kite) == 1
        clock.advance(3600)  # 08:00: yesterday's 08:30 is the last refresh point
        await service.ensure()
        assert downloads(kite) == 1 and not service.due()
        clock.advance(31 * 60)  # 08:31
        assert service.due()
        await service.ensure()
        assert downloads(kite) == 2
        clock.advance(20 * 3600)  # 04:31 next day: still fresh
        await InstrumentsService(tmp_path, clock, rest).ensure()  # a restart reads the cache
        assert downloads(kite) == 2


def test_refresh_due_rule() -> None:
    from engine.instruments import InstrumentsMeta
    from engine.instruments.service import time

    def meta(clock: TestClock) -> InstrumentsMeta:
        return InstrumentsMeta(clock.now_ns(), 1, 1, "")

    at830 = time(8, 30)
    assert refresh_due(None, at(12, 0).now_ns(), at830)
    assert not refresh_due(meta(at(8, 30)), at(23, 59).now_ns(), at830)
    assert refresh_due(meta(at(8, 29)), at(8, 30).now_ns(), at830)
    assert not refresh_due(meta(at(9, 0, day=24)), at(8, 29).now_ns(), at830)


async def test_a_corrupt_download_keeps_the_previous_cache(kite: FakeKite, tmp_path: Path):
    clock = at(9, 0)
    async with rest_for(kite) as rest:
        service = InstrumentsService(tmp_path, clock, rest)
        good = await service.ensure()
        before = (tmp_path / "instruments" / "instruments.csv").read_bytes()
        full = kite.market.csv_dump()
        kite.market.csv_dump = lambda exchange=None: full[: len(full) // 2]  # cut mid-row
        clock.advance(86_400)
        with pytest.raises(InstrumentsError, match=r"truncated|fields") as err:
            await service.ensure()
        assert "\n" not in str(err.value)
        assert (tmp_path / "instruments" / "instruments.csv").read_bytes() == before
        assert service.load_cached().all() == good.all()

        kite.market.csv_dump = lambda exchange=None: full
        kite.expire_token(drop_websockets=False)
        with pytest.raises(InstrumentsError, match="TokenException"):
            await service.refresh()
        assert (tmp_path / "instruments" / "instruments.csv").read_bytes() == before


def test_a_cache_out_of_step_with_its_meta_is_stale(tmp_path: Path) -> None:
    cache = DiskCache(tmp_path)
    from engine.instruments.cache import InstrumentsMeta, digest

    cache.write(CSV, InstrumentsMeta(at(9, 0).now_ns(), 108, len(CSV), digest(CSV)))
    assert cache.read()[1] is not None
    cache.csv_path.write_bytes(CSV + CSV.split(b"\n", 1)[1])  # a crash between the two renames
    data, meta = cache.read()
    assert meta is None and data.startswith(CSV)


async def test_a_second_desk_takes_the_dump_from_redis(kite: FakeKite, tmp_path: Path) -> None:
    redis = pytest.importorskip("redis.asyncio")
    key = f"alphapt:test:{uuid.uuid4().hex}"
    shared = RedisCache("redis://127.0.0.1:6379/0", key=key)
    try:
        async with redis.from_url("redis://127.0.0.1:6379/0") as client:
            await client.ping()
    except Exception:
        pytest.skip("no Redis on 127.0.0.1:6379")
    try:
        async with rest_for(kite) as rest:
            first = await InstrumentsService(tmp_path / "a", at(9, 0), rest, shared=shared).ensure()
            second = InstrumentsService(tmp_path / "b", at(10, 0), rest, shared=shared)
            assert (await second.ensure()).all() == first.all()
        assert downloads(kite) == 1
        assert DiskCache(tmp_path / "b" / "instruments").read() is not None
        assert "redis://" not in repr(shared)
    finally:
        async with redis.from_url("redis://127.0.0.1:6379/0") as client:
            await client.delete(f"{key}:csv", f"{key}:meta")


async def test_an_unreachable_redis_does_not_stop_the_download(kite: FakeKite, tmp_path: Path):
    shared = RedisCache("redis://127.0.0.1:1/0")
    async with rest_for(kite) as rest:
        registry = await InstrumentsService(tmp_path, at(9, 0), rest, shared=shared).ensure()
    assert len(registry) == 108
