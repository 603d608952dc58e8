"""Build and cache the TinyLlama-shaped random model and its OpenVINO variants.

    torch/       LlamaForCausalLM, random FP32 weights (seed 0, N(0, 0.02) written straight
                 into uninitialised tensors: no default init pass), HF tokenizer   ~4.4 GB
    (ov-ir.tmp/  optimum-intel export, stateful IR with FP16-stored weights + OV tokenizer /
                 detokenizer: only the source of the compressions below, deleted afterwards;
                 no measurement uses an uncompressed IR, and writing 4.2 GB of FP32 IR was the
                 largest single step of a cold build)
    ov-int8/     NNCF INT8_ASYM (weights only)
    ov-int4/     NNCF INT4_ASYM group 128 ratio 0.8 (the tiny-llama preset's recipe), rest INT8
    ov-int4-all/ NNCF INT4_SYM group 128 ratio 1.0 all_layers (embeddings/lm_head too)

Each OV folder loads with OVModelForCausalLM and openvino_genai.LLMPipeline. The weights are
random: generated text is meaningless, the shapes (and so the cost) are TinyLlama-1.1B's.
`build.json` records how long each step took and the folder sizes; a complete folder is never
rebuilt (delete it to rebuild).
"""
from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

from .corpus import corpus_lines
from .paths import MODELS

SEED = 0
VOCAB_SIZE = 32000
TINYLLAMA_SHAPE = dict(
    vocab_size=VOCAB_SIZE, hidden_size=2048, intermediate_size=5632, num_hidden_layers=22,
    num_attention_heads=32, num_key_value_heads=4, max_position_embeddings=2048,
    rms_norm_eps=1e-5, rope_theta=10000.0, tie_word_embeddings=False,
)
VARIANTS = {  # folder -> nncf.compress_weights kwargs
    "ov-int8": dict(mode="INT8_ASYM"),
    "ov-int4": dict(mode="INT4_ASYM", group_size=128, ratio=0.8),
    "ov-int4-all": dict(mode="INT4_SYM", group_size=128, ratio=1.0, all_layers=True),
}
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json",
                   "chat_template.jinja", "config.json", "generation_config.json",
                   "openvino_tokenizer.xml", "openvino_tokenizer.bin",
                   "openvino_detokenizer.xml", "openvino_detokenizer.bin")


def folder_mb(folder: Path) -> float:
    return round(sum(f.stat().st_size for f in folder.rglob("*") if f.is_file()) / 2**20, 1)


def build_torch(dest: Path) -> None:
    import torch
    from transformers import GenerationConfig, LlamaForCausalLM

    from modeltools.tiny_random import llama_config, train_tokenizer

    tok = train_tokenizer(corpus_lines(), vocab_size=VOCAB_SIZE)  # tests' tokenizer recipe, 32k
    torch.manual_seed(SEED)
    config = llama_config(tok, **TINYLLAMA_SHAPE)
    with torch.device("meta"):  # no allocation, no default init (two passes over 1.1B params)
        model = LlamaForCausalLM(config)
    model = model.to_empty(device="cpu").eval()
    gen = torch.Generator().manual_seed(SEED)
    with torch.no_grad():
        for name, param in model.named_parameters():
            if param.dim() == 1:  # RMSNorm weights
                param.fill_(1.0)
            else:
                param.normal_(0.0, config.initializer_range, generator=gen)
    tmp = dest.with_name(dest.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tok.save_pretrained(tmp)
    model.generation_config = GenerationConfig(bos_token_id=tok.bos_token_id,
                                               eos_token_id=tok.eos_token_id,
                                               pad_token_id=tok.pad_token_id)
    model.save_pretrained(tmp)
    tmp.rename(dest)


def export_ir(src: Path, dest: Path) -> None:
    import openvino as ov
    from openvino_tokenizers import convert_tokenizer
    from optimum.exporters.openvino import main_export
    from optimum.intel import OVConfig
    from transformers import AutoTokenizer

    tmp = dest.with_name(dest.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    main_export(str(src), output=tmp, task="text-generation-with-past", stateful=True,
                ov_config=OVConfig(dtype="fp16"))  # explicit: no default INT8 for >1B params;
    # fp16 storage halves the bytes written/read; NNCF compresses from it like from FP32
    ov_tok, ov_detok = convert_tokenizer(AutoTokenizer.from_pretrained(src), with_detokenizer=True)
    ov.save_model(ov_tok, tmp / "openvino_tokenizer.xml")
    ov.save_model(ov_detok, tmp / "openvino_detokenizer.xml")
    tmp.rename(dest)


def compress(src: Path, dest: Path, recipe: dict) -> None:
    import nncf
    import openvino as ov

    kwargs = dict(recipe)
    kwargs["mode"] = getattr(nncf.CompressWeightsMode, kwargs["mode"])
    model = ov.Core().read_model(src / "openvino_model.xml")
    model = nncf.compress_weights(model, **kwargs)
    tmp = dest.with_name(dest.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    ov.save_model(model, tmp / "openvino_model.xml", compress_to_fp16=False)
    for name in TOKENIZER_FILES:
        if (src / name).exists():
            shutil.copy2(src / name, tmp / name)
    (tmp / "nncf_recipe.json").write_text(json.dumps(recipe))
    tmp.rename(dest)


def ensure_models(root: Path = MODELS, variants=tuple(VARIANTS)) -> dict:
    """Build whatever is missing; return {"paths", "build_s", "size_mb"} (build_s from the run
    that built each folder, so a cached re-run still reports what building costs)."""
    root.mkdir(parents=True, exist_ok=True)
    info_path = root / "build.json"
    info = json.loads(info_path.read_text()) if info_path.exists() else {"build_s": {}}
    ir = root / "ov-fp32" if (root / "ov-fp32").is_dir() else root / "ov-ir.tmp"  # old caches
    need_ir = any(not (root / v).is_dir() for v in variants)
    steps = [("torch", lambda d: build_torch(d))]
    if need_ir and not ir.is_dir():
        steps.append(("ov-ir", lambda d: export_ir(root / "torch", d)))
    steps += [(v, (lambda v: lambda d: compress(ir, d, VARIANTS[v]))(v)) for v in variants]
    for name, build in steps:
        dest = ir if name == "ov-ir" else root / name
        if dest.is_dir():
            continue
        print(f"[models] building {name} ...", flush=True)
        t0 = time.perf_counter()
        build(dest)
        info["build_s"][name] = round(time.perf_counter() - t0, 1)
        print(f"[models] {name}: {info['build_s'][name]} s", flush=True)
        info_path.write_text(json.dumps(info, indent=2))
    if ir.name == "ov-ir.tmp":
        shutil.rmtree(ir, ignore_errors=True)
    names = ["torch", *variants]
    info["paths"] = {name: str(root / name) for name in names}
    info["size_mb"] = {name: folder_mb(root / name) for name in names}
    info["recipes"] = {k: v for k, v in VARIANTS.items() if v}
    info_path.write_text(json.dumps(info, indent=2))
    return info


if __name__ == "__main__":
    import sys

    from .common import emit

    emit(ensure_models(Path(sys.argv[2]) if len(sys.argv) > 2 else MODELS))
