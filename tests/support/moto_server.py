"""A moto server on loopback, as a pytest fixture: a fake AWS API for tests.

``moto_server`` (installed with ``moto[server]`` from requirements.txt) is
started in a subprocess on a free port of 127.0.0.1, waited for until it
answers, and killed after the tests that use it. Nothing here ever reaches
real AWS: the endpoint is the loopback URL and the credentials are fake.

Use it from a conftest or a test module::

    from support.moto_server import moto_server  # noqa: F401  (fixture)

    def test_something(moto_server):
        boto3.client("ec2", endpoint_url=moto_server.url, ...)
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

HOST = "127.0.0.1"
START_TIMEOUT = 30.0
STOP_TIMEOUT = 10.0
# Fake credentials and region for clients of the server; moto accepts any.
FAKE_ACCESS_KEY = "AKIAPATCHPILOTTEST01"
FAKE_SECRET_KEY = "patchpilot-moto-fake-secret-key"
REGION = "us-east-1"


@dataclass(frozen=True)
class MotoServer:
    url: str
    port: int
    log: Path
    access_key: str = FAKE_ACCESS_KEY
    secret_key: str = FAKE_SECRET_KEY
    region: str = REGION

    def reset(self) -> None:
        """Forget every resource (moto's own reset endpoint)."""
        request = urllib.request.Request(f"{self.url}/moto-api/reset", method="POST")
        with urllib.request.urlopen(request, timeout=10) as response:
            response.read()


def moto_server_binary() -> str:
    """The venv's moto_server (beside the running Python), else the one on PATH."""
    beside = Path(sys.executable).parent / "moto_server"
    if beside.exists():
        return str(beside)
    found = shutil.which("moto_server")
    if found is None:
        pytest.fail("moto_server is not installed: install requirements.txt (moto[server]) into the venv")
    return found


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/moto-api/data.json", timeout=2) as response:
            return response.status == 200
    except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
        return False


def start(log: Path, attempts: int = 3) -> tuple[subprocess.Popen, MotoServer]:
    """Start moto_server on a free port; retry on another port if one was taken meanwhile."""
    binary = moto_server_binary()
    last_output = ""
    for _attempt in range(attempts):
        port = free_port()
        url = f"http://{HOST}:{port}"
        with log.open("ab") as out:
            proc = subprocess.Popen(
                [binary, "-H", HOST, "-p", str(port)],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                break
            if answers(url):
                return proc, MotoServer(url=url, port=port, log=log)
            time.sleep(0.2)
        stop(proc)
        last_output = log.read_text(encoding="utf-8", errors="replace")[-3000:]
    pytest.fail(f"moto_server did not answer on {HOST} after {attempts} attempts; its output:\n{last_output}")


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=STOP_TIMEOUT)


@pytest.fixture(scope="module")
def moto_server(tmp_path_factory) -> MotoServer:
    """A running moto server on loopback, for the tests of one module."""
    log = tmp_path_factory.mktemp("moto") / "moto_server.log"
    proc, server = start(log)
    try:
        yield server
    finally:
        stop(proc)
