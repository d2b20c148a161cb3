"""Fits the answer/decline threshold to a knowledge base at ingest, with no labelled questions.

The shipped rule was fitted on the bundled knowledge base, but similarity runs on a different
scale in every corpus: short, uniform documents score higher against any question than long,
varied ones. Measured on the bundled set and on the Fairlearn docs, the same question wording
lands about 0.1 higher in the second, so its out-of-scope questions passed the shipped
threshold.

The probes are fragments of the knowledge base's own prose: 8 words from the middle of a
sentence, which is roughly how much of a document a person's question shares with it. Their
median confidence says how high this corpus scores things it does cover; the threshold moves
by the difference from the bundled corpus's median (stored with the shipped calibration), so
the rule keeps its place relative to the corpus. The shift is capped: a corpus that strange
needs `coe eval --calibrate` on its own questions, which always wins over this.
"""

from __future__ import annotations

import logging
import random
import statistics
from collections.abc import Callable, Sequence
from pathlib import Path

from bot.answering.compose import units
from bot.answering.decision import (
    CALIBRATION_NAME,
    Calibration,
    load_calibration,
    save_calibration,
)
from bot.answering.service import AnswerService
from ingest.embedding import TextEmbedder, shared_embedder
from ingest.records import ChunkRecord

log = logging.getLogger(__name__)

PROBES = 200  # ~2 s at ingest; with 80 the median still moved ±0.04 between samples
MIN_PROBES = 40  # fewer, and the median is noise: keep the shipped rule
PROBE_WORDS = 8
MIN_SENTENCE_WORDS = 8
MAX_SHIFT = 0.1
SEED = 0  # the same knowledge base always gets the same calibration


def probe_questions(chunks: Sequence[ChunkRecord], count: int = PROBES) -> list[str]:
    """Fragments of the knowledge base's own sentences, one per sampled chunk."""
    rng = random.Random(SEED)
    picked = rng.sample(range(len(chunks)), min(count, len(chunks)))
    probes: list[str] = []
    for position in sorted(picked):
        sentences = [
            u for u in units(chunks[position].text) if len(u.split()) >= MIN_SENTENCE_WORDS
        ]
        if not sentences:
            continue
        words = sentences[len(sentences) // 2].split()
        start = len(words) // 4
        probes.append(" ".join(words[start : start + PROBE_WORDS]))
    return probes


def probe_median(service: AnswerService, calibration: Calibration) -> tuple[float, int] | None:
    """(median probe confidence, probes asked), or None when the corpus is too small."""
    probes = probe_questions(service.chunks)
    if len(probes) < MIN_PROBES:
        return None
    vectors = service.embed(probes)  # one batch: a fifth of the time of one at a time
    scores = [
        service.confidence(p, calibration, staff=True, vector=v)
        for p, v in zip(probes, vectors, strict=True)
    ]
    return statistics.median(scores), len(probes)


def fit_to_corpus(service: AnswerService, shipped: Calibration) -> Calibration | None:
    """The shipped rule moved to this corpus's scale; None when it cannot be measured."""
    if shipped.probe_median is None:
        return None
    measured = probe_median(service, shipped)
    if measured is None:
        return None
    median, count = measured
    shift = max(-MAX_SHIFT, min(MAX_SHIFT, median - shipped.probe_median))
    return shipped.model_copy(
        update={
            "threshold": round(shipped.threshold + shift, 4),
            "probe_median": round(median, 4),
            "fitted_on": (
                f"this knowledge base at ingest: {count} probes from its own sentences, "
                f"median {median:.3f} vs {shipped.probe_median:.3f} for the shipped rule, "
                f"threshold moved {shift:+.3f}"
            ),
        }
    )


def calibrate_generation(
    data_dir: Path, name: str, embedder_factory: Callable[[], TextEmbedder] = shared_embedder
) -> Calibration | None:
    """Writes `calibration.json` into generation `name` (not yet current); see module doc."""
    service = AnswerService(data_dir, embedder_factory=embedder_factory, generation=name)
    fitted = fit_to_corpus(service, load_calibration())
    if fitted is not None:
        save_calibration(fitted, service.index.generation_dir / CALIBRATION_NAME)
        log.info("calibrated generation %s: %s", name, fitted.fitted_on)
    return fitted
