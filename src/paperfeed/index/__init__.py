"""Search indexes derived from the store: rebuilt at will, updated from ``changed_at``."""
