from pathlib import Path

import pytest

from engine.watchlist import Watchlist, WatchlistError


def test_changes_persist_across_instances(tmp_path: Path) -> None:
    path = tmp_path / "watchlist.json"
    first = Watchlist(path, ["NSE:INFY", "NSE:TCS"])
    first.add("NSE:SBIN")
    first.remove("NSE:INFY")
    assert Watchlist(path, ["NSE:OTHER"]).keys == ("NSE:TCS", "NSE:SBIN")


def test_duplicates_and_unknown_removals_are_refused(tmp_path: Path) -> None:
    watchlist = Watchlist(tmp_path / "w.json", ["NSE:INFY"])
    with pytest.raises(WatchlistError, match="already"):
        watchlist.add("NSE:INFY")
    with pytest.raises(WatchlistError, match="not in the watchlist"):
        watchlist.remove("NSE:TCS")
    assert watchlist.keys == ("NSE:INFY",)


def test_damaged_file_falls_back_to_default(tmp_path: Path) -> None:
    path = tmp_path / "w.json"
    path.write_text("{not json")
    assert Watchlist(path, ["NSE:INFY"]).keys == ("NSE:INFY",)


def test_first_run_on_kites_dump_watches_the_nifty_not_the_dumps_first_rows() -> None:
    from engine.instruments.parse import parse_instruments_csv
    from engine.watchlist import default_watchlist

    dump = (Path(__file__).parent / "kite_fake" / "data" / "instruments_all.csv").read_bytes()
    instruments = parse_instruments_csv(dump)
    chosen = default_watchlist(instruments)
    by_key = {i.key: i for i in instruments}
    assert chosen and len(chosen) == len(set(chosen)) <= 52
    assert all(by_key[key].exchange == "NSE" for key in chosen)
    assert all(by_key[key].instrument_type == "EQ" for key in chosen)
    plain = [i.key for i in instruments if i.exchange == "NSE" and i.instrument_type == "EQ"]
    plain = [key for key in plain if "-" not in key]
    # Plain equities first; the -BE/-BL series only once those run out.
    assert set(chosen[: len(plain)]) == set(plain[:52])
    assert "NSE:ADANIPORTS" in chosen
    first_rows = [i.key for i in instruments[:52]]
    assert any(key.endswith(("-BE", "-BL")) for key in first_rows)  # what it used to show
