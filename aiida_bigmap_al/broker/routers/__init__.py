"""One router per resource of the broker's REST API (FINALES2 paths)."""
