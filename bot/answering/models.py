"""What an answer is, independent of where it is shown (terminal, JSON, Slack)."""

from __future__ import annotations

from datetime import date
from typing import Any, NamedTuple

from pydantic import BaseModel, Field, SerializerFunctionWrapHandler, model_serializer


class Verification(NamedTuple):
    """An owner's "still accurate" (bot.enablement.reviews): who, when, and until when."""

    review_by: date
    by: str
    on: date


class Source(BaseModel):
    number: int
    title: str
    source: str  # canonical URL, else the document's path in the knowledge base
    url: str | None = None
    doc_id: str
    owner: str | None = None
    review_by: date | None = None
    stale: bool = False
    verified_by: str | None = None  # an owner's "still accurate", fresher than the file's date
    verified_on: date | None = None
    audience: str = "everyone"
    doc_type: str | None = None
    heading: str = ""
    text: str  # the cited passage
    cited: bool = True  # False for further reading listed after the cited sources


class AnswerSentence(BaseModel):
    text: str
    source_number: int
    kind: str = "sentence"  # sentence | item (of a quoted list) | row (of a table) | more
    # Every source a written sentence cites (the first is `source_number`); None for quotes.
    source_numbers: list[int] | None = None

    @model_serializer(mode="wrap")
    def _omit_unset(self, handler: SerializerFunctionWrapHandler) -> Any:
        return _without_none(handler(self), ("source_numbers",))

    @property
    def markers(self) -> str:
        return "".join(f"[{n}]" for n in self.source_numbers or [self.source_number])


class Dropped(BaseModel):
    """A sentence the model wrote that was not shown, and why."""

    text: str
    reason: str


class Written(BaseModel):
    """How a model-written answer came about: kept for staff to audit and for usage reports."""

    model: str
    standalone_question: str | None = None  # a thread follow-up, rewritten by the model
    kept: int = 0  # sentences shown
    dropped: list[Dropped] = Field(default_factory=list)
    fallback: str | None = None  # why the quotes were shown instead, if they were
    tokens_in: int = 0
    tokens_out: int = 0
    first_sentence_ms: float | None = None
    total_ms: float = 0.0


class ChecklistLink(BaseModel):
    title: str
    source: str
    url: str | None = None
    doc_id: str
    item_count: int
    section_count: int


class Evidence(BaseModel):
    """The signals the answer/abstain decision used, kept for evaluation and debugging."""

    similarity: float = 0.0  # cosine similarity of the best passage
    coverage: float = 0.0  # share of the question's words found in the best passages
    agreement: float = 0.0  # 1 when dense and keyword search agree on the top document
    concentration: float = 0.0  # share of the top passages from the top document
    unknown: float = 0.0  # names in the question the knowledge base never mentions (0-2)
    quote: float = 0.0  # cosine similarity of the closest quotable piece of the top passages
    confidence: float = 0.0


class Answer(BaseModel):
    question: str
    abstained: bool
    # answered; partial (the closest passage, flagged as maybe not answering); declined
    outcome: str = "answered"
    answer: str  # plain text, with [n] markers pointing at sources
    sentences: list[AnswerSentence] = Field(default_factory=list)
    sources: list[Source] = Field(default_factory=list)
    checklist: ChecklistLink | None = None
    searched_documents: int = 0
    related: list[Source] = Field(default_factory=list)  # closest documents when declining
    evidence: Evidence = Field(default_factory=Evidence)
    latency_ms: float = 0.0
    # Only with a model configured: what it wrote and what verification left out, and a line
    # for people ("3 sentences written by …", "the model was unavailable, quotes instead").
    written: Written | None = None
    note: str | None = None

    @model_serializer(mode="wrap")
    def _omit_unset(self, handler: SerializerFunctionWrapHandler) -> Any:
        # Without a model the JSON stays exactly as before these fields existed.
        return _without_none(handler(self), ("written", "note"))


def _without_none(data: Any, keys: tuple[str, ...]) -> Any:
    if isinstance(data, dict):
        for key in keys:
            if data.get(key, 0) is None:
                del data[key]
    return data
