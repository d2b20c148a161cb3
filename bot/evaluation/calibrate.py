"""Fits the answer/abstain rule on labelled questions (pure functions)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from bot.answering.decision import Calibration

WEIGHTS = [round(0.05 * i, 2) for i in range(0, 17)]


def _balanced_accuracy(confidence: Sequence[float], oos: Sequence[bool], threshold: float) -> float:
    in_scope = [c for c, o in zip(confidence, oos, strict=True) if not o]
    out = [c for c, o in zip(confidence, oos, strict=True) if o]
    answered = sum(1 for c in in_scope if c >= threshold) / len(in_scope) if in_scope else 1.0
    declined = sum(1 for c in out if c < threshold) / len(out) if out else 1.0
    return (answered + declined) / 2


def fit(
    features: Sequence[tuple[float, float]], oos: Sequence[bool], label: str = ""
) -> Calibration:
    """Best balanced accuracy; among equals, the threshold with the widest margin."""
    best: tuple[float, float, float, float] | None = None  # accuracy, margin, weight, threshold
    for weight in WEIGHTS:
        confidence = [s + weight * c for s, c in features]
        values = sorted(set(confidence))
        for low, high in zip(values, values[1:], strict=False):
            threshold = (low + high) / 2
            score = (_balanced_accuracy(confidence, oos, threshold), (high - low) / 2)
            if best is None or score > best[:2]:
                best = (*score, weight, threshold)
    if best is None:
        return Calibration()
    return Calibration(
        coverage_weight=best[2],
        threshold=round(best[3], 4),
        fitted_on=label or f"{len(features)} golden questions, {date.today().isoformat()}",
    )


def cross_validated_decisions(
    features: Sequence[tuple[float, float]], oos: Sequence[bool], folds: int = 5
) -> list[bool]:
    """Abstain decisions where each question is judged by a rule fitted without it."""
    decisions = [False] * len(features)
    for fold in range(folds):
        train = [i for i in range(len(features)) if i % folds != fold]
        test = [i for i in range(len(features)) if i % folds == fold]
        rule = fit([features[i] for i in train], [oos[i] for i in train])
        for i in test:
            similarity, coverage = features[i]
            decisions[i] = similarity + rule.coverage_weight * coverage < rule.threshold
    return decisions
