# Two commands matter: `make demo` (the main job on a sample tree) and `make test` (everything).
VENV ?= .venv
PYTHON ?= python$(LOCK_PYTHON)
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
# Every install takes the exact versions and hashes of the lock (pyproject.toml keeps ranges for
# library users). The locks are made for CPython $(LOCK_PYTHON) on Linux: the Docker image, CI
# and `make` all run it.
LOCK := requirements/lock.txt
RUNTIME_LOCK := requirements/runtime.txt
LOCK_PYTHON := 3.11
UV_VERSION := 0.13.9

.PHONY: demo demo-cli test docs lint install lock clean

$(STAMP): pyproject.toml $(LOCK)
	$(PYTHON) -c 'import sys; v = "%d.%d" % sys.version_info[:2]; \
	  sys.exit(None if v == "$(LOCK_PYTHON)" else f"the lock is for Python $(LOCK_PYTHON), not {v}")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --require-hashes -r $(LOCK)
	$(BIN)/pip install --quiet --no-deps --no-build-isolation -e .
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

# Refresh both locks after a dependency change in pyproject.toml (or requirements/build.in),
# then commit them. Pins that still fit are kept; `make lock UPGRADE=--upgrade` takes the newest.
# uv runs from a throwaway venv. runtime.txt (the Docker image) has lock.txt's versions, less dev;
# both carry the `render` extra (Helm's engine, kubectl): the image, CI and `make` render.
lock:
	@tools=$$(mktemp -d) && trap 'rm -rf "$$tools"' EXIT && \
	$(PYTHON) -m venv "$$tools" && "$$tools/bin/pip" install --quiet uv==$(UV_VERSION) && \
	compile() { "$$tools/bin/uv" pip compile --quiet --generate-hashes --python-version $(LOCK_PYTHON) \
	  --python-platform linux --custom-compile-command 'make lock' $(UPGRADE) "$$@"; } && \
	compile --extra dev --extra render -o $(LOCK) pyproject.toml requirements/build.in && \
	compile --extra render --constraint $(LOCK) -o $(RUNTIME_LOCK) pyproject.toml requirements/build.in

# Mutation testing of the guard, the patcher, the render comparison, pacing and the webhook
# decision path (docs/mutation.md): CPU-heavy (minutes per module), so not part of `make test`
# nor CI. One module: MODULES=...
.PHONY: mutation
mutation: $(STAMP)
	$(BIN)/python -m tests.mutation.run $(MODULES)

clean:
	rm -rf .demo $(VENV) .mypy_cache .ruff_cache .pytest_cache .hypothesis
