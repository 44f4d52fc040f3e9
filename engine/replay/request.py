"""A replay request, the checks on it, and the settings of the engine that runs it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from engine.ledger.settings import LedgerSettings
from engine.replay.source import ReplayInputError
from engine.settings import Settings
from engine.strategies.settings import StrategyEntry


@dataclass(frozen=True, slots=True)
class ReplayRequest:
    """What to replay: a window [from_ns, to_ns), symbols, one strategy, a speed."""

    from_ns: int
    to_ns: int
    symbols: tuple[str, ...]
    strategy: StrategyEntry
    speed: float | None = None
    """None: as fast as possible; otherwise a multiple of real time."""

    @property
    def speed_label(self) -> str:
        """``max`` or ``<n>x``."""
        return "max" if self.speed is None else f"{self.speed:g}x"


def check_strategy(settings: Settings, entry: StrategyEntry) -> None:
    """Refuse an unknown strategy class or invalid parameters, in one line."""
    from engine.strategies.builtin import BUILTINS
    from engine.strategies.loader import load_catalog, validate_params

    strategies = settings.strategies
    directory = strategies.directory or Path(settings.data_dir) / "strategies"
    catalog = load_catalog(BUILTINS, directory, strategies.entry_points)
    cls = catalog.classes.get(entry.class_)
    if cls is None:
        known = ", ".join(sorted(catalog.classes))
        raise ReplayInputError(f"unknown strategy {entry.class_!r} (known: {known})")
    problem = validate_params(cls, entry.params)
    if isinstance(problem, str):
        raise ReplayInputError(f"bad strategy parameter: {problem}")


def replay_settings(settings: Settings, data_dir: Path, entry: StrategyEntry) -> Settings:
    """The replay kernel's settings: the trader's, with a throwaway ``data_dir`` (its own
    SQLite ledger, not synced to disk on every commit), the tick store, metrics, notifications, NATS and Redis off, and
    ``entry`` as the only strategy (strategy files still load from the trader's folder)."""
    s = settings
    directory = s.strategies.directory or Path(s.data_dir) / "strategies"
    # Nothing of the replay may leave the process: no NATS bridge, no Redis cache.
    remote = {
        name: getattr(s, name).model_copy(update={"url": None})
        for name in ("nats", "redis")
        if hasattr(s, name)
    }
    return s.model_copy(
        update={
            **remote,
            "data_dir": data_dir,
            "storage": s.storage.model_copy(update={"enabled": False}),
            "metrics": s.metrics.model_copy(update={"enabled": False}),
            "notify": s.notify.model_copy(update={"enabled": False}),
            # A throwaway file deleted after the run: nothing to keep through a power cut,
            # and an fsync per order commit held the replay back while the strategies waited;
            # so did handing each write to a thread while the store reader held the GIL.
            "ledger": LedgerSettings(sqlite_synchronous="NORMAL", sqlite_on_loop=True),
            "strategies": s.strategies.model_copy(
                update={"enabled": True, "entries": (entry,), "directory": directory}
            ),
        }
    )
