"""A small L2-regularised logistic regression in numpy, and a walk-forward evaluation."""

from __future__ import annotations

from collections.abc import Sequence

import msgspec
import numpy as np


class LogisticModel:
    """Standardised inputs, Newton-Raphson (IRLS) fit; ``predict_up`` gives P(next bar up)."""

    def __init__(self, l2: float = 1e-2, max_iter: int = 25) -> None:
        self.l2 = l2
        self.max_iter = max_iter
        self.mean = np.zeros(0)
        self.scale = np.ones(0)
        self.weights = np.zeros(0)

    def fit(self, x: np.ndarray, y: np.ndarray) -> LogisticModel:
        """Fit on rows ``x`` and 0/1 labels ``y``."""
        self.mean = x.mean(axis=0)
        scale = x.std(axis=0)
        self.scale = np.where(scale > 0, scale, 1.0)
        a = self._design(x)
        w = np.zeros(a.shape[1])
        penalty = self.l2 * np.eye(a.shape[1])
        penalty[0, 0] = 0.0  # the intercept is not shrunk
        for _ in range(self.max_iter):
            p = _sigmoid(a @ w)
            gradient = a.T @ (p - y) + penalty @ w
            hessian = (a.T * (p * (1 - p))) @ a + penalty + 1e-9 * np.eye(a.shape[1])
            step = np.linalg.solve(hessian, gradient)
            w -= step
            if float(np.max(np.abs(step))) < 1e-8:
                break
        self.weights = w
        return self

    def predict_up(self, x: np.ndarray) -> np.ndarray:
        """P(up) for each row of ``x``."""
        return _sigmoid(self._design(np.atleast_2d(x)) @ self.weights)

    def _design(self, x: np.ndarray) -> np.ndarray:
        z = (x - self.mean) / self.scale
        return np.hstack([np.ones((z.shape[0], 1)), z])


def _sigmoid(v: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(v, -40, 40)))


class TrainResult(msgspec.Struct, frozen=True):
    """A fitted model and how it did out of sample."""

    train_samples: int
    oos_samples: int
    oos_hit_rate: float | None
    """Share of out-of-sample bars whose direction the model called right (P>0.5 = up)."""
    confident_samples: int
    confident_hit_rate: float | None
    """The same, over predictions at or beyond the confidence threshold only."""


class NotEnoughData(ValueError):
    """Too few samples, or only one direction, to fit and score a model."""


def walk_forward(
    rows: Sequence[Sequence[float]], labels: Sequence[int], train_fraction: float, threshold: float
) -> tuple[LogisticModel, TrainResult]:
    """Fit on the first ``train_fraction`` (in time order), score the rest, refit on all of it."""
    x = np.asarray(rows, dtype=float)
    y = np.asarray(labels, dtype=float)
    split = int(len(y) * train_fraction)
    if split < 2 or split >= len(y) or len(set(labels[:split])) < 2:
        raise NotEnoughData(f"not enough varied samples to train ({len(y)})")
    model = LogisticModel().fit(x[:split], y[:split])
    p = model.predict_up(x[split:])
    truth = y[split:] > 0.5
    hits = (p > 0.5) == truth
    confident = (p >= threshold) | (p <= 1 - threshold)
    result = TrainResult(
        train_samples=split,
        oos_samples=len(truth),
        oos_hit_rate=float(hits.mean()),
        confident_samples=int(confident.sum()),
        confident_hit_rate=float(hits[confident].mean()) if confident.any() else None,
    )
    return LogisticModel().fit(x, y), result
