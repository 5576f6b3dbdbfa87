# sagefit: `make test` runs everything offline; `make deploy STACK=MistralStack` is the main job.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STACK ?= MistralStack
CDK := npx --no-install cdk

export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
export NODE_NO_WARNINGS := 1
export CDK_DISABLE_CLI_TELEMETRY := true

.PHONY: setup test deploy synth plan bench clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $@

setup: $(VENV)/.installed node_modules/.installed

test: setup
	$(PY) -m pytest

plan: setup
	$(VENV)/bin/sagefit plan

synth: setup
	$(CDK) synth --all --quiet

# Deploying to AWS or to the local emulator is not wired yet: this synthesizes the stack only.
deploy: setup
	$(CDK) synth $(STACK) --quiet
	@echo "make deploy: synthesized $(STACK) to cdk.out/$(STACK).template.json; nothing was deployed."
	@echo "To deploy to your AWS account, run: $(CDK) deploy $(STACK)"

bench: setup
	$(PY) bench/run.py

clean:
	rm -rf cdk.out .pytest_cache
