"""labeleff.mixsup."""
