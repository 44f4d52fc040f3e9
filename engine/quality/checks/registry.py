"""The check that runs before any other: is the instrument known at all?"""

from __future__ import annotations

from engine.quality import names
from engine.quality.checks.base import Rule


class UnknownInstrument(Rule):
    """A tick whose token is not in the instrument registry."""

    __slots__ = ()
    name = names.UNKNOWN_INSTRUMENT
