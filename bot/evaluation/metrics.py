"""Ranking and abstention metrics (pure functions)."""

from __future__ import annotations

import math
from collections.abc import Sequence

from pydantic import BaseModel


class RankingMetrics(BaseModel):
    hit_at_1: float
    hit_at_3: float
    mrr: float
    ndcg_at_10: float


class AbstentionMetrics(BaseModel):
    precision: float  # of the questions declined, the share that were out of scope
    recall: float  # of the out-of-scope questions, the share declined
    in_scope_answered: float  # of the in-scope questions, the share answered


def first_relevant_rank(ranking: Sequence[str], relevant: set[str]) -> int | None:
    for rank, doc in enumerate(ranking, 1):
        if doc in relevant:
            return rank
    return None


def ndcg(ranking: Sequence[str], relevant: set[str], k: int = 10) -> float:
    gains = sum(1 / math.log2(r + 1) for r, d in enumerate(ranking[:k], 1) if d in relevant)
    ideal = sum(1 / math.log2(r + 1) for r in range(1, min(k, len(relevant)) + 1))
    return gains / ideal if ideal else 0.0


def ranking_metrics(
    rankings: Sequence[Sequence[str]], relevant: Sequence[set[str]]
) -> RankingMetrics:
    n = len(rankings)
    if n == 0:
        return RankingMetrics(hit_at_1=0, hit_at_3=0, mrr=0, ndcg_at_10=0)
    ranks = [first_relevant_rank(r, rel) for r, rel in zip(rankings, relevant, strict=True)]
    return RankingMetrics(
        hit_at_1=sum(1 for r in ranks if r == 1) / n,
        hit_at_3=sum(1 for r in ranks if r is not None and r <= 3) / n,
        mrr=sum(1 / r for r in ranks if r is not None and r <= 10) / n,
        ndcg_at_10=sum(ndcg(r, rel) for r, rel in zip(rankings, relevant, strict=True)) / n,
    )


def abstention_metrics(
    abstained: Sequence[bool], out_of_scope: Sequence[bool]
) -> AbstentionMetrics:
    declined = sum(abstained)
    correct = sum(1 for a, o in zip(abstained, out_of_scope, strict=True) if a and o)
    oos = sum(out_of_scope)
    in_scope = len(out_of_scope) - oos
    answered = sum(1 for a, o in zip(abstained, out_of_scope, strict=True) if not a and not o)
    return AbstentionMetrics(
        precision=correct / declined if declined else 1.0,
        recall=correct / oos if oos else 1.0,
        in_scope_answered=answered / in_scope if in_scope else 1.0,
    )
