"""Docs-as-code: the documents in one branch of a Git repository, read with the real `git`.

The repository is kept as a bare clone under the data directory and fetched before each
listing. A file's version is its blob id (`git ls-tree`), so an unchanged file is never read
again, and nothing is checked out: a file is read from the object store (`git cat-file`).
Symbolic links and submodules in the repository are skipped, like dot and underscore names.

Permissions: Git does not say who may read a repository. Its documents are staff-only unless
the entry says `public: true`; a public repository's documents can still restrict themselves
with `audience: coe-staff` in their header.
"""

from __future__ import annotations

import base64
import os
import re
import subprocess
from collections.abc import Iterable, Mapping
from pathlib import Path, PurePosixPath
from typing import Literal
from urllib.parse import quote, urlsplit, urlunsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator

from ingest import SUPPORTED_SUFFIXES
from ingest.errors import DocumentError
from ingest.safe_open import too_big_reason
from ingest.sources.base import Item, ItemGoneError, ItemMeta, RemoteSource, SourceError

GIT_TIMEOUT_S = 600
_FILE_MODES = {"100644", "100755"}
_BRANCH = re.compile(
    r"^[A-Za-z0-9_][A-Za-z0-9._/-]*$"
)  # not 120000 (a link) or 160000 (a submodule)


class GitConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: Literal["git"]
    name: str
    url: str = Field(min_length=1, description="anything `git clone` takes, a local path too")
    branch: str = "main"
    path: str = ""  # a sub-folder of the repository; the root by default
    web_url: str | None = None  # base of links, e.g. https://github.com/acme/kb/blob/main
    public: bool = False
    # HTTPS with a token: the NAME of the variable holding it, sent as HTTP basic auth with
    # `username` (GitHub: x-access-token; GitLab: oauth2; Bitbucket: x-token-auth).
    token_env: str | None = None
    username: str = "x-access-token"

    @field_validator("branch")
    @classmethod
    def _a_branch(cls, value: str) -> str:
        # Passed to git as a ref: nothing that git could read as an option or a refspec.
        if not _BRANCH.match(value) or ".." in value:
            raise ValueError(f"{value!r} is not a branch name")
        return value


def without_password(url: str) -> str:
    """The URL as it may be shown: `https://user:secret@host/x` becomes `https://user@host/x`."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"{parts.username}@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


def _git(
    *args: str, cwd: Path | None = None, extra: Mapping[str, str] | None = None
) -> subprocess.CompletedProcess[bytes]:
    environment = {
        **os.environ,
        "GIT_TERMINAL_PROMPT": "0",
        "GIT_ASKPASS": "true",
        **(extra or {}),
    }
    return subprocess.run(
        ["git", *args],
        cwd=cwd,
        capture_output=True,
        timeout=GIT_TIMEOUT_S,
        env=environment,
        check=False,
    )


def _said(result: subprocess.CompletedProcess[bytes]) -> str:
    lines = [ln for ln in result.stderr.decode(errors="replace").splitlines() if ln.strip()]
    return lines[-1].strip() if lines else f"git exited with {result.returncode}"


def _skipped(parts: tuple[str, ...]) -> bool:
    return any(p.startswith((".", "_")) for p in parts)


class GitSource(RemoteSource):
    kind = "git"

    def __init__(
        self, config: GitConfig, workdir: Path, environ: Mapping[str, str] | None = None
    ) -> None:
        self.config = config
        self.name = config.name
        self.clone = Path(workdir)
        self._branch = f"refs/heads/{config.branch}"
        self._environ = os.environ if environ is None else environ
        self._shown_url = without_password(config.url)

    def _auth(self) -> dict[str, str]:
        """The token as an HTTP header in git's environment (GIT_CONFIG_*): never on a command
        line other users can read, never in the clone's config."""
        variable = self.config.token_env
        if variable is None:
            return {}
        token = self._environ.get(variable)
        if not token:
            raise SourceError(f"environment variable {variable} (token_env) is not set")
        basic = base64.b64encode(f"{self.config.username}:{token}".encode()).decode()
        return {
            "GIT_CONFIG_COUNT": "1",
            "GIT_CONFIG_KEY_0": "http.extraHeader",
            "GIT_CONFIG_VALUE_0": f"Authorization: Basic {basic}",
        }

    def _said(self, result: subprocess.CompletedProcess[bytes]) -> str:
        """git's last words, with any password of the URL taken out."""
        said = _said(result)
        password = urlsplit(self.config.url).password
        return said.replace(password, "***") if password else said

    def _update(self) -> None:
        """Clones the branch, or fetches it into the clone made before."""
        auth = self._auth()
        if (self.clone / "HEAD").exists():
            # The entry's url may have been edited since the clone was made.
            _git("remote", "set-url", "origin", self.config.url, cwd=self.clone)
            result = _git(
                "fetch", "--quiet", "--prune", "--force", "origin",
                f"+{self._branch}:{self._branch}", cwd=self.clone, extra=auth,
            )  # fmt: skip
            action = "fetch"
        else:
            self.clone.parent.mkdir(parents=True, exist_ok=True)
            result = _git(
                "clone", "--quiet", "--bare", "--single-branch",
                "--branch", self.config.branch, "--", self.config.url, str(self.clone),
                extra=auth,
            )  # fmt: skip
            action = "clone"
        if result.returncode != 0:
            raise SourceError(f"git {action} of {self._shown_url} failed: {self._said(result)}")

    def items(self) -> Iterable[Item]:
        try:
            self._update()
        except (OSError, subprocess.TimeoutExpired) as error:
            raise SourceError(f"cannot run git for {self._shown_url}: {error}") from None
        below = self.config.path.strip("/")
        listing = _git(
            "ls-tree", "-r", "-l", "-z", "--full-tree", self._branch,
            *([below] if below else []), cwd=self.clone,
        )  # fmt: skip
        if listing.returncode != 0:
            raise SourceError(f"cannot list branch {self.config.branch}: {self._said(listing)}")
        entries = [e for e in listing.stdout.decode("utf-8", "replace").split("\0") if e]
        if below and not entries:
            raise SourceError(f"folder '{below}' is not in branch {self.config.branch}")
        for entry in entries:
            item = self._item(entry, below)
            if item is not None:
                yield item

    def _item(self, entry: str, below: str) -> Item | None:
        info, path = entry.split("\t", 1)
        mode, kind, blob, size = info.split()
        inside = PurePosixPath(path).relative_to(below) if below else PurePosixPath(path)
        if kind != "blob" or mode not in _FILE_MODES or _skipped(inside.parts):
            return None
        if inside.suffix.lower() not in SUPPORTED_SUFFIXES:
            return None
        web = self.config.web_url
        return Item(
            id=str(inside),
            version=blob,
            suffix=inside.suffix.lower(),
            link=f"{web.rstrip('/')}/{quote(path)}" if web else None,
            shown=f"{self.name}:{path}",
            meta=ItemMeta(restricted=not self.config.public),
            payload=(blob, int(size)),
        )

    def load(self, item: Item, max_bytes: int) -> bytes:
        blob, size = item.payload
        if size > max_bytes:
            raise DocumentError(too_big_reason(size, max_bytes))
        result = _git("cat-file", "blob", blob, cwd=self.clone)
        if result.returncode != 0:
            raise ItemGoneError(f"cannot read {item.id} from the clone: {self._said(result)}")
        return result.stdout
