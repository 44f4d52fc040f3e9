"""Zerodha Kite Connect: settings, login and access-token storage, REST calls, backfill.

Nothing here imports ``kiteconnect`` (its ticker installs Twisted's reactor on import):
the REST calls go through :mod:`aiohttp` directly.
"""
