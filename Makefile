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

typecheck: $(STAMP)
	$(BIN)/mypy

pytest: $(STAMP)
	$(BIN)/pytest -q

test: lint typecheck pytest

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .mypy_cache .ruff_cache
