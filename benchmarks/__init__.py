"""The benchmark, load and soak programs (`make bench`, `make stress`); their smoke tests are in tests/perf/."""
