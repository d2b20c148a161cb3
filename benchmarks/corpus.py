"""Generated corpora for benchmarks: realistic sentences from the bundled knowledge base,
shuffled into many documents, so chunk sizes and vocabulary match real use."""

from __future__ import annotations

import random
import re
from pathlib import Path

from ingest import bundled_knowledge_dir


def sentence_pool() -> list[str]:
    found: list[str] = []
    for path in sorted(bundled_knowledge_dir().rglob("*.md")):
        body = path.read_text(encoding="utf-8").split("---", 2)[-1]
        for line in body.splitlines():
            line = line.strip()
            if line and not line.startswith(("#", "|", "-")):
                found.extend(s for s in re.split(r"(?<=[.!?])\s+", line) if len(s.split()) > 5)
    return found


def write_corpus(folder: Path, documents: int, sections: int, seed: int = 7) -> Path:
    """`documents` Markdown files of `sections` sections of ~120 words each (one chunk apiece)."""
    rng = random.Random(seed)
    pool = sentence_pool()
    folder.mkdir(parents=True, exist_ok=True)
    for n in range(documents):
        parts = [
            f"---\ntitle: Generated document {n}\nowner: Bench\n---\n# Generated document {n}\n"
        ]
        for s in range(sections):
            words: list[str] = []
            while len(words) < 110:
                words.extend(rng.choice(pool).split())
            parts.append(f"## Section {s}\n\n{' '.join(words)}\n")
        (folder / f"doc-{n:05d}.md").write_text("\n".join(parts), encoding="utf-8")
    return folder
