"""Run a :class:`~inference_core.smoke.checks.SmokeCheck` against one URL.

``connect_to`` (``host:port``) sends the requests there with the URL's host as ``Host`` (or
gRPC ``:authority``), like ``curl --connect-to``: how a candidate's tag URL is reached through
an ingress whose DNS name is not set up (the sandbox's loopback ingress, a port-forward).
The ``openai`` and ``grpcio`` packages are imported only when a check of their kind runs.
"""

from __future__ import annotations

import http.client
import json
import re
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any
from urllib.parse import urlsplit

from inference_core.errors import InferenceStacksError
from inference_core.smoke.checks import SmokeCheck


@dataclass
class Attempt:
    """One try: ``ok``, what failed (``problem``), latency of the judged request, details."""

    ok: bool
    problem: str = ""
    latency_s: float | None = None
    details: dict[str, Any] = field(default_factory=dict)


@dataclass
class SmokeReport:
    """Every attempt against ``url``; ``ok`` when the last one passed."""

    url: str
    kind: str
    attempts: list[Attempt] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """The last attempt passed."""
        return bool(self.attempts) and self.attempts[-1].ok

    def to_dict(self) -> dict[str, Any]:
        """JSON-able (XCom, ``-o json``)."""
        return {"url": self.url, "kind": self.kind, "ok": self.ok,
                "attempts": [asdict(a) for a in self.attempts]}

    def summary(self) -> str:
        """One line."""
        last = self.attempts[-1] if self.attempts else None
        if last is None:
            return f"{self.url}: not run"
        n = len(self.attempts)
        if last.ok:
            return (f"{self.url}: ok ({self.kind}, {last.latency_s:.3f}s"
                    f"{', after ' + str(n) + ' attempts' if n > 1 else ''})")
        return f"{self.url}: FAILED after {n} attempt(s): {last.problem}"


class SmokeFailed(InferenceStacksError):
    """The smoke test did not pass within its attempts; ``report`` has every attempt."""

    def __init__(self, report: SmokeReport) -> None:
        super().__init__(f"smoke test {report.summary()}")
        self.report = report


class _Problem(Exception):
    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.details = details


def _check_answer(text: str, check: SmokeCheck) -> None:
    if check.expect_contains is not None and check.expect_contains not in text:
        raise _Problem(f"answer {text[:200]!r} does not contain {check.expect_contains!r}",
                       answer=text[:500])
    if check.expect_regex is not None and not re.search(check.expect_regex, text):
        raise _Problem(f"answer {text[:200]!r} does not match /{check.expect_regex}/",
                       answer=text[:500])
    if check.expect_json:
        try:
            value = json.loads(text)
        except ValueError as e:
            raise _Problem(f"answer {text[:200]!r} is not JSON ({e})", answer=text[:500]) from e
        if isinstance(check.expect_json, list):
            missing = [k for k in check.expect_json
                       if not isinstance(value, dict) or k not in value]
            if missing:
                raise _Problem(f"JSON answer lacks keys {missing}", answer=text[:500])


def _openai(url: str, check: SmokeCheck, connect_to: str | None,
            api_key: str | None) -> tuple[float, dict[str, Any]]:
    import openai

    parts = urlsplit(url)
    base = f"{parts.scheme}://{connect_to}" if connect_to else f"{parts.scheme}://{parts.netloc}"
    headers = {"Host": parts.netloc} if connect_to else {}
    client = openai.OpenAI(base_url=base + parts.path.rstrip("/") + "/v1",
                           api_key=api_key or "EMPTY", default_headers=headers,
                           max_retries=0, timeout=check.timeout_s)
    try:
        try:
            served = [m.id for m in client.models.list().data]
        except openai.APIStatusError as e:
            raise _Problem(f"GET /v1/models answered {e.status_code}: {str(e)[:200]}") from e
        if check.model not in served:
            raise _Problem(f"model {check.model!r} is not served (the server lists "
                           f"{served or 'no models'})", served=served)
        start = time.monotonic()
        try:
            if check.chat:
                chat = client.chat.completions.create(
                    model=str(check.model), max_tokens=check.max_tokens, temperature=0,
                    messages=[{"role": "user", "content": check.prompt}])
                text = chat.choices[0].message.content or ""
            else:
                done = client.completions.create(model=str(check.model), prompt=check.prompt,
                                                 max_tokens=check.max_tokens, temperature=0)
                text = done.choices[0].text
        except openai.APIStatusError as e:
            raise _Problem(f"the completion answered {e.status_code}: {str(e)[:200]}") from e
        latency = time.monotonic() - start
    except openai.APIConnectionError as e:  # includes timeouts
        raise _Problem(f"cannot reach {base}: {e}") from e
    finally:
        client.close()
    _check_answer(text, check)
    return latency, {"served": served, "answer": text[:500]}


def _http(url: str, check: SmokeCheck, connect_to: str | None) -> tuple[float, dict[str, Any]]:
    parts = urlsplit(url)
    address = connect_to or parts.netloc
    host, _, port = address.rpartition(":") if ":" in address else (address, "", "")
    conn_cls = http.client.HTTPSConnection if parts.scheme == "https" else \
        http.client.HTTPConnection
    conn = conn_cls(host.strip("[]"), int(port) if port else None, timeout=check.timeout_s)
    path = parts.path.rstrip("/") + check.path
    start = time.monotonic()
    try:
        conn.request(check.method, path, body=check.body.encode() if check.body else None,
                     headers={"Host": parts.netloc, "Content-Type": "application/json"})
        resp = conn.getresponse()
        body = resp.read().decode("utf-8", "replace")
    except OSError as e:
        raise _Problem(f"cannot reach {address}: {e}") from e
    finally:
        conn.close()
    latency = time.monotonic() - start
    if resp.status != check.expect_status:
        raise _Problem(f"{check.method} {path} answered {resp.status}, expected "
                       f"{check.expect_status}", status=resp.status, body=body[:300])
    if check.expect_body_contains is not None and check.expect_body_contains not in body:
        raise _Problem(f"{check.method} {path} body does not contain "
                       f"{check.expect_body_contains!r}", body=body[:300])
    return latency, {"status": resp.status}


def _grpc(url: str, check: SmokeCheck, connect_to: str | None) -> tuple[float, dict[str, Any]]:
    import grpc
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    parts = urlsplit(url if "://" in url else f"grpc://{url}")
    address = connect_to or parts.netloc
    options = [("grpc.default_authority", parts.netloc)] if connect_to else []
    start = time.monotonic()
    with grpc.insecure_channel(address, options=options) as channel:
        try:
            answer = health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(service=check.service), timeout=check.timeout_s)
        except grpc.RpcError as e:
            raise _Problem(f"grpc.health.v1.Health/Check at {address}: {e.code().name} "
                           f"{e.details()}") from e
    latency = time.monotonic() - start
    status = health_pb2.HealthCheckResponse.ServingStatus.Name(answer.status)
    if status != "SERVING":
        raise _Problem(f"gRPC health of {check.service or 'the server'} is {status}",
                       status=status)
    return latency, {"status": status}


def run_smoke(url: str, check: SmokeCheck, *, connect_to: str | None = None,
              api_key: str | None = None,
              sleep: Callable[[float], None] = time.sleep) -> SmokeReport:
    """Try up to ``check.attempts`` times; return the report when one passes, else raise
    :class:`SmokeFailed`. ``api_key`` (for servers started with ``--api-key``) is never
    recorded."""
    report = SmokeReport(url, check.kind)
    for n in range(check.attempts):
        try:
            if check.kind == "openai":
                latency, details = _openai(url, check, connect_to, api_key)
            elif check.kind == "http":
                latency, details = _http(url, check, connect_to)
            else:
                latency, details = _grpc(url, check, connect_to)
            if latency > check.latency_budget_s:
                raise _Problem(f"answered in {latency:.3f}s, over the budget of "
                               f"{check.latency_budget_s:g}s", **details)
            report.attempts.append(Attempt(True, latency_s=round(latency, 4), details=details))
            return report
        except _Problem as p:
            report.attempts.append(Attempt(False, str(p), details=p.details))
        if n + 1 < check.attempts:
            sleep(check.retry_delay_s)
    raise SmokeFailed(report)
