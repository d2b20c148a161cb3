"""A real Chroma server (`chroma run`, from the chromadb package) on a free port, for tests of
the index shared by replicas. It can be stopped and started again on the same port and folder,
as an operator restarting it would."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from tests.serve_process import free_port


class ChromaServer:
    def __init__(self, path: Path, log_path: Path) -> None:
        self.path = Path(path)
        self.log_path = Path(log_path)
        self.port = free_port()
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 30) -> ChromaServer:
        chroma = Path(sys.executable).with_name("chroma")
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [
                    chroma,
                    "run",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(self.port),
                    "--path",
                    self.path,
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
                env={**os.environ, "ANONYMIZED_TELEMETRY": "False"},
            )
        deadline = time.monotonic() + timeout
        while not self.healthy():
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise AssertionError("chroma run did not start:\n" + self.log_path.read_text())
            time.sleep(0.1)
        return self

    def healthy(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.url}/api/v2/heartbeat", timeout=1) as response:
                return response.status == 200
        except OSError:
            return False

    def stop(self) -> None:
        if self.process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(10)
        self.process = None
