"""Benchmarks: run with `make bench`; results are written down in bench/RESULTS.md."""
