"""The keyword side of hybrid retrieval: BM25 (the `bm25s` library) over the same chunks.

Dense embeddings find paraphrases; BM25 finds the exact names, codes and numbers that small
embedding models blur ("E4", "H3", "QUILLFS_HOME", "3.10"). Each chunk's terms are
computed once, when its document is new or changed (ingest.py), and persisted with it
(index_store.py), so a rebuild re-tokenises nothing unchanged; the BM25 matrix over all
terms is rebuilt with every new KnowledgeIndex (~0.1 s per 10k chunks) and swapped with
the vectors.
"""
from __future__ import annotations

import re
import sys
from typing import Sequence

import numpy as np

# words, codes and numbers: "e4", "3.10", "quillfs_home", "40,000" -> "40000"
_TOKEN = re.compile(r"[a-z0-9]+(?:[._,'-][a-z0-9]+)*")
STOPWORDS = frozenset("""
a an and are as at be been by can could did do does for from had has have how i if in into is
it its itself me my of on or our so than that the their them then there these they this those
to was we were what when where which while who whom why will with would you your about after
also any before both each few more most much other over same should some such through under
until very just only own too not no nor off once again further here out up down he she his
her him
""".split())


def terms(text: str) -> list[str]:
    """The BM25 terms of `text`: lower-case words, codes and numbers, no stop words."""
    out = []
    for token in _TOKEN.findall(text.lower()):
        token = token.replace(",", "") if token.replace(",", "").isdigit() else token
        token = token.strip("'")
        if not token or token in STOPWORDS:
            continue
        token = _singular(token)
        if token not in STOPWORDS:
            out.append(sys.intern(token))  # 10k chunks share one str per distinct term
    return out


def _singular(word: str) -> str:
    """A light stemmer: plural -s and -ies, possessive 's (kettles -> kettle, warranties ->
    warranty, frog's -> frog)."""
    if word.endswith("'s"):
        return word[:-2]
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


class KeywordIndex:
    """BM25 scores of every chunk for a query; chunk i is row i, as in the vector index."""

    def __init__(self, chunk_terms: Sequence[Sequence[str]]):
        self.size = len(chunk_terms)
        self._bm25 = None
        if self.size and any(chunk_terms):
            import bm25s

            self._bm25 = bm25s.BM25()
            # an empty chunk would break the index: give it a term no query has
            self._bm25.index([list(t) or ["\x00"] for t in chunk_terms], show_progress=False)

    def scores(self, query: str) -> np.ndarray:
        """float32 BM25 score per chunk (0 where no query term occurs)."""
        q = terms(query)
        if self._bm25 is None or not q:
            return np.zeros(self.size, dtype=np.float32)
        known = [t for t in q if t in self._bm25.vocab_dict]
        if not known:
            return np.zeros(self.size, dtype=np.float32)
        return np.asarray(self._bm25.get_scores(known), dtype=np.float32)
