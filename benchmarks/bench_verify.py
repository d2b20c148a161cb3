"""How the sentence check treats real passages: sentences that are in the cited passage must
be kept; sentences on the same topic from another document, or from anywhere else, should not.

For each in-scope golden question, the top passage is "cited" by
- its own quotable pieces (verbatim);
- pieces of the 2nd-3rd passages when they belong to another document (neighbour);
- a piece of three random passages of other documents (other).

    python -m benchmarks.bench_verify --data-dir DIR [--golden FILE]
"""

from __future__ import annotations

import argparse
import json
import random
from collections import Counter
from pathlib import Path

from bot.answering.retrieval import Passage
from bot.answering.service import AnswerService
from bot.answering.units import quotable_units
from bot.answering.verify import check_claim, parse_claim
from bot.evaluation.golden import load_golden
from ingest.lexical import terms
from ingest.records import ChunkRecord

PER_KIND = 3


def _pieces(chunk: ChunkRecord) -> list[str]:
    return [u.text for u in quotable_units(chunk.text, chunk.heading)]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--golden", type=Path)
    args = parser.parse_args()
    service = AnswerService(args.data_dir)
    service.warm_up()
    rng = random.Random(1)
    kept: dict[str, list[bool]] = {"verbatim": [], "neighbour": [], "other": []}
    reasons: dict[str, Counter[str]] = {kind: Counter() for kind in kept}
    chunks = service.chunks
    for question in load_golden(args.golden).questions:
        if question.out_of_scope:
            continue
        found = service.find(question.question, question.question, question.staff)
        passages = found.result.passages[:5]
        if len(passages) < 2:
            continue
        top: Passage = passages[0]
        doc = top.chunk.doc_id
        candidates = {
            "verbatim": _pieces(top.chunk)[:PER_KIND],
            "neighbour": [
                text
                for p in passages[1:3]
                if p.chunk.doc_id != doc
                for text in _pieces(p.chunk)[:2]
            ],
            "other": [
                text
                for c in rng.sample(chunks, PER_KIND)
                if c.doc_id != doc
                for text in _pieces(c)[:1]
            ],
        }
        source = f"{top.chunk.title}\n{top.chunk.heading}\n{top.chunk.text}"
        source_terms = set(found.loaded.passage_terms.get(top.chunk.id, frozenset()))
        for kind, texts in candidates.items():
            for text in texts:
                claim = parse_claim(f"{text} [1]", len(passages))
                vector = service.embed([claim.text])[0]
                verdict = check_claim(
                    claim,
                    [source],
                    set(terms(claim.text)),
                    source_terms,
                    lambda v=vector, f=found, t=top: service.piece_similarity(f, [t], v),
                )
                kept[kind].append(verdict.kept)
                reasons[kind][verdict.reason.split(":")[0].split(" (")[0] or "kept"] += 1
    print(
        json.dumps(
            {
                kind: {
                    "sentences": len(values),
                    "kept": round(sum(values) / len(values), 3) if values else None,
                    "reasons": dict(reasons[kind].most_common()),
                }
                for kind, values in kept.items()
            }
        )
    )


if __name__ == "__main__":
    main()
