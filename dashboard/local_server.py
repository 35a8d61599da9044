"""The app headless on a free port of 127.0.0.1: for the browser tests, the soak, the
browser benchmark and the screenshots (one way to start it and to know it is up)."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def streamlit_server(
    command: list[str], cwd: Path, env: dict[str, str], wait_s: float = 60, logs: bool = True
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """``python -m <command> --server.port P`` run in ``cwd`` with ``env`` on a free port:
    its URL and process once it accepts connections (an error if it does not within
    ``wait_s``), stopped when the block ends. ``logs`` keeps its output for the error when
    it exits early; a long run discards it instead, so a full pipe never stalls the server."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", *command, "--server.port", str(port)],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE if logs else subprocess.DEVNULL,
        stderr=subprocess.STDOUT if logs else subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + wait_s
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError as exc:
                if proc.poll() is not None:
                    output = proc.stdout.read().decode() if proc.stdout else ""
                    raise RuntimeError(f"streamlit exited: {output}") from exc
                time.sleep(0.1)
        else:
            raise RuntimeError(f"streamlit did not answer within {wait_s:.0f} s")
        yield f"http://127.0.0.1:{port}", proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()


@contextmanager
def app_server(
    env: dict[str, str], wait_s: float = 60, logs: bool = True
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """The app (:mod:`dashboard.serve`: ``streamlit run``, modules preloaded) with ``env``,
    served headless on 127.0.0.1 as :func:`streamlit_server` does."""
    command = ["dashboard.serve", "--server.address", "127.0.0.1", "--server.headless", "true"]
    with streamlit_server(command, ROOT, env, wait_s, logs) as served:
        yield served
