"""Smoke tests of the benchmark, load and soak programs in benchmarks/ (small runs that keep them
from rotting; `make bench` and `make stress` run them at full size)."""
