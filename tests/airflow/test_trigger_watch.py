"""The readiness trigger against the sandbox API server (real HTTP, real Knative controller):
events after a dropped watch and a 410, fail fast, the deadline kept across a restart, and
watches shared between triggers (counted on the server)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import pytest

from airflow_provider.hooks import informer
from airflow_provider.triggers.readiness import InferenceReadyTrigger
from inference_sandbox import Sandbox
from inference_sandbox.testing import api_client, condition_status

KSVC = ("serving.knative.dev/v1", "Service")
NS = "ns"
#: The four collections a Knative trigger watches, as the server names them.
WATCHED = {(res, NS) for res in ("services.serving.knative.dev",
                                 "revisions.serving.knative.dev", "pods", "events")}


@pytest.fixture(scope="module", autouse=True)
def _client_imports() -> None:
    """Import what a trigger's first run imports, so the timings below measure the trigger."""
    import airflow.providers.cncf.kubernetes.hooks.kubernetes  # noqa: F401
    import kubernetes_asyncio.client  # noqa: F401


def create_service(sb: Sandbox, name: str, image: str = "ghcr.io/acme/server:1") -> None:
    """Create a Knative Service through the API (the sandbox's controllers take it from there)."""
    from kubernetes import client

    body = {"apiVersion": "serving.knative.dev/v1", "kind": "Service",
            "metadata": {"name": name, "namespace": NS},
            "spec": {"template": {"spec": {"containers": [
                {"image": image, "ports": [{"containerPort": 8000}]}]}}}}
    client.CustomObjectsApi(api_client(sb.kubeconfig_path)).create_namespaced_custom_object(
        "serving.knative.dev", "v1", NS, "services", body)


def trigger(sb: Sandbox, name: str, *, timeout: float = 30.0,
            start: float | None = None) -> InferenceReadyTrigger:
    return InferenceReadyTrigger(
        api_version="serving.knative.dev/v1", kind="Service", name=name, namespace=NS,
        start_time=time.time() if start is None else start, timeout=timeout,
        expected_generation=1, config_file=sb.kubeconfig_path)


async def first_event(t: InferenceReadyTrigger) -> dict[str, Any]:
    async for event in t.run():
        return dict(event.payload)
    raise AssertionError("no event")


async def until(probe: Callable[[], Any], what: str, timeout: float = 5.0) -> None:
    """Poll ``probe`` on the test's loop (bounded) until it is truthy."""
    for _ in range(int(timeout / 0.02)):
        if probe():
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"timed out after {timeout:g}s waiting for {what}")


async def test_ready_event_after_watch_drop_and_410(sandbox_factory: Any) -> None:
    # Real time (speed 1): the revision needs ~8 s to come up, long enough for both faults;
    # then simulated time is advanced so it becomes ready at once.
    sb = sandbox_factory(speed=1.0, namespaces=(NS,))
    drop = sb.faults.drop_watch(resource="services", mode="close")   # 1st watch: ends at once
    expire = sb.faults.fail(410, verb="watch", resource="services", after=1)  # resumed: 410
    create_service(sb, "a")
    task = asyncio.ensure_future(first_event(trigger(sb, "a")))
    await until(lambda: expire.hits == 1 and sb.store.open_watches().get(
        ("services.serving.knative.dev", NS)) == 1, "the relisted watch to open")
    assert not task.done()
    sb.advance(60)
    event = await asyncio.wait_for(task, 10)
    assert event["status"] == "ready", event
    assert (event["kind"], event["namespace"], event["name"]) == ("Service", NS, "a")
    assert event["revision"] == "a-00001" and event["url"] == f"http://a.{NS}.example.com"
    assert drop.hits == 1
    watches = sb.requests.find("watch", resource="services", namespace=NS)
    # resumed from the listed version after the drop; after the 410, a relist's version
    rvs = [w.query.get("resourceVersion") for w in watches]
    assert len(watches) == 3 and rvs[0] == rvs[1], rvs
    assert len(sb.requests.find("list", resource="services", namespace=NS)) == 2
    stats = informer.stats()
    assert stats.resumes >= 1 and stats.relists_after_410 >= 1


def _waiting_reason(sb: Sandbox, service: str) -> str | None:
    for pod in sb.store.list(("v1", "Pod"), NS):
        if (pod["metadata"].get("labels") or {}).get("serving.knative.dev/service") == service:
            for status in (pod.get("status") or {}).get("containerStatuses") or []:
                return ((status.get("state") or {}).get("waiting") or {}).get("reason")
    return None


@pytest.mark.parametrize(("late", "reason", "detail"), [
    # from the start: the kubelet's first failure says "not found", which retrying cannot fix
    (False, "ErrImagePull", "ghcr.io/acme/does-not-exist: not found"),
    # (re)started while the pod is in back-off, as after a triggerer restart
    (True, "ImagePullBackOff", 'Back-off pulling image "ghcr.io/acme/does-not-exist:1"'),
], ids=["from-first-pull", "in-back-off"])
async def test_fail_fast_on_image_pull_errors(sandbox_factory: Any, late: bool, reason: str,
                                              detail: str) -> None:
    # speed 20: the image pull fails within a second; Knative's 600 s progress deadline,
    # after which the Service itself turns Ready=False, is 30 s of real time away.
    sb = sandbox_factory(speed=20.0, namespaces=(NS,))
    create_service(sb, "b", image="ghcr.io/acme/does-not-exist:1")
    if late:
        await until(lambda: _waiting_reason(sb, "b") == "ImagePullBackOff", "the back-off")
    event = await asyncio.wait_for(first_event(trigger(sb, "b", timeout=600)), 60)
    assert (event["status"], event["reason"]) == ("failed", reason), event
    assert detail in event["message"]
    # failed from the pod's state, before Knative gave up on the revision
    assert condition_status(sb.store.get(KSVC, NS, "b"), "Ready") == "Unknown"


async def test_deadline_comes_from_the_serialized_start_time(sandbox_factory: Any) -> None:
    sb = sandbox_factory(namespaces=(NS,))
    create_service(sb, "c", image="ghcr.io/acme/never-ready:1")
    # as after a triggerer restart: started 50 s ago with a 51 s timeout
    t = trigger(sb, "c", timeout=51, start=time.time() - 50)
    again = InferenceReadyTrigger(**t.serialize()[1])
    began = time.monotonic()
    # bounded below the 51 s a restarted deadline would take
    event = await asyncio.wait_for(first_event(again), 40)
    took = time.monotonic() - began
    assert event["status"] == "timeout", event
    assert took > 0.5, took  # it did wait for the second that was left
    assert event["readiness"]["state"] == "progressing"
    assert "RevisionMissing" in event["message"] and "timeout 51s" in event["message"]


async def test_triggers_share_watches(sandbox_factory: Any) -> None:
    sb = sandbox_factory(speed=1e-6, namespaces=(NS,))  # nothing gets ready until advanced
    names = [f"w{i}" for i in range(30)]
    for n in names:
        create_service(sb, n)
    tasks = [asyncio.ensure_future(first_event(trigger(sb, n))) for n in names]
    await until(lambda: set(sb.store.open_watches()) == WATCHED, "four watches")
    await asyncio.sleep(0.3)  # every trigger has subscribed and evaluated by now
    assert not any(t.done() for t in tasks)
    assert sb.store.open_watches() == dict.fromkeys(WATCHED, 1)
    assert len(sb.requests.find("watch")) == 4
    assert informer.stats().open_watches == 4
    sb.advance(60)
    events = await asyncio.wait_for(asyncio.gather(*tasks), 15)
    assert {e["name"] for e in events if e["status"] == "ready"} == set(names)
    assert len(sb.requests.find("watch")) == 4  # no watch per trigger, no reconnects
    assert len(sb.requests.find("list")) == 4
    assert informer.stats().open_watches == 0  # the last trigger closed them ...
    await until(lambda: not sb.store.open_watches(), "the server to see them closed")
