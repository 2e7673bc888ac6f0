"""labeleff.viz."""
