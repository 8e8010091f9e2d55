# kedro-gitops: `make dags` to compile the example, `make test` for the whole suite.
VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin
export KEDRO_DISABLE_TELEMETRY := 1

.PHONY: install dags check test lint format clean bench fuzz

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[kedro]' -r requirements-dev.txt
	touch $@

dags: install  ## compile pipelines.deploy.yaml into dags/
	$(BIN)/kedro-gitops compile

check: install  ## fail when dags/ is stale
	$(BIN)/kedro-gitops check

lint: install
	$(BIN)/ruff check compiler tests schema bench
	$(BIN)/ruff format --check compiler tests schema bench
	$(BIN)/mypy

test: lint  ## the whole suite
	$(BIN)/python -m pytest

fuzz: install  ## the fuzz suite at 10,000 examples per property
	KEDRO_GITOPS_FUZZ_EXAMPLES=10000 $(BIN)/python -m pytest tests/test_fuzz.py -q

format: install
	$(BIN)/ruff format compiler tests
	$(BIN)/ruff check --fix compiler tests

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis

bench: install  ## kedro-gitops against kedro-airflow 0.11: writes bench/results.md
	$(BIN)/python -m pip install --quiet kedro-airflow==0.11.0
	$(BIN)/python bench/run.py
	$(BIN)/python bench/run_cost.py
