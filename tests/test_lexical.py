"""Keyword terms: our tokeniser must cut text exactly as the saved keyword indexes were cut."""

from __future__ import annotations

import bm25s

from ingest import bundled_knowledge_dir
from ingest.lexical import _stemmer, lexical_terms, query_terms


def test_terms_match_the_keyword_index_tokeniser_on_the_bundled_knowledge_base():
    texts = [
        block
        for path in sorted(bundled_knowledge_dir().rglob("*.md"))
        for block in path.read_text(encoding="utf-8").split("\n\n")
    ]
    texts += ["", "a", "the and of", "Naïve café — Q3 OKRs_2024, SOC 2 & ISO-42001!", "x y z"]
    expected = bm25s.tokenize(
        texts, stopwords="en", stemmer=_stemmer(), show_progress=False, return_ids=False
    )
    assert len(texts) > 200
    assert lexical_terms(texts) == expected


def test_question_words_are_dropped_and_topic_words_stemmed():
    assert query_terms("Who approves launches of high-risk models?") == [
        "approv",
        "launch",
        "high",
        "risk",
        "model",
    ]
