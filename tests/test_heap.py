"""The engine's collector settings: start-up objects frozen, young collections spaced out."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from engine.heap import YOUNG_COLLECTION_THRESHOLD, settle_heap


@pytest.fixture
def restored_collector() -> Iterator[None]:
    threshold = gc.get_threshold()
    yield
    gc.set_threshold(*threshold)


@pytest.mark.usefixtures("restored_collector")
def test_settling_freezes_what_is_alive_and_spaces_young_collections_out() -> None:
    gc.set_threshold(700, 10, 10)
    survivor = [{"start-up": "state"}]
    frozen_before = gc.get_freeze_count()

    settle_heap()

    assert gc.get_freeze_count() > frozen_before
    assert gc.get_threshold() == (YOUNG_COLLECTION_THRESHOLD, 10, 10)
    # Frozen: in no generation a collection walks.
    walked = (o for g in range(3) for o in gc.get_objects(generation=g))
    assert not any(o is survivor for o in walked)


@pytest.mark.usefixtures("restored_collector")
def test_a_larger_threshold_or_a_disabled_collector_is_left_alone() -> None:
    gc.set_threshold(50_000, 20, 30)
    settle_heap()
    assert gc.get_threshold() == (50_000, 20, 30)

    gc.set_threshold(0, 10, 10)
    settle_heap()
    assert gc.get_threshold() == (0, 10, 10)
