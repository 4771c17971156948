# credgate — the two commands a newcomer needs: `make demo` and `make test`.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
PIP := $(BIN)/pip install --quiet --constraint constraints.txt
STAMP := $(VENV)/.installed
PROTO_OUT := gateway/_proto
DEMO_DIR ?= .demo
DEMO_PEOPLE ?= 2000

.PHONY: setup proto demo test test-shifted lint bench clean train-ner

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

# The date-sensitive layers again with the clock moved to 23:59:30 Beijing time on a 31 December
# at least 400 days ahead, for pytest and every process it starts (docs/testing.md). The unit
# layers that never read a date (NER inference, crypto vectors, model training) are left out.
SHIFTED_TESTS ?= tests/unit tests/contract tests/regressions tests/integration \
	--ignore=tests/unit/egress --ignore=tests/unit/crypto \
	--ignore=tests/unit/federated --ignore=tests/unit/federation \
	tests/e2e/test_cli_queries.py tests/e2e/test_processes.py
test-shifted: $(STAMP)
	$(BIN)/python .ci/clock_shift.py --min-days 400 -- $(BIN)/python -m pytest $(SHIFTED_TESTS)

lint: $(STAMP)
	$(BIN)/ruff check gateway federated tests bench
	$(BIN)/mypy gateway federated
	$(BIN)/buf lint protos

# Retrains the character NER model of the egress guard (seeded; a few minutes on 2 cores; never in CI).
train-ner: $(STAMP)
	$(PIP) -e ".[train]"
	$(BIN)/python -m gateway.egress.char_ner_training

# openmined-psi (an external peer in bench.subject_check) pins an older protobuf: it gets its own venv.
PSI_VENV := .venv-psi

bench: $(STAMP) $(PSI_VENV)/.installed
	$(BIN)/python -m bench.fabric
	$(BIN)/python -m bench.oprf
	CREDGATE_PSI_PYTHON=$(PSI_VENV)/bin/python $(BIN)/python -m bench.subject_check
	$(BIN)/python -m bench.egress
	$(BIN)/python -m bench.egress_tradeoff
	$(BIN)/python -m bench.reports
	$(BIN)/python -m bench.federated
	$(BIN)/python -m bench.federation_rounds
	$(BIN)/python -m bench.own_columns
	$(BIN)/python -m bench.federated_dp
	$(BIN)/python -m bench.deployment_round --rows 10000 --compare bench/deployment_round_before.json
	$(BIN)/python -m bench.transparency
	$(BIN)/python -m bench.load
	$(BIN)/python -m bench.contact
	$(BIN)/python -m bench.conduct

$(PSI_VENV)/.installed:
	$(PYTHON) -m venv $(PSI_VENV)
	$(PSI_VENV)/bin/pip install --quiet openmined.psi
	@touch $@

clean:
	rm -rf $(VENV) $(PSI_VENV) $(DEMO_DIR) .pytest_cache .mypy_cache .ruff_cache
