"""The document header: YAML (or Hugo's TOML) front matter, read into a pydantic model.

Headers written for static-site generators (Jekyll, Hugo, MkDocs, Docusaurus, Obsidian) are
accepted: their common keys are mapped onto ours (`author` → owner, `keywords` → tags,
`lastmod` → modified, …), values of an unexpected shape are coerced, and keys that mean nothing
here are ignored with a note. The CoE's own keys stay strict where they guard something: an
invalid `audience` (or a key that looks like a misspelt `audience`) or `review_by` is an error,
because a staff-only document must never turn public and a review date must never vanish.
"""

from __future__ import annotations

import difflib
import re
import tomllib
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, HttpUrl, TypeAdapter, ValidationError

from ingest.errors import DocumentError

MAX_TITLE = 200
MAX_DESCRIPTION = 2000


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
    """Every key is optional so that plain files ingest; `read_header` builds it from a header."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    title: str | None = Field(default=None, min_length=1, max_length=MAX_TITLE)
    type: DocType | None = None
    owner: str | None = Field(default=None, min_length=1)
    review_by: date | None = None
    audience: Audience = Audience.EVERYONE
    tags: list[str] = Field(default_factory=list)
    url: HttpUrl | None = None
    description: str | None = None  # a summary from the header (`description`, `summary`, …)
    modified: date | None = None  # when the document last changed (`lastmod`, `date`, …)
    owner_slack: str | None = None  # the owner's Slack user id, for review reminders
    review_every: int | None = Field(default=None, ge=1, le=3650)  # days a verification lasts


@dataclass
class Header:
    meta: FrontMatter
    notes: list[str] = field(default_factory=list)


# Header keys of static-site generators mapped onto ours, in order of preference.
_TITLE_KEYS = ("title",)
_DESCRIPTION_KEYS = ("description", "summary", "excerpt", "abstract")
_TAG_KEYS = ("tags", "tag", "keywords", "categories", "category")
_OWNER_KEYS = ("owner", "owners", "author", "authors", "maintainer", "maintainers")
_MODIFIED_KEYS = (
    "last_modified",
    "last_modified_at",
    "lastmod",
    "updated",
    "modified",
    "date_modified",
    "last_update",
    "date",
)
_URL_KEYS = ("url", "canonical_url")
_STRICT_KEYS = ("type", "audience", "review_by")
_REVIEW_KEYS = ("owner_slack", "review_every")
_SLACK_USER = re.compile(r"^[UW][A-Z0-9]{2,}$")
_USED_KEYS = frozenset(
    _TITLE_KEYS + _DESCRIPTION_KEYS + _TAG_KEYS + _OWNER_KEYS + _MODIFIED_KEYS + _URL_KEYS
) | frozenset(_STRICT_KEYS + _REVIEW_KEYS)
# What an author is told they may have meant when a key is unknown.
_SUGGESTED = (
    "title",
    "type",
    "owner",
    "review_by",
    "audience",
    "tags",
    "url",
    "description",
    "author",
)

_YAML_FRONT_MATTER = re.compile(
    r"\A---[ \t]*\r?\n(.*?)\r?\n(?:---|\.\.\.)[ \t]*(?:\r?\n|\Z)", re.DOTALL
)
_TOML_FRONT_MATTER = re.compile(r"\A\+\+\+[ \t]*\r?\n(.*?)\r?\n\+\+\+[ \t]*(?:\r?\n|\Z)", re.DOTALL)
_URL = TypeAdapter(HttpUrl)
_DATE_FORMATS = ("%Y/%m/%d", "%d %B %Y", "%d %b %Y", "%B %d, %Y", "%b %d, %Y", "%B %d %Y")


def _key(name: object) -> str:
    return re.sub(r"[\s-]+", "_", str(name).strip().lower())


def _shown(value: Any) -> str:
    text = value if isinstance(value, str) else repr(value)
    return text if len(text) <= 60 else text[:57] + "…"


def _text(value: Any) -> str | None:
    """A string from whatever a header holds: a name from a dict, items of a list joined."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, str):
        return " ".join(value.split()) or None
    if isinstance(value, int | float | date):
        return str(value)
    if isinstance(value, dict):
        for name in ("name", "title", "label", "value"):
            if name in value:
                return _text(value[name])
        return None
    if isinstance(value, list | tuple):
        parts = [t for t in (_text(v) for v in value) if t]
        return ", ".join(dict.fromkeys(parts)) or None
    return None


def _tag_texts(value: Any) -> list[str]:
    if isinstance(value, str):
        return value.split(",")
    if isinstance(value, list | tuple):
        return [text for item in value for text in _tag_texts(item)]
    text = _text(value)
    return [text] if text else []


def _tags(values: list[Any]) -> list[str]:
    """Tags from strings ("a, b"), lists, or Docusaurus's {label: …} dicts; '#' dropped."""
    found: dict[str, str] = {}
    for value in values:
        for text in _tag_texts(value):
            tag = text.strip().lstrip("#").strip()
            if tag:
                found.setdefault(tag.casefold(), tag)
    return list(found.values())


def _date(value: Any) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, dict):
        return _date(value.get("date"))
    if not isinstance(value, str):
        return None
    text = value.strip()
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).date()
    except ValueError:
        pass
    if re.match(r"\d{4}-\d{2}-\d{2}\b", text):
        try:
            return date.fromisoformat(text[:10])
        except ValueError:
            return None
    for pattern in _DATE_FORMATS:
        try:
            return datetime.strptime(text, pattern).date()
        except ValueError:
            continue
    return None


def _first(data: dict[str, Any], keys: tuple[str, ...]) -> tuple[str, Any] | None:
    for key in keys:
        if key in data and data[key] not in (None, "", [], {}):
            return key, data[key]
    return None


def _unknown_keys(data: dict[str, Any], original: dict[str, str]) -> list[str]:
    unknown = []
    for key in data:
        if key in _USED_KEYS:
            continue
        if difflib.SequenceMatcher(None, key, "audience").ratio() >= 0.75:
            raise DocumentError(
                f"invalid front matter: unknown key '{original[key]}' (did you mean 'audience'? "
                "it decides who may see this document, so it must be spelt exactly)"
            )
        guess = difflib.get_close_matches(key, _SUGGESTED, n=1, cutoff=0.8)
        unknown.append(f"{original[key]} (did you mean '{guess[0]}'?)" if guess else original[key])
    return unknown


def _describe(error: ValidationError) -> str:
    parts = []
    for item in error.errors():
        name = ".".join(str(p) for p in item["loc"]) or "header"
        if item["type"] == "enum":
            parts.append(f"'{name}': {item['msg'].lower()}")
        else:
            parts.append(f"'{name}': {item['msg']}")
    return "; ".join(parts)


def _mapped(data: dict[str, Any], notes: list[str]) -> dict[str, Any]:
    """Our keys from the header's, each value coerced or noted and dropped."""
    fields: dict[str, Any] = {k: data[k] for k in ("audience", "review_by") if k in data}
    if (found := _first(data, _TITLE_KEYS)) is not None:
        title = _text(found[1])
        if title and len(title) > MAX_TITLE:
            title = title[: MAX_TITLE - 1].rsplit(" ", 1)[0] + "…"
            notes.append(f"the title is over {MAX_TITLE} characters; it was shortened")
        fields["title"] = title
    if (found := _first(data, _DESCRIPTION_KEYS)) is not None:
        description = _text(found[1])
        fields["description"] = description[:MAX_DESCRIPTION] if description else None
    fields["tags"] = _tags([data[k] for k in _TAG_KEYS if k in data])
    if (found := _first(data, _OWNER_KEYS)) is not None:
        fields["owner"] = _text(found[1])
    if (found := _first(data, _MODIFIED_KEYS)) is not None:
        fields["modified"] = _date(found[1])
        if fields["modified"] is None:
            notes.append(f"front matter '{found[0]}: {_shown(found[1])}' is not a date; ignored")
    if "type" in data and data["type"] is not None:
        kind = str(data["type"]).strip().lower()
        if kind in {t.value for t in DocType}:
            fields["type"] = kind
        else:
            notes.append(
                f"front matter 'type: {_shown(data['type'])}' is not a CoE document type "
                f"({', '.join(t.value for t in DocType)}); ignored"
            )
    _mapped_review(data, fields, notes)
    if (found := _first(data, _URL_KEYS)) is not None:
        try:
            fields["url"] = _URL.validate_python(str(found[1]).strip())
        except ValidationError:
            notes.append(
                f"front matter '{found[0]}: {_shown(found[1])}' is not an absolute http(s) "
                "link; ignored"
            )
    return fields


def _mapped_review(data: dict[str, Any], fields: dict[str, Any], notes: list[str]) -> None:
    """`owner_slack` and `review_every`: a wrong value costs a reminder, never the document."""
    if data.get("owner_slack") is not None:
        user = str(data["owner_slack"]).strip().lstrip("@")
        if _SLACK_USER.match(user):
            fields["owner_slack"] = user
        else:
            notes.append(
                f"front matter 'owner_slack: {_shown(data['owner_slack'])}' is not a Slack "
                "user id (like U012AB3CD); ignored"
            )
    if data.get("review_every") is not None:
        every = data["review_every"]
        days = every if isinstance(every, int) and not isinstance(every, bool) else None
        if days is None or not 1 <= days <= 3650:
            notes.append(
                f"front matter 'review_every: {_shown(every)}' is not a number of days "
                "(1 to 3650); ignored"
            )
        else:
            fields["review_every"] = days


def read_header(data: dict[Any, Any]) -> Header:
    """Our header from a parsed front matter mapping; a DocumentError only where it guards."""
    original = {_key(k): str(k) for k in data}
    normal = {_key(k): v for k, v in data.items()}
    notes: list[str] = []
    unknown = _unknown_keys(normal, original)
    fields = _mapped(normal, notes)
    if unknown:
        notes.insert(0, f"ignored front matter keys: {', '.join(unknown)}")
    try:
        meta = FrontMatter.model_validate(fields)
    except ValidationError as error:
        raise DocumentError(f"invalid front matter: {_describe(error)}") from None
    return Header(meta, notes)


def _yaml_mapping(text: str) -> dict[Any, Any]:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" (line {mark.line + 2})" if mark is not None else ""
        problem = getattr(error, "problem", None) or "not valid YAML"
        raise DocumentError(f"invalid front matter{where}: {problem}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise DocumentError("invalid front matter: expected 'key: value' lines")
    return data


def split_front_matter(text: str) -> tuple[Header, str]:
    """The header (YAML between '---' lines, or TOML between '+++' lines) and the body after it."""
    if match := _TOML_FRONT_MATTER.match(text):
        try:
            data: dict[Any, Any] = tomllib.loads(match.group(1))
        except tomllib.TOMLDecodeError as error:
            raise DocumentError(f"invalid front matter (TOML): {error}") from None
        return read_header(data), text[match.end() :]
    match = _YAML_FRONT_MATTER.match(text)
    if not match:
        if text.startswith("---\n") or text.startswith("---\r\n"):
            raise DocumentError("invalid front matter: the opening '---' has no closing '---' line")
        return Header(FrontMatter()), text
    return read_header(_yaml_mapping(match.group(1))), text[match.end() :]
