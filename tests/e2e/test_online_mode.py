"""Online mode through the real host: a missing default model folder is taken from
$HF_HOME/ovms_rag (an earlier online export), or pulled from the hub; with the hub
unreachable the model is not ready, quickly, and the log names the offline script."""
from __future__ import annotations

import shutil
import socket
import time
import urllib.error
import urllib.request

import pytest

from probes.knowledge import SERVABLE, write_knowledge
from probes.host import start_host
from probes.models import minilm_dir, tiny_random_dir

pytestmark = pytest.mark.host


def closed_port_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}"


def online_env(tmp_path, hf_home):
    return {
        # the seed's online deployment: only SELECTED_MODEL, no model folders mounted
        "SELECTED_MODEL": "tiny-llama-1b-chat",
        "EMBEDDING_MODEL": "all-MiniLM-L6-v2",
        "DOCS_FILE": str(write_knowledge(tmp_path / "kb")),
        "HF_HOME": str(hf_home),
        "HF_HUB_OFFLINE": "0",
        "HF_ENDPOINT": closed_port_url(),
    }


def test_earlier_online_exports_are_reused_without_the_hub(tmp_path):
    hf_home = tmp_path / "hf"
    # what an earlier online start left behind (the tiny model stands in for the preset)
    shutil.copytree(tiny_random_dir(), hf_home / "ovms_rag" / "tiny-llama-1b-chat")
    shutil.copytree(minilm_dir(), hf_home / "ovms_rag" / "all-MiniLM-L6-v2")
    with start_host(SERVABLE / "config.json", env=online_env(tmp_path, hf_home)) as host:
        host.wait_ready(timeout=180)
        assert "using the online-mode export" in host.log_text()


@pytest.mark.parametrize("missing, script", [
    ("tiny-llama-1b-chat", "download_model.py --model tiny-llama-1b-chat"),
    ("all-MiniLM-L6-v2", "download_embedding_model.py --model all-MiniLM-L6-v2"),
])
def test_unreachable_hub_leaves_model_not_ready_and_names_the_script(tmp_path, missing, script):
    hf_home = tmp_path / "hf"
    cached = {"tiny-llama-1b-chat": tiny_random_dir(), "all-MiniLM-L6-v2": minilm_dir()}
    for name, folder in cached.items():
        if name != missing:
            shutil.copytree(folder, hf_home / "ovms_rag" / name)
    started = time.monotonic()
    with start_host(SERVABLE / "config.json", env=online_env(tmp_path, hf_home)) as host:
        host.wait_server_ready(timeout=120)
        assert time.monotonic() - started < 60
        log = host.log_text()
        assert "online mode" in log and script in log, log[-2000:]
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(f"{host.rest_url}/v2/models/python_model/ready", timeout=5)
        assert refused.value.code == 404  # OVMS: "Model with requested version is not loaded yet"
