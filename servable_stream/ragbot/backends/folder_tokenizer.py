"""The model folder's tokenizer without transformers' model stack (which imports torch).

`FolderTokenizer.load(model_dir)` reads what `save_pretrained` wrote: tokenizer.json (run by
the Rust `tokenizers` library, the very engine behind transformers' fast tokenizers),
tokenizer_config.json (special tokens, clean-up flag) and the chat template
(chat_template.jinja, or the config's "chat_template"), rendered by transformers' own Jinja
renderer (`transformers.utils.chat_template_utils`, torch-free). It offers the part of the HF
tokenizer interface the genai backend and the prompt use; tests hold its ids, text and
rendered prompts equal to `AutoTokenizer`'s.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

SPECIAL_ATTRIBUTES = ("bos_token", "eos_token", "unk_token", "sep_token", "pad_token", "cls_token",
                      "mask_token")


def _content(value: Any) -> str | None:
    if isinstance(value, dict):
        return value.get("content")
    return value if isinstance(value, str) else None


class FolderTokenizer:
    def __init__(self, tokenizer: Any, config: dict, chat_template: str | None):
        self._tok = tokenizer
        self.chat_template = chat_template
        self.special_tokens_map = {a: _content(config.get(a)) for a in SPECIAL_ATTRIBUTES
                                   if _content(config.get(a))}
        extra = config.get("extra_special_tokens") or config.get("additional_special_tokens") or []
        if isinstance(extra, dict):
            extra = list(extra.values())
        self._extra_special = [t for t in (_content(e) for e in extra) if t]
        self.clean_up_tokenization_spaces = bool(config.get("clean_up_tokenization_spaces", False))

    @classmethod
    def load(cls, model_dir: str | Path) -> "FolderTokenizer":
        from tokenizers import Tokenizer

        folder = Path(model_dir)
        config_path = folder / "tokenizer_config.json"
        config = json.loads(config_path.read_text(encoding="utf-8")) if config_path.is_file() else {}
        template_file = folder / "chat_template.jinja"
        template = template_file.read_text(encoding="utf-8") if template_file.is_file() else None
        return cls(Tokenizer.from_file(str(folder / "tokenizer.json")), config,
                   template or config.get("chat_template") or None)

    def __getattr__(self, name: str):  # bos_token, eos_token, ... and their *_id
        if name.endswith("_token_id") and name[: -len("_id")] in SPECIAL_ATTRIBUTES:
            token = self.special_tokens_map.get(name[: -len("_id")])
            return None if token is None else self._tok.token_to_id(token)
        if name in SPECIAL_ATTRIBUTES:
            return self.special_tokens_map.get(name)
        raise AttributeError(name)

    @property
    def all_special_tokens(self) -> list[str]:
        return list(dict.fromkeys([*self.special_tokens_map.values(), *self._extra_special]))

    def get_added_vocab(self) -> dict[str, int]:
        return {t.content: i for i, t in self._tok.get_added_tokens_decoder().items()}

    def convert_tokens_to_ids(self, token: str) -> int | None:
        return self._tok.token_to_id(token)

    def __call__(self, text: str, add_special_tokens: bool = True) -> dict[str, list[int]]:
        return {"input_ids": self._tok.encode(text, add_special_tokens=add_special_tokens).ids}

    def decode(self, ids, skip_special_tokens: bool = False) -> str:
        text = self._tok.decode(list(ids), skip_special_tokens=skip_special_tokens)
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
        from transformers.utils.chat_template_utils import render_jinja_template

        rendered, _ = render_jinja_template(conversations=[messages], chat_template=self.chat_template,
                                            add_generation_prompt=add_generation_prompt,
                                            **self.special_tokens_map)
        return rendered[0]
