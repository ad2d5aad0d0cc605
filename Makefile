# Two entry points for a fresh machine (see README.md):
#   make run    set up, then run the main job on the local machine
#   make test   set up, then lint and run the whole test suite
# Extra options for `make run`: make run ARGS="--duration 30 -d 'my run'"

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: run test lint system-packages test-packages clean

run: system-packages $(VENV)/.runtime
	$(BIN)/python -m collector run $(ARGS)

test: test-packages $(VENV)/.test lint
	$(BIN)/python -m pytest

lint: $(VENV)/.test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/ansible-lint --profile production --offline

system-packages:
	@scripts/install-system-packages

test-packages:
	@scripts/install-system-packages --test

$(VENV)/.runtime: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.test: pyproject.toml $(VENV)/.runtime
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

clean:
	rm -rf $(VENV)
