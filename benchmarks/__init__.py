"""Benchmarks and speed studies beside the package: python -m benchmarks.benchmark, python -m benchmarks.perf_ideas."""
