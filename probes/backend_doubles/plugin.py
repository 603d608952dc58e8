"""LLM_BACKEND_PLUGINS=probes.backend_doubles.plugin: registers the backend doubles (see the
package's docstring). Nothing heavy is imported until a double is loaded."""
from __future__ import annotations

from ragbot.backends.registry import register_backend

from .faulty import faulty_factory
from .forced_output import load_forced_output
from .slow_steps import load_slow_steps

for _real in ("optimum", "genai"):
    register_backend(f"faulty-{_real}", faulty_factory(_real))
register_backend("forced-output", load_forced_output)
register_backend("slow-steps", load_slow_steps)
