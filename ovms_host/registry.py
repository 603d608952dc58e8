"""Served graphs and their readiness, shared by the gRPC and REST front ends.

Loading runs in a background thread after both servers listen: the server is live at
once, "ready" when the initial load finished (whatever the outcome), and a model is
ready only once its node's initialize returned.
"""

import logging
import threading
from dataclasses import dataclass
from typing import Optional

import grpc

from .config import ConfigError, GraphEntry, GraphSpec, load_graph, read_config
from .errors import HostError
from .node import PythonNode

log = logging.getLogger("ovms_host.registry")

LOADING, AVAILABLE, FAILED, UNLOADING, END = "LOADING", "AVAILABLE", "FAILED", "UNLOADING", "END"


@dataclass
class Servable:
    name: str
    state: str = LOADING
    error: str = ""
    spec: Optional[GraphSpec] = None
    node: Optional[PythonNode] = None

    @property
    def ready(self) -> bool:
        return self.state == AVAILABLE


class Registry:
    def __init__(self, config_path: str):
        self.config_path = config_path
        self.servables: dict[str, Servable] = {}
        self.server_ready = threading.Event()
        self._lock = threading.Lock()

    def load_all(self):
        """Read config.json, then parse and initialize each graph; never raises."""
        try:
            entries = read_config(self.config_path)
        except ConfigError as e:
            log.error("Configuration error, nothing will be served: %s", e)
            self.server_ready.set()
            return
        with self._lock:
            for entry in entries:
                self.servables.setdefault(entry.name, Servable(entry.name))
        for entry in entries:
            self._load_one(entry)
        self.server_ready.set()
        log.info("Initial load finished: %s", ", ".join(
            f"{s.name}={s.state}" for s in self.servables.values()))

    def _load_one(self, entry: GraphEntry):
        servable = self.servables[entry.name]
        try:
            spec = load_graph(entry)
            log.info("Graph %s loaded from %s (inputs %s, outputs %s, handler %s)", entry.name,
                     entry.graph_path, spec.input_names, spec.output_names,
                     spec.node.handler_path)
            node = PythonNode(spec.node)
            log.info("Initializing Python node %s of %s", spec.node.name, entry.name)
            node.load()
        except Exception as e:
            servable.state, servable.error = FAILED, str(e)
            log.error("Model %s is NOT ready: %s", entry.name, e,
                      exc_info=log.isEnabledFor(logging.DEBUG))
            return
        servable.spec, servable.node = spec, node
        servable.state = AVAILABLE
        log.info("Model %s is ready (state AVAILABLE)", entry.name)

    def get(self, name: str) -> Servable:
        """The servable for a request: NOT_FOUND if unknown, UNAVAILABLE if not ready."""
        servable = self.find(name)
        if not servable.ready:
            reason = f": {servable.error}" if servable.error else " (still loading)"
            raise HostError(grpc.StatusCode.UNAVAILABLE,
                            f"Model {name} is not ready{reason}")
        return servable

    def find(self, name: str) -> Servable:
        servable = self.servables.get(name)
        if servable is None:
            if not self.server_ready.is_set():
                raise HostError(grpc.StatusCode.UNAVAILABLE,
                                f"Model {name} is not available yet: server still loading")
            raise HostError(grpc.StatusCode.NOT_FOUND, f"Model with requested name {name} "
                            f"is not found (served: {', '.join(self.servables) or 'none'})")
        return servable

    def finalize_all(self):
        for s in self.servables.values():
            if s.node is not None and s.state == AVAILABLE:
                s.state = UNLOADING
                log.info("Finalizing model %s", s.name)
                s.node.finalize()
                s.state = END
