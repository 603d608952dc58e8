# make python_image — the OVMS image with our Python dependencies (Dockerfile.python).
# Included by the top-level Makefile; also usable alone: make -f mk/python_image.mk python_image
#
#   make python_image                                      # openvino/model_server:py (Ubuntu)
#   make python_image BASE_OS=redhat OVMS_CPP_DOCKER_IMAGE=registry.connect.redhat.com/intel/openvino-model-server
#
# The OVMS release is not a free choice: inside OVMS, Python imports the openvino bundled with
# the image (the tag decides it, not pip), and our pinned set is resolved against the
# `openvino==` pin in requirements.txt, so the default tag is derived from that pin
# (deploy/check_image_tag.py, the one place that knows the mapping), and a tag that does not
# match stops here, before docker, with a one-line reason. The build then checks the image
# itself (deploy/image/check_image.py).

PYTHON_IMAGE_DIR := $(abspath $(dir $(lastword $(MAKEFILE_LIST)))..)
# paths relative to the repo root when make runs there (it normally does), absolute otherwise
PYTHON_IMAGE_AT := $(if $(filter $(CURDIR),$(PYTHON_IMAGE_DIR)),,$(PYTHON_IMAGE_DIR)/)
PYTHON_IMAGE_CTX := $(if $(PYTHON_IMAGE_AT),$(PYTHON_IMAGE_DIR),.)
PYTHON_IMAGE_PY ?= python3

BASE_OS ?= ubuntu
OVMS_CPP_DOCKER_IMAGE ?= openvino/model_server
ifeq ($(origin OVMS_CPP_IMAGE_TAG),undefined)
OVMS_CPP_IMAGE_TAG := $(shell $(PYTHON_IMAGE_PY) $(PYTHON_IMAGE_DIR)/deploy/check_image_tag.py --default-tag)
endif
PYTHON_IMAGE_TAG ?= $(OVMS_CPP_DOCKER_IMAGE):py
DOCKER ?= docker

.PHONY: python_image

python_image:
	+@$(PYTHON_IMAGE_PY) $(PYTHON_IMAGE_AT)deploy/check_image_tag.py --base-os "$(BASE_OS)" "$(OVMS_CPP_IMAGE_TAG)"
	$(DOCKER) build -f $(PYTHON_IMAGE_AT)Dockerfile.python --build-arg BASE_OS=$(BASE_OS) --build-arg OVMS_CPP_DOCKER_IMAGE=$(OVMS_CPP_DOCKER_IMAGE) --build-arg OVMS_CPP_IMAGE_TAG=$(OVMS_CPP_IMAGE_TAG) -t $(PYTHON_IMAGE_TAG) $(PYTHON_IMAGE_CTX)
