"""The answering service: what the CLI and the Slack app call to answer a question."""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from urllib.parse import quote

import numpy as np

from bot.answering.compose import (
    DEFAULT_HELP_CHANNEL,
    Semantic,
    compose_abstention,
    compose_answer,
    find_checklist,
)
from bot.answering.decision import (
    PARTIAL,
    TOP_PASSAGES,
    Calibration,
    decide,
    evidence_for,
    idf_table,
    load_calibration,
    resolve_calibration,
    unknown_names,
)
from bot.answering.events import AnswerEvent, Final, Found, Writer
from bot.answering.intent import question_intent
from bot.answering.models import Answer, ChecklistLink, Verification
from bot.answering.quotes import QuoteVectors, meaning_texts
from bot.answering.retrieval import Passage, Retrieval, retrieve
from bot.answering.synonyms import expand, load_synonyms
from bot.answering.units import Unit
from ingest.embedding import TextEmbedder, shared_embedder
from ingest.errors import IndexCorruptError, IndexMissingError
from ingest.index_store import KnowledgeIndex
from ingest.lexical import query_terms as question_terms
from ingest.lexical import terms
from ingest.records import ChunkRecord

MAX_QUESTION_CHARS = 2000
# Passages whose quote vectors were embedded at answer time (an index written before ingest
# stored them), kept between questions: ~10 pieces of 1.5 kB each.
QUOTE_CACHE = 2_000
RELOAD_RETRY_S = 5.0
VERIFIED_TTL_S = 30.0  # an owner's verification shows in answers within this long
log = logging.getLogger(__name__)
# A decline this close to the threshold names the nearest documents. Measured with the quote
# signal in the rule: 0.1 keeps 4 of 9 in-scope declines on the bundled set a near miss while
# 22 of 27 declined out-of-scope questions ("when does the cafeteria close?") get a plain
# "not covered" rather than a list of unrelated documents (0.15: 5 of 9, 21 of 27).
NEAR_MISS_MARGIN = 0.1


class EmptyQuestionError(ValueError):
    pass


# Passages whose keyword terms are kept between questions. Tokenising every passage when an
# index opens took seconds and ~1 GB at 100,000 passages; a question reads a few dozen.
PASSAGE_TERMS_CACHE = 4_096


class PassageTerms(Mapping[str, frozenset[str]]):
    """The keyword terms of a passage, by chunk id: cut when first asked for, then kept."""

    def __init__(self, index: KnowledgeIndex) -> None:
        self._index = index
        self._cache: OrderedDict[str, frozenset[str]] = OrderedDict()
        self._lock = threading.Lock()

    def __getitem__(self, chunk_id: str) -> frozenset[str]:
        with self._lock:
            found = self._cache.get(chunk_id)
            if found is not None:
                self._cache.move_to_end(chunk_id)
                return found
        position = self._index.position[chunk_id]  # KeyError for a chunk not in the index
        found = frozenset(terms(self._index.chunks[position].embed_text))
        with self._lock:
            self._cache[chunk_id] = found
            while len(self._cache) > PASSAGE_TERMS_CACHE:
                self._cache.popitem(last=False)
        return found

    def __iter__(self) -> Iterator[str]:
        return iter(self._index.position)

    def __len__(self) -> int:
        return len(self._index.position)

    def __contains__(self, chunk_id: object) -> bool:
        return chunk_id in self._index.position


@dataclass
class _Loaded:
    index: KnowledgeIndex
    passage_terms: PassageTerms
    idf: dict[str, float]
    calibration: Calibration
    quotes: QuoteVectors | None


def _prepare(index: KnowledgeIndex) -> _Loaded:
    return _Loaded(
        index,
        PassageTerms(index),
        idf_table(index.term_document_counts(), max(1, len(index.chunks))),
        resolve_calibration(index.data_dir, index.generation_dir),
        QuoteVectors.load(index.generation_dir, len(index.chunks)),
    )


class AnswerService:
    def __init__(
        self,
        data_dir: Path,
        embedder_factory: Callable[[], TextEmbedder] = shared_embedder,
        calibration: Calibration | None = None,
        today: Callable[[], date] = date.today,
        synonyms_file: Path | None = None,
        source_base_url: str | None = None,
        help_channel: str = DEFAULT_HELP_CHANNEL,
        generation: str | None = None,
        writer: Writer | None = None,
        verifications: Callable[[], Mapping[str, Verification]] | None = None,
    ) -> None:
        """`generation` pins one generation (an ingest checking its work before publishing);
        otherwise the service follows whatever generation is current."""
        self.data_dir = Path(data_dir)
        self._pinned = generation
        self._embedder_factory = embedder_factory
        # An explicit calibration wins; otherwise the knowledge base's own (see decision.py).
        self._calibration = calibration
        self._today = today
        self._synonyms = load_synonyms(synonyms_file)
        self._loaded: _Loaded | None = None
        self._lock = threading.Lock()
        self._retry_at = 0.0
        self.source_base_url = source_base_url
        self.help_channel = help_channel
        self._quote_cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._quote_lock = threading.Lock()
        # With a model configured, answers are written by it and checked (written.py).
        self.writer = writer
        # Owners' verifications by manifest key, read at most every VERIFIED_TTL_S.
        self._verifications = verifications
        self._verified: tuple[float, Mapping[str, Verification]] = (-VERIFIED_TTL_S, {})
        self._doc_keys: tuple[int, dict[str, str]] = (-1, {})

    @property
    def calibration(self) -> Calibration:
        if self._calibration is not None:
            return self._calibration
        try:
            return self._current().calibration
        except (IndexMissingError, IndexCorruptError):
            return load_calibration()

    @calibration.setter
    def calibration(self, value: Calibration | None) -> None:
        self._calibration = value

    def _current(self) -> _Loaded:
        """The index, switched to a newer generation once an ingest has published one.

        One thread loads the new generation while the others keep answering from the one
        they have; if it cannot be loaded (a half-finished rebuild, a disk hiccup), answers
        continue from the old one and the switch is tried again a little later.
        """
        loaded = self._loaded
        if loaded is not None and (
            self._pinned or time.monotonic() < self._retry_at or not loaded.index.is_stale()
        ):
            return loaded
        if loaded is None:
            self._lock.acquire()  # nothing to answer from yet: wait for whoever is loading
        elif not self._lock.acquire(blocking=False):
            return loaded  # another thread is loading the new generation
        try:
            loaded = self._loaded
            if loaded is not None and (self._pinned or not loaded.index.is_stale()):
                return loaded
            try:
                self._loaded = _prepare(KnowledgeIndex(self.data_dir, self._pinned))
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

    def warm_up_embedder(self) -> None:
        self._embedder_factory()

    def retrieve(self, query: str, staff: bool, k: int = 10, vector=None) -> Retrieval:
        return self._retrieve(self._current(), query, staff, k, vector)

    def _retrieve(
        self, loaded: _Loaded, query: str, staff: bool, k: int = 10, vector=None
    ) -> Retrieval:
        # One answer reads one generation: positions in `retrieval` index `loaded`'s chunks,
        # and an ingest may publish the next generation at any moment.
        if vector is None:
            vector = self._embedder_factory().embed_query(query)
        keywords = expand(query, self._synonyms)
        return retrieve(loaded.index, query, vector, staff, k, keyword_query=keywords)

    def _quote_vectors(self, loaded: _Loaded, passage: Passage) -> np.ndarray:
        """The vectors of a passage's quotable pieces: stored at ingest, else embedded once."""
        chunk = passage.chunk
        if loaded.quotes is not None:
            position = loaded.index.position.get(chunk.id)
            if position is not None:
                return loaded.quotes.for_passage(position)
        with self._quote_lock:
            cached = self._quote_cache.get(chunk.id)
            if cached is not None:
                self._quote_cache.move_to_end(chunk.id)
                return cached
        texts = meaning_texts(chunk)
        vectors = self._embedder_factory().embed(texts) if texts else np.zeros((0, 0), np.float32)
        with self._quote_lock:
            self._quote_cache[chunk.id] = vectors
            while len(self._quote_cache) > QUOTE_CACHE:
                self._quote_cache.popitem(last=False)
        return vectors

    def _meaning(self, loaded: _Loaded, question_vector: np.ndarray) -> Semantic:
        """Cosine of each quotable piece of a passage to the question."""

        def score(passage: Passage, pieces: list[Unit]) -> list[float]:
            vectors = self._quote_vectors(loaded, passage)
            if len(vectors) != len(pieces):  # cannot happen with matching code; stay safe
                return [0.0] * len(pieces)
            return [float(x) for x in vectors @ question_vector] if len(pieces) else []

        return score

    def _best_quote(self, loaded: _Loaded, result: Retrieval, question_vector: np.ndarray) -> float:
        """How close the best quotable piece of the top passages comes to the question:
        a passage can share a question's topic without any sentence of it answering."""
        best = 0.0
        for passage in result.passages[:TOP_PASSAGES]:
            vectors = self._quote_vectors(loaded, passage)
            if len(vectors):
                best = max(best, float((vectors @ question_vector).max()))
        return best

    def ask(self, question: str, staff: bool = False, context: str = "") -> Answer:
        """Answers from the knowledge base, or abstains; `context` is earlier conversation."""
        if self.writer is not None:
            final: Answer | None = None
            for event in self.stream(question, staff, context):
                if isinstance(event, Final):
                    final = event.answer
            assert final is not None  # stream() always ends with Final
            return final
        question = _clean(question)
        query = question[:MAX_QUESTION_CHARS]
        if context:
            # A follow-up ("what about vendors?") is searched together with what came before.
            query = f"{query} {context}"[:MAX_QUESTION_CHARS]
        self._current()
        self._embedder_factory()  # loading the index and model is start-up cost, not latency
        started = time.perf_counter()
        found = self.find(question, query, staff)
        answer = self.extractive(found)
        self.link_sources(answer)
        answer.latency_ms = round((time.perf_counter() - started) * 1000, 1)
        return answer

    def stream(
        self,
        question: str,
        staff: bool = False,
        context: str = "",
        turns: list[tuple[str, str]] | None = None,
    ) -> Iterator[AnswerEvent]:
        """The answer as it is made: status lines, each verified sentence, then `Final`.

        Without a model this is `ask()` as one `Final`. `turns` are a thread's earlier
        (question, answer) pairs; with a model a follow-up is rewritten from them.
        """
        if self.writer is None:
            yield Final(self.ask(question, staff, context))
            return
        question = _clean(question)
        yield from self.writer.write(self, question, staff, context, turns or [])

    def find(self, question: str, query: str, staff: bool) -> Found:
        """Retrieval and the answer/decline decision for one question."""
        loaded = self._current()
        embedder = self._embedder_factory()  # loading the model is start-up cost, not latency
        vector = embedder.embed_query(query)
        result = self._retrieve(loaded, query, staff, vector=vector)
        question_vector = (
            vector if query == question[:MAX_QUESTION_CHARS] else embedder.embed_query(question)
        )
        features = self._features(loaded, question, result, question_vector)
        calibration = self._calibration or loaded.calibration
        evidence, verdict = decide(features, calibration)
        return Found(
            loaded=loaded,
            question=question,
            query=query,
            result=result,
            question_vector=question_vector,
            evidence=evidence,
            verdict=verdict,
            threshold=calibration.threshold,
            searched=loaded.index.document_count(staff),
        )

    def checklist_for(self, found: Found) -> ChecklistLink | None:
        loaded = found.loaded
        return find_checklist(
            set(terms(found.question[:MAX_QUESTION_CHARS])),
            found.result.passages,
            lambda d: _checklist_counts(loaded, d),
        )

    def extractive(self, found: Found) -> Answer:
        """Quotes that answer the question, or the honest decline."""
        question, result, evidence = found.question, found.result, found.evidence
        answer: Answer | None = None
        if found.answerable:
            answer = compose_answer(
                question,
                result.passages,
                # "who"/"how" would match any sentence that has them; pick on topic words.
                question_terms(question[:MAX_QUESTION_CHARS]),
                terms,
                self.checklist_for(found),
                evidence,
                found.searched,
                self._today(),
                intent=question_intent(question),
                semantic=self._meaning(found.loaded, found.question_vector),
                partial=found.verdict == PARTIAL,
            )
            if not answer.sentences:
                answer = None  # nothing quotable survived: not an answer
        if answer is None:
            answer = self.decline(
                found, near=evidence.confidence >= found.threshold - NEAR_MISS_MARGIN
            )
        return answer

    def today(self) -> date:
        return self._today()

    def decline(self, found: Found, near: bool) -> Answer:
        return compose_abstention(
            found.question,
            found.result.passages,
            found.evidence,
            found.searched,
            near,
            self._today(),
            help_channel=self.help_channel,
        )

    def piece_similarity(self, found: Found, passages: list[Passage], vector: np.ndarray) -> float:
        """Cosine of `vector` to the closest quotable piece of `passages` (verification)."""
        best = 0.0
        for passage in passages:
            vectors = self._quote_vectors(found.loaded, passage)
            if len(vectors):
                best = max(best, float((vectors @ vector).max()))
        return best

    def _features(
        self, loaded: _Loaded, question: str, result: Retrieval, question_vector: np.ndarray
    ) -> dict[str, float]:
        return evidence_for(
            result,
            loaded.index.chunks,
            terms(question[:MAX_QUESTION_CHARS]),
            loaded.passage_terms,
            loaded.idf,
            unknown=unknown_names(
                question,
                lambda word: all(t in loaded.idf for t in terms(word)),
                context=" ".join(p.chunk.embed_text for p in result.passages),
            ),
            quote=self._best_quote(loaded, result, question_vector),
        )

    def embed(self, texts: list[str]) -> np.ndarray:
        return self._embedder_factory().embed(texts)

    def confidence(
        self, question: str, calibration: Calibration, staff: bool = False, vector=None
    ) -> float:
        """How strongly the knowledge base supports an answer, before any threshold;
        `vector` is the question's embedding when the caller embedded many in one batch."""
        loaded = self._current()
        question = " ".join(question.split())[:MAX_QUESTION_CHARS]
        if vector is None:
            vector = self._embedder_factory().embed_query(question)
        result = self._retrieve(loaded, question, staff, vector=vector)
        features = self._features(loaded, question, result, vector)
        return decide(features, calibration)[0].confidence

    @property
    def chunks(self) -> Sequence[ChunkRecord]:
        return self._current().index.chunks

    def link_sources(self, answer: Answer) -> None:
        """Documents without a `url` link to COE_SOURCE_BASE_URL + their path, if set; a
        document its owner verified shows it (and is not stale until the new date)."""
        self._mark_verified(answer)
        if not self.source_base_url:
            return
        base = self.source_base_url.rstrip("/") + "/"
        for source in [*answer.sources, *answer.related]:
            if not source.url:
                source.url = base + quote(source.doc_id)

    def _mark_verified(self, answer: Answer) -> None:
        if self._verifications is None:
            return
        now = time.monotonic()
        at, verified = self._verified
        if now - at >= VERIFIED_TTL_S:
            try:
                verified = self._verifications()
            except Exception as error:  # the database is down: answers go on without it
                log.warning("owners' verifications not read: %s", error)
            self._verified = (now, verified)
        if not verified:
            return
        keys = self._keys_by_doc_id()
        today = self._today()
        for source in [*answer.sources, *answer.related]:
            found = verified.get(keys.get(source.doc_id, ""))
            if found is None or (source.review_by and found.review_by <= source.review_by):
                continue
            source.review_by, source.stale = found.review_by, found.review_by < today
            source.verified_by, source.verified_on = found.by, found.on

    def _keys_by_doc_id(self) -> dict[str, str]:
        manifest = self.index.manifest
        generation, keys = self._doc_keys
        if generation != manifest.generation:
            keys = {entry.doc_id: key for key, entry in manifest.by_source().items()}
            self._doc_keys = (manifest.generation, keys)
        return keys

    def passages(self, query: str, staff: bool, k: int = 10) -> list[Passage]:
        return self.retrieve(query, staff, k).passages


def _clean(question: str) -> str:
    question = " ".join(question.split())
    if not question:
        raise EmptyQuestionError("ask a question: the text was empty")
    return question


def _checklist_counts(loaded: _Loaded, doc_id: str) -> tuple[int, int] | None:
    for entry in loaded.index.manifest.files.values():
        if entry.doc_id == doc_id and entry.checklist is not None:
            return entry.checklist.item_count, len(entry.checklist.sections)
    return None
