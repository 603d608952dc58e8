"""A subset of MediaPipe's CalculatorGraphConfig schema, built in code.

The mediapipe wheels are unusable here (no calculator_pb2 / old protobuf), so the message
types a graph.pbtxt mentions are declared in a private descriptor pool and protobuf's own
`text_format` parses against them. Field numbers follow mediapipe's .proto files so the
schema stays wire-compatible. Only fields an OVMS Python graph uses (plus a few harmless
common ones) are declared; anything else is reported as a parse error naming the line.
"""

from __future__ import annotations

from functools import lru_cache

from google.protobuf import any_pb2, descriptor_pb2, descriptor_pool, message_factory
from google.protobuf.message import Message

PACKAGE = "mediapipe"
_F = descriptor_pb2.FieldDescriptorProto


def _field(msg: descriptor_pb2.DescriptorProto, name: str, number: int, ftype: int,
           label: int = _F.LABEL_OPTIONAL, type_name: str | None = None
           ) -> descriptor_pb2.FieldDescriptorProto:
    f = msg.field.add(name=name, number=number, type=ftype, label=label)
    if type_name:
        f.type_name = type_name
    return f


def _strings(msg: descriptor_pb2.DescriptorProto, *names_numbers: tuple[str, int]) -> None:
    for name, number in names_numbers:
        _field(msg, name, number, _F.TYPE_STRING, _F.LABEL_REPEATED)


def _file() -> descriptor_pb2.FileDescriptorProto:
    fd = descriptor_pb2.FileDescriptorProto(
        name="ovms_host/mediapipe_graph_subset.proto", package=PACKAGE, syntax="proto2",
        dependency=["google/protobuf/any.proto"])

    opts = fd.message_type.add(name="MediaPipeOptions")  # extension holder (handler options)
    opts.extension_range.add(start=20000, end=536870912)
    copts = fd.message_type.add(name="CalculatorOptions")  # legacy `options {}` holder
    _field(copts, "merge_fields", 1, _F.TYPE_BOOL)
    copts.extension_range.add(start=20000, end=536870912)

    info = fd.message_type.add(name="InputStreamInfo")
    _field(info, "tag_index", 1, _F.TYPE_STRING)
    _field(info, "back_edge", 2, _F.TYPE_BOOL)

    ish = fd.message_type.add(name="InputStreamHandlerConfig")
    _field(ish, "input_stream_handler", 1, _F.TYPE_STRING)
    _field(ish, "options", 3, _F.TYPE_MESSAGE, type_name=".mediapipe.MediaPipeOptions")
    osh = fd.message_type.add(name="OutputStreamHandlerConfig")
    _field(osh, "output_stream_handler", 1, _F.TYPE_STRING)
    _strings(osh, ("input_side_packet", 2))
    _field(osh, "options", 3, _F.TYPE_MESSAGE, type_name=".mediapipe.MediaPipeOptions")

    node = fd.message_type.add(name="Node")  # CalculatorGraphConfig.Node, flattened
    _field(node, "name", 1, _F.TYPE_STRING)
    _field(node, "calculator", 2, _F.TYPE_STRING)
    _strings(node, ("input_stream", 3), ("output_stream", 4),
             ("input_side_packet", 5), ("output_side_packet", 6))
    _field(node, "options", 7, _F.TYPE_MESSAGE, type_name=".mediapipe.CalculatorOptions")
    _field(node, "node_options", 8, _F.TYPE_MESSAGE, _F.LABEL_REPEATED,
           type_name=".google.protobuf.Any")
    _field(node, "source_layer", 9, _F.TYPE_INT32)
    _field(node, "buffer_size_hint", 10, _F.TYPE_INT32)
    _field(node, "input_stream_handler", 11, _F.TYPE_MESSAGE,
           type_name=".mediapipe.InputStreamHandlerConfig")
    _field(node, "output_stream_handler", 12, _F.TYPE_MESSAGE,
           type_name=".mediapipe.OutputStreamHandlerConfig")
    _field(node, "input_stream_info", 13, _F.TYPE_MESSAGE, _F.LABEL_REPEATED,
           type_name=".mediapipe.InputStreamInfo")
    _field(node, "executor", 14, _F.TYPE_STRING)
    _field(node, "max_in_flight", 17, _F.TYPE_INT32)

    graph = fd.message_type.add(name="CalculatorGraphConfig")
    _field(graph, "node", 1, _F.TYPE_MESSAGE, _F.LABEL_REPEATED, type_name=".mediapipe.Node")
    _field(graph, "num_threads", 8, _F.TYPE_INT32)
    _field(graph, "input_stream_handler", 12, _F.TYPE_MESSAGE,
           type_name=".mediapipe.InputStreamHandlerConfig")
    _field(graph, "output_stream_handler", 13, _F.TYPE_MESSAGE,
           type_name=".mediapipe.OutputStreamHandlerConfig")
    _strings(graph, ("input_stream", 10), ("output_stream", 15), ("input_side_packet", 16), ("output_side_packet", 17))
    _field(graph, "max_queue_size", 11, _F.TYPE_INT32)
    _field(graph, "package", 19, _F.TYPE_STRING)
    _field(graph, "type", 20, _F.TYPE_STRING)

    sync = fd.message_type.add(name="SyncSetInputStreamHandlerOptions")
    sync_set = sync.nested_type.add(name="SyncSet")
    _strings(sync_set, ("tag_index", 1))
    _field(sync, "sync_set", 1, _F.TYPE_MESSAGE, _F.LABEL_REPEATED,
           type_name=".mediapipe.SyncSetInputStreamHandlerOptions.SyncSet")
    ext = sync.extension.add(name="ext", number=97020246, type=_F.TYPE_MESSAGE,
                             label=_F.LABEL_OPTIONAL,
                             type_name=".mediapipe.SyncSetInputStreamHandlerOptions")
    ext.extendee = ".mediapipe.MediaPipeOptions"

    py = fd.message_type.add(name="PythonExecutorCalculatorOptions")
    _field(py, "handler_path", 1, _F.TYPE_STRING)
    return fd


@lru_cache(maxsize=1)
def pool() -> descriptor_pool.DescriptorPool:
    p = descriptor_pool.DescriptorPool()
    any_fd = descriptor_pb2.FileDescriptorProto()
    any_pb2.DESCRIPTOR.CopyToProto(any_fd)
    p.Add(any_fd)
    p.Add(_file())
    # Materialise classes for every file so extensions are registered with their extendees.
    message_factory.GetMessageClassesForFiles([_file().name], p)
    return p


def message_class(name: str) -> type[Message]:
    """The generated class for `mediapipe.<name>` in the private pool."""
    return message_factory.GetMessageClass(pool().FindMessageTypeByName(f"{PACKAGE}.{name}"))
