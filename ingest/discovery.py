"""Finds the documents under the folders to ingest, and decides which symbolic links to follow.

Every candidate is described by the trusted, resolved root and the resolved components below
it, so that `safe_open.read_below` can open it without following any link. A path that must not
be read is still a candidate, carrying its refusal, so the run reports it per file.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from enum import StrEnum
from pathlib import Path

from ingest import SUPPORTED_SUFFIXES
from ingest.safe_open import (
    SYMLINK_REASON,
    SYMLINK_SETTING_ADVICE,
    forbidden_name,
    name_refusal,
    special_file_reason,
)

MAX_DEPTH = 32
# Links between sibling folders do not loop, but they multiply paths; this bounds the walk.
MAX_FOLDER_LINKS = 100

FOLDER_LINK_REASON = f"is a symbolic link to a folder, not followed; {SYMLINK_SETTING_ADVICE}"


class SymlinkPolicy(StrEnum):
    OFF = "off"  # every link is refused
    INSIDE = "inside"  # links whose fully resolved target stays inside the root are followed


@dataclass(frozen=True)
class Candidate:
    path: Path  # absolute, as the author sees it (links not resolved): the manifest key
    doc_id: str
    root: Path  # resolved; trusted because the operator named it
    parts: tuple[str, ...]  # the resolved file below root; empty when refused
    refusal: str | None = None
    label: str = ""  # names the folder it came from on any machine (see root_labels)

    @property
    def source_id(self) -> str:
        """The manifest key: `<folder label>/<path below it>`, the same on every machine."""
        return f"{self.label}/{self.doc_id}" if self.label else self.doc_id

    @property
    def suffix(self) -> str:
        """The real file's type: for a followed link, its target's."""
        return Path(self.parts[-1] if self.parts else self.path.name).suffix.lower()


def _is_document_name(name: str) -> bool:
    return Path(name).suffix.lower() in SUPPORTED_SUFFIXES


def _is_skipped_name(name: str) -> bool:
    # Dot and underscore names are drafts, tooling and secrets: skipped without a word.
    return name.startswith((".", "_"))


class _Walk:
    def __init__(self, root: Path, shown_root: Path, policy: SymlinkPolicy) -> None:
        self.root = root
        self.shown_root = shown_root
        self.policy = policy
        self.found: list[Candidate] = []
        self.folder_links = 0

    def _add(self, shown: tuple[str, ...], parts: tuple[str, ...], refusal: str | None) -> None:
        path = self.shown_root.joinpath(*shown)
        doc_id = "/".join(shown)
        self.found.append(Candidate(path, doc_id, self.root, () if refusal else parts, refusal))

    def folder(self, parts: tuple[str, ...], shown: tuple[str, ...], ancestors: frozenset[str]):
        try:
            with os.scandir(self.root.joinpath(*parts)) as listing:
                entries = sorted(listing, key=lambda e: e.name)
        except OSError as error:
            self._add(shown, parts, f"cannot list folder: {error.strerror or error}")
            return
        for entry in entries:
            if _is_skipped_name(entry.name):
                continue
            here, seen = (*parts, entry.name), (*shown, entry.name)
            if entry.is_symlink():
                self.link(entry, here, seen, ancestors)
            elif entry.is_dir(follow_symlinks=False):
                self.subfolder(here, seen, ancestors)
            elif _is_document_name(entry.name):
                self._add(seen, here, self._file_refusal(entry, here))

    @staticmethod
    def _file_refusal(entry: os.DirEntry, parts: tuple[str, ...]) -> str | None:
        try:
            mode = entry.stat(follow_symlinks=False).st_mode
        except OSError:
            return None  # gone meanwhile: reading it reports why, and keeps any older version
        return special_file_reason(mode) or name_refusal(parts)

    def subfolder(self, parts: tuple[str, ...], shown: tuple[str, ...], ancestors: frozenset[str]):
        if len(shown) > MAX_DEPTH:
            self._add(shown, parts, f"folders nest more than {MAX_DEPTH} deep; not followed")
            return
        self.folder(parts, shown, ancestors | {str(self.root.joinpath(*parts))})

    def link(self, entry: os.DirEntry, parts: tuple[str, ...], shown: tuple[str, ...], ancestors):
        to_folder = entry.is_dir()  # follows the link; False when it dangles
        if not to_folder and not _is_document_name(entry.name):
            return  # not a document name: ignored like any other file of that name
        if self.policy is SymlinkPolicy.OFF:
            self._add(shown, parts, FOLDER_LINK_REASON if to_folder else SYMLINK_REASON)
            return
        target = Path(os.path.realpath(self.root.joinpath(*parts)))
        reason, below = self._inside(target)
        if reason is None and to_folder:
            reason = self._folder_link_refusal(target, ancestors)
        if reason is None and not to_folder and not _is_document_name(target.name):
            reason = f"is a symbolic link to {'/'.join(below)}, not to a document"
        if reason is not None:
            self._add(shown, parts, reason)
        elif to_folder:
            self.folder_links += 1
            self.subfolder(below, shown, ancestors)
        else:
            self._add(shown, below, None)

    def _inside(self, target: Path) -> tuple[str | None, tuple[str, ...]]:
        if not target.exists():
            return "is a broken symbolic link (its target does not exist)", ()
        try:
            below = target.relative_to(self.root).parts
        except ValueError:
            return (
                f"is a symbolic link to {target}, outside the ingested folder "
                "(COE_FOLLOW_SYMLINKS=inside follows only links that stay inside it)",
                (),
            )
        forbidden = forbidden_name(below)
        if forbidden:
            return f"is a symbolic link to {forbidden}; such files are never read", below
        return None, below

    def _folder_link_refusal(self, target: Path, ancestors: frozenset[str]) -> str | None:
        if str(target) in ancestors:
            return "is a symbolic link to a folder that contains it (a loop); not followed"
        if self.folder_links >= MAX_FOLDER_LINKS:
            return f"more than {MAX_FOLDER_LINKS} folder links under one root; not followed"
        return None


def _explicit_file(given: Path, shown: Path, real: Path) -> Candidate:
    """A file the operator named: trusted like a root, even through a link, but still checked."""
    parts = (real.name,)
    try:
        refusal = special_file_reason(os.lstat(real).st_mode) or name_refusal(parts)
    except OSError as error:
        refusal = f"cannot read file: {error.strerror or error}"
    return Candidate(shown, given.name, real.parent, () if refusal else parts, refusal)


def root_labels(roots: list[Path]) -> list[str]:
    """For each root, the shortest end of its path that tells it from the other roots: a
    folder's name (`knowledge`), or more of it when two roots share a name (`teamA/docs`,
    `teamB/docs`). A named file is labelled like its folder. Independent of where a machine
    mounts the folder, so an ingest job anywhere keys documents the same way."""
    folders = []
    for root in roots:
        shown = Path(os.path.abspath(Path(root).expanduser()))
        folders.append(shown if shown.is_dir() or not shown.exists() else shown.parent)
    parts = [f.parts[1:] for f in folders]  # without the leading "/"
    labels = []
    for mine in parts:
        depth = 1
        others = [p for p in parts if p != mine]
        while depth < len(mine) and any(p[-depth:] == mine[-depth:] for p in others):
            depth += 1
        labels.append("/".join(mine[-depth:]))
    return labels


def discover(roots: list[Path], follow_symlinks: str = "off") -> list[Candidate]:
    """Candidates under the roots, in a stable order; a missing root is a refused candidate."""
    policy = SymlinkPolicy(follow_symlinks)
    found: dict[Path, Candidate] = {}
    for root, label in zip(roots, root_labels(roots), strict=True):
        given = Path(root).expanduser()
        shown = Path(os.path.abspath(given))
        real = Path(os.path.realpath(given))
        if real.is_dir():
            walk = _Walk(real, shown, policy)
            walk.folder((), (), frozenset({str(real)}))
            batch = walk.found
        elif real.exists():
            batch = [_explicit_file(given, shown, real)]
        else:
            batch = [Candidate(shown, given.name, real.parent, (), "no such file or folder")]
        for candidate in batch:
            found.setdefault(candidate.path, replace(candidate, label=label))
    return list(found.values())
