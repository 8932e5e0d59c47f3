# Two entry points, both self-installing on a machine with only Python 3.11 and make:
#   make demo   set up, start the four simulated systems and the hub, sync, serve
#   make test   set up, run the whole test suite
#   make lint   set up, run ruff and mypy (strict on hub/ and connectors/), as .ci/run does
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: demo test lint bench schema clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/yanxing demo $(ARGS)

test: $(STAMP)
	$(BIN)/python -m pytest $(ARGS)

lint: $(STAMP)
	$(BIN)/ruff check hub connectors console tests bench
	$(BIN)/mypy

bench: $(STAMP)
	$(BIN)/python bench/run.py $(ARGS)

schema: $(STAMP)
	$(BIN)/yanxing schema export

clean:
	rm -rf $(VENV) var .pytest_cache tests/federation_e2e/node_modules
