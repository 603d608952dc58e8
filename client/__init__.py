"""Clients for the RAG chatbot served by OVMS: the shared stream module, a terminal
client and a Gradio page. Speaks the wire contract only (no OpenVINO, no server code).

    from client import StreamClient, Done, WireRequest
    with StreamClient("localhost:9000") as c:
        for event in c.ask("What is OVMS?"):    # str chunks, then one Done
            ...
        title = c.send(WireRequest("Name this chat", retrieval=False, background=True))  # any option

The public surface is what `__all__` names; everything else may move.
"""
from client.errors import (
    ClientError,
    ProtocolError,
    ServerError,
    ServerUnreachableError,
    StreamTimeoutError,
)
from client.stream import Answer, Done, StreamClient
from client.wire import EndInfo, Source, WireRequest

__all__ = [
    "StreamClient", "Answer", "Done", "EndInfo", "Source", "WireRequest",
    "ClientError", "ServerUnreachableError", "ServerError", "StreamTimeoutError", "ProtocolError",
]
