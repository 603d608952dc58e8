"""The model folder's tokenizer without transformers (whose model stack imports torch).

`FolderTokenizer.load(model_dir)` reads what `save_pretrained` wrote: tokenizer_config.json
(special tokens, clean-up flag), the chat template (chat_template.jinja, or the config's
"chat_template", rendered by chat_template.py as transformers renders it) and the ids, from
one of two codecs:
- `engine=`: the openvino_genai.Tokenizer the engine already runs (the folder's
  openvino_tokenizer/detokenizer). The served genai backend passes its pipeline's, so the
  process holds one tokenizer, not two (the Rust one is ~45 MB resident for Qwen's 151k
  vocabulary; docs/backends.md);
- otherwise tokenizer.json run by the Rust `tokenizers` library, the engine behind
  transformers' fast tokenizers.
It offers the part of the HF tokenizer interface the genai backend and the prompt use; tests
hold its ids, text and rendered prompts equal to `AutoTokenizer`'s with either codec.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .chat_template import render_chat

SPECIAL_ATTRIBUTES = ("bos_token", "eos_token", "unk_token", "sep_token", "pad_token", "cls_token",
                      "mask_token")


def _content(value: Any) -> str | None:
    if isinstance(value, dict):
        return value.get("content")
    return value if isinstance(value, str) else None


class RustCodec:
    """tokenizer.json through the `tokenizers` library."""

    def __init__(self, tokenizer: Any):
        self._tok = tokenizer

    @classmethod
    def load(cls, folder: Path) -> "RustCodec":
        from tokenizers import Tokenizer

        return cls(Tokenizer.from_file(str(folder / "tokenizer.json")))

    def encode(self, text: str, add_special_tokens: bool) -> list[int]:
        return self._tok.encode(text, add_special_tokens=add_special_tokens).ids

    def decode(self, ids: list[int], skip_special_tokens: bool) -> str:
        return self._tok.decode(ids, skip_special_tokens=skip_special_tokens)

    def token_to_id(self, token: str) -> int | None:
        return self._tok.token_to_id(token)

    def added_vocab(self) -> dict[str, int]:
        return {t.content: i for i, t in self._tok.get_added_tokens_decoder().items()}


class EngineCodec:
    """An openvino_genai.Tokenizer (thread-safe: it keeps a queue of infer requests); the
    added tokens (special tokens and the like) come from tokenizer.json's "added_tokens"."""

    def __init__(self, engine: Any, added: dict[str, int]):
        self._engine = engine
        self._added = added

    def encode(self, text: str, add_special_tokens: bool) -> list[int]:
        return [int(i) for i in self._engine.encode(text, add_special_tokens=add_special_tokens).input_ids.data[0]]

    def decode(self, ids: list[int], skip_special_tokens: bool) -> str:
        return self._engine.decode(ids, skip_special_tokens=skip_special_tokens)

    def token_to_id(self, token: str) -> int | None:
        if token in self._added:
            return self._added[token]
        ids = self.encode(token, add_special_tokens=False)
        return ids[0] if len(ids) == 1 else None

    def added_vocab(self) -> dict[str, int]:
        return dict(self._added)


def added_tokens(tokenizer_json: Path) -> dict[str, int]:
    """tokenizer.json's "added_tokens" as {content: id}, read without building the 151k-entry
    vocabulary: HF writes that key before "model", so it is decoded where it starts."""
    text = tokenizer_json.read_text(encoding="utf-8")
    at = text.find('"added_tokens"')
    if at >= 0:
        try:
            start = text.index("[", at)
            value, _ = json.JSONDecoder().raw_decode(text, start)
            return {t["content"]: int(t["id"]) for t in value}
        except (ValueError, TypeError, KeyError):
            pass  # not the top-level key after all: read the whole file
    return {t["content"]: int(t["id"]) for t in json.loads(text).get("added_tokens", [])}


class FolderTokenizer:
    def __init__(self, codec: Any, config: dict, chat_template: str | None):
        self._codec = codec
        self.chat_template = chat_template
        self.special_tokens_map = {a: _content(config.get(a)) for a in SPECIAL_ATTRIBUTES
                                   if _content(config.get(a))}
        extra = config.get("extra_special_tokens") or config.get("additional_special_tokens") or []
        if isinstance(extra, dict):
            extra = list(extra.values())
        self._extra_special = [t for t in (_content(e) for e in extra) if t]
        self.clean_up_tokenization_spaces = bool(config.get("clean_up_tokenization_spaces", False))

    @classmethod
    def load(cls, model_dir: str | Path, engine: Any = None) -> "FolderTokenizer":
        """`engine`: an openvino_genai.Tokenizer of this folder to encode and decode with."""
        folder = Path(model_dir)
        config_path = folder / "tokenizer_config.json"
        config = json.loads(config_path.read_text(encoding="utf-8")) if config_path.is_file() else {}
        template_file = folder / "chat_template.jinja"
        template = template_file.read_text(encoding="utf-8") if template_file.is_file() else None
        codec = (RustCodec.load(folder) if engine is None
                 else EngineCodec(engine, added_tokens(folder / "tokenizer.json")))
        return cls(codec, config, template or config.get("chat_template") or None)

    def __getattr__(self, name: str):  # bos_token, eos_token, ... and their *_id
        if name.endswith("_token_id") and name[: -len("_id")] in SPECIAL_ATTRIBUTES:
            token = self.special_tokens_map.get(name[: -len("_id")])
            return None if token is None else self._codec.token_to_id(token)
        if name in SPECIAL_ATTRIBUTES:
            return self.special_tokens_map.get(name)
        raise AttributeError(name)

    @property
    def all_special_tokens(self) -> list[str]:
        return list(dict.fromkeys([*self.special_tokens_map.values(), *self._extra_special]))

    def get_added_vocab(self) -> dict[str, int]:
        return self._codec.added_vocab()

    def convert_tokens_to_ids(self, token: str) -> int | None:
        return self._codec.token_to_id(token)

    def __call__(self, text: str, add_special_tokens: bool = True) -> dict[str, list[int]]:
        return {"input_ids": self._codec.encode(text, add_special_tokens)}

    def decode(self, ids, skip_special_tokens: bool = False) -> str:
        text = self._codec.decode(list(ids), skip_special_tokens)
        if self.clean_up_tokenization_spaces:
            for before, after in ((" .", "."), (" ?", "?"), (" !", "!"), (" ,", ","), (" ' ", "'"),
                                  (" n't", "n't"), (" 'm", "'m"), (" 's", "'s"), (" 've", "'ve"),
                                  (" 're", "'re")):
                text = text.replace(before, after)
        return text

    def apply_chat_template(self, messages: list[dict], tokenize: bool = False,
                            add_generation_prompt: bool = False) -> str:
        if tokenize:
            raise NotImplementedError("FolderTokenizer renders text only (tokenize=False)")
        if not self.chat_template:
            raise ValueError("this tokenizer has no chat template")
        return render_chat(self.chat_template, messages, add_generation_prompt, self.special_tokens_map)
