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
