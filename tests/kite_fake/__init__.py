"""A fake Kite Connect (REST + websocket ticker) for tests, and a frame encoder."""
