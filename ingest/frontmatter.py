"""The document header: YAML front matter validated by a pydantic model."""

from __future__ import annotations

import re
from datetime import date
from enum import StrEnum
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, HttpUrl, ValidationError, field_validator

from ingest.errors import DocumentError


class DocType(StrEnum):
    CHARTER = "charter"
    OPERATING_MODEL = "operating-model"
    ROLE = "role"
    STANDARD = "standard"
    CHECKLIST = "checklist"
    PLAYBOOK = "playbook"
    LESSON = "lesson"
    TRAINING = "training"
    VENDOR = "vendor"
    FAQ = "faq"
    GLOSSARY = "glossary"


class Audience(StrEnum):
    EVERYONE = "everyone"
    COE_STAFF = "coe-staff"


class FrontMatter(BaseModel):
    """Every key is optional so that plain files ingest; unknown keys are typos and rejected."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    title: str | None = Field(default=None, min_length=1, max_length=200)
    type: DocType | None = None
    owner: str | None = Field(default=None, min_length=1, max_length=200)
    review_by: date | None = None
    audience: Audience = Audience.EVERYONE
    tags: list[str] = Field(default_factory=list)
    url: HttpUrl | None = None

    @field_validator("tags", mode="before")
    @classmethod
    def _tags_from_string(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [t.strip() for t in value.split(",") if t.strip()]
        return value


_FRONT_MATTER = re.compile(r"\A---[ \t]*\r?\n(.*?)\r?\n---[ \t]*(?:\r?\n|\Z)", re.DOTALL)


def _describe(error: ValidationError) -> str:
    parts = []
    for item in error.errors():
        field = ".".join(str(p) for p in item["loc"]) or "header"
        if item["type"] == "extra_forbidden":
            allowed = ", ".join(FrontMatter.model_fields)
            parts.append(f"unknown key '{field}' (allowed: {allowed})")
        elif item["type"] == "enum":
            parts.append(f"'{field}': {item['msg'].lower()}")
        else:
            parts.append(f"'{field}': {item['msg']}")
    return "; ".join(parts)


def validate_front_matter(data: dict[str, Any]) -> FrontMatter:
    try:
        return FrontMatter.model_validate(data)
    except ValidationError as error:
        raise DocumentError(f"invalid front matter: {_describe(error)}") from None


def split_front_matter(text: str) -> tuple[FrontMatter, str]:
    """Returns the validated header and the body that follows it."""
    match = _FRONT_MATTER.match(text)
    if not match:
        if text.startswith("---\n") or text.startswith("---\r\n"):
            raise DocumentError("invalid front matter: the opening '---' has no closing '---' line")
        return FrontMatter(), text
    try:
        data = yaml.safe_load(match.group(1))
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" (line {mark.line + 2})" if mark is not None else ""
        problem = getattr(error, "problem", None) or "not valid YAML"
        raise DocumentError(f"invalid front matter{where}: {problem}") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise DocumentError("invalid front matter: expected 'key: value' lines")
    return validate_front_matter(data), text[match.end() :]
