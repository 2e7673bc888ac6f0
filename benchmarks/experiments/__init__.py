"""Experiment kinds shipped with the suite; each module registers itself on import.

Add a kind by writing ``benchmarks/experiments/<kind>.py`` with a function decorated by
``benchmarks.registry.register_experiment`` and importing that module here.
"""
from benchmarks.experiments import mwsis3d  # noqa: F401  (registers the kind)
