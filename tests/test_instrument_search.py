"""Symbol search, option chains and the mock market's index options."""

from __future__ import annotations

from datetime import date

import pytest

from engine.clock import TestClock
from engine.feeds.universe import (
    INDICES,
    OPTION_UNDERLYINGS,
    build_option_chains,
    monthly_expiries,
    option_expiries,
    option_symbol,
)
from engine.instrument_search import InstrumentSearch, underlying_of
from engine.instruments import InstrumentRegistry, parse_instruments_csv
from engine.kernel import Kernel
from engine.model import on_tick_grid
from tests.test_instruments import CSV

SPOTS = {symbol: price for symbol, _, _, price in INDICES}
NIFTY = OPTION_UNDERLYINGS[0]


# -- the mock option universe -------------------------------------------------------------------


def test_nifty_lists_two_tuesday_weeklies_and_the_monthly() -> None:
    # Wednesday 25 Nov 2026: November's last Tuesday (24th) has expired.
    assert option_expiries(NIFTY, date(2026, 11, 25)) == [
        (date(2026, 12, 1), False),
        (date(2026, 12, 8), False),
        (date(2026, 12, 29), True),
    ]
    # On the monthly expiry day itself the contract is still listed, as a monthly.
    assert option_expiries(NIFTY, date(2026, 12, 29))[0] == (date(2026, 12, 29), True)
    assert monthly_expiries(date(2026, 11, 25), 2) == [date(2026, 12, 29), date(2027, 1, 26)]


def test_tradingsymbols_follow_kites_weekly_and_monthly_formats() -> None:
    assert option_symbol("NIFTY", date(2026, 12, 1), False, 26000.0, "CE") == "NIFTY26D0126000CE"
    assert option_symbol("NIFTY", date(2027, 1, 5), False, 25950.0, "PE") == "NIFTY2710525950PE"
    assert option_symbol("BANKNIFTY", date(2026, 12, 29), True, 59200.0, "PE") == (
        "BANKNIFTY26DEC59200PE"
    )


def test_option_chain_is_priced_on_the_tick_grid_around_the_spot() -> None:
    rows = build_option_chains(date(2026, 11, 25), SPOTS)
    assert len(rows) == 250  # NIFTY 3 expiries, BANKNIFTY 2; 25 strikes; CE and PE
    assert len({i.instrument_token for i, _ in rows}) == 250
    for instrument, price in rows:
        assert instrument.exchange == "NFO" and instrument.segment == "NFO-OPT"
        assert instrument.instrument_token & 0xFF == 2
        assert instrument.lot_size == (65 if instrument.name == "NIFTY" else 30)
        assert price >= 0.05 and on_tick_grid(price, 0.05), instrument.tradingsymbol
    nifty = {(i.strike, i.instrument_type): p for i, p in rows if i.expiry == date(2026, 12, 1)}
    strikes = sorted({strike for strike, _ in nifty})
    assert strikes[12] == 26050.0 and strikes[1] - strikes[0] == 50  # ATM of 26,068
    # Calls fall and puts rise with the strike; the ATM straddle is worth a few hundred.
    calls = [nifty[s, "CE"] for s in strikes]
    puts = [nifty[s, "PE"] for s in strikes]
    assert calls == sorted(calls, reverse=True) and puts == sorted(puts)
    assert 200 < nifty[26050.0, "CE"] + nifty[26050.0, "PE"] < 500


def test_a_contract_keeps_its_token_from_one_day_to_the_next() -> None:
    monday = {
        i.tradingsymbol: i.instrument_token
        for i, _ in build_option_chains(date(2026, 11, 23), SPOTS)
    }
    wednesday = {
        i.tradingsymbol: i.instrument_token
        for i, _ in build_option_chains(date(2026, 11, 25), SPOTS)
    }
    common = monday.keys() & wednesday.keys()
    assert common
    assert all(monday[s] == wednesday[s] for s in common)


# -- search on the mock market ----------------------------------------------------------------


@pytest.fixture
def kernel(settings) -> Kernel:
    return Kernel(settings, TestClock())


def test_search_reads_a_contract_the_way_traders_type_it(kernel: Kernel) -> None:
    found = kernel.search_instruments("nifty 26050 ce")
    assert [i.tradingsymbol for i in found] == [
        "NIFTY26D0126050CE",
        "NIFTY26D0826050CE",
        "NIFTY26DEC26050CE",
    ]
    puts = kernel.search_instruments("banknifty jan pe", limit=5)
    assert len(puts) == 5
    assert all(i.name == "BANKNIFTY" and i.instrument_type == "PE" for i in puts)
    assert {i.expiry for i in puts} == {date(2027, 1, 26)}


def test_plain_words_search_symbols_and_names(kernel: Kernel) -> None:
    assert kernel.search_instruments("NIFTY BANK")[0].key == "NSE:NIFTY BANK"
    assert kernel.search_instruments("nifty 50")[0].key == "NSE:NIFTY 50"
    assert kernel.search_instruments("tata steel")[0].key == "NSE:TATASTEEL"
    assert kernel.search_instruments("infy")[0].key == "NSE:INFY"
    assert kernel.search_instruments("   ") == ()
    assert len(kernel.search_instruments("SYN", limit=7)) == 0  # 52: no synthetic names
    assert len(kernel.search_instruments("NIFTY", limit=7)) == 7


def test_chain_has_calls_and_puts_by_strike_with_prices_and_spot(kernel: Kernel) -> None:
    chain = kernel.option_chain("nifty")
    assert chain.expiry == date(2026, 12, 1)
    assert chain.expiries == (date(2026, 12, 1), date(2026, 12, 8), date(2026, 12, 29))
    assert len(chain.strikes) == 25
    assert chain.spot == pytest.approx(26068.15)
    assert chain.atm_strike == 26050.0
    row = chain.strikes[12]
    assert row.call is not None and row.put is not None
    assert row.call.instrument.tradingsymbol == "NIFTY26D0126050CE"
    assert row.put.instrument.tradingsymbol == "NIFTY26D0126050PE"
    # Not subscribed, so not traded: the previous close stands in.
    assert row.call.ltp and not row.call.live
    monthly = kernel.option_chain("NIFTY", date(2026, 12, 29))
    assert monthly.strikes[0].call.instrument.tradingsymbol.startswith("NIFTY26DEC")  # type: ignore[union-attr]


def test_chain_of_an_unknown_underlying_says_which_exist(kernel: Kernel) -> None:
    chain = kernel.option_chain("RELIANCE")
    assert chain.strikes == ()
    assert chain.note == "no options on RELIANCE"
    assert chain.underlyings == ("BANKNIFTY", "NIFTY")


# -- search on Zerodha's sample dump (names of options left empty) ----------------------------


@pytest.fixture(scope="module")
def dump() -> InstrumentSearch:
    registry = InstrumentRegistry(parse_instruments_csv(CSV))
    return InstrumentSearch(registry.all, lambda token: None, registry)


def test_underlying_comes_from_the_symbol_when_the_name_is_empty(dump: InstrumentSearch) -> None:
    option = dump.registry.resolve("NFO:BANKNIFTY18JAN23500CE")
    assert option is not None
    assert underlying_of(option) == "BANKNIFTY"
    assert "BANKNIFTY" in dump.underlyings() and "INDIACEM" in dump.underlyings()


def test_dump_search_finds_an_nfo_contract(dump: InstrumentSearch) -> None:
    assert [i.tradingsymbol for i in dump.search("banknifty 23500 ce")] == ["BANKNIFTY18JAN23500CE"]
    assert dump.search("BANKNIFTY18JAN235")[0].tradingsymbol.startswith("BANKNIFTY18JAN235")
    chain = dump.chain("BANKNIFTY", date(2018, 1, 25))
    assert [row.strike for row in chain.strikes] == [23400.0, 23500.0, 23600.0, 23700.0]
    assert chain.expiries == (date(2017, 11, 30), date(2017, 12, 28), date(2018, 1, 25))
    assert chain.spot is None
