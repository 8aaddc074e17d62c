"""A real Prometheus (Debian's ``prometheus`` binary) on loopback for tests and the demo.

It scrapes the data plane's fake servers through file-based service discovery (the data
plane keeps the file current) every ``scrape_interval``; storage is a temporary directory.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

CONFIG = """global:
  scrape_interval: {interval}
  evaluation_interval: {interval}
scrape_configs:
  - job_name: fake-model-servers
    scrape_interval: {interval}
    scrape_timeout: {interval}
    file_sd_configs:
      - files: ["{sd_file}"]
        refresh_interval: {interval}
"""


def prometheus_binary() -> str | None:
    """The ``prometheus`` on PATH (None when not installed)."""
    return shutil.which("prometheus")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class LocalPrometheus:
    """``start()``/``stop()`` or ``running()``; ``url`` once started."""

    def __init__(self, sd_file: str | Path, *, scrape_interval: str = "1s",
                 binary: str | None = None) -> None:
        self.sd_file = Path(sd_file)
        self.scrape_interval = scrape_interval
        self.binary = binary or prometheus_binary()
        self.url = ""
        self._proc: subprocess.Popen[bytes] | None = None
        self._dir: str | None = None

    @contextmanager
    def running(self, timeout: float = 60.0) -> Iterator[LocalPrometheus]:
        """Start, yield, stop."""
        self.start(timeout)
        try:
            yield self
        finally:
            self.stop()

    def start(self, timeout: float = 60.0) -> LocalPrometheus:
        """Write the config, start the process, wait until ``/-/ready`` answers 200."""
        if not self.binary:
            raise RuntimeError("prometheus is not installed (scripts/setup.d/40-prometheus.sh)")
        self._dir = tempfile.mkdtemp(prefix="infstack-prometheus-")
        if not self.sd_file.exists():
            self.sd_file.write_text("[]", encoding="utf-8")
        config = Path(self._dir) / "prometheus.yml"
        config.write_text(CONFIG.format(interval=self.scrape_interval,
                                        sd_file=self.sd_file.resolve()), encoding="utf-8")
        port = _free_port()
        self.url = f"http://127.0.0.1:{port}"
        log = open(Path(self._dir) / "prometheus.log", "wb")  # noqa: SIM115 (owned by the proc)
        self._proc = subprocess.Popen(
            [self.binary, f"--config.file={config}",
             f"--storage.tsdb.path={Path(self._dir) / 'data'}",
             f"--web.listen-address=127.0.0.1:{port}", "--web.enable-lifecycle"],
            stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise RuntimeError(f"prometheus exited with {self._proc.returncode}: "
                                   f"{self.log_tail()}")
            try:
                with urllib.request.urlopen(self.url + "/-/ready", timeout=2) as resp:
                    if resp.status == 200:
                        return self
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"prometheus was not ready within {timeout:g}s")

    def log_tail(self, lines: int = 20) -> str:
        """The end of its log."""
        if not self._dir:
            return ""
        path = Path(self._dir) / "prometheus.log"
        text = path.read_text(encoding="utf-8", errors="replace") if path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def stop(self) -> None:
        """Terminate (kill after 10 s) and remove the temporary directory."""
        if self._proc is not None and self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait(5)
        self._proc = None
        if self._dir:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None
