"""Local folders as a source: the files under one or more roots (see ingest.discovery).

A file's version is its content: `items` only walks the folders, and ingest compares the
bytes' hash with the one it indexed. Keys are `<folder label>/<path below it>`, as before
sources existed, so an index built from folders keeps its keys under `sources.yaml`.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path

from ingest.discovery import Candidate, discover, root_labels
from ingest.errors import RefusedError
from ingest.records import FileEntry
from ingest.safe_open import read_below
from ingest.sources.base import Item, ItemMeta, SourceError


class FolderSource:
    kind = "folder"

    def __init__(
        self,
        roots: list[Path],
        follow_symlinks: str = "off",
        name: str = "",
        labels: list[str] | None = None,
        strict: bool = False,
    ) -> None:
        """`labels`: the roots' key prefixes when other folders are configured beside them
        (see ingest.discovery.root_labels); `strict`: a missing root fails the source (its
        documents stay indexed) instead of being reported as one refused path."""
        self.roots = [Path(r) for r in roots]
        self.follow_symlinks = follow_symlinks
        self.name = name or ", ".join(str(r) for r in self.roots)
        self.strict = strict
        self._scope = [Path(os.path.abspath(r.expanduser())) for r in self.roots]
        self._given_labels = labels
        self._labels = labels or root_labels(self.roots)

    def items(self) -> Iterable[Item]:
        if self.strict:
            # An unmounted share or a typo must not read as "every document was deleted".
            missing = [str(r) for r in self.roots if not r.expanduser().exists()]
            if missing:
                raise SourceError(f"folder {', '.join(missing)} does not exist")
        for found in self._found():
            yield Item(
                id=found.source_id,
                version=None,
                suffix=found.suffix,
                shown=str(found.path),
                meta=ItemMeta(restricted=False),  # a file's own header says who may read it
                payload=found,
            )

    def _found(self) -> Iterable[Candidate]:
        if self._given_labels is None:
            # Roots labelled among themselves; a file under two of them is read once.
            yield from discover(self.roots, self.follow_symlinks)
            return
        # A configured folder is labelled among all configured folders.
        for root, label in zip(self.roots, self._given_labels, strict=True):
            for found in discover([root], self.follow_symlinks):
                yield replace(found, label=label)

    def load(self, item: Item, max_bytes: int) -> bytes:
        found: Candidate = item.payload
        if found.refusal is not None:
            raise RefusedError(found.refusal)
        return read_below(found.root, found.parts, max_bytes)

    def key(self, item: Item) -> str:
        return item.id

    def doc_id(self, item: Item) -> str:
        return item.payload.doc_id

    def path(self, item: Item) -> str:
        return str(item.payload.path)

    def owns(self, key: str, entry: FileEntry) -> bool:
        """Whether this run stands for the folder a document came from: the same folder here,
        or the folder with the same label on another machine (an ingest job for replicas)."""
        candidate = Path(entry.path)
        if any(candidate == root or root in candidate.parents for root in self._scope):
            return True
        # A remote item's entry records a link or name:id, never an absolute path.
        return entry.path.startswith("/") and any(
            root.is_dir() and key.startswith(label + "/")
            for root, label in zip(self._scope, self._labels, strict=True)
        )
