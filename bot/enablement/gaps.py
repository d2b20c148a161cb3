"""Knowledge gaps: unanswered or down-voted questions grouped by meaning, biggest group first."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from pydantic import BaseModel

SAME_TOPIC = 0.6  # cosine similarity above which two questions ask the same thing


class Gap(BaseModel):
    example: str  # the question closest to the group's centre
    questions: list[str]

    @property
    def count(self) -> int:
        return len(self.questions)


def group_questions(
    questions: list[str], embed: Callable[[list[str]], np.ndarray], threshold: float = SAME_TOPIC
) -> list[Gap]:
    if not questions:
        return []
    vectors = embed(questions)
    groups: list[list[int]] = []
    centroids: list[np.ndarray] = []
    for i, vector in enumerate(vectors):
        scores = [float(c @ vector) for c in centroids]
        best = int(np.argmax(scores)) if scores else -1
        if best >= 0 and scores[best] >= threshold:
            groups[best].append(i)
            centre = vectors[groups[best]].mean(axis=0)
            centroids[best] = centre / np.linalg.norm(centre)
        else:
            groups.append([i])
            centroids.append(vector)
    gaps = []
    for members, centre in zip(groups, centroids, strict=True):
        example = max(members, key=lambda i: float(vectors[i] @ centre))
        gaps.append(Gap(example=questions[example], questions=[questions[i] for i in members]))
    return sorted(gaps, key=lambda g: (-g.count, g.example))
