"""Checks each sentence a model writes against the passage it cites, before anyone sees it.

No second model: a sentence is kept when
- it cites at least one passage that exists;
- every number, name and quoted term in it appears in a cited passage;
- its content words and its meaning are close enough to a cited passage.
Pure functions: the caller supplies the similarity of a sentence to the cited passages.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass

# Thresholds measured on paraphrases and inventions over the bundled knowledge base
# (tests/test_verify.py holds examples of both): a sentence keeps at least this share of its
# content words from the cited passage, and overlap and meaning together reach SUPPORT.
MIN_OVERLAP = 0.4
SUPPORT = 0.55
# At this overlap the rule asks for a meaning of only 2 * SUPPORT - SURE_OVERLAP = 0.2, which a
# sentence made of its passage's words always has: the embedding (~12-30 ms) is skipped.
SURE_OVERLAP = 0.9

_CITATION = re.compile(r"\[\s*(\d{1,3}(?:\s*[,;]\s*\d{1,3})*)\s*\]")
_CITATIONS_AT = re.compile(r"(?:\s*\[\s*\d{1,3}(?:\s*[,;]\s*\d{1,3})*\s*\])*")
# A sentence ends at . ! ? (then any closing quotes and citations) followed by whitespace and
# the next sentence's first character, or at a line break. The lookahead waits for that
# character, so a citation still arriving ("… end. [") or put on the next line stays with its
# sentence.
_END = re.compile(r"[.!?][\"'”’)*_]*" + _CITATIONS_AT.pattern + r"\s+(?=[^\s\[])|\n\s*(?=[^\s\[])")
_ABBREVIATIONS = frozenset({"e.g", "i.e", "etc", "vs", "mr", "mrs", "ms", "dr", "no", "fig", "cf"})
_BULLET = re.compile(r"^\s*(?:[-*•]|\d{1,2}[.)])\s+")
_NUMBER = re.compile(r"(?<![\w.])\d[\d,.]*\d%?|(?<![\w.])\d%?")
_QUOTED = re.compile(r"\"([^\"]{2,80})\"|“([^”]{2,80})”|`([^`]{2,80})`")
_WORD = re.compile(r"[A-Za-z][\w'’&-]*")
_EMPHASIS = re.compile(r"(\*\*|__|\*|_)(?=\S)(.+?)(?<=\S)\1")
# Words that turn a statement around: a sentence that has one where its source has none is
# not what the source says ("High-risk launches do not need a sign-off").
_NEGATIONS = frozenset(
    {"not", "no", "never", "none", "nor", "neither", "cannot", "without", "nobody", "nothing"}
)


def split_ready(buffer: str, final: bool = False) -> tuple[list[str], str]:
    """The complete sentences at the start of `buffer`, and the rest still being written."""
    ready: list[str] = []
    start = 0
    for match in _END.finditer(buffer):
        piece = buffer[start : match.end()]
        if match.group(0)[0] in ".!?" and not _real_end(buffer, start, match):
            continue
        if piece.strip():
            ready.append(piece.strip())
        start = match.end()
    rest = buffer[start:]
    if final:
        if rest.strip():
            ready.append(rest.strip())
        rest = ""
    return ready, rest


def _real_end(buffer: str, start: int, match: re.Match[str]) -> bool:
    """Not the full stop of "e.g.", a list number ("2."), or one followed by lower case."""
    before = buffer[start : match.start()].strip()
    last = before.split()[-1].lower().rstrip(".") if before.split() else ""
    if last in _ABBREVIATIONS or re.search(r"(?:^|[:\n])\s*[-*•]?\s*\d{1,2}$", before):
        return False
    following = buffer[match.end() : match.end() + 1]
    return not following.islower()


@dataclass(frozen=True)
class Claim:
    raw: str
    text: str  # without citations, bullet or emphasis
    cited: tuple[int, ...]  # passage numbers that exist, in order of appearance
    missing: tuple[int, ...]  # passage numbers that do not exist
    item: bool  # written as a list item


def parse_claim(raw: str, passage_count: int) -> Claim:
    numbers: list[int] = []
    for group in _CITATION.findall(raw):
        numbers.extend(int(n) for n in re.split(r"\s*[,;]\s*", group.strip()))
    cited = tuple(dict.fromkeys(n for n in numbers if 1 <= n <= passage_count))
    missing = tuple(dict.fromkeys(n for n in numbers if not 1 <= n <= passage_count))
    item = bool(_BULLET.match(raw))
    text = _BULLET.sub("", raw)
    text = _CITATION.sub("", text)
    text = _EMPHASIS.sub(r"\2", text)
    text = re.sub(r"\s+([.,;:!?])", r"\1", " ".join(text.split()))
    return Claim(raw=raw, text=text.strip(), cited=cited, missing=missing, item=item)


@dataclass(frozen=True)
class Verdict:
    kept: bool
    reason: str = ""  # why it was dropped


def _fold(text: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", text).lower().replace("’", "'").split())


def _numbers(text: str) -> set[str]:
    return {n.replace(",", "").rstrip(".%") for n in _NUMBER.findall(text)}


def names(text: str) -> list[str]:
    """Name-shaped words after the first word: capitalised, acronyms, CamelCase."""
    words = _WORD.findall(text)
    found = []
    for position, word in enumerate(words):
        core = word.strip("'’&-")
        if len(core) < 2:
            continue
        shaped = core[0].isupper() and (position > 0 or any(c.isupper() for c in core[1:]))
        if shaped:
            found.append(core)
    return found


def _negated(text: str) -> bool:
    words = re.findall(r"[\w']+", _fold(text))
    return any(w in _NEGATIONS or w.endswith("n't") for w in words)


def _bare(name: str) -> str:
    """A name without its possessive: "CoE's" → "CoE"."""
    name = name.replace("’", "'")
    return name[:-2] if name.lower().endswith("'s") else name.rstrip("'")


def unsupported_specifics(text: str, sources: Sequence[str]) -> list[str]:
    """Numbers, names and quoted terms in `text` that none of `sources` contains, as whole
    words ("IT" is not in "written"), possessives aside."""
    folded = " ".join(_fold(s) for s in sources)
    source_numbers = _numbers(folded)
    missing = [n for n in sorted(_numbers(text)) if n not in source_numbers]
    for name in names(text):
        bare = _fold(_bare(name))
        if bare and not re.search(rf"(?<![\w-]){re.escape(bare)}(?![\w-])", folded):
            missing.append(name)
    for groups in _QUOTED.findall(text):
        term = next(g for g in groups if g)
        if _fold(term) not in folded:
            missing.append(f'"{term}"')
    return list(dict.fromkeys(missing))


def check_claim(
    claim: Claim,
    sources: Sequence[str],
    claim_terms: set[str],
    source_terms: set[str],
    similarity: Callable[[], float],
) -> Verdict:
    """`sources` are the cited passages' texts (with titles); `similarity` is computed only
    when the cheaper checks pass: the cosine of the sentence to the closest cited piece."""
    if not claim.cited:
        if claim.missing:
            cited = ", ".join(f"[{n}]" for n in claim.missing)
            return Verdict(False, f"cites {cited}, which is not among the sources")
        return Verdict(False, "cites no source")
    specifics = unsupported_specifics(claim.text, sources)
    if specifics:
        return Verdict(False, "not in the cited source: " + ", ".join(specifics))
    if _negated(claim.text) and not any(_negated(s) for s in sources):
        return Verdict(False, "negates what the cited source says")
    if not claim_terms:
        # "Yes." or "Both apply." can stand; a longer sentence of stop words is filler.
        short = len(claim.text.split()) <= 4
        return Verdict(True) if short else Verdict(False, "says nothing checkable")
    overlap = len(claim_terms & source_terms) / len(claim_terms)
    if overlap < MIN_OVERLAP:
        return Verdict(False, f"shares too few words with the cited source ({overlap:.0%})")
    if overlap >= SURE_OVERLAP:
        return Verdict(True)
    meaning = similarity()
    if 0.5 * overlap + 0.5 * meaning < SUPPORT:
        return Verdict(
            False,
            f"not supported by the cited source (words {overlap:.0%}, meaning {meaning:.2f})",
        )
    return Verdict(True)
