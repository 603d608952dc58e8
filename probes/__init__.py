"""Probes shared by the tests, the benchmarks and the evaluation: start the real host and the
gateway on free 127.0.0.1 ports, talk KServe streams to them, write a small knowledge base
and build the offline test models. Nothing here is imported by the product itself."""
from .gateway import GatewayError, GatewayProcess, start_gateway
from .host import HostError, HostProcess, free_port, start_host
from .knowledge import KNOWLEDGE, SERVABLE, rag_env, write_knowledge
from .kserve import Answer, Event, KServeStream, ask, prompt_input

__all__ = [
    "Answer", "Event", "GatewayError", "GatewayProcess", "HostError", "HostProcess", "KNOWLEDGE",
    "KServeStream", "SERVABLE", "ask", "free_port", "prompt_input", "rag_env", "start_gateway",
    "start_host", "write_knowledge",
]
