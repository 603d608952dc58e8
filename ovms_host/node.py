"""Loads a Python node's handler the way OVMS does and owns its one OvmsPythonModel.

The handler's folder is appended to sys.path and the file imported by module name, so
handler file names must be unique across nodes. One instance serves every stream; `execute`
may be entered from several threads at once.
"""

import importlib
import logging
import os
import sys

from .config import NodeSpec

log = logging.getLogger("ovms_host.node")
SHIM_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "shim")


def ensure_pyovms():
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

    def load(self):
        """Import the handler, instantiate OvmsPythonModel and call initialize(kwargs)."""
        path = self.spec.handler_path
        if not os.path.isfile(path):
            raise NodeInitError(f"handler_path {path} does not exist")
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
            raise NodeInitError(f"{path} defines no class OvmsPythonModel")
        try:
            model = cls()
        except Exception as e:
            raise NodeInitError(f"OvmsPythonModel() failed: {type(e).__name__}: {e}") from e
        if not callable(getattr(model, "execute", None)):
            raise NodeInitError(f"OvmsPythonModel in {path} has no execute method")
        if callable(getattr(model, "initialize", None)):
            kwargs = {
                "node_name": self.spec.name,
                "input_names": [s.name for s in self.spec.inputs],
                "output_names": [s.name for s in self.spec.outputs],
                "base_path": folder,
            }
            try:
                model.initialize(kwargs)
            except Exception as e:
                raise NodeInitError(f"initialize failed: {type(e).__name__}: {e}") from e
        self.model = model

    def execute(self, inputs):
        return self.model.execute(inputs)

    def finalize(self):
        fin = getattr(self.model, "finalize", None)
        if self.model is None or not callable(fin):
            return
        try:
            fin()
        except Exception:
            log.exception("finalize of node %s raised (ignored)", self.spec.name)
