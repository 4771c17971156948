# credgate — the two commands a newcomer needs: `make demo` and `make test`.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
PIP := $(BIN)/pip install --quiet --constraint constraints.txt
STAMP := $(VENV)/.installed
PROTO_OUT := gateway/_proto
DEMO_DIR ?= .demo
DEMO_PEOPLE ?= 2000

.PHONY: setup proto proto-check demo test lint bench clean

setup: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	@command -v $(PYTHON) >/dev/null || { echo "need $(PYTHON) on PATH"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(PIP) --upgrade pip
	$(PIP) -e ".[dev]"
	@touch $@

# Regenerates gateway/_proto from protos/ (never edit the generated files by hand).
proto: $(STAMP)
	rm -rf $(PROTO_OUT)/credgate
	$(BIN)/python -m grpc_tools.protoc -I protos \
		--plugin=protoc-gen-mypy=$(BIN)/protoc-gen-mypy --plugin=protoc-gen-mypy_grpc=$(BIN)/protoc-gen-mypy_grpc \
		--python_out=$(PROTO_OUT) --mypy_out=$(PROTO_OUT) \
		--grpc_python_out=$(PROTO_OUT) --mypy_grpc_out=$(PROTO_OUT) \
		protos/credgate/v1/*.proto
	find $(PROTO_OUT)/credgate -name '*.py' -o -name '*.pyi' | xargs sed -i \
		-e 's/^from credgate\.v1 import/from gateway._proto.credgate.v1 import/' \
		-e 's/^import credgate\.v1\./import gateway._proto.credgate.v1./'
	for d in $(PROTO_OUT)/credgate $(PROTO_OUT)/credgate/v1; do \
		printf '"""Generated gRPC code; regenerate with `make proto`."""\n' > $$d/__init__.py; done

# Fails when the committed generated code differs from what `make proto` produces.
proto-check: $(STAMP)
	$(BIN)/buf lint protos
	$(BIN)/python -m tests.contract.proto_freshness

demo: $(STAMP)
	$(BIN)/credgate demo --workdir $(DEMO_DIR) --people $(DEMO_PEOPLE)

test: $(STAMP)
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check gateway federated tests bench
	$(BIN)/mypy gateway federated
	$(BIN)/buf lint protos

bench: $(STAMP)
	$(BIN)/python -m pytest bench -p no:cacheprovider

clean:
	rm -rf $(VENV) $(DEMO_DIR) .pytest_cache .mypy_cache .ruff_cache
