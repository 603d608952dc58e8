"""The backend registry (ragbot/backends/registry.py): names -> factories, the built-ins imported
only when chosen, LLM_BACKEND_PLUGINS registering more, and errors a user can act on. No model."""
from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest
from ragbot.backends import registry
from ragbot.backends.contract import Backend
from ragbot.backends.loading import load_backend
from ragbot.backends.registry import BackendRegistry, backend_factory, import_plugins
from ragbot.errors import ConfigError
from ragbot.settings import LLM_BACKENDS, Settings

from tests.conftest import REPO


class EchoBackend(Backend):
    name = "echo"

    def __init__(self, settings: Settings):
        super().__init__(tokenizer=None)
        self.settings = settings

    def generate(self, prompt, options, run):
        yield prompt


@pytest.fixture
def global_registry(monkeypatch):
    """The process's registry with the built-ins alone (other tests' plugins registered more),
    restored after the test."""
    built_ins = {name: registry.BACKENDS.factory(name) for name in LLM_BACKENDS}
    monkeypatch.setattr(registry.BACKENDS, "_factories", built_ins)
    return registry.BACKENDS


@pytest.fixture
def plugin_module(tmp_path, monkeypatch):
    """Write a plugin module on sys.path; return its name. Forgotten after the test."""
    written = []

    def write(name: str, source: str) -> str:
        (tmp_path / f"{name}.py").write_text(textwrap.dedent(source), encoding="utf-8")
        written.append(name)
        return name

    monkeypatch.syspath_prepend(str(tmp_path))
    yield write
    for name in written:
        sys.modules.pop(name, None)


def test_a_registered_factory_is_found_by_its_name_in_any_case():
    backends = BackendRegistry()
    backends.register("Echo-Test", EchoBackend)
    assert backends.names() == ("echo-test",)
    assert backends.factory("ECHO-test") is EchoBackend
    backends.register("echo-test", EchoBackend)  # the same factory again: no change
    assert backends.names() == ("echo-test",)


def test_a_name_is_taken_once():
    backends = BackendRegistry()
    backends.register("echo", EchoBackend)
    with pytest.raises(ConfigError) as info:
        backends.register("echo", lambda settings: EchoBackend(settings))
    assert "'echo' is already registered" in str(info.value) and "EchoBackend" in str(info.value)


@pytest.mark.parametrize("name", ["", "has space", "a,b", "-leading"])
def test_names_llm_backend_cannot_hold_are_refused(name):
    with pytest.raises(ConfigError, match="backend name .* is not allowed"):
        BackendRegistry().register(name, EchoBackend)


def test_the_built_ins_are_the_settings_choices_and_import_nothing_heavy():
    assert registry.BACKENDS.names()[:2] == LLM_BACKENDS
    code = ("import sys, ragbot.backends.registry; "
            "print([m for m in ('torch', 'optimum', 'openvino_genai', 'transformers') if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO / "servable_stream", capture_output=True,
                         text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_an_unknown_name_lists_the_registered_ones(global_registry):
    global_registry.register("echo-test", EchoBackend)
    with pytest.raises(ConfigError) as info:
        backend_factory("vllm")
    message = str(info.value)
    assert "LLM_BACKEND='vllm' is not a registered backend" in message
    assert "registered: optimum, genai, echo-test" in message
    assert "LLM_BACKEND_PLUGINS" in message and "register_backend" in message


def test_a_plugin_that_cannot_be_imported_names_itself_and_why(plugin_module):
    with pytest.raises(ConfigError) as info:
        import_plugins(["no_such_ragbot_plugin"])
    message = str(info.value)
    assert "LLM_BACKEND_PLUGINS: module 'no_such_ragbot_plugin' cannot be imported" in message
    assert "ModuleNotFoundError" in message and "PYTHONPATH" in message

    broken = plugin_module("broken_ragbot_plugin", "raise RuntimeError('needs a licence key')\n")
    with pytest.raises(ConfigError, match="'broken_ragbot_plugin' cannot be imported .RuntimeError: needs a licence key"):
        import_plugins([broken])


def test_settings_refuse_an_unknown_backend_unless_plugins_may_register_it(tmp_path):
    with pytest.raises(ConfigError, match="LLM_BACKEND='vllm' is not allowed; allowed values: optimum, genai"):
        Settings.from_env(tmp_path, {"LLM_BACKEND": "vllm"})
    s = Settings.from_env(tmp_path, {"LLM_BACKEND": "Echo-Test", "LLM_BACKEND_PLUGINS": " a.b , c ,"})
    assert (s.llm_backend, s.llm_backend_plugins) == ("echo-test", ("a.b", "c"))
    assert Settings.from_env(tmp_path, {}).llm_backend_plugins == ()
    with pytest.raises(ConfigError, match="LLM_BACKEND_PLUGINS: 'my plugin' is not a module name"):
        Settings.from_env(tmp_path, {"LLM_BACKEND_PLUGINS": "my plugin"})


def test_load_backend_imports_the_plugins_checks_then_builds_the_named_backend(
        tmp_path, global_registry, plugin_module):
    plugin = plugin_module("echo_ragbot_plugin", """
        from ragbot.backends.contract import Backend
        from ragbot.backends.registry import register_backend


        class PluginBackend(Backend):
            def __init__(self, settings):
                super().__init__(tokenizer=None)
                self.settings = settings


        register_backend("echo-test", PluginBackend)
    """)
    model = tmp_path / "model"
    model.mkdir()
    (model / "openvino_model.xml").write_text("<net/>", encoding="utf-8")  # the folder check passes
    env = {"LLM_BACKEND": "echo-test", "LLM_BACKEND_PLUGINS": plugin, "LLM_MODEL_DIR": str(model)}
    backend = load_backend(Settings.from_env(tmp_path, env))
    assert type(backend).__name__ == "PluginBackend" and backend.settings.llm_model_dir == model

    with pytest.raises(ConfigError, match="registered: optimum, genai, echo-test"):
        load_backend(Settings.from_env(tmp_path, {**env, "LLM_BACKEND": "echo"}))
    with pytest.raises(ConfigError, match="LLM model folder .* not found"):  # the checks still run
        load_backend(Settings.from_env(tmp_path, {**env, "LLM_MODEL_DIR": str(tmp_path / "none")}))
