#!/usr/bin/env bash
# GPU check for the dose engine: run tests/dose on CuPy (and NumPy), then compare GPU
# with CPU on the phantom. Results go to $OUT when set (else bench/out). Skips with
# "no CUDA device" where CuPy or a device is missing. Usage: bash bench/gpu_check.sh
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-.venv/bin/python}"
[ -x "$PY" ] || PY=python3
# CuPy and a device first (plain CuPy: gpu_dose itself may need the wheels below).
if ! "$PY" -c 'import sys, cupy; sys.exit(0 if cupy.cuda.runtime.getDeviceCount() > 0 else 1)' \
    >/dev/null 2>&1; then
    echo "no CUDA device (or CuPy not importable): GPU check skipped"
    exit 0
fi
# On the GPU machine: the wheels bench/gpu_wheels.sh fetched (pydicom, highdicom, …).
if [ -d .whl ] && ls .whl/*.whl >/dev/null 2>&1; then
    "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
        --target /tmp/flexmrt-site .whl/*.whl
    export PYTHONPATH="/tmp/flexmrt-site:$PWD${PYTHONPATH:+:$PYTHONPATH}"
fi
# The working tree under its installed names (flexmrt.gpu_dose → gpu_dose/, …) without
# building or installing it, and the repository root for tests/ and bench/.
mkdir -p /tmp/flexmrt-ns/flexmrt
for d in protocol engine gpu_dose server; do ln -sfn "$PWD/$d" "/tmp/flexmrt-ns/flexmrt/$d"; done
export PYTHONPATH="/tmp/flexmrt-ns:$PWD${PYTHONPATH:+:$PYTHONPATH}"
DEST="${OUT:-bench/out}"
mkdir -p "$DEST"
"$PY" -c 'import cupy; p = cupy.cuda.runtime.getDeviceProperties(0); print(p["name"].decode())' \
    | tee "$DEST/device.txt"
status=0
"$PY" -m pytest -q tests/dose -p no:cacheprovider --junitxml="$DEST/dose_tests.xml" \
    2>&1 | tee "$DEST/dose_tests.txt" || status=1
"$PY" bench/gpu_compare.py "$DEST" 2>&1 | tee "$DEST/gpu_compare.txt" || status=1
# Benchmark (bench/gpu_bench.py): dose step vs the bare cuFFT floor and the CPU, 128³–512³,
# batch throughput; writes gpu_bench.md/.json and RESULTS.md with the dose-gpu table merged.
# Merge back here with: python -m bench.gpu_bench --merge <DEST>/gpu_bench.md
"$PY" -m bench.gpu_bench --out "$DEST" 2>&1 | tee "$DEST/gpu_bench.txt" || status=1
echo "gpu_check: $([ "$status" = 0 ] && echo PASS || echo FAIL) (results in $DEST)"
exit "$status"
