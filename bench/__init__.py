"""Benchmarks: each module is run as ``python -m bench.NAME``; figures in BENCHMARKS.md."""
