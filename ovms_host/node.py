"""Loads a Python node's handler the way OVMS does and owns one OvmsPythonModel.

As src/python/pythonnoderesources.cpp: the handler's folder is appended to sys.path and the
file imported by module name (so handler file names must be unique across nodes, and a
config reload gets a fresh OvmsPythonModel from the module already imported: it is not
re-imported). One instance serves every stream; `execute` may be entered from several
threads at once. An instance replaced by a reload is finalized once the last stream or
request using it has ended, as OVMS's shared node resources are.
"""

from __future__ import annotations

import importlib
import logging
import os
import sys
import threading
from types import ModuleType
from typing import Any

from .errors import HostError
from .graph import NodeSpec

log = logging.getLogger("ovms_host.node")
SHIM_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "shim")


def ensure_pyovms() -> ModuleType:
    """Import OVMS's pyovms, falling back to the bundled shim only when it is missing."""
    try:
        import pyovms  # noqa: F401
    except ImportError:
        if SHIM_DIR not in sys.path:
            sys.path.append(SHIM_DIR)
        import pyovms  # noqa: F401
    return sys.modules["pyovms"]


class NodeInitError(Exception):
    """The handler could not be imported or its initialize raised."""


class PythonNode:
    def __init__(self, spec: NodeSpec):
        self.spec = spec
        self.model = None
        self._lock = threading.Lock()
        self._users = 0
        self._retired = False
        self._finalized = False

    def load(self) -> None:
        """Import the handler, instantiate OvmsPythonModel and call initialize(kwargs)."""
        path = self.spec.handler_path
        if not os.path.isfile(path):
            raise NodeInitError(f"Python node handler_path: {path} does not exist")
        folder, filename = os.path.split(path)
        module_name = os.path.splitext(filename)[0]
        ensure_pyovms()
        if folder not in sys.path:
            sys.path.append(folder)
        try:
            module = importlib.import_module(module_name)
        except Exception as e:
            raise NodeInitError(f"importing {path} failed: {type(e).__name__}: {e}") from e
        if os.path.abspath(getattr(module, "__file__", "") or "") != path:
            raise NodeInitError(f"module name {module_name!r} of {path} is already taken by "
                                f"{getattr(module, '__file__', 'a built-in module')}; "
                                "rename the handler file")
        cls = getattr(module, "OvmsPythonModel", None)
        if cls is None:
            raise NodeInitError(f"No OvmsPythonModel class found in {path}")
        if not hasattr(cls, "execute"):
            raise NodeInitError(f"OvmsPythonModel class defined in {path} does not implement "
                                "execute method")
        try:
            model = cls()
            if hasattr(model, "initialize"):
                model.initialize({
                    "node_name": self.spec.name,
                    "input_names": [s.name for s in self.spec.inputs],
                    "output_names": [s.name for s in self.spec.outputs],
                    "base_path": folder,
                })
        except Exception as e:
            raise NodeInitError(f"initialize failed: {type(e).__name__}: {e}") from e
        self.model = model

    def execute(self, inputs: list[Any]) -> Any:
        return self.model.execute(inputs)

    # -- lifetime: acquired by each stream/request, retired by a reload or shutdown ----------
    def acquire(self) -> "PythonNode":
        """Count a user; a node already retired by a reload takes none."""
        with self._lock:
            if self._retired:
                raise HostError("MEDIAPIPE_DEFINITION_NOT_LOADED_YET")
            self._users += 1
        return self

    def release(self) -> None:
        with self._lock:
            self._users -= 1
            due = self._retired and self._users == 0
        if due:
            self._finalize()

    def retire(self) -> None:
        """No new users; finalize now, or when the last user releases."""
        with self._lock:
            self._retired = True
            due = self._users == 0
        if due:
            self._finalize()

    def finalize_now(self) -> None:
        """Shutdown: finalize even if a stream still holds the node (it is being cut)."""
        self.retire()
        self._finalize()

    def _finalize(self) -> None:
        with self._lock:
            if self._finalized or self.model is None:
                return
            self._finalized = True
        fin = getattr(self.model, "finalize", None)
        if not callable(fin):
            return
        log.info("Finalizing Python node %s", self.spec.name)
        try:
            fin()
        except Exception:
            log.exception("finalize of node %s raised (ignored)", self.spec.name)
