"""The engine against the sandbox: crash and retry with the same rollout id, LWS rollback,
the async snapshot reader."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from inference_core.errors import WorkloadFailed
from inference_core.rollout import wait as wait_module
from inference_core.rollout.client import KubernetesClient
from inference_core.rollout.engine import Engine, execute, read_state, utc_now
from inference_core.rollout.history import Status
from inference_core.rollout.kube import JsonObj, ObjectKey
from inference_core.rollout.plan import WaitTarget
from inference_core.rollout.planners import plan_deploy
from inference_core.rollout.wait import aread_snapshot, assess, read_snapshot, wait_ready
from tests.rollout.cases import custom_spec, distributed_spec
from tests.rollout.conftest import NS


def image_of(client: KubernetesClient, api_version: str, kind: str, name: str) -> str:
    obj = client.get(api_version, kind, name, NS)
    assert obj is not None
    spec = obj["spec"]
    if kind == "LeaderWorkerSet":
        template = spec["leaderWorkerTemplate"].get("leaderTemplate") or \
            spec["leaderWorkerTemplate"]["workerTemplate"]
    else:
        template = spec["template"]
    return str(template["spec"]["containers"][0]["image"])


def test_retry_after_crash_rolls_back_to_recorded_good_tuple(
        cluster: tuple[Any, KubernetesClient]) -> None:
    _, client = cluster
    engine = Engine(client, by="test")
    engine.deploy(custom_spec("ghcr.io/acme/app:good"), rollout_id="run-1", wait=True)
    bad = custom_spec("ghcr.io/acme/does-not-exist:bad")
    # attempt 1 of run-2 applies and dies before waiting
    state = read_state(client, "app", NS)
    plan = plan_deploy(bad, live=state.live, history=state.history, rollout_id="run-2",
                       now=utc_now(), action="update")
    execute(client, plan)
    assert image_of(client, "serving.knative.dev/v1", "Service", "app").endswith(":bad")
    # attempt 2 (same rollout id): the live object is the bad spec, the rollback is not
    with pytest.raises(WorkloadFailed) as info:
        engine.deploy(bad, rollout_id="run-2", action="update", wait=True,
                      rollback_on_failure=True)
    assert "rolled back" in " ".join(getattr(info.value, "__notes__", []))
    assert image_of(client, "serving.knative.dev/v1", "Service", "app").endswith(":good")
    history = engine.history("app", NS)
    assert [(e.rollout_id, e.action, e.status) for e in history.entries] == [
        ("run-1", "deploy", Status.GOOD), ("run-2", "update", Status.FAILED),
        ("run-2", "rollback", Status.GOOD)]
    # a third attempt of the same rollback is a no-op on the same target
    again = engine.rollback("app", NS, rollout_id="run-2")
    assert again.entry is not None and again.entry["rollback_of"] == 1
    assert len(engine.history("app", NS).entries) == 3


def test_lws_rollback_reapplies_recorded_template(
        cluster: tuple[Any, KubernetesClient]) -> None:
    _, client = cluster
    engine = Engine(client)
    good = distributed_spec("vllm/vllm-openai:v0.11.0")
    engine.deploy(good, rollout_id="d1", wait=True, timeout_s=300)
    with pytest.raises(WorkloadFailed):
        engine.deploy(distributed_spec("vllm/does-not-exist:v9"), rollout_id="d2",
                      wait=True, timeout_s=300)
    result = engine.rollback("dist", NS, rollout_id="d3", timeout_s=300)
    assert result.readiness is not None and result.readiness["state"] == "ready"
    assert image_of(client, "leaderworkerset.x-k8s.io/v1", "LeaderWorkerSet", "dist") == \
        "vllm/vllm-openai:v0.11.0"
    statuses = [(e.action, e.status.value) for e in engine.history("dist", NS).entries]
    assert statuses == [("deploy", "good"), ("deploy", "failed"), ("rollback", "good")]


class _Async:
    """The sync client behind the async protocol (reads only), for the async reader."""

    def __init__(self, client: KubernetesClient) -> None:
        self.client = client

    async def get(self, api_version: str, kind: str, name: str,
                  namespace: str | None) -> JsonObj | None:
        return await asyncio.to_thread(self.client.get, api_version, kind, name, namespace)

    async def list(self, api_version: str, kind: str, namespace: str | None, *,
                   label_selector: str | None = None,
                   field_selector: str | None = None) -> list[JsonObj]:
        return await asyncio.to_thread(self.client.list, api_version, kind, namespace,
                                       label_selector=label_selector,
                                       field_selector=field_selector)


def test_async_and_sync_snapshots_agree(cluster: tuple[Any, KubernetesClient]) -> None:
    _, client = cluster
    Engine(client).deploy(custom_spec("ghcr.io/acme/app:1"), rollout_id="r", wait=True)
    target = WaitTarget(ObjectKey("serving.knative.dev/v1", "Service", NS, "app"), 60.0)
    sync = assess(target, read_snapshot(client, target))
    snap = asyncio.run(aread_snapshot(_Async(client), target))  # type: ignore[arg-type]
    assert assess(target, snap) == sync and sync.ready


def test_a_ready_workload_is_judged_by_one_read_without_watches(
        cluster: tuple[Any, KubernetesClient], monkeypatch: pytest.MonkeyPatch) -> None:
    _, client = cluster
    Engine(client).deploy(custom_spec("ghcr.io/acme/app:1"), rollout_id="r", wait=True)
    started: list[str] = []
    monkeypatch.setattr(wait_module._Watch, "start", lambda self: started.append(self.name))
    target = WaitTarget(ObjectKey("serving.knative.dev/v1", "Service", NS, "app"), 60.0)
    assert wait_ready(client, target).ready
    assert started == []
