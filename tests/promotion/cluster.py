"""A promotion test bed: the sandbox API server, the rollout engine as a client of it, and the
data plane (loopback ingress + fake vLLM servers) that the smoke tests and the canary reach.

``Bed.deploy(**variant)`` deploys version ``variant`` of the ``chat`` model (a
HuggingFaceInference served by vLLM) through the engine and waits until it is ready;
``candidate_tag="candidate"`` makes it the tagged candidate beside the serving revision.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from inference_core.rollout.client import KubernetesClient
from inference_core.rollout.engine import Engine
from inference_core.spec.loader import parse_spec
from inference_sandbox import Sandbox
from inference_sandbox.dataplane import DataPlane

NAME, PROJECT, MODEL = "chat", "team-a", "chat"
HOST = f"{NAME}.{PROJECT}.example.com"
TAG_HOST = f"candidate-{NAME}.{PROJECT}.example.com"
URL, TAG_URL = f"http://{HOST}", f"http://{TAG_HOST}"


def chat_spec(env: dict[str, str] | None = None, name: str = NAME) -> Any:
    """The chat model; ``env`` makes a variant (FAKE_TTFT_MS, FAKE_ERROR_RATE, ...)."""
    return parse_spec({
        "apiVersion": "inference-stacks/v1alpha1", "kind": "HuggingFaceInference",
        "metadata": {"name": name, "project": PROJECT},
        "spec": {"model": {"id": "acme/chat-7b", "servedModelName": MODEL},
                 "env": [{"name": k, "value": v} for k, v in (env or {}).items()],
                 "endpoint": {"exposure": "external"}},
    })


@dataclass
class Bed:
    """See the module docstring."""

    sandbox: Sandbox
    plane: DataPlane
    engine: Engine
    client: KubernetesClient
    sd_file: Path

    def deploy(self, env: dict[str, str] | None = None, *, candidate_tag: str | None = None,
               rollout_id: str | None = None) -> Any:
        """Deploy (or update to) this variant and wait until it is ready."""
        return self.engine.deploy(chat_spec(env), candidate_tag=candidate_tag,
                                  rollout_id=rollout_id, wait=True, timeout_s=60)

    def live(self) -> dict[str, Any]:
        """The Knative Service now."""
        obj = self.client.get("serving.knative.dev/v1", "Service", NAME, PROJECT)
        assert obj is not None
        return obj

    def routed(self) -> dict[str, int]:
        """``status.traffic`` percentages."""
        return {t["revisionName"]: t["percent"] for t in self.live()["status"]["traffic"]
                if t.get("percent")}

    def wait_routes(self, host: str, expected: dict[str, int], timeout: float = 30.0) -> None:
        """Wait until the data plane routes ``host`` as expected."""
        assert self.plane.wait_until(lambda p: p.routes(host) == expected, timeout), (
            f"{host} routes {self.plane.routes(host)}, expected {expected}")
