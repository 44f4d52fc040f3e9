"""Errors of the tick store, each carrying one line a user can act on."""

from __future__ import annotations


class TickStoreError(Exception):
    """The tick store cannot be opened or used (bad DSN, corrupt or unwritable directory)."""


class TickStoreLocked(TickStoreError):
    """Another process already has this chDB data directory open."""
