"""The Airflow readiness trigger (shared informers over kubernetes_asyncio) against the real
kube-apiserver, with the simulated controllers driving status as API clients."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from airflow_provider.triggers.readiness import InferenceReadyTrigger
from inference_sandbox.controllers.remote import RemoteControllers
from tests.real.cluster import RealCluster

pytestmark = pytest.mark.real
NS = "trigger"


def service(name: str, image: str) -> dict[str, Any]:
    return {"apiVersion": "serving.knative.dev/v1", "kind": "Service",
            "metadata": {"name": name, "namespace": NS},
            "spec": {"template": {"spec": {"containers": [
                {"image": image, "ports": [{"containerPort": 8000}]}]}},
                     "traffic": [{"latestRevision": True, "percent": 100}]}}


async def first_event(cluster: RealCluster, name: str, timeout: float) -> dict[str, Any]:
    trigger = InferenceReadyTrigger(
        api_version="serving.knative.dev/v1", kind="Service", name=name, namespace=NS,
        start_time=time.time(), timeout=timeout, expected_generation=1,
        config_file=str(cluster.kubeconfig))
    async for event in trigger.run():
        return dict(event.payload)
    raise AssertionError("the trigger ended without an event")


@pytest.mark.parametrize(("image", "status", "reason"), [
    ("ghcr.io/acme/server:1", "ready", None),
    ("ghcr.io/acme/does-not-exist:1", "failed", "ErrImagePull"),
], ids=["ready", "image-pull-fails-fast"])
async def test_trigger_reports_what_the_real_server_shows(
        real_cluster: RealCluster, controllers: RemoteControllers, image: str, status: str,
        reason: str | None) -> None:
    real_cluster.ensure_namespace(NS)
    name = f"t-{status}"
    with real_cluster.client() as http:
        assert http.apply(service(name, image)).status_code in (200, 201)
    event = await asyncio.wait_for(first_event(real_cluster, name, timeout=120), 100)
    assert event["status"] == status, event
    assert (event["kind"], event["namespace"], event["name"]) == ("Service", NS, name)
    if reason is None:
        assert event["revision"] == f"{name}-00001"
        assert event["url"] == f"http://{name}.{NS}.example.com"
    else:
        assert event["reason"] == reason, event
        assert "does-not-exist" in event["message"]
