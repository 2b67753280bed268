"""Helpers for the scripts/bench_* benchmarks (run them through the bash wrappers)."""
