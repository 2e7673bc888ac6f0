"""labeleff.metrics."""
