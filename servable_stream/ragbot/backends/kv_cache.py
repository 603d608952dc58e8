"""How large the genai engine's KV cache is: sized from the settings, not a fixed guess.

    tokens = sequences × context window      sequences = min(MAX_CONCURRENT_STREAMS, max_num_seqs,
                                                             FULL_WINDOWS)
    bytes  = tokens × KV bytes per token     (the model's layers, KV heads, head size, precision)

floored at one full context window (a lone request of any allowed length fits) and capped at a
quarter of the machine's memory; KV_CACHE_MB overrides the whole computation.

FULL_WINDOWS = 8: the cache is resident as far as it was ever written, and prefix caching keeps
freed blocks for reuse, so a long-running server ends up holding all of it. Eight full windows
(the 1.5B's 4,096 tokens: 32,768 tokens, 518 MB in u8) hold sixteen streams of 2,048 tokens (a
RAG prompt of ~1,000 plus its answer), while two cores already serve eight streams at their
prefill bound (benchmarks/README.md, concurrency8_vs_single_throughput); sixteen full windows
(the engine's max_num_seqs) doubled that to 1,036 MB for requests that never come. When a burst
does outgrow it, the engine preempts a sequence and recomputes it later: slower, never an error. The engine is
given whole blocks (`num_kv_blocks`): its `cache_size` knob counts whole GB, too coarse for a
small model (a 1 GB minimum is what the fixed setting cost before).

Bytes per token follow the CPU plugin's paged KV layout, checked against what the engine
reports (`kv_cache_size_in_bytes`, tests/backends/test_backend_kv_cache.py): bf16/f16 2 B per
element (the continuous-batching default here, whatever INFERENCE_PRECISION_HINT says); u8
keys are quantised per channel within a block (f32 scale + zero point per channel per block),
u8 values per token (f32 scale + zero point per head and token).
"""
from __future__ import annotations

import json
import logging
import math
import os
from dataclasses import dataclass
from pathlib import Path

from ..errors import ConfigError

log = logging.getLogger(__name__)

BLOCK_TOKENS = {"CPU": 32, "GPU": 16}  # the paged-attention block size per device
FLOOR_MB = 32  # never below one context window, and never below this
FULL_WINDOWS = 8  # context windows the plan holds at most (see above)
MEMORY_SHARE_CAP = 0.25  # a computed plan never takes more than this share of physical memory
DEFAULT_PRECISION = "bf16"  # what ContinuousBatchingPipeline picks without KV_CACHE_PRECISION
#                             (genai.py gives it u8 unless OV_CONFIG says otherwise)
_SCALE_BYTES = 8  # f32 scale + f32 zero point
MB = 1024 * 1024


@dataclass(frozen=True)
class KvShape:
    """What of the model's config sizes its KV cache."""

    layers: int
    kv_heads: int
    head_dim: int

    @classmethod
    def from_model_dir(cls, model_dir: Path) -> "KvShape":
        path = Path(model_dir) / "config.json"
        try:
            config = json.loads(path.read_text(encoding="utf-8"))
            heads = int(config["num_attention_heads"])
            return cls(
                layers=int(config["num_hidden_layers"]),
                kv_heads=int(config.get("num_key_value_heads") or heads),
                head_dim=int(config.get("head_dim") or int(config["hidden_size"]) // heads),
            )
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ConfigError(
                f"cannot size the KV cache: {path} is missing or lacks num_hidden_layers / "
                f"num_attention_heads / hidden_size ({type(exc).__name__}: {exc}); re-create the folder "
                f"with download_model.py"
            ) from None


def head_token_bytes(head_dim: int, precision: str, block_tokens: int) -> float:
    """Bytes one KV head holds for one token, keys and values together."""
    p = precision.lower()
    if p in ("bf16", "f16"):
        return 2 * 2 * head_dim
    if p == "f32":
        return 2 * 4 * head_dim
    if p == "u8":
        keys = head_dim + _SCALE_BYTES * head_dim / block_tokens  # per channel, per block
        values = head_dim + _SCALE_BYTES  # per token
        return keys + values
    raise ConfigError(
        f"KV_CACHE_PRECISION={precision!r} cannot be sized; use bf16, f16, u8 or f32"
    )


def kv_bytes_per_token(shape: KvShape, precision: str, block_tokens: int = BLOCK_TOKENS["CPU"]) -> int:
    return math.ceil(shape.layers * shape.kv_heads * head_token_bytes(shape.head_dim, precision, block_tokens))


@dataclass(frozen=True)
class KvCachePlan:
    blocks: int  # what the engine is given (num_kv_blocks)
    block_tokens: int
    bytes_per_token: int
    precision: str
    how: str  # how the size was chosen, for the start-up log

    @property
    def tokens(self) -> int:
        return self.blocks * self.block_tokens

    @property
    def mb(self) -> float:
        return self.tokens * self.bytes_per_token / MB


def physical_memory_bytes() -> int | None:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return None


def plan_kv_cache(model_dir: Path, device: str, ov_config: dict, context_window: int,
                  max_concurrent_streams: int, max_num_seqs: int, override_mb: int | None = None,
                  memory_bytes: int | None = None) -> KvCachePlan:
    block_tokens = BLOCK_TOKENS.get(device.split(".")[0], BLOCK_TOKENS["CPU"])
    precision = str(ov_config.get("KV_CACHE_PRECISION") or DEFAULT_PRECISION).lower()
    per_token = kv_bytes_per_token(KvShape.from_model_dir(model_dir), precision, block_tokens)
    if override_mb is not None:
        blocks = max(1, override_mb * MB // (per_token * block_tokens))
        return KvCachePlan(int(blocks), block_tokens, per_token, precision, f"KV_CACHE_MB={override_mb}")
    sequences = max(1, min(max_concurrent_streams, max_num_seqs, FULL_WINDOWS))
    wanted = sequences * context_window * per_token
    how = (f"{sequences} sequences × {context_window} tokens × {per_token / 1024:.1f} KB/token "
           f"({precision})")
    floor = max(context_window * per_token, FLOOR_MB * MB)
    if wanted < floor:
        wanted, how = floor, how + f", raised to the floor of {floor / MB:.0f} MB"
    memory = physical_memory_bytes() if memory_bytes is None else memory_bytes
    if memory and wanted > MEMORY_SHARE_CAP * memory and MEMORY_SHARE_CAP * memory >= floor:
        wanted = int(MEMORY_SHARE_CAP * memory)
        how += f", capped at {MEMORY_SHARE_CAP:.0%} of {memory / MB / 1024:.1f} GB memory (set KV_CACHE_MB)"
    blocks = math.ceil(wanted / (per_token * block_tokens))
    return KvCachePlan(blocks, block_tokens, per_token, precision, how)


def scheduler_fields(plan: KvCachePlan) -> dict:
    """The SchedulerConfig fields that carry the plan (num_kv_blocks wins over cache_size)."""
    return {"num_kv_blocks": plan.blocks, "cache_size": 0}


def log_plan(plan: KvCachePlan, what: str = "KV cache") -> None:
    log.info("%s: %d blocks × %d tokens = %d tokens, %.0f MB (%s)", what, plan.blocks,
             plan.block_tokens, plan.tokens, plan.mb, plan.how)
