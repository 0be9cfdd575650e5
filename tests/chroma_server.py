"""A real `chroma run` on loopback for the server-mode tests (import the fixture into a test module)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

_STARTUP_SECONDS = 60.0


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def http_ok(url: str) -> bool:
    """True when a loopback server answers ``url`` with 200."""
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return bool(response.status == 200)
    except OSError:
        return False


def _heartbeat(port: int) -> bool:
    return http_ok(f"http://127.0.0.1:{port}/api/v2/heartbeat")


def _wait_until_up(proc: subprocess.Popen[bytes], port: int, log: Path) -> None:
    deadline = time.monotonic() + _STARTUP_SECONDS
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"`chroma run` exited with {proc.returncode} before answering; its log:\n{log.read_text()}")
        if _heartbeat(port):
            return
        time.sleep(0.2)
    pytest.fail(f"`chroma run` did not answer its heartbeat within {_STARTUP_SECONDS:.0f} s; log:\n{log.read_text()}")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@pytest.fixture(scope="session")
def chroma_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, int]]:
    """Start `chroma run` on a free loopback port with its own data folder; yields (host, port)."""
    exe = Path(sys.executable).parent / "chroma"
    if not exe.exists():
        pytest.fail(f"{exe} not found: install chromadb into this virtualenv (it provides the `chroma` command)")
    port = _free_port()
    root = tmp_path_factory.mktemp("chroma-server")
    log = root / "server.log"
    env = {**os.environ, "ANONYMIZED_TELEMETRY": "False"}
    cmd = [str(exe), "run", "--host", "127.0.0.1", "--port", str(port), "--path", str(root / "data")]
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env)
    try:
        _wait_until_up(proc, port, log)
        yield ("127.0.0.1", port)
    finally:
        _stop(proc)
