"""Fits the answer/abstain rule on labelled questions (pure functions).

The product's first duty is not to invent: the rule must decline at least `min_recall` of
the out-of-scope questions; among rules that do, it answers as many in-scope questions as
possible, and among equals keeps the widest margin around the threshold.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from datetime import date

from bot.answering.decision import FEATURES, Calibration, confidence

GRID = {
    "coverage": (0.0, 0.1, 0.2, 0.3, 0.5),
    "agreement": (0.0, 0.05, 0.1, 0.15, 0.2),
    "concentration": (0.0, 0.1, 0.2, 0.3),
    "unknown": (0.0, -0.1, -0.2, -0.3),
    "quote": (0.0, 0.25, 0.5, 0.75, 1.0),
}

Features = Mapping[str, float]


def _best_threshold(
    scores: Sequence[float], oos: Sequence[bool], min_recall: float
) -> tuple[tuple[float, float, float], float] | None:
    """((recall met, answered share, margin), threshold) of the best cut for these scores."""
    in_scope = [s for s, o in zip(scores, oos, strict=True) if not o]
    out = [s for s, o in zip(scores, oos, strict=True) if o]
    values = sorted(set(scores))
    best = None
    for low, high in itertools.pairwise(values):
        threshold = (low + high) / 2
        recall = sum(1 for s in out if s < threshold) / len(out) if out else 1.0
        answered = sum(1 for s in in_scope if s >= threshold) / len(in_scope) if in_scope else 1.0
        key = (
            float(recall >= min_recall),
            answered if recall >= min_recall else recall,
            high - low,
        )
        if best is None or key > best[0]:
            best = (key, threshold)
    return best


def fit(
    features: Sequence[Features], oos: Sequence[bool], min_recall: float = 0.9, label: str = ""
) -> Calibration:
    best = None
    for values in itertools.product(*(GRID[name] for name in FEATURES)):
        trial = Calibration(weights=dict(zip(FEATURES, values, strict=True)))
        scores = [confidence(f, trial) for f in features]
        found = _best_threshold(scores, oos, min_recall)
        if found is None:
            continue
        # Between rules the labelled questions cannot tell apart, take the one that trusts
        # less a question naming things the knowledge base never mentions: a golden set has
        # few such questions, and a new knowledge base's near-domain ones often do ("SHAP",
        # "the EU AI Act"). Not inventing comes first.
        rank = (*found[0], -trial.weights["unknown"])
        if best is None or rank > best[0]:
            best = (rank, trial.weights, found[1])
    if best is None:
        return Calibration()
    return Calibration(
        weights=best[1],
        threshold=round(best[2], 4),
        fitted_on=label or f"{len(features)} golden questions on {date.today().isoformat()}",
    )


def cross_validated_decisions(
    features: Sequence[Features], oos: Sequence[bool], min_recall: float = 0.9, folds: int = 5
) -> list[bool]:
    """Abstain decisions where each question is judged by a rule fitted without it."""
    decisions = [False] * len(features)
    for fold in range(folds):
        train = [i for i in range(len(features)) if i % folds != fold]
        rule = fit([features[i] for i in train], [oos[i] for i in train], min_recall)
        for i in range(fold, len(features), folds):
            decisions[i] = confidence(features[i], rule) < rule.threshold
    return decisions
