"""A compressed folder is a complete servable: the real host loads the INT4 one (the presets'
recipe; every variant loads and generates in-process in test_acquisition_compress.py) via
LLM_MODEL_DIR and streams an answer; DEVICE=gpu on a machine without one is live-but-not-ready
with a message naming the device. The hosts are started together to keep the wall time down."""
from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest

from probes.host import start_host
from probes.knowledge import SERVABLE, rag_env, write_knowledge
from probes.kserve import ask
from tests.e2e.test_spine import chunks_and_end, raw_input

SERVED = ("INT4",)


@pytest.fixture(scope="module")
def hosts(compressed_models, tmp_path_factory):
    docs = write_knowledge(tmp_path_factory.mktemp("kb"))
    started = {}
    try:
        for precision in SERVED:
            env = rag_env(docs, LLM_MODEL_DIR=str(compressed_models.folders[precision]))
            started[precision] = start_host(SERVABLE / "config.json", env=env)
        started["gpu"] = start_host(SERVABLE / "config.json", env=rag_env(docs, DEVICE="gpu"))
        yield started
    finally:
        for host in started.values():
            host.stop()


@pytest.mark.parametrize("precision", SERVED)
def test_compressed_folder_streams_through_the_host(hosts, precision):
    host = hosts[precision].wait_ready(timeout=240)
    prompt = json.dumps({"question": "What colour is the zorblat fruit?", "max_new_tokens": 8})
    text, end = chunks_and_end(ask(host.grpc_url, raw_input(prompt)))
    assert end["usage"]["completion_tokens"] > 0
    assert end["sources"][0]["source"] == "zorblat.md"


def test_gpu_without_a_gpu_is_live_but_not_ready(hosts):
    host = hosts["gpu"].wait_server_ready(timeout=240)
    assert "GPU" in host.log_text() and "available devices" in host.log_text()
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(f"{host.rest_url}/v2/models/python_model/ready", timeout=5)
    assert refused.value.code == 404  # OVMS: "Model with requested version is not loaded yet"
    with urllib.request.urlopen(f"{host.rest_url}/v2/health/live", timeout=5) as live:
        assert live.status == 200
