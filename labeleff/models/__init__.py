"""labeleff.models."""
