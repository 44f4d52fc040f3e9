"""The mock market's instrument universe: NIFTY 50 names, two indices, then synthetic names.

Tokens are Kite instrument tokens where known (``exchange_token = token >> 8``);
prices are reference previous closes of late 2025, good enough to look real.
"""

from __future__ import annotations

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
