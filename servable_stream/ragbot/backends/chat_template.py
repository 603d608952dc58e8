"""A model's Jinja chat template rendered as transformers renders it, without importing
transformers (~25 MB resident in the served process, for one function).

The environment is transformers' own (`utils/chat_template_utils.py`): sandboxed and
immutable, `trim_blocks` and `lstrip_blocks`, loop controls, a `tojson` that does not escape
HTML, and the globals `raise_exception` and `strftime_now`. A `{% generation %}` block (which
transformers uses to mark assistant tokens) renders its body. Tests hold the rendered prompts
equal to `AutoTokenizer.apply_chat_template`'s.
"""
from __future__ import annotations

import json
from datetime import datetime
from functools import lru_cache


@lru_cache(maxsize=4)
def _compiled(template: str):
    import jinja2
    from jinja2.ext import Extension, loopcontrols
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    class GenerationBlock(Extension):
        """`{% generation %}…{% endgeneration %}`: the body, as written."""

        tags = {"generation"}

        def parse(self, parser):
            lineno = next(parser.stream).lineno
            body = parser.parse_statements(("name:endgeneration",), drop_needle=True)
            return jinja2.nodes.Scope(body, lineno=lineno)

    def raise_exception(message):
        raise jinja2.exceptions.TemplateError(message)

    def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
        return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators,
                          sort_keys=sort_keys)

    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True,
                                        extensions=[GenerationBlock, loopcontrols])
    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    env.globals["strftime_now"] = lambda fmt: datetime.now().strftime(fmt)
    return env.from_string(template)


def render_chat(template: str, messages: list[dict], add_generation_prompt: bool,
                special_tokens: dict[str, str]) -> str:
    """`messages` through `template`, with the tokenizer's special tokens (bos_token, …) in
    scope, as transformers passes them."""
    return _compiled(template).render(messages=messages, tools=None, documents=None,
                                      add_generation_prompt=add_generation_prompt, **special_tokens)
