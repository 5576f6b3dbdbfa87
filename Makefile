# sagefit: `make test` runs everything offline; `make deploy STACK=MistralStack` is the main job.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STACK ?= MistralStack
CDK := npx --no-install cdk

# Node.js comes from package.json (the `node` package puts Node 22 in node_modules/.bin), so the CDK
# CLI, the app's jsii runtime (it runs `node` from PATH) and the tests never use the system's Node.
export PATH := $(CURDIR)/node_modules/.bin:$(PATH)
export NODE_NO_WARNINGS := 1
export CDK_DISABLE_CLI_TELEMETRY := true

.PHONY: setup check test deploy destroy synth plan bench clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $@

setup: $(VENV)/.installed node_modules/.installed

# Lint, format, types and layering (contracts in pyproject.toml); `make test` runs them first.
check: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports

test: check
	$(PY) -m pytest

plan: setup
	$(VENV)/bin/sagefit plan

# `cdk synth` with no stack names synthesizes every stack (it has no --all option, unlike deploy).
synth: setup
	$(CDK) synth --quiet

# TARGET=auto (AWS when credentials are configured, else the local emulator) | local | aws
# The local emulator needs the `local` extra (moto[server]); setup installs .[dev], which includes it.
TARGET ?= auto
PORT ?= 5055
KEEP ?=
deploy: setup
	$(VENV)/bin/sagefit deploy $(STACK) --target $(TARGET) --port $(PORT) $(if $(KEEP),--keep-emulator)

destroy: setup
	$(VENV)/bin/sagefit destroy $(STACK) --target $(TARGET)

bench: setup
	$(PY) bench/run.py

clean:
	rm -rf cdk.out .pytest_cache .sagefit .mypy_cache .ruff_cache .import_linter_cache
