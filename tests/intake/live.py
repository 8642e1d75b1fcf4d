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
def server_process(args: list[str], log: Path, *, cwd: Path = ROOT, env: dict[str, str] | None = None,
                   start_seconds: float = 90):
    """``python -m <args> --port N`` on a free loopback port, yielded as (url, process) once
    ``/healthz`` answers, and stopped on exit; its stderr goes to ``log``."""
    port = free_port()
    with open(log, "wb") as err:
        proc = subprocess.Popen([sys.executable, "-m", *args, "--port", str(port)], cwd=cwd,
                                stdout=subprocess.DEVNULL, stderr=err,
                                env={**(os.environ if env is None else env), "PYTHONPATH": str(ROOT)})
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + start_seconds  # a loaded 2-core machine can take long to import the service
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"server exited early: {log.read_text()[-2000:]}")
            try:
                if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"server did not start: {log.read_text()[-2000:]}")
            time.sleep(0.1)
        yield url, proc
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@contextlib.contextmanager
def live_server(site: Path, db: Path, log: Path, *extra: str):
    with server_process(["intake", "serve", "--site", str(site), "--db", str(db), "--host", "127.0.0.1", *extra],
                        log) as (url, proc):
        yield LiveServer(url, db, log, proc)
