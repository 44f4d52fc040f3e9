"""ML direction: a logistic model on bar features predicts the next bar's direction.

Training data is the history source's bars (if the engine has one) plus the bars
seen live; training runs in a worker thread within ``train_budget_s``. The model
is scored walk-forward (fit on the first part, scored on the rest) and trades
only if that out-of-sample hit rate reaches ``min_oos_hit_rate``, and then only
on predictions at or beyond ``threshold``.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Sequence

import numpy as np
from pydantic import Field, field_validator

from engine.strategies.bars import Bar
from engine.strategies.builtin.common import BarParams, BarStrategy
from engine.strategies.builtin.ml_features import FeatureBuilder, dataset
from engine.strategies.builtin.ml_model import (
    LogisticModel,
    NotEnoughData,
    TrainResult,
    walk_forward,
)

Trained = tuple[dict[int, list[Bar]], LogisticModel | None, TrainResult | None]


class MlParams(BarParams):
    """Features, training and the trading threshold."""

    horizons: tuple[int, ...] = (1, 3, 5)
    """Return horizons in bars."""
    rsi_period: int = Field(default=14, ge=2, le=200)
    """RSI period of the RSI feature."""
    volume_window: int = Field(default=20, ge=2, le=500)
    """Bars behind the volume z-score."""
    threshold: float = Field(default=0.6, gt=0.5, lt=1.0)
    """Trade only when P(up) ≥ threshold (long) or ≤ 1 − threshold (short)."""
    min_oos_hit_rate: float = Field(default=0.5, ge=0.0, le=1.0)
    """Trade only with a model whose walk-forward hit rate reaches this."""
    train_fraction: float = Field(default=0.7, gt=0.1, lt=0.95)
    """Share of samples (oldest first) the walk-forward split trains on."""
    min_train_bars: int = Field(default=200, ge=20)
    """Bars needed (over all its instruments) before the first training."""
    retrain_every: int = Field(default=0, ge=0)
    """Retrain after this many new live bars; 0 never retrains."""
    history_bars: int = Field(default=2000, ge=0)
    """Bars per instrument asked of the history source at start."""
    max_bars: int = Field(default=5000, ge=100)
    """Bars per instrument kept for training."""
    train_budget_s: float | None = Field(default=None, gt=0)
    """Time budget of one training; default the manager's ``train_budget_s``."""

    @field_validator("horizons")
    @classmethod
    def _positive(cls, value: tuple[int, ...]) -> tuple[int, ...]:
        if not value or min(value) < 1:
            raise ValueError("horizons must be one or more positive bar counts")
        return value


def train_job(
    bars: dict[int, list[Bar]],
    fetch: Callable[[int], Sequence[Bar]] | None,
    params: MlParams,
) -> Trained:
    """Worker-thread job: fetch history (if asked), build the dataset, fit and score walk-forward.

    Returns the fetched history per instrument, and the model and its score
    (both ``None`` when there is not yet enough data).
    """
    history = {token: list(fetch(token)) for token in bars} if fetch is not None else {}
    rows: list[tuple[float, ...]] = []
    labels: list[int] = []
    for token, own in bars.items():
        series = [*history.get(token, ()), *own]
        x, y = dataset(series, params.horizons, params.rsi_period, params.volume_window)
        rows += x
        labels += y
    try:
        model, result = walk_forward(rows, labels, params.train_fraction, params.threshold)
    except NotEnoughData:
        return history, None, None
    return history, model, result


class MlDirection(BarStrategy):
    """Logistic next-bar direction model over all its instruments, trading confident calls."""

    Params = MlParams
    key = "ml_direction"

    def setup(self) -> None:
        p = self.params
        tokens = [i.instrument_token for i in self.instruments]
        self._features = {
            t: FeatureBuilder(p.horizons, p.rsi_period, p.volume_window) for t in tokens
        }
        self._bars: dict[int, deque[Bar]] = {t: deque(maxlen=p.max_bars) for t in tokens}
        self._model: LogisticModel | None = None
        self._result: TrainResult | None = None
        self._training = False
        self._new_bars = 0
        self._next_try = p.min_train_bars
        self._history_done = p.history_bars == 0
        if not self._history_done:
            self._train()

    def on_bar(self, bar: Bar) -> None:
        token = bar.instrument_token
        features = self._features[token].update(bar)
        self._bars[token].append(bar)
        self._new_bars += 1
        p = self.params
        total = sum(len(b) for b in self._bars.values())
        due = self._model is None and total >= self._next_try
        if due or (p.retrain_every and self._new_bars >= p.retrain_every):
            self._train()
        if features is None or self._model is None:
            return
        up = float(self._model.predict_up(np.asarray(features))[0])
        if up >= p.threshold:
            self.target_position(token, p.quantity)
        elif up <= 1 - p.threshold:
            self.target_position(token, -p.quantity)

    def _train(self) -> None:
        if self._training:
            return
        self._training = True
        self._new_bars = 0
        p = self.params
        fetch = None
        if not self._history_done:
            self._history_done = True
            fetch = lambda token: self.history(token, p.timeframe, p.history_bars)  # noqa: E731
        snapshot = {t: list(b) for t, b in self._bars.items()}
        self.run_in_thread(
            train_job, snapshot, fetch, p, on_result=self._trained, budget_s=p.train_budget_s
        )

    def _trained(self, outcome: Trained) -> None:
        history, model, result = outcome
        p = self.params
        self._training = False
        for token, series in history.items():
            merged = deque([*series, *self._bars[token]], maxlen=p.max_bars)
            self._bars[token] = merged
            # Replay history through a fresh builder so live features are warm at once.
            builder = self._features[token] = FeatureBuilder(
                p.horizons, p.rsi_period, p.volume_window
            )
            for bar in merged:
                builder.update(bar)
        if result is not None:
            self._result = result
        good = result is not None and (result.oos_hit_rate or 0.0) >= p.min_oos_hit_rate
        self._model = model if good else None
        if self._model is None:
            total = sum(len(b) for b in self._bars.values())
            self._next_try = max(total, p.min_train_bars) + max(p.min_train_bars // 2, 1)

    def stats(self) -> dict[str, float | int | str]:
        r = self._result
        if r is None:
            return {"model": "training" if self._training else "untrained"}
        return {
            "model": "trading" if self._model is not None else "below hit-rate floor",
            "train_samples": r.train_samples,
            "oos_samples": r.oos_samples,
            "oos_hit_rate": round(r.oos_hit_rate or 0.0, 4),
            "confident_samples": r.confident_samples,
            "confident_hit_rate": round(r.confident_hit_rate or 0.0, 4),
        }
