"""labeleff: label-efficient autonomous-driving perception (MWSIS, MixSup) as a library."""

__version__ = "0.1.0"
