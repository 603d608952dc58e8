"""Get a preset's LLM from the Hugging Face hub as an OpenVINO servable folder.

Shared by `download_model.py` and the servable's "online mode" (model folder
missing at startup): both end with the same folder layout, written atomically:

    openvino_model.xml/.bin (stateful), config.json, tokenizer files,
    openvino_tokenizer.xml/.bin, openvino_detokenizer.xml/.bin

Heavy libraries (optimum, openvino, huggingface_hub) are imported lazily.
The hub is probed first with short timeouts, so an unreachable hub or a
missing licence token is one clear `HubError`, not a traceback or a hang.
"""
from __future__ import annotations

import contextlib
import json
import shutil
import uuid
from pathlib import Path
from typing import Iterator

from ..errors import ConfigError, HubError
from ..presets import Preset
from .leftovers import leftover_name, live, sweep

MODEL_XML = "openvino_model.xml"
PROBE_TIMEOUT_S = 10.0


# ---------------------------------------------------------------- folder helpers


def is_llm_folder(folder: Path) -> bool:
    """True when `folder` holds an exported model (a finished, renamed folder)."""
    return (Path(folder) / MODEL_XML).is_file()


@contextlib.contextmanager
def staging_dir(dest: Path) -> Iterator[Path]:
    """Yield an empty temp folder beside `dest`; on success it replaces `dest`.

    On failure the temp folder is removed, so `dest` is never half-written.
    """
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    sweep(dest)  # what a killed preparation of dest left (leftovers.py)
    tmp = dest.parent / f"{leftover_name(dest.name, 'tmp')}-{uuid.uuid4().hex[:8]}"
    tmp.mkdir()
    try:
        with live(tmp):
            yield tmp
        if dest.exists():
            old = dest.parent / f"{leftover_name(dest.name, 'old')}-{uuid.uuid4().hex[:8]}"
            dest.rename(old)
            tmp.rename(dest)
            shutil.rmtree(old, ignore_errors=True)
        else:
            tmp.rename(dest)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def assert_stateful(folder: Path) -> None:
    """Refuse a model whose KV cache is not internal state (as the seed does)."""
    import openvino as ov

    model = ov.Core().read_model(Path(folder) / MODEL_XML)
    if not model.get_sinks():
        raise ConfigError(
            f"{folder}: the exported model is not stateful; re-export it with "
            "task text-generation-with-past and stateful=True (optimum-intel)"
        )


def make_tokenizer_portable(folder: Path) -> None:
    """transformers 5 writes tokenizer_class "TokenizersBackend", unknown to
    transformers 4; "PreTrainedTokenizerFast" loads in both."""
    path = Path(folder) / "tokenizer_config.json"
    if not path.is_file():
        return
    config = json.loads(path.read_text(encoding="utf-8"))
    if config.get("tokenizer_class") == "TokenizersBackend":
        config["tokenizer_class"] = "PreTrainedTokenizerFast"
        path.write_text(json.dumps(config, indent=2, ensure_ascii=False), encoding="utf-8")


def write_openvino_tokenizers(folder: Path) -> None:
    """Add openvino_tokenizer/openvino_detokenizer (what openvino-genai reads)."""
    import openvino as ov
    from openvino_tokenizers import convert_tokenizer
    from transformers import AutoTokenizer

    folder = Path(folder)
    tokenizer = AutoTokenizer.from_pretrained(folder)
    ov_tokenizer, ov_detokenizer = convert_tokenizer(tokenizer, with_detokenizer=True)
    ov.save_model(ov_tokenizer, folder / "openvino_tokenizer.xml")
    ov.save_model(ov_detokenizer, folder / "openvino_detokenizer.xml")


def finish_llm_folder(folder: Path) -> None:
    """Checks and extras every exported LLM folder gets, before its rename."""
    assert_stateful(folder)
    make_tokenizer_portable(folder)
    write_openvino_tokenizers(folder)


# ------------------------------------------------------------------- hub access


def hub_token() -> str | None:
    """HF_TOKEN, else the token stored by `hf auth login` under HF_HOME."""
    from huggingface_hub import get_token

    return get_token()


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}".rstrip(": ")


def resolve_source(preset: Preset, token: str | None) -> str:
    """Where to export from: the hub id if the hub serves it to us now, else the
    snapshot a previous run left in the HF_HOME cache (a local path).

    Raises HubError (one line, actionable) when the model can't be had at all.
    """
    from huggingface_hub import constants, get_hf_file_metadata, hf_hub_url
    from huggingface_hub.errors import (
        GatedRepoError,
        HfHubHTTPError,
        RepositoryNotFoundError,
    )

    repo = preset.hub_id
    page = f"{constants.ENDPOINT}/{repo}"
    cached = _cached_snapshot(repo)
    if constants.HF_HUB_OFFLINE:
        if cached is None:
            raise HubError(
                f"HF_HUB_OFFLINE is set and {repo} is not in the hub cache "
                f"({constants.HF_HUB_CACHE}); unset it or point HF_HOME at a cache that has it"
            )
        return str(cached)
    if preset.gated and not token and cached is None:
        raise HubError(
            f"{preset.name} ({repo}) is gated: accept its licence at {page}, then "
            "set HF_TOKEN=<token> (or run `hf auth login`)"
        )
    try:
        get_hf_file_metadata(
            hf_hub_url(repo, "config.json"), token=token, timeout=PROBE_TIMEOUT_S
        )
        return repo
    except GatedRepoError:
        raise HubError(
            f"no access to gated {repo}: accept its licence at {page} with the account "
            "whose token is in HF_TOKEN"
        ) from None
    except RepositoryNotFoundError:
        raise HubError(
            f"{repo} not found on {constants.ENDPOINT} (or HF_TOKEN is invalid)"
        ) from None
    except HfHubHTTPError as exc:
        status = getattr(exc.response, "status_code", None)
        if status == 401:
            raise HubError(
                f"the hub refused HF_TOKEN for {repo} (401): it is invalid or expired; "
                "create a new token and set HF_TOKEN"
            ) from None
        if cached is not None:
            return str(cached)
        raise HubError(
            f"the hub at {constants.ENDPOINT} answered {status} for {repo}; retry later"
        ) from None
    except Exception as exc:  # noqa: BLE001 - network errors come from several libraries
        if cached is not None:
            return str(cached)
        raise HubError(
            f"cannot reach the Hugging Face hub at {constants.ENDPOINT} to get {repo} "
            f"({_one_line(exc)}); check the network/proxy/HF_ENDPOINT, or prepare the "
            f"model where the hub is reachable and copy the folder"
        ) from None


def _cached_snapshot(repo: str) -> Path | None:
    """The repo's snapshot in the HF_HOME cache, if a previous run fetched it."""
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import LocalEntryNotFoundError

    try:
        path = Path(snapshot_download(repo, local_files_only=True))
    except (LocalEntryNotFoundError, OSError, ValueError):
        return None
    return path if (path / "config.json").is_file() else None


# ------------------------------------------------------------------------ export


def export_ov_config():
    """optimum-intel's export settings: FP32 weights, as the seed's (an explicit config also
    keeps optimum from compressing a >1B model to INT8 on its own)."""
    from optimum.intel import OVConfig

    return OVConfig(dtype="fp32")


def apply_export_weights(preset: Preset, folder: Path) -> None:
    """A preset exported to INT4 (export_weights="int4") gets its recipe here, before the
    folder is finished; FP32 presets stay as exported (compress_model.py makes variants)."""
    if preset.export_weights == "int4":
        from .weights import compress_folder

        compress_folder(folder, "INT4", preset.int4)


def export_from_hub(preset: Preset, dest: Path) -> Path:
    """Download `preset` (into the HF_HOME cache) and export it to `dest`, stateful, in the
    preset's export weights (FP32 unless it ships INT4)."""
    if preset.hub_id is None:
        raise ConfigError(f"preset {preset.name!r} is built locally, not fetched from the hub")
    token = hub_token()
    # a local snapshot path when offline: optimum's own offline fallback misses
    # httpx errors (huggingface_hub 1.x) and would crash on an unreachable hub
    source = resolve_source(preset, token)

    import httpx
    from optimum.exporters.openvino import main_export

    dest = Path(dest)
    with staging_dir(dest) as tmp:
        try:
            main_export(
                source,
                output=tmp,
                task="text-generation-with-past",
                library_name="transformers",
                stateful=True,
                token=token,
                ov_config=export_ov_config(),
            )
        except (OSError, httpx.HTTPError) as exc:  # hub/disk trouble mid-download
            raise HubError(
                f"downloading {preset.hub_id} failed ({_one_line(exc)}); retry, "
                "or check network and disk space (HF_HOME)"
            ) from None
        apply_export_weights(preset, tmp)
        finish_llm_folder(tmp)
    return dest
