"""The one place where the host's failures become gRPC codes, HTTP codes and wire texts.

Every error the host reports is an OVMS status: its name, gRPC code, HTTP code and text are
OVMS's own (src/status.cpp, src/grpc_utils.cpp, src/http_server.cpp), and details follow
the text after " - ", as OVMS's Status does. A servable's exceptions never map to a code of
their own: on OVMS an exception in `execute` fails the graph (`GraphError`), whatever
`grpc_status` it carries, and only the graph's failure status reaches the client.
"""

from __future__ import annotations

from dataclasses import dataclass

import grpc

C = grpc.StatusCode


@dataclass(frozen=True)
class OvmsStatus:
    code: grpc.StatusCode
    http: int
    text: str


STATUSES = {
    "MODEL_NAME_MISSING": OvmsStatus(C.NOT_FOUND, 404, "Model with requested name is not found"),
    "MODEL_VERSION_NOT_LOADED_YET": OvmsStatus(
        C.UNAVAILABLE, 404, "Model with requested version is not loaded yet"),
    "MEDIAPIPE_DEFINITION_NAME_MISSING": OvmsStatus(
        C.NOT_FOUND, 404, "Mediapipe graph definition with requested name is not found"),
    # not in OVMS's HTTP table: its REST default, 500
    "MEDIAPIPE_DEFINITION_NOT_LOADED_YET": OvmsStatus(C.UNAVAILABLE, 500, "Mediapipe is not loaded yet"),
    "MEDIAPIPE_DEFINITION_NOT_LOADED_ANYMORE": OvmsStatus(C.NOT_FOUND, 404, "Mediapipe is retired"),
    "MEDIAPIPE_EXECUTION_ERROR": OvmsStatus(
        C.INVALID_ARGUMENT, 400, "Mediapipe execution failed. MP status"),
    "INVALID_NO_OF_INPUTS": OvmsStatus(C.INVALID_ARGUMENT, 400, "Invalid number of inputs"),
    "INVALID_UNEXPECTED_INPUT": OvmsStatus(C.INVALID_ARGUMENT, 400, "Unexpected input"),
    "INVALID_MESSAGE_STRUCTURE": OvmsStatus(
        C.INVALID_ARGUMENT, 400, "Passing buffers both in ModelInferRequest::InferInputTensor::contents "
        "and in ModelInferRequest::raw_input_contents is not allowed"),
    "INVALID_CONTENT_SIZE": OvmsStatus(C.INVALID_ARGUMENT, 400, "Invalid content size of tensor proto"),
    "INVALID_PRECISION": OvmsStatus(C.INVALID_ARGUMENT, 400, "Invalid input precision"),
    "INVALID_SHAPE": OvmsStatus(C.INVALID_ARGUMENT, 400, "Invalid input shape"),
    "INVALID_VALUE_COUNT": OvmsStatus(
        C.INVALID_ARGUMENT, 400, "Invalid number of values in tensor proto container"),
    "NOT_IMPLEMENTED": OvmsStatus(C.UNKNOWN, 500, "Functionality not implemented"),
    # not in OVMS's gRPC table: gRPC UNKNOWN (on streams only the text is sent)
    "MEDIAPIPE_INVALID_TIMESTAMP": OvmsStatus(C.UNKNOWN, 500, "Malformed packet timestamp"),
    "MEDIAPIPE_INCORRECT_SERVABLE_NAME": OvmsStatus(
        C.UNKNOWN, 500, "Subsequent request with incorrect servable name"),
    "MEDIAPIPE_GRAPH_ADD_PACKET_INPUT_STREAM": OvmsStatus(
        C.FAILED_PRECONDITION, 412, "Failed to add packet to mediapipe graph input stream"),
    "JSON_INVALID": OvmsStatus(C.FAILED_PRECONDITION, 412, "The file is not valid json"),
    "REST_BODY_IS_NOT_AN_OBJECT": OvmsStatus(C.UNKNOWN, 400, "Request body should be JSON object"),
    "REST_NO_INPUTS_FOUND": OvmsStatus(C.UNKNOWN, 400, "Invalid JSON structure, missing inputs"),
    "REST_COULD_NOT_PARSE_INPUT": OvmsStatus(
        C.UNKNOWN, 400, "Could not parse input content. Not valid ndarray detected"),
    "REST_INVALID_URL": OvmsStatus(C.UNKNOWN, 400, "Invalid request URL"),
    "CONFIG_FILE_INVALID": OvmsStatus(C.UNKNOWN, 500, "Configuration file not found or cannot open"),
    "UNKNOWN_ERROR": OvmsStatus(C.UNKNOWN, 500, "Unknown error"),
    # the host's own: graceful shutdown (OVMS has no grace period for streams)
    "HOST_SHUTTING_DOWN": OvmsStatus(C.UNAVAILABLE, 503, "Server is shutting down"),
    "HOST_CANCELLED": OvmsStatus(C.CANCELLED, 499, "The client cancelled the request"),
}

# the codes and texts of a failed MediaPipe graph (absl::Status::ToString of the node's return)
EXECUTION_FAILED = "Error occurred during graph execution"  # python_executor_calculator.cc
NODE_BUSY = "Node is already processing data. Create new stream for another request."
OUTPUTS_MISSING = "Unknown error during mediapipe execution"  # mediapipegraphexecutor.hpp


class HostError(Exception):
    """An OVMS status with optional details (the part after " - ")."""

    def __init__(self, status: str, details: str = ""):
        self.status = status
        self.details = details
        self.ovms = STATUSES[status]
        super().__init__(self.message)

    @property
    def code(self) -> grpc.StatusCode:
        return self.ovms.code

    @property
    def message(self) -> str:
        return f"{self.ovms.text} - {self.details}" if self.details else self.ovms.text

    def with_context(self, context: str) -> str:
        """The text OVMS writes to a stream for a request it could not take: "...; <context>"."""
        return f"{self.message}; {context}"


class GraphError(HostError):
    """The graph failed (a node returned a non-OK status); reaches the client only as the
    MEDIAPIPE_EXECUTION_ERROR that ends the RPC."""

    def __init__(self, absl_code: str, node: str, reason: str = EXECUTION_FAILED):
        self.absl_code = absl_code
        self.reason = reason
        super().__init__("MEDIAPIPE_EXECUTION_ERROR",
                         f"{absl_code}: Calculator::Process() for node \"{node}\" failed: {reason}")


def status_of(exc: BaseException) -> tuple[grpc.StatusCode, str]:
    """(gRPC code, message) the client gets for `exc`; anything not a HostError is OVMS's
    catch-all for an exception in a request handler."""
    if isinstance(exc, HostError):
        return exc.code, exc.message
    return C.UNKNOWN, f"{STATUSES['UNKNOWN_ERROR'].text} - {type(exc).__name__}: {exc}"


def http_status(exc: BaseException) -> int:
    return exc.ovms.http if isinstance(exc, HostError) else 500
