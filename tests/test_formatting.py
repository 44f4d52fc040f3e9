from alphapt_tui import formatting as fmt


def test_indian_grouping() -> None:
    assert fmt.group_indian(999) == "999"
    assert fmt.group_indian(1000) == "1,000"
    assert fmt.group_indian(123456) == "1,23,456"
    assert fmt.group_indian(12345678) == "1,23,45,678"
    assert fmt.group_indian(-1234567) == "-12,34,567"


def test_prices_changes_and_quantities() -> None:
    assert fmt.price(1518.4) == "1,518.40"
    assert fmt.price(59216.05) == "59,216.05"
    assert fmt.price(0) == "-"
    assert fmt.signed(1.5) == "+1.50"
    assert fmt.signed(-1234.5) == "-1,234.50"
    assert fmt.signed(0.001) == "0.00"
    assert fmt.quantity(0) == "-"
    assert fmt.quantity(99_999) == "99,999"
    assert fmt.quantity(250_000) == "2.50L"
    assert fmt.quantity(31_000_000) == "3.10Cr"


def test_sparkline_scales_to_its_own_range() -> None:
    assert fmt.sparkline([1, 2, 3, 4, 5, 6, 7, 8], 8) == "▁▂▃▄▅▆▇█"
    assert fmt.sparkline([5, 5, 5], 8) == "▄▄▄"
    assert fmt.sparkline([1, 9, 1, 9], 2) == "▁█"
    assert fmt.sparkline([], 4) == ""


def test_a_long_symbol_keeps_its_tail() -> None:
    assert fmt.symbol("RELIANCE", 12) == "RELIANCE"
    assert fmt.symbol("NIFTY26D0126650CE", 12) == "…6D0126650CE"
    assert len(fmt.symbol("BANKNIFTY26DEC59200PE", 10)) == 10
