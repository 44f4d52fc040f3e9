"""Package data shipped with the engine (rate tables and the like)."""
