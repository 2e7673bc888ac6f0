"""Experiment kinds shipped with the suite; each module registers itself on import.

Add a kind by writing ``benchmarks/experiments/<kind>.py`` with a function decorated by
``benchmarks.registry.register_experiment`` and importing that module here.
"""
