"""The one tokenizer for keyword search: lower-case, English stop words dropped, Snowball stems."""

from __future__ import annotations

import re
from functools import cache

# bm25s.tokenize's rules, which the saved keyword indexes were built with: lower-case, runs of
# two or more word characters, English stop words dropped before stemming. Done here because
# bm25s.tokenize costs ~1 ms a call in set-up (progress bars, vocabularies), and an answer
# tokenises every candidate quote; tests check both give the same terms.
_WORDS = re.compile(r"(?u)\b\w\w+\b").findall


@cache
def _stemmer():
    import Stemmer

    return Stemmer.Stemmer("english")


@cache
def _stopwords() -> frozenset[str]:
    from bm25s.stopwords import STOPWORDS_EN

    return frozenset(STOPWORDS_EN)


def lexical_terms(texts: list[str]) -> list[list[str]]:
    stem = _stemmer().stemWords
    stop = _stopwords()
    found: list[list[str]] = []
    for text in texts:
        words = [w for w in _WORDS(text.lower()) if w not in stop]
        found.append(stem(words) if words else [])
    return found


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
