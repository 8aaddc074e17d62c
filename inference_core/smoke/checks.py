"""What a smoke test checks, as data (JSON-able; validated with errors naming the field).

``kind``:

- ``openai`` (vLLM and other OpenAI-compatible servers): list models with the official
  ``openai`` client and require ``model`` among them; send one deterministic completion
  (``temperature`` 0, ``max_tokens``) or chat (``chat: true``) and check the answer:
  ``expect_contains`` (substring), ``expect_regex`` (``re.search``), ``expect_json`` (the
  answer parses as JSON; a list of keys it must have).
- ``http``: one request (``method``, ``path``, ``body``) answered ``expect_status`` and,
  optionally, a body containing ``expect_body_contains``.
- ``grpc``: the standard health protocol (``grpc.health.v1.Health/Check``, ``service``)
  answers SERVING.

Every kind: ``latency_budget_s`` for one request, ``attempts`` (bounded retries, waiting
``retry_delay_s`` between), ``timeout_s`` per request.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from typing import Any

from inference_core.errors import FieldIssue, SpecError

KINDS = ("openai", "http", "grpc")


@dataclass(frozen=True)
class SmokeCheck:
    """See the module docstring for every field."""

    kind: str = "openai"
    model: str | None = None
    prompt: str = "The capital of France is"
    chat: bool = False
    max_tokens: int = 16
    expect_contains: str | None = None
    expect_regex: str | None = None
    expect_json: bool | list[str] = False
    method: str = "GET"
    path: str = "/health"
    body: str | None = None
    expect_status: int = 200
    expect_body_contains: str | None = None
    service: str = ""
    latency_budget_s: float = 10.0
    attempts: int = 3
    retry_delay_s: float = 2.0
    timeout_s: float = 30.0

    def __post_init__(self) -> None:
        issues = []
        if self.kind not in KINDS:
            issues.append(FieldIssue("smoke.kind", "is not a smoke test kind", value=self.kind,
                                     allowed=", ".join(KINDS)))
        if self.kind == "openai" and not self.model:
            issues.append(FieldIssue("smoke.model", "is required for kind openai", value=None,
                                     allowed="the served model name (--served-model-name)"))
        if self.expect_regex is not None:
            try:
                re.compile(self.expect_regex)
            except re.error as e:
                issues.append(FieldIssue("smoke.expect_regex", f"is not a regular expression "
                                         f"({e})", value=self.expect_regex))
        if not 1 <= self.attempts <= 20:
            issues.append(FieldIssue("smoke.attempts", "is out of range", value=self.attempts,
                                     allowed="1..20"))
        for name in ("latency_budget_s", "timeout_s"):
            if getattr(self, name) <= 0:
                issues.append(FieldIssue(f"smoke.{name}", "must be positive",
                                         value=getattr(self, name), allowed="seconds > 0"))
        if self.retry_delay_s < 0:
            issues.append(FieldIssue("smoke.retry_delay_s", "must not be negative",
                                     value=self.retry_delay_s, allowed="seconds >= 0"))
        if not 100 <= self.expect_status <= 599:
            issues.append(FieldIssue("smoke.expect_status", "is not an HTTP status",
                                     value=self.expect_status, allowed="100..599"))
        if not self.path.startswith("/"):
            issues.append(FieldIssue("smoke.path", "must start with /", value=self.path))
        if issues:
            raise SpecError(issues)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SmokeCheck:
        """From a mapping; unknown keys are refused naming the allowed ones."""
        allowed = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - allowed)
        if unknown:
            raise SpecError([FieldIssue(f"smoke.{unknown[0]}", "is not a smoke test setting",
                                        value=data[unknown[0]],
                                        allowed=", ".join(sorted(allowed)))])
        values = dict(data)
        if isinstance(values.get("expect_json"), tuple):
            values["expect_json"] = list(values["expect_json"])
        return cls(**values)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able."""
        return asdict(self)
