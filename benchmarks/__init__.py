"""Benchmarks: each is `.venv/bin/python -m benchmarks.<name> [--quick]` and ends with RESULT."""
