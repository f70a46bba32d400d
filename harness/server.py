"""Start the real app (``python app.py``) in a subprocess on a free port, the way a user does."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until_up(url: str, process: subprocess.Popen, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the app exited with code {process.returncode}")
        try:
            with urllib.request.urlopen(url + "/config", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.25)
    raise TimeoutError(f"the app did not answer at {url} within {timeout} s")


@contextlib.contextmanager
def running_app(env: dict[str, str] | None = None, script: str = "app.py", log: Path | None = None) -> Iterator[str]:
    """Run ``python <script>`` with ``env`` added to the environment; yield its base URL."""
    with app_process(env, script, log) as (url, _):
        yield url


def cpu_seconds(process: subprocess.Popen) -> float:
    """CPU time the process has used so far (user + system), from /proc."""
    fields = Path(f"/proc/{process.pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def peak_memory_mb(process: subprocess.Popen) -> float:
    """The process's peak resident memory so far (Linux: VmHWM), in MiB."""
    for line in Path(f"/proc/{process.pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


@contextlib.contextmanager
def app_process(
    env: dict[str, str] | None = None, script: str = "app.py", log: Path | None = None, cwd: Path = ROOT
) -> Iterator[tuple[str, subprocess.Popen]]:
    """Like ``running_app``, but yields ``(url, process)`` for benchmarks that watch the process
    (``cwd``: the checkout to run, this one by default)."""
    port = free_port()
    environment = {
        **os.environ,
        "GRADIO_SERVER_NAME": "127.0.0.1",
        "GRADIO_SERVER_PORT": str(port),
        "GRADIO_ANALYTICS_ENABLED": "False",
        # The app believes X-Forwarded-For from this machine only: tests and benchmarks play many
        # addresses through it, as Hugging Face's proxy reports visitors' addresses on a Space.
        "TRUSTED_PROXIES": "127.0.0.1",
        **(env or {}),
    }
    out = open(log, "w") if log else subprocess.DEVNULL
    process = subprocess.Popen([sys.executable, script], cwd=cwd, env=environment, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(url, process)
        yield url, process
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
        if log:
            out.close()


def threads_of(process) -> int:
    """How many threads the process runs now."""
    for line in Path(f"/proc/{process.pid}/status").read_text().splitlines():
        if line.startswith("Threads:"):
            return int(line.split()[1])
    return 0


def rss_mb(process) -> float:
    for line in Path(f"/proc/{process.pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


class PeakMemory:
    """Samples the server's resident memory every 20 ms while the block runs: the growth of its peak."""

    def __init__(self, process) -> None:
        self.process, self.peak, self.running = process, 0.0, True

    def __enter__(self):
        self.start = rss_mb(self.process)
        self.thread = threading.Thread(target=self.sample, daemon=True)
        self.thread.start()
        return self

    def sample(self) -> None:
        while self.running:
            self.peak = max(self.peak, rss_mb(self.process))
            time.sleep(0.02)

    def __exit__(self, *exc) -> None:
        self.running = False
        self.thread.join()
        self.growth = self.peak - self.start
