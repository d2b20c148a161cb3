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
