"""A bounded load generator for analysis windows: deterministic completions against one URL,
loopback only (it is for tests, demos and local rehearsal, not a benchmark tool).

Bounded twice: at most ``max_requests`` requests and at most the given duration per call.
Requests go out from ``concurrency`` threads at up to ``rate`` requests per second in total.
"""

from __future__ import annotations

import http.client
import ipaddress
import json
import socket
import threading
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from inference_core.errors import FieldIssue, SpecError


def _is_loopback(host: str) -> bool:
    try:
        infos = socket.getaddrinfo(host, None)
    except OSError:
        return False
    return bool(infos) and all(ipaddress.ip_address(i[4][0]).is_loopback for i in infos)


@dataclass
class LoadStats:
    """What one run sent and got back (``statuses``: status code -> count; 0 = no answer)."""

    sent: int = 0
    statuses: dict[int, int] = field(default_factory=dict)


class LoadGenerator:
    """Send ``/v1/completions`` requests to ``url`` (Host taken from it).

    :param connect_to: ``host:port`` to connect to instead of the URL's host (the loopback
        ingress); must be loopback, as must the URL's host when it is not given.
    :param model: the served model name; ``prompt``/``max_tokens`` of every request.
    :param rate: requests per second in total; ``max_requests`` over the generator's life.
    """

    def __init__(self, url: str, *, model: str, connect_to: str | None = None,
                 prompt: str = "The capital of France is", max_tokens: int = 16,
                 rate: float = 50.0, concurrency: int = 4, max_requests: int = 10_000,
                 timeout: float = 10.0) -> None:
        parts = urlsplit(url)
        self.host = parts.netloc
        target = connect_to or parts.netloc
        host, _, port = target.rpartition(":") if ":" in target else (target, "", "80")
        if not _is_loopback(host):
            raise SpecError([FieldIssue("load.connect_to", "is not a loopback address",
                                        value=target, allowed="127.0.0.1:PORT, [::1]:PORT "
                                        "or localhost:PORT (the generator stays local)")])
        self.address = (host.strip("[]"), int(port or 80))
        self.path = (parts.path.rstrip("/") or "") + "/v1/completions"
        self.body = json.dumps({"model": model, "prompt": prompt, "max_tokens": max_tokens,
                                "temperature": 0}).encode()
        self.rate = rate
        self.concurrency = max(1, concurrency)
        self.max_requests = max_requests
        self.timeout = timeout
        self.total = LoadStats()
        self._lock = threading.Lock()

    def _one(self) -> int:
        conn = http.client.HTTPConnection(*self.address, timeout=self.timeout)
        try:
            conn.request("POST", self.path, body=self.body,
                         headers={"Host": self.host, "Content-Type": "application/json"})
            resp = conn.getresponse()
            resp.read()
            return resp.status
        except OSError:
            return 0
        finally:
            conn.close()

    def run(self, seconds: float, *, requests: int | None = None) -> LoadStats:
        """Send for ``seconds`` (or until ``requests`` were sent); the run's stats."""
        stats = LoadStats()
        deadline = time.monotonic() + max(seconds, 0.0)
        interval = self.concurrency / self.rate if self.rate > 0 else 0.0
        budget = min(requests if requests is not None else self.max_requests,
                     self.max_requests - self.total.sent)

        def worker() -> None:
            while time.monotonic() < deadline:
                with self._lock:
                    if stats.sent >= budget:
                        return
                    stats.sent += 1
                    self.total.sent += 1
                started = time.monotonic()
                status = self._one()
                with self._lock:
                    stats.statuses[status] = stats.statuses.get(status, 0) + 1
                    self.total.statuses[status] = self.total.statuses.get(status, 0) + 1
                pause = interval - (time.monotonic() - started)
                if pause > 0:
                    time.sleep(min(pause, max(deadline - time.monotonic(), 0)))

        threads = [threading.Thread(target=worker, daemon=True) for _ in range(self.concurrency)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(max(seconds, 0.0) + self.timeout + 5)
        return stats
