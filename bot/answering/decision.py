"""Answer, answer partially, or decline: a weighted sum of evidence signals against thresholds.

Which calibration applies, first found wins:
1. `<data_dir>/calibration.json`, written by `coe eval --calibrate` on a team's own questions;
2. the generation's `calibration.json`, fitted automatically at ingest on this knowledge
   base's own probes (bot/evaluation/autocalibrate.py): similarity scales differ between
   corpora, so one constant cannot serve every knowledge base;
3. the defaults shipped in calibration.json next to this file (fitted on the bundled set).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from pydantic import BaseModel, Field

from bot.answering.models import Evidence
from bot.answering.retrieval import Retrieval
from ingest.records import ChunkRecord

CALIBRATION_FILE = Path(__file__).with_name("calibration.json")
CALIBRATION_NAME = "calibration.json"
ANSWER, PARTIAL, DECLINE = "answer", "partial", "decline"
TOP_PASSAGES = 3
CONCENTRATION_DEPTH = 5

# similarity carries weight 1; the others are fitted relative to it.
FEATURES = ("coverage", "agreement", "concentration", "unknown", "quote")

# Everyday workplace abbreviations: their absence from a knowledge base says nothing.
_COMMON_ABBREVIATIONS = frozenset(
    [
        "pm",
        "pr",
        "em",
        "dm",
        "ama",
        "faq",
        "eod",
        "eow",
        "asap",
        "fyi",
        "eta",
        "okr",
        "okrs",
        "kpi",
        "kpis",
        "hr",
        "it",
        "qa",
        "ui",
        "ux",
        "api",
        "apis",
        "ai",
        "ml",
        "llm",
        "llms",
        "ceo",
        "cto",
        "cfo",
        "coo",
        "vp",
        "svp",
        "tl",
        "dr",
        "tldr",
        "wfh",
        "ooo",
        "pto",
        "id",
        "ids",
        "url",
        "urls",
        "pdf",
        "csv",
        "json",
        "sql",
        "us",
        "uk",
        "eu",
        "q1",
        "q2",
        "q3",
        "q4",
        "h1",
        "h2",
        "fy",
        "ok",
        "tbd",
        "n/a",
    ]
)
_TOKEN = re.compile(r"[A-Za-z][A-Za-z0-9+&._-]*[A-Za-z0-9]")


class Calibration(BaseModel):
    weights: dict[str, float] = Field(
        default_factory=lambda: {
            "coverage": 0.3,
            "agreement": 0.2,
            "concentration": 0.0,
            "unknown": 0.0,
            "quote": 0.0,
        }
    )
    threshold: float = 0.6
    # Between threshold - partial_margin and threshold the closest passage is shown as a
    # quote that may not answer the question; 0 turns the middle ground off.
    partial_margin: float = 0.0
    # Median confidence of probes drawn from the corpus the rule was fitted on: lets ingest
    # move the threshold to another corpus's scale (bot/evaluation/autocalibrate.py).
    probe_median: float | None = None
    fitted_on: str = "defaults"


def load_calibration(path: Path = CALIBRATION_FILE) -> Calibration:
    try:
        return Calibration.model_validate_json(path.read_text())
    except FileNotFoundError:
        return Calibration()


def save_calibration(calibration: Calibration, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    pending = path.with_suffix(".tmp")  # a reader never sees half a file
    pending.write_text(json.dumps(calibration.model_dump(), indent=2) + "\n")
    pending.replace(path)


def team_calibration_file(data_dir: Path) -> Path:
    return Path(data_dir) / CALIBRATION_NAME


def resolve_calibration(data_dir: Path, generation_dir: Path | None) -> Calibration:
    """The calibration for this knowledge base (see the module docstring for the order)."""
    candidates = [team_calibration_file(data_dir)]
    if generation_dir is not None:
        candidates.append(Path(generation_dir) / CALIBRATION_NAME)
    for path in candidates:
        try:
            return Calibration.model_validate_json(path.read_text())
        except FileNotFoundError:
            continue
        except ValueError as error:  # a damaged file must not stop answers: say so, go on
            import logging

            logging.getLogger(__name__).warning("ignoring calibration %s: %s", path, error)
    return load_calibration()


def term_coverage(
    query_terms: list[str],
    passage_terms: list[frozenset[str]],
    idf: Mapping[str, float],
) -> float:
    """Share of the query's known words (idf-weighted) found in the best passages.

    Words the knowledge base never uses are left out: in a paraphrase they are noise.
    """
    known = {t for t in query_terms if t in idf}
    total = sum(idf[t] for t in known)
    if not total:
        return 0.0
    present = frozenset().union(*passage_terms) if passage_terms else frozenset()
    return sum(idf[t] for t in known if t in present) / total


def _name_shaped(token: str, position: int) -> bool:
    """An acronym, a word with digits, or a capital after the question's first word."""
    return (
        sum(ch.isupper() for ch in token) >= 2
        or any(ch.isdigit() for ch in token)
        or (position > 0 and token[:1].isupper())
    )


def unknown_names(question: str, known: Callable[[str], bool], context: str | None = None) -> int:
    """Names in the question the knowledge base never mentions (0, 1 or 2).

    "Do we have a BAA with provider B?", "the NIST RMF", "A100s or H100s": a question about
    something the documents never name is rarely answered by them, however close its other
    words are. Only name-shaped words count (acronyms, digits, capitals mid-sentence), so
    paraphrases and typos in ordinary words do not.
    """
    found = 0
    for position, match in enumerate(_TOKEN.finditer(question)):
        token = match.group(0)
        shaped = _name_shaped(token, position)
        if not shaped or token.lower() in _COMMON_ABBREVIATIONS or len(token) < 2:
            continue
        if not known(token):
            found += 1
    if context is not None:
        # "the EU AI Act", "NIST AI RMF": every word may be known while the name is not.
        # `context` is the text of the passages found; a name they never spell out is not
        # what they are about.
        text = " ".join(context.lower().split())
        found += sum(1 for name in _name_phrases(question) if name.lower() not in text)
    return min(found, 2)


def _name_phrases(question: str) -> list[str]:
    """Runs of two or more name-shaped words separated by single spaces."""
    names: list[str] = []
    run: list[str] = []
    previous_end = -1
    for position, match in enumerate(_TOKEN.finditer(question)):
        token = match.group(0)
        shaped = _name_shaped(token, position)
        adjacent = question[previous_end : match.start()] == " "
        if shaped and (not run or adjacent):
            run.append(token)
        else:
            if len(run) >= 2:
                names.append(" ".join(run))
            run = [token] if shaped else []
        previous_end = match.end()
    if len(run) >= 2:
        names.append(" ".join(run))
    return names


def evidence_for(
    retrieval: Retrieval,
    chunks: Sequence[ChunkRecord],
    query_terms: list[str],
    passage_terms: Mapping[str, frozenset[str]],
    idf: Mapping[str, float],
    unknown: int = 0,
    quote: float = 0.0,
) -> dict[str, float]:
    dense_docs = [chunks[h.position].doc_id for h in retrieval.dense]
    lexical_docs = [chunks[h.position].doc_id for h in retrieval.lexical]
    top = [passage_terms[chunks[h.position].id] for h in retrieval.dense[:TOP_PASSAGES]]
    head = dense_docs[:CONCENTRATION_DEPTH]
    return {
        "similarity": retrieval.top_similarity,
        "coverage": term_coverage(query_terms, top, idf),
        # Both rankings pointing at the same document is strong evidence it is on topic.
        "agreement": float(bool(dense_docs and lexical_docs and dense_docs[0] == lexical_docs[0])),
        # Answers live in one document; off-topic hits scatter across many.
        "concentration": head.count(head[0]) / len(head) if head else 0.0,
        "unknown": float(unknown),
        # The best single quotable piece of the top passages, by meaning (quotes.py).
        "quote": quote,
    }


def confidence(features: Mapping[str, float], calibration: Calibration) -> float:
    return features["similarity"] + sum(
        calibration.weights.get(name, 0.0) * features.get(name, 0.0) for name in FEATURES
    )


def decide(features: dict[str, float], calibration: Calibration) -> tuple[Evidence, str]:
    """The evidence, and ANSWER, PARTIAL or DECLINE."""
    score = confidence(features, calibration)
    evidence = Evidence(
        **{name: round(value, 4) for name, value in features.items()},
        confidence=round(score, 4),
    )
    if score >= calibration.threshold:
        return evidence, ANSWER
    if calibration.partial_margin and score >= calibration.threshold - calibration.partial_margin:
        return evidence, PARTIAL
    return evidence, DECLINE


def idf_table(document_frequency: Mapping[str, int], documents: int) -> dict[str, float]:
    import math

    return {
        term: math.log(1 + (documents - df + 0.5) / (df + 0.5))
        for term, df in document_frequency.items()
    }
