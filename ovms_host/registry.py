"""Served graphs, their states and (re)loading, shared by the gRPC and REST front ends.

Loading runs in a background thread after both servers listen: the server is live at once,
"ready" when the initial load finished (whatever the outcome), and a graph is ready only
once its node's initialize returned. A reload (config.json changed, polled by
config_watch.py, or POST /v1/config/reload) compares each graph as OVMS's
MediapipeGraphConfig::isReloadRequired does (name, base_path, graph_path, the graph file's
MD5): a changed graph's node is retired (finalized once unused) and a fresh one initialized,
a removed graph is retired, a new one loaded.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import Optional

from .config import ConfigError, GraphEntry, file_md5, read_config
from .errors import HostError
from .graph import GraphSpec, load_graph
from .node import PythonNode

log = logging.getLogger("ovms_host.registry")

LOADING, AVAILABLE, FAILED, RETIRED = "LOADING", "AVAILABLE", "FAILED", "RETIRED"


@dataclass
class Servable:
    name: str
    entry: GraphEntry
    state: str = LOADING
    error: str = ""
    spec: Optional[GraphSpec] = None
    node: Optional[PythonNode] = None
    graph_md5: str = ""

    @property
    def ready(self) -> bool:
        return self.state == AVAILABLE

    def acquire(self) -> tuple[GraphSpec, PythonNode]:
        """The spec and node a stream or request uses until it ends (then node.release())."""
        if self.state == RETIRED:
            raise HostError("MEDIAPIPE_DEFINITION_NOT_LOADED_ANYMORE")
        spec, node = self.spec, self.node
        if self.state != AVAILABLE or node is None:
            raise HostError("MEDIAPIPE_DEFINITION_NOT_LOADED_YET")
        return spec, node.acquire()


class Registry:
    def __init__(self, config_path: str):
        self.config_path = config_path
        self.servables: dict[str, Servable] = {}
        self.server_ready = threading.Event()
        self.config_md5 = ""
        self.last_load_ok = False
        self._reload_lock = threading.Lock()

    # -- loading -------------------------------------------------------------------------
    def load_all(self) -> None:
        """The initial load; never raises."""
        self.reload()
        self.server_ready.set()
        log.info("Initial load finished: %s", ", ".join(
            f"{s.name}={s.state}" for s in self.servables.values()) or "nothing served")

    def reload(self) -> bool:
        """Bring the served graphs in line with config.json; True if anything changed.
        An unusable config.json changes nothing (ConfigError is logged, last_load_ok False)."""
        with self._reload_lock:
            self.config_md5 = file_md5(self.config_path)
            try:
                entries = read_config(self.config_path)
            except ConfigError as e:
                log.error("Configuration error, served graphs unchanged: %s", e)
                self.last_load_ok = False
                return False
            self.last_load_ok = True
            if not entries:
                log.warning("%s lists no graph: nothing is served", self.config_path)
            changed = False
            wanted = {e.name for e in entries}
            for name, servable in list(self.servables.items()):
                if name not in wanted and servable.state != RETIRED:
                    log.info("Graph %s removed from the config: retiring it", name)
                    self._retire(servable)
                    changed = True
            to_load = [entry for entry in entries if self._needs_load(entry)]
            for entry in to_load:  # known at once: "not loaded yet" rather than "not found"
                self.servables.setdefault(entry.name, Servable(entry.name, entry))
            for entry in to_load:
                self._load(entry)
            return changed or bool(to_load)

    def _needs_load(self, entry: GraphEntry) -> bool:
        old = self.servables.get(entry.name)
        return (old is None or old.state == RETIRED or old.entry != entry
                or old.graph_md5 != file_md5(entry.graph_path))

    def _retire(self, servable: Servable) -> None:
        node, servable.node = servable.node, None
        servable.state = RETIRED
        if node is not None:
            node.retire()

    def _load(self, entry: GraphEntry) -> None:
        old = self.servables.get(entry.name)
        servable = Servable(entry.name, entry, graph_md5=file_md5(entry.graph_path))
        if old is not None:  # OVMS drops the old node resources before initializing anew
            self._retire(old)
        self.servables[entry.name] = servable
        if entry.unsupported:
            servable.state, servable.error = FAILED, entry.unsupported
            log.error("Model %s is NOT ready: %s", entry.name, entry.unsupported)
            return
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

    # -- lookups, with OVMS's statuses -------------------------------------------------------
    def for_request(self, name: str) -> Servable:
        """The graph an inference names (OVMS's createPipeline): NOT_FOUND if unknown."""
        servable = self.servables.get(name)
        if servable is None:
            raise HostError("MEDIAPIPE_DEFINITION_NAME_MISSING")
        return servable

    def find(self, name: str) -> Servable:
        """The graph metadata/readiness asks for: NOT_FOUND if unknown."""
        servable = self.servables.get(name)
        if servable is None:
            raise HostError("MODEL_NAME_MISSING")
        return servable

    def finalize_all(self) -> None:
        """Shutdown: every node finalized, in use or not."""
        for s in self.servables.values():
            node = s.node
            if node is not None:
                log.info("Finalizing model %s", s.name)
                self._retire(s)
                node.finalize_now()
