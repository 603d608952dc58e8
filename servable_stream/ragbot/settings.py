"""Settings: every knob of the servable, read from the environment once.

`Settings.from_env(base_path)` is called at the edge (model.py `initialize`, a
script's `main`) and the frozen result is passed down; nothing else reads os.environ.
"""
from __future__ import annotations

import json
import os
import socket
from dataclasses import MISSING, dataclass, field, fields
from pathlib import Path
from typing import Any, Mapping

from .presets import PRESETS, Preset, get_preset
from .errors import ConfigError

DEVICES = {"cpu": "CPU", "gpu": "GPU"}
LLM_BACKENDS = ("optimum", "genai")
RETRIEVAL_MODES = ("hybrid", "dense", "keyword")  # knowledge/index.py
QUERY_REWRITES = ("join", "llm", "off")  # answering/followup.py
EMBEDDING_PRECISIONS = ("fp32", "int8")  # knowledge/embeddings.py
PROMPTS = ("plain", "grounded")  # answering/prompt.py
KNOWLEDGE_STORES = ("local", "postgres")  # knowledge/store.py
DEFAULT_OV_CONFIG = {"PERFORMANCE_HINT": "LATENCY", "CACHE_DIR": ""}
MIN_BATCHED_TOKENS = 64  # fewer, and streams' decode steps (drafts too) queue for room in a step


@dataclass(frozen=True)
class Settings:
    """Every knob, typed; each default is declared here and nowhere else (README lists the
    environment variables), except the answering ones a preset tunes for its model
    (presets.AnsweringProfile: TOP_K, MAX_DOCUMENTS, PROMPT, PROMPT_EXAMPLES, ATTRIBUTE_CITATIONS,
    PASSAGE_REFLOW,
    MAX_NEW_TOKENS, CHUNK_SIZE, CHUNK_OVERLAP), LLM_BACKEND and the decoding ones
    (presets.DecodingProfile: PROMPT_LOOKUP, DRAFT_MODEL, NUM_ASSISTANT_TOKENS, MAX_NGRAM_SIZE):
    from_env takes those from the selected preset."""

    base_path: Path
    llm_model_dir: Path  # LLM_MODEL_DIR, default <base>/<SELECTED_MODEL>
    embedding_model_dir: Path  # EMBEDDING_MODEL_DIR, default <base>/<EMBEDDING_MODEL>
    selected_model: str = "tiny-llama-1b-chat"  # SELECTED_MODEL: a preset
    embedding_model: str = "all-mpnet-base-v2"  # EMBEDDING_MODEL
    embedding_precision: str = "fp32"  # EMBEDDING_PRECISION: fp32 | int8 (the folder's INT8 IR)
    device: str = "CPU"  # DEVICE (cpu | gpu): the OpenVINO device name
    ov_config: Mapping[str, Any] = field(default_factory=lambda: dict(DEFAULT_OV_CONFIG), hash=False)
    max_new_tokens: int = 256  # MAX_NEW_TOKENS: answer length when the request names none
    seed: int | None = None  # SEED: sampling seed
    docs_file: Path = Path("docs.txt")  # DOCS_FILE, relative to the base path
    top_k: int = 2  # TOP_K: at most this many passages per question
    retrieval_mode: str = "hybrid"  # RETRIEVAL_MODE: hybrid (BM25 + dense) | dense | keyword
    min_score: float = 0.3  # MIN_SCORE: cosine similarity a passage needs to reach the prompt
    max_documents: int = 1  # MAX_DOCUMENTS: passages from at most this many documents (0: any)
    query_rewrite: str = "join"  # QUERY_REWRITE: follow-ups searched with the history: join | llm | off
    followup_min_score: float = 0.5  # FOLLOWUP_MIN_SCORE: below it, a question with history is also
    #                                  searched with the history
    prompt_examples: bool = False  # PROMPT_EXAMPLES: two worked turns (cite; say "not there")
    prompt: str = "plain"  # PROMPT: the instructions' wording: plain | grounded
    attribute_citations: bool = False  # ATTRIBUTE_CITATIONS: cite the best passage for an uncited answer
    passage_reflow: bool = False  # PASSAGE_REFLOW: wrapped lines of the passages joined in the prompt
    named_documents: bool = False  # NAMED_DOCUMENTS: a question naming one document gets its passages only
    figure_check: bool = False  # FIGURE_CHECK: an answer stating a figure no passage holds is refused
    chunk_size: int = 1000  # CHUNK_SIZE: characters per chunk
    chunk_overlap: int = 200  # CHUNK_OVERLAP
    llm_backend: str = "optimum"  # LLM_BACKEND: optimum | genai | a plugin's (from_env: the preset's default)
    llm_backend_plugins: tuple[str, ...] = ()  # LLM_BACKEND_PLUGINS: modules imported when the
    #                                            backend loads, registering more (backends/registry.py)
    # genai only (presets.DecodingProfile; the two are mutually exclusive, see _decoding):
    prompt_lookup: bool = False  # PROMPT_LOOKUP: draft tokens from the prompt's n-grams
    draft_model: str | None = None  # DRAFT_MODEL: a preset drafting for the LLM, or off
    draft_model_dir: Path | None = None  # DRAFT_MODEL_DIR, default <base>/<DRAFT_MODEL>
    num_assistant_tokens: int = 5  # NUM_ASSISTANT_TOKENS: tokens drafted per step
    max_ngram_size: int = 3  # MAX_NGRAM_SIZE: longest n-gram prompt lookup matches
    max_prompt_bytes: int = 32 * 1024  # MAX_PROMPT_BYTES: a larger pre_prompt is refused
    max_concurrent_streams: int = 32  # MAX_CONCURRENT_STREAMS: admitted generations
    max_queued_requests: int = 64  # MAX_QUEUED_REQUESTS: waiting beyond them, then refused
    kv_cache_mb: int | None = None  # KV_CACHE_MB: genai KV cache size; None = sized from the
    #                                 model, MAX_CONCURRENT_STREAMS and the context window
    max_num_batched_tokens: int = 256  # MAX_NUM_BATCHED_TOKENS: genai prefill slice (tokens per
    #                                    engine step): the plugin's buffers grow with slice × context,
    #                                    and 256 held 54 MB less than 1024 after eight 1.5B answers,
    #                                    at the same speed and with the same answers (docs/backends.md)
    metrics_port: int | None = None  # METRICS_PORT: own /metrics server (real OVMS)
    docs_allow_private_urls: bool = False  # DOCS_ALLOW_PRIVATE_URLS: fetch loopback/private hosts
    docs_max_bytes: int = 20 * 1024 * 1024  # DOCS_MAX_BYTES: larger documents are skipped
    docs_fetch_timeout: float = 20.0  # DOCS_FETCH_TIMEOUT: seconds per URL, redirects included
    docs_debounce_seconds: float = 0.75  # DOCS_DEBOUNCE_SECONDS: quiet time before a rebuild
    docs_refresh_seconds: float = 3600.0  # DOCS_REFRESH_SECONDS: re-check URLs this often (0: never)
    index_dir: Path | None = None  # INDEX_DIR: persisted index; None = no persistence
    knowledge_store: str = "local"  # KNOWLEDGE_STORE: local (this replica's own index) | postgres
    #                                 (one knowledge base shared by every replica)
    knowledge_dsn: str | None = field(default=None, repr=False)  # KNOWLEDGE_DSN or the file
    #                                 KNOWLEDGE_DSN_FILE names: a libpq URI; never logged (repr off)
    knowledge_poll_seconds: float = 5.0  # KNOWLEDGE_POLL_SECONDS: how often a replica checks for a
    #                                 published version without a notification, and tries to
    #                                 become the writer when there is none
    replica_name: str = ""  # KNOWLEDGE_REPLICA: this replica's name in the status and the
    #                         versions it publishes; default <hostname>/<pid>

    @property
    def embedding_index_name(self) -> str:
        return _index_name(self.embedding_model, self.embedding_precision)

    @property
    def preset(self) -> Preset:
        return get_preset(self.selected_model)

    @classmethod
    def from_env(cls, base_path: str | os.PathLike, environ: Mapping[str, str] = os.environ) -> "Settings":
        base = Path(base_path).resolve()
        env = _Env(environ)
        d = _DEFAULTS

        selected = env.str("SELECTED_MODEL", d["selected_model"])
        if selected not in PRESETS:
            raise ConfigError(
                f"SELECTED_MODEL={selected!r} is not a known preset; allowed: {', '.join(PRESETS)}"
            )
        profile = get_preset(selected).answering  # the defaults tuned for this model
        embedding_model = env.str("EMBEDDING_MODEL", d["embedding_model"])
        embedding_precision = env.choice("EMBEDDING_PRECISION", d["embedding_precision"], EMBEDDING_PRECISIONS)
        device = env.choice("DEVICE", d["device"].lower(), tuple(DEVICES))
        chunk_size = env.int("CHUNK_SIZE", profile.chunk_size, minimum=1)
        chunk_overlap = env.int("CHUNK_OVERLAP", profile.chunk_overlap, minimum=0)
        if chunk_overlap >= chunk_size:
            raise ConfigError(
                f"CHUNK_OVERLAP={chunk_overlap} must be smaller than CHUNK_SIZE={chunk_size}"
            )
        docs_file = _resolve(base, env.str("DOCS_FILE", str(d["docs_file"])))
        knowledge_store = env.choice("KNOWLEDGE_STORE", d["knowledge_store"], KNOWLEDGE_STORES)
        knowledge_dsn = _knowledge_dsn(env, knowledge_store)
        llm_backend_plugins = _plugins(env)
        llm_backend = _llm_backend(env, get_preset(selected).llm_backend, llm_backend_plugins)
        prompt_lookup, draft_model, draft_model_dir = _decoding(base, env, selected, llm_backend)
        decoding = get_preset(selected).decoding
        return cls(
            base_path=base,
            selected_model=selected,
            llm_model_dir=_resolve(base, env.str("LLM_MODEL_DIR", selected)),
            embedding_model=embedding_model,
            embedding_precision=embedding_precision,
            embedding_model_dir=_resolve(base, env.str("EMBEDDING_MODEL_DIR", embedding_model)),
            device=DEVICES[device],
            ov_config={**DEFAULT_OV_CONFIG, **env.json_object("OV_CONFIG")},
            max_new_tokens=env.int("MAX_NEW_TOKENS", profile.max_new_tokens, minimum=1),
            seed=env.optional_int("SEED"),
            docs_file=docs_file,
            top_k=env.int("TOP_K", profile.top_k, minimum=1),
            retrieval_mode=env.choice("RETRIEVAL_MODE", d["retrieval_mode"], RETRIEVAL_MODES),
            min_score=env.float("MIN_SCORE", d["min_score"], minimum=-1.0),
            max_documents=env.int("MAX_DOCUMENTS", profile.max_documents, minimum=0),
            query_rewrite=env.choice("QUERY_REWRITE", d["query_rewrite"], QUERY_REWRITES),
            followup_min_score=env.float("FOLLOWUP_MIN_SCORE", d["followup_min_score"], minimum=-1.0),
            prompt_examples=env.bool("PROMPT_EXAMPLES", profile.prompt_examples),
            prompt=env.choice("PROMPT", profile.prompt, PROMPTS),
            attribute_citations=env.bool("ATTRIBUTE_CITATIONS", profile.attribute_citations),
            passage_reflow=env.bool("PASSAGE_REFLOW", profile.passage_reflow),
            named_documents=env.bool("NAMED_DOCUMENTS", profile.named_documents),
            figure_check=env.bool("FIGURE_CHECK", profile.figure_check),
            chunk_size=chunk_size,
            chunk_overlap=chunk_overlap,
            llm_backend=llm_backend,
            llm_backend_plugins=llm_backend_plugins,
            prompt_lookup=prompt_lookup,
            draft_model=draft_model,
            draft_model_dir=draft_model_dir,
            num_assistant_tokens=env.int("NUM_ASSISTANT_TOKENS", decoding.num_assistant_tokens, minimum=1),
            max_ngram_size=env.int("MAX_NGRAM_SIZE", decoding.max_ngram_size, minimum=1),
            max_prompt_bytes=env.int("MAX_PROMPT_BYTES", d["max_prompt_bytes"], minimum=1),
            max_concurrent_streams=env.int("MAX_CONCURRENT_STREAMS", d["max_concurrent_streams"], minimum=1),
            max_queued_requests=env.int("MAX_QUEUED_REQUESTS", d["max_queued_requests"], minimum=0),
            kv_cache_mb=env.int("KV_CACHE_MB", 0, minimum=0) or None,
            max_num_batched_tokens=env.int("MAX_NUM_BATCHED_TOKENS", d["max_num_batched_tokens"],
                                           minimum=MIN_BATCHED_TOKENS),
            metrics_port=env.int("METRICS_PORT", 0, minimum=0) or None,
            docs_allow_private_urls=env.bool("DOCS_ALLOW_PRIVATE_URLS", d["docs_allow_private_urls"]),
            docs_max_bytes=env.int("DOCS_MAX_BYTES", d["docs_max_bytes"], minimum=1),
            docs_fetch_timeout=env.float("DOCS_FETCH_TIMEOUT", d["docs_fetch_timeout"], minimum=0.1),
            docs_debounce_seconds=env.float("DOCS_DEBOUNCE_SECONDS", d["docs_debounce_seconds"], minimum=0.0),
            docs_refresh_seconds=env.float("DOCS_REFRESH_SECONDS", d["docs_refresh_seconds"], minimum=0.0),
            index_dir=_index_dir(base, env, docs_file, _index_name(embedding_model, embedding_precision)),
            knowledge_store=knowledge_store,
            knowledge_dsn=knowledge_dsn,
            knowledge_poll_seconds=env.float("KNOWLEDGE_POLL_SECONDS", d["knowledge_poll_seconds"],
                                             minimum=0.1),
            replica_name=env.str("KNOWLEDGE_REPLICA", f"{socket.gethostname()}/{os.getpid()}"),
        )


_DEFAULTS = {f.name: f.default for f in fields(Settings) if f.default is not MISSING}


_OFF = ("off", "none", "false", "0", "no")


def _plugins(env: "_Env") -> tuple[str, ...]:
    """LLM_BACKEND_PLUGINS: module names, comma-separated; imported when the backend loads."""
    modules = tuple(m.strip() for m in env.str("LLM_BACKEND_PLUGINS", "").split(",") if m.strip())
    for module in modules:
        if not all(part.isidentifier() for part in module.split(".")):
            raise ConfigError(
                f"LLM_BACKEND_PLUGINS: {module!r} is not a module name; allowed: dotted Python module "
                "names separated by commas, e.g. mycompany.ragbot_backends"
            )
    return modules


def _llm_backend(env: "_Env", default: str, plugins: tuple[str, ...]) -> str:
    """LLM_BACKEND: without plugins one of the built-ins, refused here as any bad value is;
    with LLM_BACKEND_PLUGINS any name, which the registry checks once the plugins have
    registered theirs (backends/loading.py)."""
    if not plugins:
        return env.choice("LLM_BACKEND", default, LLM_BACKENDS)
    return env.str("LLM_BACKEND", default).lower()


def _decoding(base: Path, env: "_Env", selected: str, llm_backend: str) -> tuple[bool, str | None, Path | None]:
    """PROMPT_LOOKUP, DRAFT_MODEL and DRAFT_MODEL_DIR against the preset's defaults.

    openvino-genai runs one of the two: asked for explicitly, either one turns the preset's
    default other one off; both asked for is an error. The optimum backend has neither: asked
    for explicitly, that is an error; a preset's default is dropped (the load log says so)."""
    profile = get_preset(selected).decoding
    lookup_env = env.str("PROMPT_LOOKUP", "")
    draft_env = env.str("DRAFT_MODEL", "")
    dir_env = env.str("DRAFT_MODEL_DIR", "")
    lookup = env.bool("PROMPT_LOOKUP", profile.prompt_lookup)
    draft = draft_env if draft_env else profile.draft_model
    if draft and draft.lower() in _OFF:
        draft = None
    if draft and draft not in PRESETS:
        raise ConfigError(
            f"DRAFT_MODEL={draft!r} is not a known preset; allowed: off or a preset that shares the "
            f"LLM's tokenizer (e.g. qwen2.5-coder-0.5b-instruct for qwen2.5-coder-1.5b-instruct)"
        )
    draft_dir = _resolve(base, dir_env) if dir_env else (_resolve(base, draft) if draft else None)
    if dir_env and draft_env.lower() in _OFF and draft_env:
        raise ConfigError(f"DRAFT_MODEL=off and DRAFT_MODEL_DIR={dir_env!r} contradict each other; unset one")
    draft_asked = bool(dir_env or (draft_env and draft_env.lower() not in _OFF))
    lookup_asked = bool(lookup_env) and lookup
    if lookup and draft_dir is not None:
        if lookup_asked and draft_asked:
            raise ConfigError(
                "PROMPT_LOOKUP=on and a draft model (DRAFT_MODEL / DRAFT_MODEL_DIR) are mutually "
                "exclusive: openvino-genai runs one or the other; unset one of them"
            )
        if draft_asked:
            lookup = False  # the preset's default gives way to what was asked for
        else:
            draft, draft_dir = None, None
    if llm_backend != "genai" and (lookup_asked or draft_asked):
        asked = "PROMPT_LOOKUP=on" if lookup_asked else "a draft model (DRAFT_MODEL / DRAFT_MODEL_DIR)"
        why = ": the optimum backend decodes one token per step" if llm_backend == "optimum" else ""
        raise ConfigError(f"{asked} needs LLM_BACKEND=genai{why} (LLM_BACKEND is {llm_backend!r})")
    if llm_backend != "genai":
        return False, None, None
    return lookup, draft, draft_dir


def _index_name(model: str, precision: str) -> str:
    """What the persisted index is keyed by: INT8 vectors differ from FP32 ones."""
    return model if precision == "fp32" else f"{model}+{precision}"


def _index_dir(base: Path, env: "_Env", docs_file: Path, embedding_model: str) -> Path | None:
    """INDEX_DIR, default `<docs.txt folder>/.ragbot_index/<embedding model>`; "off" disables."""
    raw = env.str("INDEX_DIR", "")
    if raw.lower() in ("off", "none", "false", "0"):
        return None
    if raw:
        return _resolve(base, raw)
    return docs_file.parent / ".ragbot_index" / embedding_model.replace("/", "_")


def _knowledge_dsn(env: "_Env", store: str) -> str | None:
    """KNOWLEDGE_DSN, else the contents of the file KNOWLEDGE_DSN_FILE names (a mounted Secret);
    required with KNOWLEDGE_STORE=postgres. The password may also come from libpq's own
    PGPASSWORD / PGPASSFILE. Error messages never repeat the value."""
    dsn = env.str("KNOWLEDGE_DSN", "")
    path = env.str("KNOWLEDGE_DSN_FILE", "")
    if not dsn and path:
        try:
            dsn = Path(path).read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"KNOWLEDGE_DSN_FILE={path!r} cannot be read ({type(exc).__name__}: "
                              f"{getattr(exc, 'strerror', None) or exc}); mount the file holding the "
                              "PostgreSQL connection URI there") from None
        if not dsn:
            raise ConfigError(f"KNOWLEDGE_DSN_FILE={path!r} is empty; it must hold a libpq URI such "
                              "as postgresql://ragbot@db:5432/ragbot")
    if store == "postgres" and not dsn:
        raise ConfigError("KNOWLEDGE_STORE=postgres needs KNOWLEDGE_DSN (a libpq URI such as "
                          "postgresql://ragbot@db:5432/ragbot) or KNOWLEDGE_DSN_FILE (a file holding it)")
    return dsn or None


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
