"""Which document a question names (knowledge/naming.py): names, not words; unique to one title."""
from __future__ import annotations

from types import SimpleNamespace

from ragbot.knowledge.naming import named_documents, question_names, titles_of

KETTLES = {"h3.md": "Brevik H3 electric kettle: user manual", "h5.md": "Brevik H5 electric kettle: user manual"}
LICENCES = {"apache.txt": "Apache License", "mpl.txt": "Mozilla Public License Version 2.0"}
POLICIES = {"travel.md": "Tallow & Finch: travel policy", "remote.md": "Tallow & Finch: remote work policy"}


def test_names_are_capitalised_words_and_codes_not_the_first_word_or_bare_numbers():
    assert question_names("What does E4 mean on Gull Rock's H5 kettle, version 2.0?") == {
        "e4", "gull", "rock", "h5"}
    assert question_names("Marrow Point: how tall?") == {"point"}
    assert question_names("how long does a velvet marsh frog live?") == set()


def test_a_name_in_one_title_only_names_that_document():
    assert named_documents("What does E4 mean on the Brevik H5?", KETTLES) == {"h5.md"}
    assert named_documents("How many days' notice does the Apache License 2.0 require?", LICENCES) == {"apache.txt"}
    assert named_documents("Which are the Secondary Licenses of the Mozilla Public License 2.0?",
                           LICENCES) == {"mpl.txt"}


def test_two_names_name_both_and_shared_names_or_a_lone_document_name_none():
    assert named_documents("Which lasts longer, the Brevik H3 or the H5?", KETTLES) == {"h3.md", "h5.md"}
    # "Tallow & Finch" is in both titles; "work" is not written as a name
    assert named_documents("At Tallow & Finch, how many days may staff work abroad?", POLICIES) == set()
    assert named_documents("What does E4 mean on the Brevik H5?", {"h5.md": KETTLES["h5.md"]}) == set()


def test_titles_of_documents_fall_back_to_the_source():
    docs = [SimpleNamespace(metadata={"source": "a.md", "title": "A"}),
            SimpleNamespace(metadata={"source": "b.txt"}), SimpleNamespace(metadata={"source": "a.md", "title": "A"})]
    assert titles_of(docs) == {"a.md": "A", "b.txt": "b.txt"}
