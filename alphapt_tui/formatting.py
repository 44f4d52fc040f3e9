"""How numbers read on an Indian trading desk: lakh/crore grouping and short volumes."""

from __future__ import annotations


def group_indian(integer_part: int) -> str:
    """``12345678`` → ``1,23,45,678`` (the last three digits, then pairs)."""
    sign = "-" if integer_part < 0 else ""
    digits = str(abs(integer_part))
    if len(digits) <= 3:
        return sign + digits
    head, tail = digits[:-3], digits[-3:]
    pairs = []
    while len(head) > 2:
        pairs.insert(0, head[-2:])
        head = head[:-2]
    return sign + ",".join([head, *pairs, tail])


def price(value: float, decimals: int = 2) -> str:
    """A price with Indian grouping: ``123456.5`` → ``1,23,456.50``."""
    if value == 0:
        return "-"
    text = f"{abs(value):.{decimals}f}"
    whole, _, fraction = text.partition(".")
    grouped = group_indian(int(whole))
    sign = "-" if value < 0 else ""
    return f"{sign}{grouped}.{fraction}" if decimals else f"{sign}{grouped}"


def signed(value: float, decimals: int = 2) -> str:
    """A change with an explicit sign: ``+12.30`` / ``-4.05``."""
    if round(value, decimals) == 0:
        return f"{0:.{decimals}f}"
    return ("+" if value > 0 else "-") + price(abs(value), decimals)


def quantity(value: int) -> str:
    """A quantity, grouped; large ones shortened to L (lakh) and Cr (crore); none is ``-``."""
    if value == 0:
        return "-"
    if value >= 10_000_000:
        return f"{value / 10_000_000:.2f}Cr"
    if value >= 100_000:
        return f"{value / 100_000:.2f}L"
    return group_indian(value)


SPARK_BLOCKS = "▁▂▃▄▅▆▇█"


def sparkline(values: tuple[float, ...] | list[float], width: int) -> str:
    """The last ``width`` values as block characters, scaled to their own range."""
    points = list(values)[-width:]
    if not points:
        return ""
    low, high = min(points), max(points)
    if high == low:
        return SPARK_BLOCKS[3] * len(points)
    scale = (len(SPARK_BLOCKS) - 1) / (high - low)
    return "".join(SPARK_BLOCKS[int((value - low) * scale)] for value in points)


def symbol(tradingsymbol: str, width: int) -> str:
    """``tradingsymbol`` in ``width`` cells, cut from the left: a contract's strike and
    CE/PE are at its end (``…6D0126650CE``), its underlying is on the screen around it."""
    if len(tradingsymbol) <= width:
        return tradingsymbol
    return "…" + tradingsymbol[-(width - 1) :]
