"""labeleff.mwsis."""
