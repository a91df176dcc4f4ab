"""Benchmarks (``make bench`` → ``python -m tests.perf.bench``); not part of the default test run,
except ``test_bench_smoke.py``, which keeps the browser harness from rotting."""
