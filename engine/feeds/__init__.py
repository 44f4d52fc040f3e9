"""Market data feeds: mock (default), Kite ticker, replay, NATS."""
