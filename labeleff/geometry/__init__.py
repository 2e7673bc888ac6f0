"""labeleff.geometry."""
