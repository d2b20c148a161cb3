"""The parser process: reads requests on stdin, answers on stdout, one document at a time.

Started by `ingest.sandbox.ParserSandbox` as `python -P -m ingest.parse_worker MEMORY_BYTES`.
Frames are an 8-byte big-endian length and that many bytes. A request is a JSON frame
({"kind", "limits"}) and a frame with the file's bytes; a reply is one JSON frame: an
`Extracted` dict, or {"error": message} (with "retire": true when this process must not be
trusted with another file, e.g. after running out of memory).
"""

from __future__ import annotations

import json
import os
import resource
import sys
from typing import BinaryIO

from ingest.errors import DocumentError
from ingest.limits import MB, ParseLimits, human_size
from ingest.parsers import FORMAT_NAMES, extract

FRAME_HEADER_SIZE = 8


def frame(payload: bytes) -> bytes:
    return len(payload).to_bytes(FRAME_HEADER_SIZE, "big") + payload


def _read_exactly(stream: BinaryIO, size: int) -> bytes | None:
    data = stream.read(size)
    return data if data is not None and len(data) == size else None


def _read_frame(stream: BinaryIO) -> bytes | None:
    header = _read_exactly(stream, FRAME_HEADER_SIZE)
    if header is None:
        return None  # the ingest process closed the pipe: time to go
    return _read_exactly(stream, int.from_bytes(header, "big"))


def _send(stream: BinaryIO, payload: bytes) -> None:
    stream.write(len(payload).to_bytes(FRAME_HEADER_SIZE, "big"))  # no copy of a large payload
    stream.write(payload)
    stream.flush()


def _memory_reply(memory_bytes: int) -> dict:
    return {
        "error": f"needed more than {human_size(memory_bytes)} of memory to parse "
        "(raise COE_PARSE_MEMORY_MB to allow more)",
        "retire": True,  # half-built objects may linger: start afresh
    }


def _warm_up() -> None:
    # Imported before the memory limit applies, so the limit is what parsing itself may use.
    import bs4  # noqa: F401
    import docx  # noqa: F401
    import lxml.etree  # noqa: F401
    import pypdf  # noqa: F401


def _limit_resources(memory_bytes: int) -> None:
    resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # a crash on a hostile file leaves no dump


def handle(meta: dict, data: bytes) -> dict:
    kind = str(meta.get("kind"))
    limits = ParseLimits(**meta["limits"])
    try:
        return dict(extract(kind, data, limits))
    except DocumentError as error:
        return {"error": str(error)}
    except MemoryError:
        return _memory_reply(limits.memory_bytes)
    except RecursionError:
        return {"error": f"not a readable {FORMAT_NAMES.get(kind, kind)}: it nests too deeply"}
    except Exception as error:  # one odd file must cost one file, not the parser
        name = FORMAT_NAMES.get(kind, kind)
        return {"error": f"not a readable {name}: {type(error).__name__}: {error}"}


def main(argv: list[str]) -> int:
    memory_bytes = int(argv[0]) if argv else 1024 * MB
    replies = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())  # stray prints must not corrupt replies
    requests = sys.stdin.buffer
    _warm_up()
    _limit_resources(memory_bytes)
    _send(replies, json.dumps({"ready": True}).encode("ascii"))
    while (meta := _read_frame(requests)) is not None:
        data = _read_frame(requests)
        if data is None:
            return 0
        try:
            reply = handle(json.loads(meta), data)
            payload = json.dumps(reply).encode("ascii")
        except MemoryError:  # the reply itself can be what no longer fits
            reply = _memory_reply(memory_bytes)
            payload = json.dumps(reply).encode("ascii")
        del data
        _send(replies, payload)
        if reply.get("retire"):
            return 0
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
