"""How the engine runs Python's cyclic garbage collector.

The tick path allocates short-lived containers by the thousand (depth tuples, column
lists, batches); none of them form cycles, reference counting frees them, yet every 700
such allocations CPython runs a young collection that walks whatever young containers are
alive at that moment (a writer's 16,000-row column lists, a batch being built). See
``docs/decisions.md`` for the measurements behind the numbers.
"""

from __future__ import annotations

import gc

YOUNG_COLLECTION_THRESHOLD = 5_000
"""Container allocations between young collections (CPython's default is 700).

Past ~2,000 the collector's share of building ticks stops falling; a young collection of
5,000 objects is a pause of well under a millisecond."""


def settle_heap() -> None:
    """Collect once, move everything alive into the permanent generation, space collections out.

    Call once, when start-up is done: what it built (instruments, ledger, caches, imported
    modules) lives as long as the engine, and a full collection no longer walks it.
    """
    gc.collect()
    gc.freeze()
    young, older, oldest = gc.get_threshold()
    if young:  # 0 means the embedding process turned collection off: leave it off
        gc.set_threshold(max(young, YOUNG_COLLECTION_THRESHOLD), older, oldest)
