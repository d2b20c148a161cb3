"""What an answer is, independent of where it is shown (terminal, JSON, Slack)."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, Field


class Source(BaseModel):
    number: int
    title: str
    source: str  # canonical URL, else the document's path in the knowledge base
    url: str | None = None
    doc_id: str
    owner: str | None = None
    review_by: date | None = None
    stale: bool = False
    audience: str = "everyone"
    doc_type: str | None = None
    heading: str = ""
    text: str  # the cited passage
    cited: bool = True  # False for further reading listed after the cited sources


class AnswerSentence(BaseModel):
    text: str
    source_number: int
    kind: str = "sentence"  # sentence | item (of a quoted list) | row (of a table) | more


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
