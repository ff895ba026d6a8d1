#!/usr/bin/env bash
# Fetch the cp312 wheels the GPU machine lacks (its image has numpy, scipy, cupy,
# matplotlib, pillow, grpcio, protobuf, attrs, pytest) into .whl/, for a device run:
#   bash bench/gpu_wheels.sh            # here, once; .whl/ is git-ignored
#   bash bench/gpu_check.sh             # there; installs .whl/*.whl first when present
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-.venv/bin/python}"
[ -x "$PY" ] || PY=python3
rm -rf .whl && mkdir -p .whl
"$PY" -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 \
    --implementation cp --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 \
    --platform manylinux2014_x86_64 --platform manylinux1_x86_64 -d .whl \
    pydicom highdicom pyjpegls jsonschema jsonschema-specifications referencing rpds-py \
    ruamel.yaml
ls .whl
