"""graph.pbtxt -> the plain spec of a graph the host serves.

Only graphs made of one `PythonExecutorCalculator` node are supported (that is what an
OVMS Python servable is); anything else is a `ConfigError` with a message naming the file.
A relative `handler_path` resolves against the graph's `base_path`, as
src/python/pythonnoderesources.cpp (createPythonNodeResources) does.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from google.protobuf import text_format
from google.protobuf.message import Message

from . import graph_schema
from .config import ConfigError, GraphEntry

PYTHON_CALCULATOR = "PythonExecutorCalculator"
PY_OPTIONS_TYPE = "mediapipe.PythonExecutorCalculatorOptions"


@dataclass(frozen=True)
class Stream:
    """One stream spec "TAG:index:name" / "TAG:name" / "name"."""
    tag: str
    name: str

    @classmethod
    def parse(cls, spec: str) -> "Stream":
        parts = spec.split(":")
        return cls(tag=parts[0] if len(parts) > 1 else "", name=parts[-1])


@dataclass
class NodeSpec:
    name: str
    handler_path: str  # absolute
    inputs: list[Stream]
    outputs: list[Stream]

    @property
    def has_loopback(self) -> bool:
        return any(s.tag == "LOOPBACK" for s in self.inputs)


@dataclass
class GraphSpec:
    name: str
    graph_path: str
    inputs: list[Stream]
    outputs: list[Stream]
    node: NodeSpec
    extra: dict = field(default_factory=dict)

    @property
    def input_names(self) -> list[str]:
        return [s.name for s in self.inputs]

    @property
    def output_names(self) -> list[str]:
        return [s.name for s in self.outputs]


def parse_graph_text(text: str, graph_path: str) -> Message:
    """Parse pbtxt into a CalculatorGraphConfig message; errors name file:line:column."""
    msg = graph_schema.message_class("CalculatorGraphConfig")()
    try:
        text_format.Parse(text, msg, descriptor_pool=graph_schema.pool())
    except text_format.ParseError as e:
        line, col = e.GetLine(), e.GetColumn()
        reason = str(e).split(" : ", 1)[-1] if line else str(e)
        where = f"{graph_path}:{line}:{col}" if line else graph_path
        raise ConfigError(f"{where}: invalid graph: {reason}") from e
    return msg


def load_graph(entry: GraphEntry) -> GraphSpec:
    try:
        with open(entry.graph_path, encoding="utf-8") as f:
            text = f.read()
    except OSError as e:
        raise ConfigError(f"cannot read graph of {entry.name!r} at {entry.graph_path}: "
                          f"{e.strerror}") from e
    msg = parse_graph_text(text, entry.graph_path)
    return _graph_spec(entry, msg)


def _handler_path(msg_node: Message, path: str) -> str:
    for any_msg in msg_node.node_options:
        if any_msg.type_url.split("/")[-1] == PY_OPTIONS_TYPE:
            opts = graph_schema.message_class("PythonExecutorCalculatorOptions")()
            any_msg.Unpack(opts)
            if opts.handler_path:
                return opts.handler_path
    raise ConfigError(f"{path}: node {msg_node.name or PYTHON_CALCULATOR!r} needs node_options "
                      f"[type.googleapis.com/{PY_OPTIONS_TYPE}] {{ handler_path: \"...\" }}")


def _graph_spec(entry: GraphEntry, msg: Message) -> GraphSpec:
    path = entry.graph_path
    py_nodes = [n for n in msg.node if n.calculator == PYTHON_CALCULATOR]
    if len(msg.node) != 1 or len(py_nodes) != 1:
        kinds = ", ".join(n.calculator for n in msg.node) or "none"
        raise ConfigError(f"{path}: this host runs graphs of exactly one {PYTHON_CALCULATOR} "
                          f"node; found nodes: {kinds}")
    node = py_nodes[0]
    handler = os.path.normpath(os.path.join(entry.base_path, _handler_path(node, path)))
    node_spec = NodeSpec(name=node.name or entry.name, handler_path=handler,
                         inputs=[Stream.parse(s) for s in node.input_stream],
                         outputs=[Stream.parse(s) for s in node.output_stream])
    if node_spec.has_loopback != any(s.tag == "LOOPBACK" for s in node_spec.outputs):
        raise ConfigError(f"{path}: If LOOPBACK is used, it must be defined on both input and "
                          "output of the node")
    graph_in = [Stream.parse(s) for s in msg.input_stream]
    graph_out = [Stream.parse(s) for s in msg.output_stream]
    if not graph_in or not graph_out:
        raise ConfigError(f"{path}: the graph needs at least one input_stream and one "
                          "output_stream")
    node_in = {s.name for s in node_spec.inputs}
    node_out = {s.name for s in node_spec.outputs}
    for s in graph_in:
        if s.name not in node_in:
            raise ConfigError(f"{path}: graph input {s.name!r} is not an input of the node")
    for s in graph_out:
        if s.name not in node_out:
            raise ConfigError(f"{path}: graph output {s.name!r} is not an output of the node")
    return GraphSpec(name=entry.name, graph_path=path, inputs=graph_in, outputs=graph_out,
                     node=node_spec)
