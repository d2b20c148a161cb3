"""Runs the pdf/docx/html parsers in a separate process with a memory limit and a deadline.

A hostile or merely huge document can make a parser run for minutes or allocate gigabytes;
here it costs one child process, which is killed and replaced, and one per-file failure.
One child serves a whole run (started only when a file needs it, so a no-op ingest never pays
for it). It is a fresh interpreter (fork + exec, like multiprocessing's spawn), never a fork of
this process and its model threads, with a minimal environment: no tokens to read.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO

from ingest.errors import DocumentError
from ingest.limits import ParseLimits, human_seconds, human_size
from ingest.parse_worker import FRAME_HEADER_SIZE, frame
from ingest.parsers import Extracted

STARTUP_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 5.0
_READ_CHUNK = 1 << 20
_PASSED_ENVIRONMENT = ("LANG", "LC_ALL", "LC_CTYPE", "TMPDIR")


class _TimedOut(Exception):
    pass


class _Gone(Exception):
    pass


def _pipe(stream: IO[bytes] | None) -> IO[bytes]:
    # Popen leaves a stream None unless it was asked for a pipe; the parser's always are.
    if stream is None:
        raise RuntimeError("the parser process has no pipe to talk through")
    return stream


def _ready(fd: int, events: int, remaining: float) -> bool:
    """Whether `fd` is ready within `remaining` seconds. poll, not select: select cannot watch
    a descriptor numbered 1024 or above, which a long-running server with many connections
    (or a test session) reaches; the parser then seemed never to start."""
    poller = select.poll()
    poller.register(fd, events)
    return bool(poller.poll(max(0, int(remaining * 1000) + 1)))


def _write_all(fd: int, data: bytes, deadline: float) -> None:
    view = memoryview(data)
    while view:
        remaining = deadline - time.monotonic()
        if remaining <= 0 or not _ready(fd, select.POLLOUT, remaining):
            raise _TimedOut
        try:
            written = os.write(fd, view)
        except BlockingIOError:
            continue
        except (BrokenPipeError, ConnectionResetError):
            raise _Gone from None
        view = view[written:]


def _read_exactly(fd: int, size: int, deadline: float) -> bytes:
    buffer = bytearray()
    while len(buffer) < size:
        remaining = deadline - time.monotonic()
        if remaining <= 0 or not _ready(fd, select.POLLIN, remaining):
            raise _TimedOut
        chunk = os.read(fd, min(_READ_CHUNK, size - len(buffer)))
        if not chunk:
            raise _Gone
        buffer += chunk
    return bytes(buffer)


def _read_reply(fd: int, deadline: float) -> dict:
    size = int.from_bytes(_read_exactly(fd, FRAME_HEADER_SIZE, deadline), "big")
    reply = json.loads(_read_exactly(fd, size, deadline))
    if not isinstance(reply, dict):
        raise _Gone
    return reply


def _child_environment() -> dict[str, str]:
    # The parser needs to find this `ingest` package and nothing else from our environment.
    package_parent = str(Path(__file__).resolve().parent.parent)
    python_path = [package_parent, *filter(None, [os.environ.get("PYTHONPATH")])]
    env = {name: os.environ[name] for name in _PASSED_ENVIRONMENT if name in os.environ}
    return env | {"PYTHONPATH": os.pathsep.join(python_path), "PATH": os.defpath}


def _how_it_ended(returncode: int | None) -> str:
    if returncode is None:
        return "it stopped answering"
    if returncode < 0:
        try:
            return f"killed by {signal.Signals(-returncode).name}"
        except ValueError:
            return f"killed by signal {-returncode}"
    return f"exit code {returncode}"


def _as_extracted(reply: dict) -> Extracted:
    header, body, title = reply.get("header"), reply.get("body"), reply.get("title")
    notes, raw_chars = reply.get("notes", []), reply.get("raw_chars", 0)
    if not (isinstance(header, dict) and isinstance(body, str) and isinstance(notes, list)):
        raise DocumentError("the parser process sent an unexpected reply")
    clean_header = {str(k): str(v) for k, v in header.items()}
    return Extracted(
        header=clean_header,
        body=body,
        title=title if isinstance(title, str) else None,
        notes=[str(n) for n in notes],
        raw_chars=raw_chars if isinstance(raw_chars, int) else len(body),
    )


class ParserSandbox:
    def __init__(self, limits: ParseLimits, on_start: Callable[[], None] | None = None) -> None:
        self._limits = limits
        self._on_start = on_start
        self._process: subprocess.Popen[bytes] | None = None
        self.started = 0  # how many parser processes this sandbox has started

    def __enter__(self) -> ParserSandbox:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def parse(self, kind: str, data: bytes) -> Extracted:
        """The document's text, or a DocumentError saying why not (timeout, crash, bad file)."""
        process = self._running()
        deadline = time.monotonic() + self._limits.timeout_s
        request = json.dumps({"kind": kind, "limits": self._limits.as_dict()}).encode()
        try:
            _write_all(_pipe(process.stdin).fileno(), frame(request) + frame(data), deadline)
            reply = _read_reply(_pipe(process.stdout).fileno(), deadline)
        except _TimedOut:
            self._kill()
            raise DocumentError(
                f"took longer than {human_seconds(self._limits.timeout_s)} to parse "
                "(raise COE_PARSE_TIMEOUT_S to allow more)"
            ) from None
        except (_Gone, ValueError):
            how = _how_it_ended(self._kill(grace_s=STOP_TIMEOUT_S))
            raise DocumentError(
                f"the parser process stopped while reading this file ({how}); the file may be "
                f"malformed or need more than the {human_size(self._limits.memory_bytes)} "
                "of memory allowed by COE_PARSE_MEMORY_MB"
            ) from None
        if reply.get("retire"):
            self.close()
        if "error" in reply:
            raise DocumentError(str(reply["error"]))
        return _as_extracted(reply)

    def _running(self) -> subprocess.Popen[bytes]:
        if self._process is not None and self._process.poll() is None:
            return self._process
        self._kill()
        if self._on_start is not None:
            self._on_start()
        process = subprocess.Popen(
            [sys.executable, "-P", "-m", "ingest.parse_worker", str(self._limits.memory_bytes)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,  # pypdf's warnings about sloppy files are not ours to show
            cwd="/",  # nothing importable from the folder being ingested
            env=_child_environment(),
            close_fds=True,  # above all, not the ingest lock
        )
        self._process = process
        self.started += 1
        os.set_blocking(_pipe(process.stdin).fileno(), False)
        try:
            ready = _read_reply(
                _pipe(process.stdout).fileno(), time.monotonic() + STARTUP_TIMEOUT_S
            )
        except (_TimedOut, _Gone, ValueError):
            how = _how_it_ended(self._kill())
            raise DocumentError(f"the parser process did not start ({how})") from None
        if not ready.get("ready"):
            self._kill()
            raise DocumentError("the parser process did not start (unexpected greeting)")
        return process

    def _kill(self, grace_s: float = 0.0) -> int | None:
        """Ends the parser process; `grace_s` lets one that is already dying say how it died."""
        process, self._process = self._process, None
        if process is None:
            return None
        if grace_s:
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=grace_s)
        if process.poll() is None:
            process.kill()
        returncode = process.wait()
        for pipe in (process.stdin, process.stdout):
            if pipe is None:
                continue
            with contextlib.suppress(OSError):
                pipe.close()
        return returncode

    def close(self) -> None:
        """Lets the parser process finish on its own (end of input), or kills it."""
        process = self._process
        if process is None:
            return
        if process.stdin is not None:
            with contextlib.suppress(OSError):
                process.stdin.close()
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=STOP_TIMEOUT_S)
        self._kill()
