"""The one tokenizer for keyword search: lower-case, English stop words dropped, Snowball stems."""

from __future__ import annotations

from functools import cache


@cache
def _stemmer():
    import Stemmer

    return Stemmer.Stemmer("english")


def lexical_terms(texts: list[str]) -> list[list[str]]:
    import bm25s

    return bm25s.tokenize(
        texts, stopwords="en", stemmer=_stemmer(), show_progress=False, return_ids=False
    )


def terms(text: str) -> list[str]:
    return lexical_terms([text])[0]


# Words that shape a question but say nothing about its topic ("who", "how", "do we…").
QUESTION_WORDS = frozenset(
    [
        "who",
        "whom",
        "whose",
        "what",
        "which",
        "when",
        "where",
        "why",
        "how",
        "do",
        "does",
        "did",
        "can",
        "could",
        "should",
        "would",
        "will",
        "shall",
        "may",
        "might",
        "must",
        "i",
        "we",
        "you",
        "our",
        "my",
        "your",
        "us",
        "me",
        "is",
        "are",
        "was",
        "were",
        "be",
        "there",
        "anyone",
        "anybody",
        "someone",
        "somebody",
        "please",
    ]
)


def query_terms(text: str) -> list[str]:
    """Terms of a question for matching: question words dropped, then stemmed like documents."""
    words = [w for w in text.split() if w.lower().strip("?!.,;:'\"") not in QUESTION_WORDS]
    return terms(" ".join(words))
