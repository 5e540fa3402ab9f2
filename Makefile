# Two commands matter: `make demo` (the main job on a sample tree) and `make test` (everything).
VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: demo test lint install clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

# Fix a copy of the sample tree and show the diff, then check the copy is clean.
demo: $(STAMP)
	@rm -rf .demo && cp -r examples/demo .demo
	@$(BIN)/pullpolicy check .demo || true
	@$(BIN)/pullpolicy fix --diff .demo || true
	@$(BIN)/pullpolicy check .demo

# The whole suite: lint, types, import contracts, tests.
test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(BIN)/pytest

clean:
	rm -rf .demo $(VENV) .mypy_cache .ruff_cache .pytest_cache .hypothesis
