"""Kite's instruments dump: daily download, disk/Redis cache, parsing, search and option chains."""

from engine.instruments.cache import DiskCache, InstrumentsMeta, RedisCache, SharedCache
from engine.instruments.parse import InstrumentsError, parse_instruments_csv
from engine.instruments.registry import SEARCH_EXCHANGES, ChainRow, InstrumentRegistry
from engine.instruments.service import (
    DownloadProgress,
    InstrumentsService,
    last_refresh_point,
    refresh_due,
)

__all__ = [
    "SEARCH_EXCHANGES",
    "ChainRow",
    "DiskCache",
    "DownloadProgress",
    "InstrumentRegistry",
    "InstrumentsError",
    "InstrumentsMeta",
    "InstrumentsService",
    "RedisCache",
    "SharedCache",
    "last_refresh_point",
    "parse_instruments_csv",
    "refresh_due",
]
