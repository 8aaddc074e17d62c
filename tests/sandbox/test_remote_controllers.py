"""The simulated controllers as HTTP clients (``KubeObjectAPI``) of an API server: here the
sandbox's own, started without in-process controllers; tests/real runs them against a real
kube-apiserver. Same controllers, same outcomes."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from inference_sandbox import Sandbox
from inference_sandbox.config import SandboxConfig
from inference_sandbox.controllers.remote import RemoteControllers
from inference_sandbox.testing import condition_status, wait_for
from tests.kubehttp import KubeHttp
from tests.sandbox.util import ksvc, lws


@pytest.fixture(scope="module")
def remote() -> Iterator[tuple[Sandbox, RemoteControllers]]:
    with Sandbox(SandboxConfig(speed=100.0, controllers=False)).running() as sb, \
            RemoteControllers(sb.kubeconfig_path, SandboxConfig(speed=100.0)).running() as rc:
        yield sb, rc


@pytest.fixture
def http(remote: tuple[Sandbox, RemoteControllers]) -> Iterator[KubeHttp]:
    client = KubeHttp(remote[0].kubeconfig_path)
    yield client
    client.close()


def _get(http: KubeHttp, path: str) -> dict[str, Any]:
    return dict(http.get(path).json())


def test_knative_service_becomes_ready_through_the_api(http: KubeHttp,
                                                       remote: Any) -> None:
    assert http.apply(ksvc("remote", "registry.local/app:1")).status_code == 201
    path = "/apis/serving.knative.dev/v1/namespaces/default/services/remote"
    svc = wait_for(lambda: condition_status(o := _get(http, path), "Ready") == "True" and o,
                   timeout=60, what="Ready")
    assert svc["status"]["latestReadyRevisionName"] == "remote-00001"
    pods = _get(http, "/api/v1/namespaces/default/pods?labelSelector="
                      "serving.knative.dev/service%3Dremote")["items"]
    assert [p["status"]["phase"] for p in pods] == ["Running"]
    assert pods[0]["spec"]["nodeName"]
    assert remote[1].errors == 0


def test_leaderworkerset_becomes_available_through_the_api(http: KubeHttp) -> None:
    assert http.apply(lws("remote-lws", "registry.local/worker:1", size=2)).status_code == 201
    path = "/apis/leaderworkerset.x-k8s.io/v1/namespaces/default/leaderworkersets/remote-lws"
    obj = wait_for(lambda: condition_status(o := _get(http, path), "Available") == "True"
                   and o, timeout=60, what="Available")
    assert obj["status"]["readyReplicas"] == 1


def test_missing_secret_is_reported_by_the_kubelet_through_the_api(http: KubeHttp) -> None:
    body = ksvc("needs-secret", "registry.local/app:1")
    body["spec"]["template"]["spec"]["containers"][0]["env"] = [
        {"name": "HF_TOKEN", "valueFrom": {"secretKeyRef": {"name": "hf-credentials",
                                                            "key": "token"}}}]
    assert http.apply(body).status_code == 201

    def waiting() -> dict[str, Any] | None:
        pods = _get(http, "/api/v1/namespaces/default/pods?labelSelector="
                          "serving.knative.dev/service%3Dneeds-secret")["items"]
        for pod in pods:
            for status in pod.get("status", {}).get("containerStatuses", []):
                if "waiting" in status.get("state", {}):
                    return dict(status["state"]["waiting"])
        return None

    state = wait_for(lambda: (w := waiting()) and w["reason"] == "CreateContainerConfigError"
                     and w, timeout=60, what="CreateContainerConfigError")
    assert state["message"] == 'secret "hf-credentials" not found'
