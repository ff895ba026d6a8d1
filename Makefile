# Two commands on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test lint typecheck pytest install clean bench proto proto-lint

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[test,dev]'
	touch $(STAMP)

install: $(STAMP)

# The gRPC service on localhost:50051 with the bundled protocols (Ctrl-C stops it).
run: $(STAMP)
	$(BIN)/flexmrt serve --host localhost --port 50051

# gRPC stubs: proto/flexmrt/v1/*.proto → server/_gen (pinned grpcio-tools; never edit).
proto: $(STAMP)
	$(BIN)/python -m server.codegen

# buf lint of the contract (fetches the pinned buf from the npm registry once).
BUF_VERSION := 1.50.0
proto-lint:
	cd proto && npx --yes @bufbuild/buf@$(BUF_VERSION) lint

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

pytest: $(STAMP)
	$(BIN)/pytest -q

test: lint typecheck pytest

# CPU benchmarks (about 5 minutes on 2 cores); rewrites the tables in bench/RESULTS.md.
# The GPU table comes from bench/gpu_check.sh on a machine with a CUDA device.
bench: $(STAMP)
	$(BIN)/python -m bench.dose_bench
	$(BIN)/python -m bench.decision_bench
	$(BIN)/python -m bench.grpc_bench

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .mypy_cache .ruff_cache
