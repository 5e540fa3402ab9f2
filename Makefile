# Two commands matter: `make demo` (the main job on a sample tree) and `make test` (everything).
VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: demo demo-cli test docs lint install clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

# The bot's main job on the embedded default: a local forge seeded with examples/demo,
# `pullpolicy serve` (receiver + worker on the SQLite queue), a signed push, the PR it opens.
demo: $(STAMP)
	@$(BIN)/python examples/demo_bot.py

# The same core as a CLI: fix a copy of the sample tree, show the diff, check it is clean.
demo-cli: $(STAMP)
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

# Regenerate the committed reference pages and sample PR in docs/ (tests/test_docs.py fails
# when they are stale).
docs: $(STAMP)
	$(BIN)/python docs/generate.py

clean:
	rm -rf .demo $(VENV) .mypy_cache .ruff_cache .pytest_cache .hypothesis
