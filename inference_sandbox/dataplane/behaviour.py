"""What a fake model server does, read from the container it stands in for.

The engine comes from the command: ``vllm serve MODEL ...`` (also inside an ``sh -c`` Ray
command line) makes an OpenAI-compatible vLLM server whose served model name is
``--served-model-name`` or the model id; anything else is a custom workload answering plain
HTTP, or the gRPC health protocol when its port is named ``h2c``/``grpc``.

Tests and the demo make a version misbehave through its environment or its image tag:

============================  ===============================  ===============================
env variable                  image tag suffix                 effect
============================  ===============================  ===============================
``FAKE_TTFT_MS`` (20)         ``-slow`` (TTFT and ITL x3)     time to first token, ms
``FAKE_ITL_MS`` (5)                                            time between output tokens, ms
``FAKE_ERROR_RATE`` (0)       ``-errors`` (0.2)                share of requests answered 500
``FAKE_ANSWER``               ``-wrong`` ("I do not know.")    completion text
``FAKE_MODEL_MISSING`` (0)    ``-nomodel``                     /v1/models lists nothing, 404
``FAKE_KV_CACHE_USAGE`` (0.3)                                  ``vllm:kv_cache_usage_perc``
``FAKE_HEALTH_STATUS`` (200)  ``-unhealthy`` (503)             /health (and gRPC NOT_SERVING)
``FAKE_LATENCY_MS``                                            alias of ``FAKE_TTFT_MS``
============================  ===============================  ===============================

The tag suffix is matched on the part after the last ``:`` (``acme/llm:1.1-slow``).
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

DEFAULT_ANSWER = "Paris is the capital of France."
WRONG_ANSWER = "I do not know."
#: image tag suffix -> overrides
TAG_CONVENTIONS: dict[str, dict[str, Any]] = {
    "-slow": {"slow_factor": 3.0},
    "-errors": {"error_rate": 0.2},
    "-wrong": {"answer": WRONG_ANSWER},
    "-nomodel": {"model_missing": True},
    "-unhealthy": {"health_status": 503},
}


@dataclass(frozen=True)
class Behaviour:
    """How one fake server answers. ``engine`` is ``vllm``, ``http`` or ``grpc``."""

    engine: str = "http"
    served_model: str = ""
    ttft_ms: float = 20.0
    itl_ms: float = 5.0
    error_rate: float = 0.0
    answer: str = DEFAULT_ANSWER
    model_missing: bool = False
    kv_cache_usage: float = 0.3
    health_status: int = 200
    slow_factor: float = 1.0
    image: str = ""

    @property
    def effective_ttft_ms(self) -> float:
        """TTFT after the slow factor."""
        return self.ttft_ms * self.slow_factor

    @property
    def effective_itl_ms(self) -> float:
        """Inter-token latency after the slow factor."""
        return self.itl_ms * self.slow_factor


def _vllm_args(container: Mapping[str, Any]) -> list[str] | None:
    """The arguments after ``vllm serve`` (None when this is not a vLLM server)."""
    command = [str(c) for c in container.get("command") or []]
    args = [str(a) for a in container.get("args") or []]
    if command[:2] == ["vllm", "serve"]:
        return [*command[2:], *args]
    if command[:2] == ["sh", "-c"] and len(command) > 2:
        words = shlex.split(command[2].replace("&&", " && "))
        for i in range(len(words) - 1):
            if words[i] == "vllm" and words[i + 1] == "serve":
                return words[i + 2:]
    return None


def _flag(args: Sequence[str], name: str) -> str | None:
    for i, arg in enumerate(args):
        if arg == name and i + 1 < len(args):
            return args[i + 1]
        if arg.startswith(name + "="):
            return arg.split("=", 1)[1]
    return None


def _env(container: Mapping[str, Any]) -> dict[str, str]:
    return {str(e.get("name")): str(e.get("value", "")) for e in container.get("env") or []
            if isinstance(e, Mapping) and "value" in e}


def _truthy(value: str) -> bool:
    return value.strip().lower() in ("1", "true", "yes", "on")


def behaviour_of(container: Mapping[str, Any]) -> Behaviour:
    """The behaviour of the server standing in for ``container`` (a pod-spec container)."""
    image = str(container.get("image") or "")
    args = _vllm_args(container)
    if args is not None:
        model = args[0] if args and not args[0].startswith("-") else ""
        b = Behaviour(engine="vllm", served_model=_flag(args, "--served-model-name") or model,
                      image=image)
    else:
        ports = container.get("ports") or []
        names = {str(p.get("name", "")) for p in ports if isinstance(p, Mapping)}
        b = Behaviour(engine="grpc" if names & {"h2c", "grpc"} else "http", image=image)
    tag = image.rsplit(":", 1)[1] if ":" in image.rsplit("/", 1)[-1] else ""
    for suffix, overrides in TAG_CONVENTIONS.items():
        if tag.endswith(suffix):
            b = replace(b, **overrides)
    env = _env(container)
    numbers = {"FAKE_LATENCY_MS": "ttft_ms", "FAKE_TTFT_MS": "ttft_ms", "FAKE_ITL_MS": "itl_ms",
               "FAKE_ERROR_RATE": "error_rate", "FAKE_KV_CACHE_USAGE": "kv_cache_usage"}
    for key, attr in numbers.items():
        if key in env:
            values: dict[str, Any] = {attr: float(env[key])}
            b = replace(b, **values)
    if "FAKE_HEALTH_STATUS" in env:
        b = replace(b, health_status=int(env["FAKE_HEALTH_STATUS"]))
    if "FAKE_ANSWER" in env:
        b = replace(b, answer=env["FAKE_ANSWER"])
    if "FAKE_MODEL_MISSING" in env:
        b = replace(b, model_missing=_truthy(env["FAKE_MODEL_MISSING"]))
    return b
