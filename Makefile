# credgate — the two commands a newcomer needs: `make demo` and `make test`.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
PIP := $(BIN)/pip install --quiet --constraint constraints.txt
STAMP := $(VENV)/.installed
PROTO_OUT := gateway/_proto
DEMO_DIR ?= .demo
DEMO_PEOPLE ?= 2000

.PHONY: setup proto demo test lint bench clean

setup: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	@command -v $(PYTHON) >/dev/null || { echo "need $(PYTHON) on PATH"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(PIP) --upgrade pip
	$(PIP) -e ".[dev]"
	@touch $@

# Regenerates gateway/_proto from protos/ (never edit the generated files by hand).
proto: $(STAMP)
	$(BIN)/python -m gateway._internal.protogen $(PROTO_OUT)

demo: $(STAMP)
	$(BIN)/credgate demo --workdir $(DEMO_DIR) --people $(DEMO_PEOPLE)

test: $(STAMP)
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check gateway federated tests bench
	$(BIN)/mypy gateway federated
	$(BIN)/buf lint protos

# openmined-psi (an external peer in bench.subject_check) pins an older protobuf: it gets its own venv.
PSI_VENV := .venv-psi

bench: $(STAMP) $(PSI_VENV)/.installed
	$(BIN)/python -m bench.fabric
	$(BIN)/python -m bench.oprf
	CREDGATE_PSI_PYTHON=$(PSI_VENV)/bin/python $(BIN)/python -m bench.subject_check
	$(BIN)/python -m bench.egress
	$(BIN)/python -m bench.reports
	$(BIN)/python -m bench.federated
	$(BIN)/python -m bench.federation_rounds
	$(BIN)/python -m bench.own_columns

$(PSI_VENV)/.installed:
	$(PYTHON) -m venv $(PSI_VENV)
	$(PSI_VENV)/bin/pip install --quiet openmined.psi
	@touch $@

clean:
	rm -rf $(VENV) $(PSI_VENV) $(DEMO_DIR) .pytest_cache .mypy_cache .ruff_cache
