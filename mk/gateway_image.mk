# make gateway_image — the gateway's own small image (Dockerfile.gateway; no OpenVINO/torch).
GATEWAY_IMAGE_TAG ?= ragbot-gateway:latest
DOCKER ?= docker

.PHONY: gateway_image

gateway_image:
	DOCKER_BUILDKIT=1 $(DOCKER) build -f Dockerfile.gateway -t $(GATEWAY_IMAGE_TAG) .
