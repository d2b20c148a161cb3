"""The golden set: questions with the documents that answer them, or none (out of scope)."""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import BaseModel, Field, ValidationError, model_validator

from ingest import bundled_knowledge_dir


class GoldenQuestion(BaseModel):
    question: str = Field(min_length=3)
    expected: list[str] = Field(default_factory=list)
    # Words a useful answer says, each matched case-insensitively in the answer text; an item
    # may list alternatives separated by "|" ("30 days|thirty days"). All items must appear.
    answer_has: list[str] = Field(default_factory=list)
    out_of_scope: bool = False
    staff: bool = False

    @model_validator(mode="after")
    def _one_kind(self) -> GoldenQuestion:
        if self.out_of_scope == bool(self.expected):
            raise ValueError("give either `expected` documents or `out_of_scope: true`")
        return self


class Thresholds(BaseModel):
    useful: float = 0.0  # in-scope questions answered usefully (see runner.usefulness)
    hit_at_3: float = 0.90
    mrr: float = 0.80
    abstention_recall: float = 0.90
    abstention_precision: float = 0.80
    in_scope_answered: float = 0.90


class GoldenSet(BaseModel):
    questions: list[GoldenQuestion]
    thresholds: Thresholds = Field(default_factory=Thresholds)


def default_golden_dir() -> Path:
    return bundled_knowledge_dir() / "eval"


def load_golden(path: Path | None = None) -> GoldenSet:
    """Reads golden.yaml and thresholds.yaml from a folder (or one golden file)."""
    path = Path(path) if path else default_golden_dir()
    folder, golden_file = (path, path / "golden.yaml") if path.is_dir() else (path.parent, path)
    try:
        data = yaml.safe_load(golden_file.read_text(encoding="utf-8")) or {}
        thresholds_file = folder / "thresholds.yaml"
        if thresholds_file.exists():
            data["thresholds"] = yaml.safe_load(thresholds_file.read_text(encoding="utf-8"))
        return GoldenSet.model_validate(data)
    except FileNotFoundError as error:
        raise ValueError(f"golden set not found: {error.filename}") from None
    except (yaml.YAMLError, ValidationError) as error:
        raise ValueError(f"golden set {golden_file} is invalid: {error}") from None
