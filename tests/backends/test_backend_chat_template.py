"""chat_template.py renders a Jinja chat template as transformers' `render_jinja_template` does:
the same environment (trim and lstrip blocks, loop controls, a tojson that leaves HTML alone,
raise_exception, strftime_now, the `{% generation %}` block), the special tokens in scope."""
from __future__ import annotations

import jinja2
import pytest
from ragbot.backends.chat_template import render_chat

TEMPLATE = """{{ bos_token }}{% for m in messages %}
  {% if m.role == 'system' and not loop.first %}{{ raise_exception('system must come first') }}{% endif %}
  {% if loop.index > 9 %}{% break %}{% endif %}
<|{{ m.role }}|>{% if m.role == 'assistant' %}{% generation %}{{ m.content | trim }}{% endgeneration %}{% else %}{{ m.content }}{% endif %}{{ eos_token }}
{% endfor %}
{% if add_generation_prompt %}<|assistant|>{{ {"a": "<b>&é"} | tojson }}{% endif %}"""

MESSAGES = [{"role": "system", "content": "Answer from the passages."},
            {"role": "user", "content": "Is <b>bold</b> & 'quoted' safe?"},
            {"role": "assistant", "content": "  Yes [1].  "},
            {"role": "user", "content": "And {{ this }}?"}]
SPECIAL = {"bos_token": "<s>", "eos_token": "</s>"}


def transformers_render(template, messages, add_generation_prompt):
    from transformers.utils.chat_template_utils import render_jinja_template

    rendered, _ = render_jinja_template(conversations=[messages], chat_template=template,
                                        add_generation_prompt=add_generation_prompt, **SPECIAL)
    return rendered[0]


@pytest.mark.parametrize("add_generation_prompt", [True, False])
def test_renders_as_transformers_does(add_generation_prompt):
    ours = render_chat(TEMPLATE, MESSAGES, add_generation_prompt, SPECIAL)
    assert ours == transformers_render(TEMPLATE, MESSAGES, add_generation_prompt)
    assert '{"a": "<b>&é"}' in ours if add_generation_prompt else "<|assistant|>{" not in ours
    assert "<|assistant|>Yes [1].</s>" in ours and "{{ this }}" in ours


def test_a_template_that_raises_is_a_template_error():
    bad = [MESSAGES[1], MESSAGES[0]]
    with pytest.raises(jinja2.exceptions.TemplateError, match="system must come first"):
        render_chat(TEMPLATE, bad, True, SPECIAL)


def test_the_sandbox_holds():
    with pytest.raises(jinja2.exceptions.SecurityError):
        render_chat("{{ messages.__class__.__mro__ }}{{ ''.__class__.__subclasses__() }}", [], False, {})
