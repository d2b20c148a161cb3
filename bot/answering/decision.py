"""Answer or abstain: a threshold on two evidence signals, fitted on the golden set.

`coe eval --calibrate` refits the parameters and writes them to calibration.json.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from pathlib import Path

from pydantic import BaseModel

from bot.answering.models import Evidence
from bot.answering.retrieval import Passage

CALIBRATION_FILE = Path(__file__).with_name("calibration.json")
COVERAGE_PASSAGES = 3


class Calibration(BaseModel):
    coverage_weight: float = 0.3
    threshold: float = 0.55
    fitted_on: str = "defaults"


def load_calibration(path: Path = CALIBRATION_FILE) -> Calibration:
    try:
        return Calibration.model_validate_json(path.read_text())
    except FileNotFoundError:
        return Calibration()


def save_calibration(calibration: Calibration, path: Path = CALIBRATION_FILE) -> None:
    path.write_text(json.dumps(calibration.model_dump(), indent=2) + "\n")


def term_coverage(
    query_terms: list[str],
    passages: list[Passage],
    passage_terms: Mapping[str, frozenset[str]],
    idf: Mapping[str, float],
    unseen_idf: float,
) -> float:
    """Share of the query's informative words (idf-weighted) found in the best passages."""
    unique = set(query_terms)
    if not unique:
        return 0.0
    present: set[str] = set()
    for passage in passages[:COVERAGE_PASSAGES]:
        present |= passage_terms.get(passage.chunk.id, frozenset())
    total = sum(idf.get(t, unseen_idf) for t in unique)
    found = sum(idf.get(t, unseen_idf) for t in unique if t in present)
    return found / total if total else 0.0


def evidence_for(top_similarity: float, coverage: float, calibration: Calibration) -> Evidence:
    confidence = top_similarity + calibration.coverage_weight * coverage
    return Evidence(
        top_similarity=round(top_similarity, 4),
        term_coverage=round(coverage, 4),
        confidence=round(confidence, 4),
    )


def should_abstain(evidence: Evidence, calibration: Calibration) -> bool:
    return evidence.confidence < calibration.threshold


def idf_table(document_frequency: Mapping[str, int], documents: int) -> tuple[dict[str, float], float]:
    idf = {
        term: math.log(1 + (documents - df + 0.5) / (df + 0.5))
        for term, df in document_frequency.items()
    }
    unseen = math.log(1 + (documents + 0.5) / 0.5)
    return idf, unseen
