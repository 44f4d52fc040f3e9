"""The lifecycle every engine component follows."""

from __future__ import annotations


class Component:
    """A part of the engine started by the kernel in a fixed phase order.

    ``start`` prepares the component and returns quickly; ``run`` is its
    long-running work (return at once if it has none) and is cancelled at
    shutdown; ``stop`` releases resources and flushes, within the kernel's bound.
    A ``critical`` component that crashes halts trading.
    """

    name: str = "component"
    critical: bool = False

    async def start(self) -> None:
        """Prepare the component; raising here aborts the engine start."""

    async def run(self) -> None:
        """Long-running work; an exception marks the component failed."""

    async def stop(self) -> None:
        """Flush and release resources."""
