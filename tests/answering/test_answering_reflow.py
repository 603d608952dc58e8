"""PASSAGE_REFLOW: the prompt's passages with their wrapped lines joined (answering/reflow.py)."""
from langchain_core.documents import Document
from ragbot.answering.prompt import PromptStyle, build_messages, passage_text
from ragbot.answering.reflow import reflow
from ragbot.knowledge.index import Hit

LICENCE = """   1. Definitions.

      "Legal Entity" shall mean the union of the acting entity and all
      other entities that control, are controlled by, or are under common
      control with that entity.  For the purposes of this definition,
      "control" means ownership of fifty percent (50%) or more of the
      outstanding shares."""


def test_wrapped_prose_becomes_one_line_per_paragraph():
    assert reflow(LICENCE) == (
        "1. Definitions.\n\n\"Legal Entity\" shall mean the union of the acting entity and all other "
        "entities that control, are controlled by, or are under common control with that entity. For "
        "the purposes of this definition, \"control\" means ownership of fifty percent (50%) or more "
        "of the outstanding shares.")


def test_structure_is_kept_headings_lists_tables_quotes_and_fenced_code():
    text = ("## Borrowing\nA bicycle may be borrowed\nfor seven days.\n- a helmet\n  and a lock\n"
            "* a bell\n2) second item\n(b) sub-item\n| a | b |\n| 1 | 2 |\n> quoted\n"
            "```python\ndef f():\n    return  1\n```\nnon-\nnumeric  types")
    assert reflow(text).split("\n") == [
        "## Borrowing", "A bicycle may be borrowed for seven days.", "- a helmet and a lock", "* a bell",
        "2) second item", "(b) sub-item", "| a | b |", "| 1 | 2 |", "> quoted",
        "```python", "def f():", "    return  1", "```", "non-numeric types"]


def test_only_the_prompts_copy_is_reflowed_when_asked():
    doc = Document(LICENCE, metadata={"source": "LICENSE.txt", "title": "Apache License"})
    off = build_messages("q", [], [Hit(doc, 0.9)])[-1]["content"]
    on = build_messages("q", [], [Hit(doc, 0.9)], style=PromptStyle(reflow=True))[-1]["content"]
    assert "all\n      other entities" in off
    assert "all other entities" in on and "fifty percent (50%) or more of the outstanding shares." in on
    # citations are checked against what the model saw
    assert passage_text(doc, True) == "Apache License\n" + reflow(LICENCE)
    assert doc.page_content == LICENCE
