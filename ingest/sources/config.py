"""`sources.yaml`: the places a knowledge base is read from, one entry per source.

    sources:
      - name: handbook
        type: folder
        path: knowledge            # relative to this file
      - name: standards
        type: git
        url: https://github.com/acme/ai-standards.git
        branch: main
        path: docs
        web_url: https://github.com/acme/ai-standards/blob/main
        public: true

Secrets are never written here: an entry names the environment variable that holds one
(`token_env: CONFLUENCE_TOKEN`). Each type's keys are its config model's fields.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from ingest.sources.base import SOURCE_NAME, Source
from ingest.sources.confluence import ConfluenceConfig, ConfluenceSource
from ingest.sources.folder import FolderSource
from ingest.sources.gdrive import GDriveConfig, GDriveSource
from ingest.sources.git import GitConfig, GitSource, without_password
from ingest.sources.notion import NotionConfig, NotionSource


class SourcesFileError(Exception):
    """sources.yaml cannot be used; the message names the entry and the key."""


class FolderConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: Literal["folder"]
    name: str
    path: Path
    follow_symlinks: Literal["off", "inside"] = "off"


SourceConfig = Annotated[
    FolderConfig | GitConfig | ConfluenceConfig | GDriveConfig | NotionConfig,
    Field(discriminator="type"),
]


class SourcesFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sources: list[SourceConfig] = Field(min_length=1)

    @field_validator("sources")
    @classmethod
    def _names(cls, sources: list[SourceConfig]) -> list[SourceConfig]:
        seen: set[str] = set()
        for entry in sources:
            if not SOURCE_NAME.match(entry.name):
                raise ValueError(
                    f"source name {entry.name!r}: use letters, digits, '.', '_' and '-' "
                    "(up to 64, starting with a letter or digit)"
                )
            if entry.name in seen:
                raise ValueError(f"two sources are named {entry.name!r}")
            seen.add(entry.name)
        return sources

    def named(self, name: str) -> SourceConfig:
        for entry in self.sources:
            if entry.name == name:
                return entry
        known = ", ".join(e.name for e in self.sources)
        raise SourcesFileError(f"no source named {name!r} (sources.yaml has: {known})")


def _where(location: tuple[int | str, ...], raw: object) -> str:
    """`sources[1] (wiki).token_env` rather than pydantic's `sources.1.confluence.token_env`."""
    parts: list[str] = []
    for i, step in enumerate(location):
        if isinstance(step, int) and parts and parts[-1] == "sources":
            name = ""
            if isinstance(raw, dict) and isinstance(raw.get("sources"), list):
                entries = raw["sources"]
                if step < len(entries) and isinstance(entries[step], dict):
                    name = f" ({entries[step].get('name', '?')})"
            parts[-1] = f"sources[{step}]{name}"
        elif i == 2 and isinstance(step, str) and step in {"folder", "git", "confluence",
                                                           "gdrive", "notion"}:  # fmt: skip
            continue  # the union's tag: the entry's own type, not a key
        else:
            parts.append(str(step))
    return ".".join(parts) or "sources.yaml"


def load_sources_file(path: Path) -> SourcesFile:
    """The file, validated; folder paths made absolute against the file's own folder."""
    try:
        raw = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except OSError as error:
        raise SourcesFileError(f"cannot read {path}: {error.strerror or error}") from None
    except yaml.YAMLError as error:
        raise SourcesFileError(f"{path} is not valid YAML: {error}") from None
    try:
        parsed = SourcesFile.model_validate(raw if raw is not None else {})
    except ValidationError as error:
        problems = [f"{_where(e['loc'], raw)}: {e['msg']}" for e in error.errors()]
        raise SourcesFileError(f"{path}: " + "; ".join(problems)) from None
    base = Path(path).resolve().parent
    for entry in parsed.sources:
        if isinstance(entry, FolderConfig) and not entry.path.expanduser().is_absolute():
            entry.path = base / entry.path
    return parsed


def build_source(
    entry: SourceConfig, data_dir: Path, environ: Mapping[str, str] | None = None
) -> Source:
    """The source an entry describes; nothing is contacted until it is listed."""
    environ = os.environ if environ is None else environ
    if isinstance(entry, FolderConfig):
        # Keyed `<source name>/<path below the folder>` like every other source: unique, and
        # the same wherever the folder is mounted.
        return FolderSource(
            [entry.path.expanduser()],
            entry.follow_symlinks,
            name=entry.name,
            labels=[entry.name],
            strict=True,
        )
    if isinstance(entry, GitConfig):
        return GitSource(entry, Path(data_dir) / "sources" / f"{entry.name}.git", environ)
    if isinstance(entry, ConfluenceConfig):
        return ConfluenceSource(entry, environ)
    if isinstance(entry, GDriveConfig):
        return GDriveSource(entry, environ)
    return NotionSource(entry, environ)


def describe(entry: SourceConfig) -> str:
    """Where an entry reads from, for `coe sources list` (never a secret)."""
    if isinstance(entry, FolderConfig):
        return str(entry.path)
    if isinstance(entry, GitConfig):
        below = f" /{entry.path.strip('/')}" if entry.path.strip("/") else ""
        return f"{without_password(entry.url)} ({entry.branch}){below}"
    if isinstance(entry, ConfluenceConfig):
        return f"{entry.url} spaces {', '.join(entry.spaces)}"
    if isinstance(entry, GDriveConfig):
        return f"drive {entry.drive_id}" if entry.drive_id else f"folder {entry.folder_id}"
    return f"database {entry.database}" if entry.database else f"page {entry.root_page}"
