"""Fault injection: scripted errors, throttling, slow responses and dropped watch streams.

Rules match requests by Kubernetes verb, resource plural, name and/or a path substring, and
fire for chosen requests (``after`` N matches, ``times`` M) or at a ``rate`` (seeded, so runs
are repeatable)::

    sb.faults.fail(503, verb="get", resource="services", times=2)
    sb.faults.throttle(retry_after=1, verb="patch", times=1)        # 429 + Retry-After
    sb.faults.slow(0.5, verb="list")                                 # real seconds
    sb.faults.drop_watch(after_events=1, resource="pods")            # stream cut mid-way
    sb.faults.expire_watch(resource="services")                      # 410 on the next watch
    sb.faults.conflict(verb="update", rate=0.5)                      # 409 half the time
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass, field

from inference_sandbox.apierrors import ApiError

_REASONS = {
    400: "BadRequest", 401: "Unauthorized", 403: "Forbidden", 404: "NotFound",
    409: "Conflict", 410: "Expired", 422: "Invalid", 429: "TooManyRequests",
    500: "InternalError", 502: "BadGateway", 503: "ServiceUnavailable", 504: "Timeout",
}


@dataclass
class FaultRule:
    """One scripted fault. ``hits`` counts how often it fired."""

    action: str  # "error" | "slow" | "drop_watch"
    status: int = 500
    verb: str | None = None
    resource: str | None = None
    name: str | None = None
    path: str | None = None
    after: int = 0
    times: int | None = 1
    rate: float | None = None
    retry_after: int | None = None
    delay: float = 0.0
    message: str | None = None
    after_events: int = 0
    mode: str = "reset"
    seen: int = 0
    hits: int = 0

    def matches(self, verb: str, resource: str | None, name: str | None, path: str) -> bool:
        """Whether the request is one this rule looks at."""
        if self.verb and self.verb != verb:
            return False
        if self.resource and self.resource != resource:
            return False
        if self.name and self.name != name:
            return False
        return not (self.path and self.path not in path)

    @property
    def exhausted(self) -> bool:
        """No more firings left."""
        return self.times is not None and self.hits >= self.times

    def to_error(self) -> ApiError:
        """The API error this rule answers with."""
        reason = _REASONS.get(self.status, "InternalError")
        message = self.message or f"sandbox injected fault: HTTP {self.status} {reason}"
        headers = {}
        details = None
        if self.status == 429 or self.retry_after is not None:
            retry = self.retry_after if self.retry_after is not None else 1
            headers["Retry-After"] = str(retry)
            details = {"retryAfterSeconds": retry}
            if self.message is None and self.status == 429:
                message = "Too many requests, please try again later."
        return ApiError(self.status, reason, message, details=details, headers=headers)


@dataclass
class FaultDecision:
    """What to do with one request."""

    delay: float = 0.0
    error: ApiError | None = None
    drop_after_events: int | None = None
    drop_mode: str = "reset"
    expire_watch: bool = False


@dataclass
class FaultInjector:
    """The sandbox's fault rules (thread-safe; tests add rules from their own thread)."""

    seed: int = 0
    rules: list[FaultRule] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._random = random.Random(self.seed)

    def _add(self, rule: FaultRule) -> FaultRule:
        with self._lock:
            self.rules.append(rule)
        return rule

    def fail(self, status: int = 500, *, verb: str | None = None, resource: str | None = None,
             name: str | None = None, path: str | None = None, after: int = 0,
             times: int | None = 1, rate: float | None = None, retry_after: int | None = None,
             message: str | None = None) -> FaultRule:
        """Answer matching requests with HTTP ``status`` (a real ``Status`` body)."""
        return self._add(FaultRule("error", status=status, verb=verb, resource=resource,
                                   name=name, path=path, after=after, times=times, rate=rate,
                                   retry_after=retry_after, message=message))

    def throttle(self, retry_after: int = 1, **match: object) -> FaultRule:
        """429 TooManyRequests with ``Retry-After``."""
        return self.fail(429, retry_after=retry_after, **match)  # type: ignore[arg-type]

    def conflict(self, **match: object) -> FaultRule:
        """409 Conflict (as if the object had been modified meanwhile)."""
        match.setdefault("message", "Operation cannot be fulfilled: the object has been "
                                    "modified; please apply your changes to the latest version "
                                    "and try again")
        return self.fail(409, **match)  # type: ignore[arg-type]

    def slow(self, seconds: float, *, verb: str | None = None, resource: str | None = None,
             name: str | None = None, path: str | None = None, after: int = 0,
             times: int | None = None, rate: float | None = None) -> FaultRule:
        """Delay matching responses by ``seconds`` of real time."""
        return self._add(FaultRule("slow", delay=seconds, verb=verb, resource=resource,
                                   name=name, path=path, after=after, times=times, rate=rate))

    def drop_watch(self, after_events: int = 0, *, resource: str | None = None,
                   path: str | None = None, times: int | None = 1, mode: str = "reset",
                   after: int = 0) -> FaultRule:
        """Cut the next matching watch stream(s) after ``after_events`` events.

        ``mode="reset"`` aborts the connection (the client sees a broken stream);
        ``mode="close"`` ends the chunked response cleanly, like a server-side timeout.
        """
        if mode not in ("reset", "close"):
            raise ValueError(f"drop_watch mode must be 'reset' or 'close' (got {mode!r})")
        return self._add(FaultRule("drop_watch", verb="watch", resource=resource, path=path,
                                   times=times, after=after, after_events=after_events,
                                   mode=mode))

    def expire_watch(self, *, resource: str | None = None, times: int | None = 1) -> FaultRule:
        """Answer the next matching watch with a 410 ``Expired`` ERROR event."""
        return self.fail(410, verb="watch", resource=resource, times=times)

    def clear(self) -> None:
        """Remove every rule."""
        with self._lock:
            self.rules.clear()

    def decide(self, verb: str, resource: str | None, name: str | None, path: str
               ) -> FaultDecision:
        """Evaluate rules in order for one request."""
        decision = FaultDecision()
        with self._lock:
            for rule in self.rules:
                if rule.exhausted or not rule.matches(verb, resource, name, path):
                    continue
                rule.seen += 1
                if rule.seen <= rule.after:
                    continue
                if rule.rate is not None and self._random.random() >= rule.rate:
                    continue
                rule.hits += 1
                if rule.action == "slow":
                    decision.delay += rule.delay
                elif rule.action == "drop_watch":
                    decision.drop_after_events = rule.after_events
                    decision.drop_mode = rule.mode
                elif verb == "watch" and rule.status == 410:
                    decision.expire_watch = True
                elif decision.error is None:
                    decision.error = rule.to_error()
        return decision
