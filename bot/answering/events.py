"""What one question's search found, and the events an answer is made of as it streams."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from bot.answering.decision import ANSWER, PARTIAL
from bot.answering.models import Answer, AnswerSentence, Evidence
from bot.answering.retrieval import Retrieval

if TYPE_CHECKING:
    import numpy as np


@dataclass
class Found:
    loaded: Any  # the index generation answered from (service._Loaded)
    question: str
    query: str  # what was searched: the question, with a thread's context if any
    result: Retrieval
    question_vector: np.ndarray
    evidence: Evidence
    verdict: str
    threshold: float
    searched: int  # documents the asker may see

    @property
    def answerable(self) -> bool:
        return bool(self.result.passages) and self.verdict in (ANSWER, PARTIAL)


@dataclass(frozen=True)
class Status:
    """What the assistant is doing ("searching the knowledge base…")."""

    text: str


@dataclass(frozen=True)
class Caveat:
    """Shown before the first sentence: the evidence only partly covers the question."""

    text: str


@dataclass(frozen=True)
class Verified:
    """A sentence that passed verification, numbered as in the final answer's sources."""

    sentence: AnswerSentence


@dataclass(frozen=True)
class Final:
    answer: Answer


AnswerEvent = Status | Caveat | Verified | Final


class Writer(Protocol):
    """What the answer service needs of a model-backed writer (written.AnswerWriter)."""

    @property
    def model_name(self) -> str: ...

    def write(
        self,
        service: Any,
        question: str,
        staff: bool,
        context: str,
        turns: list[tuple[str, str]],
    ) -> Iterator[AnswerEvent]: ...
