"""The answering service: what the CLI and the Slack app call to answer a question."""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from bot.answering.compose import compose_abstention, compose_answer, find_checklist
from bot.answering.decision import Calibration, decide, evidence_for, idf_table, load_calibration
from bot.answering.models import Answer
from bot.answering.retrieval import Passage, Retrieval, retrieve
from bot.answering.synonyms import expand, load_synonyms
from ingest.embedding import Embedder, shared_embedder
from ingest.errors import IndexCorruptError, IndexMissingError
from ingest.index_store import KnowledgeIndex
from ingest.lexical import lexical_terms, terms
from ingest.lexical import query_terms as question_terms

MAX_QUESTION_CHARS = 2000
RELOAD_RETRY_S = 5.0
log = logging.getLogger(__name__)
NEAR_MISS_MARGIN = 0.15


class EmptyQuestionError(ValueError):
    pass


@dataclass
class _Loaded:
    index: KnowledgeIndex
    passage_terms: dict[str, frozenset[str]]
    idf: dict[str, float]


def _prepare(index: KnowledgeIndex) -> _Loaded:
    tokenized = lexical_terms([c.embed_text for c in index.chunks]) if index.chunks else []
    passage_terms = {c.id: frozenset(t) for c, t in zip(index.chunks, tokenized, strict=True)}
    frequency: Counter[str] = Counter()
    for words in passage_terms.values():
        frequency.update(words)
    return _Loaded(index, passage_terms, idf_table(frequency, max(1, len(index.chunks))))


class AnswerService:
    def __init__(
        self,
        data_dir: Path,
        embedder_factory: Callable[[], Embedder] = shared_embedder,
        calibration: Calibration | None = None,
        today: Callable[[], date] = date.today,
        synonyms_file: Path | None = None,
    ) -> None:
        self.data_dir = Path(data_dir)
        self._embedder_factory = embedder_factory
        self.calibration = calibration or load_calibration()
        self._today = today
        self._synonyms = load_synonyms(synonyms_file)
        self._loaded: _Loaded | None = None
        self._lock = threading.Lock()
        self._retry_at = 0.0

    def _current(self) -> _Loaded:
        """The index, switched to a newer generation once an ingest has published one.

        One thread loads the new generation while the others keep answering from the one
        they have; if it cannot be loaded (a half-finished rebuild, a disk hiccup), answers
        continue from the old one and the switch is tried again a little later.
        """
        loaded = self._loaded
        if loaded is not None and (
            time.monotonic() < self._retry_at or not loaded.index.is_stale()
        ):
            return loaded
        if loaded is None:
            self._lock.acquire()  # nothing to answer from yet: wait for whoever is loading
        elif not self._lock.acquire(blocking=False):
            return loaded  # another thread is loading the new generation
        try:
            loaded = self._loaded
            if loaded is not None and not loaded.index.is_stale():
                return loaded
            try:
                self._loaded = _prepare(KnowledgeIndex(self.data_dir))
            except (IndexMissingError, IndexCorruptError, OSError, ValueError) as error:
                if loaded is None:
                    raise
                log.warning("keeping generation %s: %s", loaded.index.generation, error)
                self._retry_at = time.monotonic() + RELOAD_RETRY_S
                return loaded
            return self._loaded
        finally:
            self._lock.release()

    @property
    def index(self) -> KnowledgeIndex:
        return self._current().index

    def warm_up(self) -> None:
        self._current()
        self._embedder_factory().embed_query("warm up")

    def retrieve(self, query: str, staff: bool, k: int = 10) -> Retrieval:
        loaded = self._current()
        vector = self._embedder_factory().embed_query(query)
        keywords = expand(query, self._synonyms)
        return retrieve(loaded.index, query, vector, staff, k, keyword_query=keywords)

    def ask(self, question: str, staff: bool = False, context: str = "") -> Answer:
        """Answers from the knowledge base, or abstains; `context` is earlier conversation."""
        question = " ".join(question.split())
        if not question:
            raise EmptyQuestionError("ask a question: the text was empty")
        query = question[:MAX_QUESTION_CHARS]
        if context:
            # A follow-up ("what about vendors?") is searched together with what came before.
            query = f"{query} {context}"[:MAX_QUESTION_CHARS]
        loaded = self._current()
        self._embedder_factory()  # loading the model is start-up cost, not answer latency
        started = time.perf_counter()
        result = self.retrieve(query, staff)
        query_terms = terms(question[:MAX_QUESTION_CHARS])
        features = evidence_for(
            result, loaded.index.chunks, query_terms, loaded.passage_terms, loaded.idf
        )
        evidence, abstain = decide(features, self.calibration)
        searched = loaded.index.document_count(staff)
        if not result.passages or abstain:
            near = evidence.confidence >= self.calibration.threshold - NEAR_MISS_MARGIN
            answer = compose_abstention(
                question, result.passages, evidence, searched, near, self._today()
            )
        else:
            checklist = find_checklist(set(query_terms), result.passages, self._checklist_counts)
            answer = compose_answer(
                question,
                result.passages,
                # "who"/"how" would match any sentence that has them; pick on topic words.
                question_terms(question[:MAX_QUESTION_CHARS]),
                terms,
                checklist,
                evidence,
                searched,
                self._today(),
            )
        answer.latency_ms = round((time.perf_counter() - started) * 1000, 1)
        return answer

    def _checklist_counts(self, doc_id: str) -> tuple[int, int] | None:
        for entry in self._current().index.manifest.files.values():
            if entry.doc_id == doc_id and entry.checklist is not None:
                return entry.checklist.item_count, len(entry.checklist.sections)
        return None

    def passages(self, query: str, staff: bool, k: int = 10) -> list[Passage]:
        return self.retrieve(query, staff, k).passages
