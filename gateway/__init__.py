"""OpenAI-compatible chat gateway in front of the chatbot's KServe v2 gRPC stream.

Stateless: each chat is one ModelStreamInfer stream to OVMS (or the embedded host); the RAG
happens in the servable, and its sources travel with the answer as an extra `sources` field.
Client side only: no OpenVINO, no torch, no server code (it reuses `client/`'s wire module).
"""

from gateway.app import create_app
from gateway.errors import GatewayError
from gateway.server import main
from gateway.settings import GatewaySettings

__all__ = ["create_app", "GatewaySettings", "GatewayError", "main"]
