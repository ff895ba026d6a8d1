"""Benchmarks: `make bench` (CPU) and bench/gpu_check.sh (GPU); results in RESULTS.md."""
