"""A real uvicorn server in a child process on a free loopback port, for tests."""
from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class LiveServer:
    """A running ``python -m intake serve``: its URL, database and JSON log file."""

    url: str
    db: Path
    log: Path
    proc: subprocess.Popen


@contextlib.contextmanager
def live_server(site: Path, db: Path, log: Path, *extra: str):
    port = free_port()
    cmd = [sys.executable, "-m", "intake", "serve", "--site", str(site), "--db", str(db),
           "--host", "127.0.0.1", "--port", str(port), *extra]
    with open(log, "wb") as err:
        proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=err,
                                env={**os.environ, "PYTHONPATH": str(ROOT)})
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90  # a loaded 2-core machine can take long to import the service
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"server exited early: {log.read_text()}")
            try:
                if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"server did not start: {log.read_text()}")
            time.sleep(0.1)
        yield LiveServer(url, db, log, proc)
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
