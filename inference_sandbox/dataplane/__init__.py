"""The sandbox's data plane: a loopback ingress routing by ``Host`` to fake model servers
(vLLM's OpenAI API and metrics, plain HTTP, gRPC health), driven by the cluster's objects.
Test and demo infrastructure only."""

from __future__ import annotations

from inference_sandbox.dataplane.behaviour import Behaviour, behaviour_of
from inference_sandbox.dataplane.modelserver import BackendId, FakeModelServer
from inference_sandbox.dataplane.plane import BACKEND_HEADER, DataPlane

__all__ = ["BACKEND_HEADER", "BackendId", "Behaviour", "DataPlane", "FakeModelServer",
           "behaviour_of"]
