"""labeleff.engine."""
