"""Settings: every knob of the servable, read from the environment once.

`Settings.from_env(base_path)` is called at the edge (model.py `initialize`, a
script's `main`) and the frozen result is passed down; nothing else reads os.environ.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from .errors import ConfigError
from .presets import PRESETS, Preset, get_preset

DEVICES = {"cpu": "CPU", "gpu": "GPU"}
LLM_BACKENDS = ("optimum", "genai")
DEFAULT_OV_CONFIG = {"PERFORMANCE_HINT": "LATENCY", "CACHE_DIR": ""}


@dataclass(frozen=True)
class Settings:
    base_path: Path
    selected_model: str
    llm_model_dir: Path
    embedding_model: str
    embedding_model_dir: Path
    device: str  # OpenVINO device name: "CPU" | "GPU"
    ov_config: Mapping[str, Any] = field(hash=False)
    max_new_tokens: int = 256
    seed: int | None = None
    docs_file: Path = Path("docs.txt")
    top_k: int = 4
    chunk_size: int = 1000
    chunk_overlap: int = 200
    llm_backend: str = "optimum"
    max_prompt_bytes: int = 32 * 1024  # MAX_PROMPT_BYTES: a larger pre_prompt is refused
    max_concurrent_streams: int = 32  # MAX_CONCURRENT_STREAMS: admitted generations
    max_queued_requests: int = 64  # MAX_QUEUED_REQUESTS: waiting beyond them, then refused
    metrics_port: int | None = None  # METRICS_PORT: own /metrics server (real OVMS)
    docs_allow_private_urls: bool = False  # DOCS_ALLOW_PRIVATE_URLS: fetch loopback/private hosts
    docs_max_bytes: int = 20 * 1024 * 1024  # DOCS_MAX_BYTES: larger documents are skipped
    docs_fetch_timeout: float = 20.0  # DOCS_FETCH_TIMEOUT: seconds per URL, redirects included
    docs_debounce_seconds: float = 0.75  # DOCS_DEBOUNCE_SECONDS: quiet time before a rebuild
    index_dir: Path | None = None  # INDEX_DIR: persisted index; None = no persistence

    @property
    def preset(self) -> Preset:
        return get_preset(self.selected_model)

    @classmethod
    def from_env(cls, base_path: str | os.PathLike, environ: Mapping[str, str] = os.environ) -> "Settings":
        base = Path(base_path).resolve()
        env = _Env(environ)

        selected = env.str("SELECTED_MODEL", "tiny-llama-1b-chat")
        if selected not in PRESETS:
            raise ConfigError(
                f"SELECTED_MODEL={selected!r} is not a known preset; allowed: {', '.join(PRESETS)}"
            )
        embedding_model = env.str("EMBEDDING_MODEL", "all-mpnet-base-v2")
        device = env.choice("DEVICE", "cpu", tuple(DEVICES))
        chunk_size = env.int("CHUNK_SIZE", 1000, minimum=1)
        chunk_overlap = env.int("CHUNK_OVERLAP", 200, minimum=0)
        if chunk_overlap >= chunk_size:
            raise ConfigError(
                f"CHUNK_OVERLAP={chunk_overlap} must be smaller than CHUNK_SIZE={chunk_size}"
            )
        return cls(
            base_path=base,
            selected_model=selected,
            llm_model_dir=_resolve(base, env.str("LLM_MODEL_DIR", selected)),
            embedding_model=embedding_model,
            embedding_model_dir=_resolve(base, env.str("EMBEDDING_MODEL_DIR", embedding_model)),
            device=DEVICES[device],
            ov_config={**DEFAULT_OV_CONFIG, **env.json_object("OV_CONFIG")},
            max_new_tokens=env.int("MAX_NEW_TOKENS", 256, minimum=1),
            seed=env.optional_int("SEED"),
            docs_file=_resolve(base, env.str("DOCS_FILE", "docs.txt")),
            top_k=env.int("TOP_K", 4, minimum=1),
            chunk_size=chunk_size,
            chunk_overlap=chunk_overlap,
            llm_backend=env.choice("LLM_BACKEND", "optimum", LLM_BACKENDS),
            max_prompt_bytes=env.int("MAX_PROMPT_BYTES", 32 * 1024, minimum=1),
            max_concurrent_streams=env.int("MAX_CONCURRENT_STREAMS", 32, minimum=1),
            max_queued_requests=env.int("MAX_QUEUED_REQUESTS", 64, minimum=0),
            metrics_port=env.int("METRICS_PORT", 0, minimum=0) or None,
            docs_allow_private_urls=env.bool("DOCS_ALLOW_PRIVATE_URLS", False),
            docs_max_bytes=env.int("DOCS_MAX_BYTES", 20 * 1024 * 1024, minimum=1),
            docs_fetch_timeout=env.float("DOCS_FETCH_TIMEOUT", 20.0, minimum=0.1),
            docs_debounce_seconds=env.float("DOCS_DEBOUNCE_SECONDS", 0.75, minimum=0.0),
            index_dir=_index_dir(base, env, embedding_model),
        )


def _index_dir(base: Path, env: "_Env", embedding_model: str) -> Path | None:
    """INDEX_DIR, default `<docs.txt folder>/.ragbot_index/<embedding model>`; "off" disables."""
    raw = env.str("INDEX_DIR", "")
    if raw.lower() in ("off", "none", "false", "0"):
        return None
    if raw:
        return _resolve(base, raw)
    docs_file = _resolve(base, env.str("DOCS_FILE", "docs.txt"))
    return docs_file.parent / ".ragbot_index" / embedding_model.replace("/", "_")


def _resolve(base: Path, value: str) -> Path:
    path = Path(value).expanduser()
    return path if path.is_absolute() else base / path


class _Env:
    """Typed reads of environment variables; errors name the variable and what it allows."""

    def __init__(self, environ: Mapping[str, str]):
        self._environ = environ

    def _raw(self, name: str) -> str | None:
        value = self._environ.get(name)
        if value is None or value.strip() == "":
            return None
        return value.strip()

    def str(self, name: str, default: str) -> str:
        return self._raw(name) or default

    def choice(self, name: str, default: str, allowed: tuple[str, ...]) -> str:
        value = (self._raw(name) or default).lower()
        if value not in allowed:
            raise ConfigError(f"{name}={value!r} is not allowed; allowed values: {', '.join(allowed)}")
        return value

    def int(self, name: str, default: int, minimum: int) -> int:
        raw = self._raw(name)
        if raw is None:
            return default
        try:
            value = int(raw)
        except ValueError:
            raise ConfigError(f"{name}={raw!r} is not an integer; allowed: integers >= {minimum}") from None
        if value < minimum:
            raise ConfigError(f"{name}={value} is too small; allowed: integers >= {minimum}")
        return value

    def bool(self, name: str, default: bool) -> bool:
        raw = self._raw(name)
        if raw is None:
            return default
        if raw.lower() in ("1", "true", "yes", "on"):
            return True
        if raw.lower() in ("0", "false", "no", "off"):
            return False
        raise ConfigError(f"{name}={raw!r} is not a boolean; allowed: true/false, 1/0, yes/no, on/off")

    def float(self, name: str, default: float, minimum: float) -> float:
        raw = self._raw(name)
        if raw is None:
            return default
        try:
            value = float(raw)
        except ValueError:
            raise ConfigError(f"{name}={raw!r} is not a number; allowed: numbers >= {minimum:g}") from None
        if not value >= minimum:  # also refuses nan
            raise ConfigError(f"{name}={value:g} is too small; allowed: numbers >= {minimum:g}")
        return value

    def optional_int(self, name: str) -> int | None:
        raw = self._raw(name)
        if raw is None:
            return None
        try:
            return int(raw)
        except ValueError:
            raise ConfigError(f"{name}={raw!r} is not an integer; allowed: any integer, or unset") from None

    def json_object(self, name: str) -> dict[str, Any]:
        raw = self._raw(name)
        if raw is None:
            return {}
        try:
            value = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise ConfigError(
                f"{name} is not valid JSON ({exc.msg}); allowed: a JSON object of OpenVINO "
                'properties, e.g. {"INFERENCE_PRECISION_HINT": "f32"}'
            ) from None
        if not isinstance(value, dict):
            raise ConfigError(
                f"{name} must be a JSON object of OpenVINO properties, e.g. "
                '{"INFERENCE_PRECISION_HINT": "f32"}'
            )
        return value
