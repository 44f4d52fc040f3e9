"""The mock market's instrument universe: NIFTY 50 names, two indices, then synthetic names,
and a small NIFTY / BANKNIFTY option chain (:func:`build_option_chains`).

Tokens are Kite instrument tokens where known (``exchange_token = token >> 8``);
prices are reference previous closes of late 2025, good enough to look real.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, timedelta
from statistics import NormalDist

from engine.model import Instrument

# (tradingsymbol, name, instrument_token, previous close)
NIFTY_50: tuple[tuple[str, str, int, float], ...] = (
    ("RELIANCE", "RELIANCE INDUSTRIES", 738561, 1518.40),
    ("HDFCBANK", "HDFC BANK", 341249, 987.65),
    ("ICICIBANK", "ICICI BANK", 1270529, 1376.20),
    ("INFY", "INFOSYS", 408065, 1512.85),
    ("TCS", "TATA CONSULTANCY SERV", 2953217, 3118.50),
    ("BHARTIARTL", "BHARTI AIRTEL", 2714625, 2062.30),
    ("SBIN", "STATE BANK OF INDIA", 779521, 952.45),
    ("ITC", "ITC", 424961, 405.70),
    ("LT", "LARSEN & TOUBRO", 2939649, 4012.60),
    ("HINDUNILVR", "HINDUSTAN UNILEVER", 356865, 2446.10),
    ("KOTAKBANK", "KOTAK MAHINDRA BANK", 492033, 2104.35),
    ("AXISBANK", "AXIS BANK", 1510401, 1231.90),
    ("BAJFINANCE", "BAJAJ FINANCE", 81153, 1021.55),
    ("MARUTI", "MARUTI SUZUKI INDIA", 2815745, 15812.00),
    ("SUNPHARMA", "SUN PHARMACEUTICAL IND", 857857, 1748.25),
    ("M&M", "MAHINDRA & MAHINDRA", 519937, 3702.80),
    ("TITAN", "TITAN COMPANY", 897537, 3805.45),
    ("ULTRACEMCO", "ULTRATECH CEMENT", 2952193, 11790.00),
    ("NTPC", "NTPC", 2977281, 331.15),
    ("HCLTECH", "HCL TECHNOLOGIES", 1850625, 1604.70),
    ("ASIANPAINT", "ASIAN PAINTS", 60417, 2898.35),
    ("POWERGRID", "POWER GRID CORP", 3834113, 271.60),
    ("ONGC", "OIL AND NATURAL GAS CORP", 633601, 249.85),
    ("TATASTEEL", "TATA STEEL", 895745, 171.25),
    ("WIPRO", "WIPRO", 969473, 245.30),
    ("COALINDIA", "COAL INDIA", 5215745, 386.40),
    ("JSWSTEEL", "JSW STEEL", 3001089, 1152.75),
    ("ADANIPORTS", "ADANI PORTS AND SEZ", 3861249, 1478.90),
    ("ADANIENT", "ADANI ENTERPRISES", 6401, 2451.20),
    ("BAJAJFINSV", "BAJAJ FINSERV", 4268801, 2049.60),
    ("BAJAJ-AUTO", "BAJAJ AUTO", 4267265, 8998.50),
    ("TMPV", "TATA MOTORS PASS VEH", 884737, 408.35),
    ("HEROMOTOCO", "HERO MOTOCORP", 345089, 5612.40),
    ("EICHERMOT", "EICHER MOTORS", 232961, 7004.15),
    ("GRASIM", "GRASIM INDUSTRIES", 315393, 2797.90),
    ("CIPLA", "CIPLA", 177665, 1521.35),
    ("DRREDDY", "DR. REDDY'S LABORATORIES", 225537, 1252.60),
    ("APOLLOHOSP", "APOLLO HOSPITALS ENTER", 40193, 7498.00),
    ("NESTLEIND", "NESTLE INDIA", 4598529, 1251.45),
    ("HINDALCO", "HINDALCO INDUSTRIES", 348929, 801.30),
    ("TECHM", "TECH MAHINDRA", 3465729, 1448.65),
    ("TATACONSUM", "TATA CONSUMER PRODUCTS", 878593, 1149.80),
    ("SBILIFE", "SBI LIFE INSURANCE", 5582849, 1998.25),
    ("HDFCLIFE", "HDFC LIFE INSURANCE", 119553, 761.40),
    ("SHRIRAMFIN", "SHRIRAM FINANCE", 4306177, 802.55),
    ("TRENT", "TRENT", 502785, 4498.20),
    ("BEL", "BHARAT ELECTRONICS", 98049, 418.95),
    ("JIOFIN", "JIO FINANCIAL SERVICES", 4644609, 309.70),
    ("ETERNAL", "ETERNAL", 1304833, 301.25),
    ("INDIGO", "INTERGLOBE AVIATION", 2865921, 5698.00),
)

INDICES: tuple[tuple[str, str, int, float], ...] = (
    ("NIFTY 50", "NIFTY 50", 256265, 26068.15),
    ("NIFTY BANK", "NIFTY BANK", 260105, 59216.05),
)

TICK_SIZE = 0.05
SYNTHETIC_EXCHANGE_TOKEN_BASE = 100_000


def _nse_token(serial: int) -> int:
    # Kite tokens carry the segment in the low byte (1 = NSE).
    return ((SYNTHETIC_EXCHANGE_TOKEN_BASE + serial) << 8) | 1


def _equity(symbol: str, name: str, token: int) -> Instrument:
    return Instrument(
        instrument_token=token,
        exchange_token=token >> 8,
        tradingsymbol=symbol,
        name=name,
        exchange="NSE",
        segment="NSE",
        instrument_type="EQ",
        tick_size=TICK_SIZE,
        lot_size=1,
    )


def _index(symbol: str, name: str, token: int) -> Instrument:
    return Instrument(
        instrument_token=token,
        exchange_token=token >> 8,
        tradingsymbol=symbol,
        name=name,
        exchange="NSE",
        segment="INDICES",
        instrument_type="EQ",
        tick_size=0.0,
        lot_size=0,
    )


def build_universe(size: int) -> list[tuple[Instrument, float]]:
    """The first ``size`` instruments with their previous close.

    Order: NIFTY 50 names, the two indices, then synthetic ``SYN0001``… names with
    NSE-shaped tokens and prices spread from ₹50 to ₹5,000.
    """
    rows: list[tuple[Instrument, float]] = [
        (_equity(symbol, name, token), price) for symbol, name, token, price in NIFTY_50
    ]
    rows += [(_index(symbol, name, token), price) for symbol, name, token, price in INDICES]
    serial = 0
    while len(rows) < size:
        serial += 1
        price = round(50 + (serial * 7919 % 4950), 0) + 0.05 * (serial % 20)
        rows.append(
            (
                _equity(f"SYN{serial:04d}", f"SYNTHETIC {serial:04d}", _nse_token(serial)),
                round(price, 2),
            )
        )
    return rows[:size]


# -- index options ---------------------------------------------------------------------------

NFO_SEGMENT = 2
"""Low byte of an NFO instrument token (Kite's segment number)."""
MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
WEEKLY_MONTH_CODES = "123456789OND"
"""The month letter of a weekly option's tradingsymbol (``NIFTY26D0126000CE``)."""
_EPOCH = date(2020, 1, 1)


@dataclass(frozen=True, slots=True)
class OptionUnderlying:
    """How NSE lists the options of one index (lot sizes from the January 2026 series)."""

    name: str
    """Kite's ``name`` column and the tradingsymbol's prefix."""
    index: str
    """Tradingsymbol of the index in the universe (its spot)."""
    strike_step: int
    lot_size: int
    weeklies: int
    """Weekly (Tuesday) expiries listed before the monthly; 0 for monthly-only."""
    monthlies: int
    iv: float
    """At-the-money implied volatility the premiums are priced with."""


OPTION_UNDERLYINGS: tuple[OptionUnderlying, ...] = (
    OptionUnderlying("NIFTY", "NIFTY 50", 50, 65, weeklies=2, monthlies=1, iv=0.11),
    # Bank Nifty lost its weekly expiries in November 2024: monthly only.
    OptionUnderlying("BANKNIFTY", "NIFTY BANK", 100, 30, weeklies=0, monthlies=2, iv=0.13),
)
STRIKES_EACH_SIDE = 12
"""Strikes listed above and below the at-the-money strike."""


def _last_tuesday(year: int, month: int) -> date:
    following = date(year + month // 12, month % 12 + 1, 1)
    last = following - timedelta(days=1)
    return last - timedelta(days=(last.weekday() - 1) % 7)


def monthly_expiries(today: date, count: int) -> list[date]:
    """The next ``count`` monthly expiries (last Tuesday of the month) on or after ``today``."""
    found: list[date] = []
    year, month = today.year, today.month
    while len(found) < count:
        expiry = _last_tuesday(year, month)
        if expiry >= today:
            found.append(expiry)
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return found


def option_expiries(spec: OptionUnderlying, today: date) -> list[tuple[date, bool]]:
    """``(expiry, is_monthly)`` nearest first: the weeklies (Tuesdays), then the monthlies.

    Exchange holidays, which move an expiry to the day before, are not modelled.
    """
    monthlies = monthly_expiries(today, spec.monthlies)
    expiries = {expiry: True for expiry in monthlies}
    tuesday = today + timedelta(days=(1 - today.weekday()) % 7)
    for _ in range(spec.weeklies):
        expiries.setdefault(tuesday, tuesday in monthlies)
        tuesday += timedelta(days=7)
    return sorted(expiries.items())


def option_symbol(name: str, expiry: date, monthly: bool, strike: float, kind: str) -> str:
    """Kite's tradingsymbol: ``NIFTY26DEC26000CE`` (monthly), ``NIFTY26D0126000CE`` (weekly)."""
    code = (
        MONTHS[expiry.month - 1]
        if monthly
        else f"{WEEKLY_MONTH_CODES[expiry.month - 1]}{expiry.day:02d}"
    )
    return f"{name}{expiry.year % 100:02d}{code}{strike:g}{kind}"


def _option_token(serial: int, expiry: date, strike_units: int, kind: str) -> int:
    # A contract keeps its token from one day to the next (the ledger stores tokens):
    # 11 bits of expiry day, 11 of strike / step, 1 of underlying, 1 of CE/PE.
    days = (expiry - _EPOCH).days % 2048
    exchange_token = (days << 13) | (strike_units % 2048) << 2 | serial << 1 | (kind == "PE")
    return exchange_token << 8 | NFO_SEGMENT


def _premium(spot: float, strike: float, years: float, iv: float, kind: str) -> float:
    """Black-Scholes (no rates, no dividends) with a mild smile: wings cost more."""
    moneyness = math.log(strike / spot)
    sigma = iv * (1 + 6 * moneyness * moneyness) * math.sqrt(years)
    d1 = (-moneyness + sigma * sigma / 2) / sigma
    d2 = d1 - sigma
    cdf = NormalDist().cdf
    if kind == "CE":
        return spot * cdf(d1) - strike * cdf(d2)
    return strike * cdf(-d2) - spot * cdf(-d1)


def build_option_chains(
    today: date, spots: dict[str, float], now_minute: float = 75.0
) -> list[tuple[Instrument, float]]:
    """Index options of the mock market with their previous close (fair value at ``today``).

    For each underlying of :data:`OPTION_UNDERLYINGS` whose index is in ``spots``:
    its expiries from ``today`` on, :data:`STRIKES_EACH_SIDE` strikes either side of
    at-the-money, a CE and a PE each, on the 0.05 tick grid (at least one tick).
    """
    rows: list[tuple[Instrument, float]] = []
    for serial, spec in enumerate(OPTION_UNDERLYINGS):
        spot = spots.get(spec.index)
        if spot is None:
            continue
        atm = round(spot / spec.strike_step)
        for expiry, monthly in option_expiries(spec, today):
            # Expiry at 15:30; a day of 375 trading minutes, counted in calendar years.
            years = max((expiry - today).days + (375 - now_minute) / 375, 0.05) / 365
            for units in range(atm - STRIKES_EACH_SIDE, atm + STRIKES_EACH_SIDE + 1):
                strike = float(units * spec.strike_step)
                for kind in ("CE", "PE"):
                    token = _option_token(serial, expiry, units, kind)
                    price = _premium(spot, strike, years, spec.iv, kind)
                    price = max(TICK_SIZE, round(price / TICK_SIZE) * TICK_SIZE)
                    instrument = Instrument(
                        instrument_token=token,
                        exchange_token=token >> 8,
                        tradingsymbol=option_symbol(spec.name, expiry, monthly, strike, kind),
                        name=spec.name,
                        exchange="NFO",
                        segment="NFO-OPT",
                        instrument_type=kind,
                        tick_size=TICK_SIZE,
                        lot_size=spec.lot_size,
                        expiry=expiry,
                        strike=strike,
                    )
                    rows.append((instrument, round(price, 2)))
    return rows
