"""The public surfaces of ragbot, client and gateway (as httpx keeps its own): exactly these names,
each importable from the package root, documented, and owned by the package. Changing
the list is a decision, not an accident."""
from __future__ import annotations

import importlib
import subprocess
import sys

import pytest

from tests.conftest import REPO

SURFACES = {
    "ragbot": [
        "RagService", "Answer", "AnswerEnd", "SourceInfo", "ChatRequest", "Settings", "respond",
        "RunContext", "GenerationStats",
        "RagError", "ConfigError", "ModelMissingError", "InvalidRequestError", "OverloadedError",
        "GenerationError", "DocumentError", "ServiceClosedError", "wire_error",
    ],
    "client": [
        "StreamClient", "Answer", "Done", "EndInfo", "Source", "WireRequest",
        "ClientError", "ServerUnreachableError", "ServerError", "StreamTimeoutError", "ProtocolError",
    ],
    "gateway": ["create_app", "GatewaySettings", "GatewayError", "main"],
}


@pytest.mark.parametrize("package", SURFACES)
def test_the_public_surface_is_exactly_this(package):
    module = importlib.import_module(package)
    assert module.__all__ == SURFACES[package]
    for name in module.__all__:
        obj = getattr(module, name)
        assert obj.__doc__, f"{package}.{name} has no docstring"
        assert obj.__module__.split(".")[0] == package, f"{package}.{name} comes from {obj.__module__}"


def test_importing_the_core_loads_no_server_gradio_or_model_runtime():
    code = ("import sys, ragbot; heavy = [m for m in ('ovms_host', 'grpc', 'pyovms', 'gradio', 'torch', "
            "'optimum', 'openvino', 'sentence_transformers') if m in sys.modules]; print(heavy)")
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
