"""Benchmarks: typed experiment configs, the experiment registry, the runner and the suites."""
