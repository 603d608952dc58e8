"""One request through the Python node, as PythonExecutorCalculator::Process runs it
(src/python/python_executor_calculator.cc).

`execute` must return a `list` of pyovms Tensors (one step, at the input's timestamp) or an
iterator (one step per Process call, the timestamp +1 per step; the node needs a LOOPBACK).
Anything else, an exception, a step that is not a sequence of pyovms Tensors, or a Tensor
named after no output stream of the node fails the graph with INTERNAL "Error occurred
during graph execution". A generator is stepped one ahead: a Process call casts the current
value, pushes its outputs and then calls `next()` for the following value; MediaPipe
delivers a Process call's outputs once it returns, so a step reaches the client only after
the next value was computed, and an exception there loses that step too. An empty generator
is a failure as well (its first value cannot be cast to a list).
"""

from __future__ import annotations

import collections.abc
from dataclasses import dataclass
from typing import Any

from .errors import NODE_BUSY, GraphError
from .graph import GraphSpec
from .node import PythonNode, ensure_pyovms
from .tensors import OutTensor, to_out

_DONE = object()


@dataclass
class Packet:
    """One output packet: a graph output's tensor at a timestamp."""
    name: str
    tensor: OutTensor
    timestamp: int


class NodeRun:
    """Drive one request: `first()`, then `next_step()` until it returns None.

    Each call is one Process call and returns the packets it delivers; a failure raises
    GraphError. `close()` ends a generator early (in the thread that ran it)."""

    def __init__(self, spec: GraphSpec, node: PythonNode, inputs: list[Any], timestamp: int):
        self.spec = spec
        self.node = node
        self.inputs = inputs
        self.timestamp = timestamp
        self._gen = None
        self._value = _DONE
        self._tensor_type = ensure_pyovms().Tensor
        self._outputs = {s.name for s in spec.node.outputs if s.tag != "LOOPBACK"}
        self._graph_outputs = set(spec.output_names)

    @property
    def running(self) -> bool:
        """A generator is initialized (OVMS's generatorInitialized): new input is refused."""
        return self._gen is not None

    def _fail(self, reason: str = "Error occurred during graph execution", code: str = "INTERNAL"
              ) -> GraphError:
        self.close()
        return GraphError(code, self.spec.node.name, reason)

    def first(self) -> list[Packet]:
        try:
            result = self.node.execute(self.inputs)
        except Exception as e:
            raise self._fail() from e
        if isinstance(result, list):
            return self._packets(result, advance=False)
        if isinstance(result, collections.abc.Iterator):
            if not self.spec.node.has_loopback:
                raise self._fail()  # "Execute yielded, but LOOPBACK is not defined in the node"
            self._gen = result
            self._value = self._next()
            return self._step()
        raise self._fail()  # UnexpectedPythonObjectError: "list or generator"

    def next_step(self) -> list[Packet] | None:
        """The next Process call of a generator; None once it is exhausted."""
        if self._gen is None:
            return None
        if self._value is _DONE:  # "finished generating. Resetting the generator."
            self._gen = None
            return None
        return self._step()

    def refuse_new_input(self) -> GraphError:
        """A request arrived while the generator runs: the graph fails (and stops it)."""
        return self._fail(NODE_BUSY, code="RESOURCE_EXHAUSTED")

    def close(self) -> None:
        gen, self._gen = self._gen, None
        self._value = _DONE
        if gen is not None and hasattr(gen, "close"):
            try:
                gen.close()
            except Exception:
                pass

    def _next(self) -> Any:
        try:
            return next(self._gen)
        except StopIteration:
            return _DONE
        except Exception as e:
            raise self._fail() from e

    def _step(self) -> list[Packet]:
        if self._value is _DONE:
            raise self._fail()  # an exhausted iterator has no value to push
        packets = self._packets(self._value, advance=True)
        self._value = self._next()  # one ahead, before this step is delivered
        return packets

    def _packets(self, tensors: Any, advance: bool) -> list[Packet]:
        try:
            tensors = list(tensors)
        except TypeError as e:
            raise self._fail() from e
        packets = []
        for t in tensors:
            if not isinstance(t, self._tensor_type) or t.name not in self._outputs:
                raise self._fail()
            if t.name in self._graph_outputs:  # other node outputs go nowhere
                packets.append(Packet(t.name, to_out(t), self.timestamp))
        if advance:
            self.timestamp += 1
        return packets
