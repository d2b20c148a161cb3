"""A real Git repository to sync from: a working copy that pushes to a bare repository."""

from __future__ import annotations

import subprocess
from pathlib import Path


def _git(*args: str, cwd: Path) -> str:
    done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=True)
    return done.stdout


class Repo:
    """A working repository that pushes to a bare one, which the source clones."""

    def __init__(self, root: Path) -> None:
        self.bare = root / "kb.git"
        self.work = root / "work"
        _git("init", "--quiet", "--bare", "--initial-branch=main", str(self.bare), cwd=root)
        _git("init", "--quiet", "--initial-branch=main", str(self.work), cwd=root)
        for key, value in (("user.name", "Docs Bot"), ("user.email", "docs@example.com")):
            _git("config", key, value, cwd=self.work)
        _git("remote", "add", "origin", str(self.bare), cwd=self.work)

    def commit(self, message: str, files: dict[str, str | None]) -> None:
        for name, text in files.items():
            path = self.work / name
            if text is None:
                _git("rm", "--quiet", name, cwd=self.work)
                continue
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            _git("add", name, cwd=self.work)
        _git("commit", "--quiet", "-m", message, cwd=self.work)
        _git("push", "--quiet", "origin", "main", cwd=self.work)
