# Two commands on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test lint typecheck pytest install sysdeps clean bench proto proto-lint fuzz fuzz-dicom

RUNTIME := $(VENV)/.runtime

# The runtime alone (`make run`): flexmrt and what it needs to serve, none of the test tools.
$(RUNTIME): pyproject.toml setup.py
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e .
	touch $(RUNTIME)

# Runtime plus the test and development tools (`make test`, `make lint`, …).
$(STAMP): pyproject.toml setup.py
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[test,dev]'
	touch $(STAMP)

install: $(STAMP)

# Debian packages the tests drive for real: headless Chromium (the report page), dicom3tools'
# dciodvfy (every DICOM file flexmrt writes) and PostgreSQL (the replicated decision log).
# Installed when missing and apt is usable; elsewhere the tests that need them skip and say why.
SYSTEM_PACKAGES := chromium dicom3tools postgresql
sysdeps:
	@missing=""; \
	command -v chromium >/dev/null 2>&1 || missing="$$missing chromium"; \
	command -v dciodvfy >/dev/null 2>&1 || missing="$$missing dicom3tools"; \
	ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing="$$missing postgresql"; \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  echo "installing Debian packages:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
	    apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	else \
	  echo "note: missing Debian packages:$$missing (tests that need them are skipped)"; \
	fi

# The gRPC service on localhost:50051 with the bundled protocols (Ctrl-C stops it).
# Development: checkpoints signed with var/dev-checkpoint.pem, made (and said so) on first run.
run: $(RUNTIME)
	$(BIN)/flexmrt serve --host localhost --port 50051 --dev-checkpoint-key var/dev-checkpoint.pem

# gRPC stubs: proto/flexmrt/v1/*.proto → server/_gen (pinned grpcio-tools; never edit).
proto: $(STAMP)
	$(BIN)/python -m flexmrt.server.codegen

# buf lint of the contract (fetches the pinned buf from the npm registry once).
BUF_VERSION := 1.50.0
proto-lint:
	cd proto && npx --yes @bufbuild/buf@$(BUF_VERSION) lint

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# mypy reads the packages under their installed names through a link tree
# (build/typecheck/flexmrt/<folder> → <folder>): it cannot follow the editable install's finder.
typecheck: $(STAMP)
	@mkdir -p build/typecheck/flexmrt
	@for d in protocol engine gpu_dose server; do ln -sfn ../../../$$d build/typecheck/flexmrt/$$d; done
	$(BIN)/mypy

pytest: $(STAMP)
	$(BIN)/pytest -q

test: sysdeps lint typecheck pytest

# CPU benchmarks (about 15 minutes on 2 cores); rewrites the tables in bench/RESULTS.md.
# The GPU table comes from bench/gpu_check.sh on a machine with a CUDA device.
bench: $(STAMP)
	$(BIN)/python -m bench.dose_bench
	$(BIN)/python -m bench.oar_bench
	$(BIN)/python -m bench.decision_bench
	$(BIN)/python -m bench.lab_scaling_bench
	$(BIN)/python -m bench.grpc_bench
	$(BIN)/python -m bench.memory_bench

# Fuzzing (tests/fuzz): 100,000 mutated inputs per text target (protocol, record, grpc) and
# 10,000 DICOM studies (fuzz-dicom), at most FUZZ_MINUTES (60) per target, stopping there
# and saying so if the count is not reached; counts per outcome and inputs/s; failing
# inputs are written to tests/fuzz/corpus/<target>/, which `make test` replays; the text
# targets' counts go to bench/RESULTS.md.
FUZZ_COUNT ?= 100000
FUZZ_MINUTES ?= 60
fuzz-dicom: $(STAMP)
	$(BIN)/python tests/fuzz/dicom_target.py --count 10000 --max-minutes $(FUZZ_MINUTES)

fuzz: $(STAMP)
	$(BIN)/python tests/fuzz/run.py --count $(FUZZ_COUNT) --minutes $(FUZZ_MINUTES) --record
	$(BIN)/python tests/fuzz/dicom_target.py --count 10000 --max-minutes $(FUZZ_MINUTES)

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .mypy_cache .ruff_cache
