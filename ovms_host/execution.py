"""Calling a node's execute and turning what it returns into output steps.

`execute` returns a list of Tensors (one step) or a generator (one step per `next()`);
`run_unary` drains a generator and gathers each output's tensors into one.
"""

import collections.abc
import inspect

import grpc

from .errors import HostError
from .registry import Servable
from .tensors import OutTensor, concat, to_out


def is_generator(result) -> bool:
    return inspect.isgenerator(result) or (
        isinstance(result, collections.abc.Iterator) and not isinstance(result, (list, tuple)))


def start(servable: Servable, inputs):
    """Call execute; returns a list of Tensors or a generator of such lists."""
    result = servable.node.execute(inputs)
    if is_generator(result):
        if not servable.spec.node.has_loopback:
            close_quietly(result)
            raise HostError(grpc.StatusCode.INTERNAL, "execute returned a generator but the "
                            "node has no LOOPBACK input stream (see the graph's node)")
        return result
    if result is None:
        return []
    if not isinstance(result, (list, tuple)):
        raise HostError(grpc.StatusCode.INTERNAL, "execute must return a list of pyovms "
                        f"Tensors or a generator, got {type(result).__name__}")
    return result


def step_outputs(servable: Servable, tensors) -> list[OutTensor]:
    """Validate one step's tensors against the graph's outputs and serialize them."""
    if not isinstance(tensors, (list, tuple)):
        raise HostError(grpc.StatusCode.INTERNAL, "each step of execute must be a list of "
                        f"pyovms Tensors, got {type(tensors).__name__}")
    allowed = servable.spec.output_names
    outs = []
    for t in tensors:
        name = getattr(t, "name", None)
        if name not in allowed:
            raise HostError(grpc.StatusCode.INTERNAL, f"execute produced output {name!r}, "
                            f"which is not an output stream of the node ({', '.join(allowed)})")
        outs.append(to_out(t))
    return outs


def close_quietly(gen):
    try:
        gen.close()
    except Exception:
        pass


def run_unary(servable: Servable, inputs, is_active=None) -> list[OutTensor]:
    """All outputs of one request; a generator is drained and each output concatenated.
    `is_active()` (the RPC's) is asked before each step: once the client has gone (cancel,
    deadline) the generator is closed, so the servable stops generating."""
    result = start(servable, inputs)
    if not is_generator(result):
        return step_outputs(servable, result)
    gathered: dict[str, list[OutTensor]] = {}
    try:
        for step in result:
            if is_active is not None and not is_active():
                raise HostError(grpc.StatusCode.CANCELLED, "The client cancelled the request "
                                "or its deadline passed; generation stopped")
            for out in step_outputs(servable, step):
                gathered.setdefault(out.name, []).append(out)
    finally:
        close_quietly(result)
    return [concat(parts) for parts in gathered.values()]
