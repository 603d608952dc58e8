"""The LLM backends LLM_BACKEND can name: name -> factory(Settings) -> Backend.

The built-ins (optimum, genai) are registered here as small functions that import their module
only when called, so choosing one never imports the other's runtime (optimum-intel and torch,
or openvino-genai). A process adds backends of its own without patching anything: the modules
LLM_BACKEND_PLUGINS lists are imported when the backend is loaded, and each calls
`register_backend(name, factory)` (docs/backends.md, "Adding a backend").
"""
from __future__ import annotations

import importlib
import re
from typing import Callable, Iterable

from ..errors import ConfigError
from ..settings import Settings
from .contract import Backend

BackendFactory = Callable[[Settings], Backend]
_NAME = re.compile(r"[a-z0-9][a-z0-9._-]*")


class BackendRegistry:
    """Backend factories by name (lower case, as LLM_BACKEND is read)."""

    def __init__(self) -> None:
        self._factories: dict[str, BackendFactory] = {}

    def register(self, name: str, factory: BackendFactory) -> None:
        """Make `factory` what LLM_BACKEND=`name` loads. A name is taken once: a second factory
        for it is an error rather than a silent replacement of, say, the built-in optimum."""
        key = name.strip().lower()
        if not _NAME.fullmatch(key):
            raise ConfigError(f"backend name {name!r} is not allowed; use lower-case letters, digits, "
                              "'.', '_' and '-' (it is what LLM_BACKEND names)")
        if not callable(factory):
            raise ConfigError(f"backend {key!r}: the factory must be callable as factory(settings) -> Backend")
        known = self._factories.get(key)
        if known is not None and known is not factory:
            raise ConfigError(f"backend {key!r} is already registered (by {_origin(known)}); "
                              f"pick another name for {_origin(factory)}")
        self._factories[key] = factory

    def names(self) -> tuple[str, ...]:
        return tuple(self._factories)

    def factory(self, name: str) -> BackendFactory:
        """The factory LLM_BACKEND=`name` loads; an unknown name lists the registered ones."""
        try:
            return self._factories[name.strip().lower()]
        except KeyError:
            raise ConfigError(
                f"LLM_BACKEND={name!r} is not a registered backend; registered: {', '.join(self.names())}. "
                "A backend of your own is registered by a module LLM_BACKEND_PLUGINS lists "
                "(ragbot.backends.registry.register_backend)"
            ) from None


def import_plugins(modules: Iterable[str]) -> None:
    """Import each module LLM_BACKEND_PLUGINS lists; importing one registers its backends."""
    for module in modules:
        try:
            importlib.import_module(module)
        except Exception as exc:  # a plugin's own failure, reported as the setting's
            raise ConfigError(
                f"LLM_BACKEND_PLUGINS: module {module!r} cannot be imported ({type(exc).__name__}: {exc}); "
                "list modules the servable's Python can import (on its PYTHONPATH), each calling "
                "ragbot.backends.registry.register_backend(name, factory)"
            ) from exc


def _origin(factory: BackendFactory) -> str:
    return f"{getattr(factory, '__module__', '?')}.{getattr(factory, '__qualname__', repr(factory))}"


def _optimum(settings: Settings) -> Backend:
    from .optimum import load_optimum  # optimum-intel + torch: ~6 s, only when chosen

    return load_optimum(settings)


def _genai(settings: Settings) -> Backend:
    from .genai import load_genai  # openvino-genai, no torch

    return load_genai(settings)


BACKENDS = BackendRegistry()
BACKENDS.register("optimum", _optimum)
BACKENDS.register("genai", _genai)
register_backend = BACKENDS.register


def backend_factory(name: str, plugins: Iterable[str] = ()) -> BackendFactory:
    """The factory for LLM_BACKEND=`name`, after the LLM_BACKEND_PLUGINS modules registered theirs."""
    import_plugins(plugins)
    return BACKENDS.factory(name)
