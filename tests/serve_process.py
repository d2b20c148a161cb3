"""Runs the real `coe serve` as a subprocess, to kill it, stop it and send it signed requests.

    with ServeProcess(api_url=double.url, data_dir=kb_data, log_path=tmp_path / "serve.log",
                      env={"COE_DATABASE_URL": f"sqlite:///{tmp_path}/coe.db"}) as server:
        server.start()
        server.event(mention("How do I start?", ts="1700000000.000100"))
        server.kill()                      # SIGKILL: no cleanup at all
        code, seconds = server.wait(10)

The process runs in its own session; whatever happens, closing the ServeProcess (the `with`
block, or `close()`) kills its whole process group, and an atexit hook covers the rest.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.slack_harness import SECRET, SignedSender

REPO = Path(__file__).resolve().parent.parent
_running: set[ServeProcess] = set()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ServeProcess(SignedSender):
    def __init__(
        self,
        api_url: str | None = None,
        data_dir: Path | str | None = None,
        env: dict[str, str] | None = None,
        log_path: Path | str | None = None,
        port: int | None = None,
        args: list[str] | None = None,
    ) -> None:
        """`env` is laid over os.environ and the defaults: a test bot token, the test signing
        secret, and SLACK_API_URL=`api_url` when given."""
        self.port = port or free_port()
        self.command_line = [
            sys.executable,
            "-m",
            "bot.cli.main",
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            *(["--data-dir", str(data_dir)] if data_dir is not None else []),
            *(args or []),
        ]
        self.env = {
            **os.environ,
            "SLACK_BOT_TOKEN": "xoxb-test-token",
            "SLACK_SIGNING_SECRET": SECRET,
            **({"SLACK_API_URL": api_url} if api_url else {}),
            **(env or {}),
        }
        if log_path is None:
            handle, log_path = tempfile.mkstemp(prefix="coe-serve-", suffix=".log")
            os.close(handle)
        self.log_path = Path(log_path)
        self.process: subprocess.Popen | None = None
        self._signalled_at: float | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    @property
    def returncode(self) -> int | None:
        return self.process.poll() if self.process else None

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    # -- life cycle ---------------------------------------------------------------------------

    def start(self, timeout: float = 120) -> ServeProcess:
        """Starts `coe serve` and waits until GET /healthz answers 200."""
        assert self.process is None, "already started"
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                self.command_line,
                cwd=REPO,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group, for cleanup
            )
        _running.add(self)
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                raise AssertionError(
                    f"coe serve exited with {self.process.returncode} before it was healthy:\n"
                    + self.log_tail()
                )
            with contextlib.suppress(OSError):  # refused, reset, or timed out: not up yet
                if self.get("/healthz").status == 200:
                    return self
            if time.monotonic() > deadline:
                self.close()
                raise AssertionError(
                    f"coe serve was not healthy after {timeout:.0f} s:\n" + self.log_tail()
                )
            time.sleep(0.1)

    def kill(self) -> None:
        """SIGKILL to the server process: it gets no chance to clean up."""
        self._signal(signal.SIGKILL)

    def terminate(self) -> None:
        """SIGTERM to the server process, as `docker stop` or Kubernetes would send."""
        self._signal(signal.SIGTERM)

    def _signal(self, signum: int) -> None:
        assert self.process is not None, "not started"
        self._signalled_at = time.monotonic()
        with contextlib.suppress(ProcessLookupError):
            self.process.send_signal(signum)

    def wait(self, timeout: float = 30) -> tuple[int, float]:
        """Waits for the process to exit: (return code, seconds since the last signal sent,
        or since this call when none was). Raises AssertionError, with the log's tail, if it
        is still running after `timeout`."""
        assert self.process is not None, "not started"
        since = self._signalled_at or time.monotonic()
        try:
            code = self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(
                f"coe serve still running {timeout:.0f} s later:\n" + self.log_tail()
            ) from None
        return code, time.monotonic() - since

    def close(self) -> None:
        """Kills the server and anything it started (its process group), then reaps it."""
        _running.discard(self)
        if self.process is None:
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signal.SIGKILL)  # its own group: start_new_session
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(10)

    def __enter__(self) -> ServeProcess:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- reading --------------------------------------------------------------------------

    def log_text(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log_text().splitlines()[-lines:])

    def healthy(self) -> bool:
        try:
            return self.get("/healthz").status == 200
        except OSError:  # refused, reset, timed out (URLError is an OSError)
            return False


@atexit.register
def _close_all() -> None:
    for server in list(_running):
        server.close()
