"""Plain text by its own headings (documents.plain_sections): underlined and numbered."""
from ragbot.knowledge.documents import RawDocument, make_splitter, plain_sections, split_raw

APACHE_LIKE = """                 Harbour Licence
                 Version 1.0

   1. Definitions.

      "Work" shall mean the work of authorship made available under
      this Licence, as indicated by a notice in or attached to it.

   2. Grant of Copyright Licence. Subject to the terms and conditions
      of this Licence, each Contributor grants You a perpetual licence
      to reproduce, prepare derivative works of, and distribute the Work.

   3. Disclaimer of Warranty. Unless required by applicable law, the
      Licensor provides the Work on an "AS IS" BASIS, WITHOUT WARRANTIES
      OR CONDITIONS OF ANY KIND, either express or implied.
"""

UNDERLINED = """Harbour Public Licence
======================

1. Definitions
--------------

1.1. "Contributor" means each person that creates a Contribution.

************************************************************************
*                                                                      *
*  2. Disclaimer of Warranty                                           *
*  -------------------------                                           *
*                                                                      *
*  Covered Software is provided "as is", without warranty of any kind. *
*                                                                      *
************************************************************************
"""


def test_numbered_headings_of_a_licence_become_sections():
    parts = plain_sections(APACHE_LIKE, "Harbour Licence")
    assert [section for section, _ in parts] == [
        "", "1. Definitions", "2. Grant of Copyright Licence", "3. Disclaimer of Warranty"]
    body = dict(parts)["3. Disclaimer of Warranty"]
    assert body.startswith("Unless required by applicable law") and "WITHOUT WARRANTIES" in body


def test_underlined_headings_nest_in_the_order_their_characters_appear_and_boxes_are_read():
    parts = dict(plain_sections(UNDERLINED, "Harbour Public Licence"))
    assert list(parts) == ["1. Definitions", "2. Disclaimer of Warranty"]  # the title is not a level
    assert parts["2. Disclaimer of Warranty"].startswith('Covered Software is provided "as is"')


def test_a_numbered_list_or_text_without_headings_stays_one_text():
    steps = "How to boil water\n\n1. Fill the kettle.\n\n2. Switch it on.\n\n3. Wait for the click.\n"
    assert plain_sections(steps, "How to boil water") == [("", steps)]
    prose = "Just a paragraph\nof wrapped text.\n\n*Emphasis* stays *as is*\n"
    assert plain_sections(prose) == [("", prose)]


def test_plain_text_chunks_carry_their_section(tmp_path):
    raw = RawDocument("LICENSE.txt", str(tmp_path / "LICENSE.txt"), APACHE_LIKE.encode(), None, "x")
    chunks = split_raw(raw, make_splitter(1000, 200))
    warranty = [c for c in chunks if "AS IS" in c.page_content]
    assert [(c.metadata["title"], c.metadata.get("section")) for c in warranty] == [
        ("Harbour Licence", "3. Disclaimer of Warranty")]


MPL_LIKE = """Harbour Public Licence
======================

1. Definitions
--------------

1.1. "Contributor"
    means each person that creates a Contribution.

1.2. "Secondary Licence"
    means the Quay General Licence, Version 2.0, or any later
    version of it.

1.3. "You" (or "Your")
    means an individual exercising rights under this Licence.

2. Conditions
-------------

2.1. The rights granted under this Licence end automatically
if You fail to comply with any of its terms.

3. Responsibilities
-------------------

3.1. Notices

You may not remove any licence notices.
"""


def test_numbered_clauses_head_their_own_sections_and_a_clause_sentence_stays_text():
    parts = plain_sections(MPL_LIKE, "Harbour Public Licence")
    assert [section for section, _ in parts] == [
        '1. Definitions > 1.1. "Contributor"', '1. Definitions > 1.2. "Secondary Licence"',
        '1. Definitions > 1.3. "You" (or "Your")', "2. Conditions", "3. Responsibilities > 3.1. Notices"]
    body = dict(parts)
    assert body['1. Definitions > 1.2. "Secondary Licence"'].startswith("means the Quay General Licence")
    assert body["2. Conditions"].startswith("2.1. The rights granted")  # a sentence, not a heading
