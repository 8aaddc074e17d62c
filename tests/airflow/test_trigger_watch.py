"""The readiness trigger against a small list/watch server: events, drops, 410, deadline,
fail fast, and watches shared between triggers."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from airflow_provider.hooks import informer
from airflow_provider.triggers.readiness import InferenceReadyTrigger
from tests.airflow.fakeapi import FakeApi, running

KSVC = "/apis/serving.knative.dev/v1/namespaces/ns/services"
PODS = "/api/v1/namespaces/ns/pods"


def ksvc(name: str, *, ready: bool, generation: int = 1) -> dict[str, Any]:
    rev = f"{name}-00001"
    status: dict[str, Any] = {"observedGeneration": generation, "latestCreatedRevisionName": rev}
    if ready:
        status.update(latestReadyRevisionName=rev, url=f"http://{name}.ns.example.com",
                      traffic=[{"revisionName": rev, "percent": 100, "latestRevision": True}],
                      conditions=[{"type": t, "status": "True"}
                                  for t in ("Ready", "ConfigurationsReady", "RoutesReady")])
    else:
        status["conditions"] = [{"type": "Ready", "status": "Unknown",
                                 "reason": "RevisionMissing"}]
    return {"apiVersion": "serving.knative.dev/v1", "kind": "Service",
            "metadata": {"name": name, "namespace": "ns", "generation": generation},
            "status": status}


def bad_pod(name: str) -> dict[str, Any]:
    rev = f"{name}-00001"
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": f"{rev}-deployment-x", "namespace": "ns",
                         "labels": {"serving.knative.dev/revision": rev,
                                    "serving.knative.dev/service": name}},
            "status": {"phase": "Pending", "containerStatuses": [{
                "name": "user-container", "ready": False,
                "state": {"waiting": {"reason": "ImagePullBackOff",
                                      "message": 'Back-off pulling image "acme/x:nope"'}}}]}}


@pytest.fixture
def fake(tmp_path: Path) -> Iterator[tuple[FakeApi, str]]:
    with running(tmp_path) as pair:
        yield pair


def trigger(kubeconfig: str, name: str, *, timeout: float = 10.0,
            start: float | None = None) -> InferenceReadyTrigger:
    return InferenceReadyTrigger(
        api_version="serving.knative.dev/v1", kind="Service", name=name, namespace="ns",
        start_time=time.time() if start is None else start, timeout=timeout,
        expected_generation=1, config_file=kubeconfig)


async def first_event(t: InferenceReadyTrigger) -> dict[str, Any]:
    async for event in t.run():
        return dict(event.payload)
    raise AssertionError("no event")


async def _soon(fn: Any, *args: Any, delay: float = 0.2) -> None:
    await asyncio.sleep(delay)
    await asyncio.to_thread(fn, *args)


async def test_ready_event_after_watch_drop_and_410(fake: tuple[FakeApi, str]) -> None:
    api, kubeconfig = fake
    api.put(KSVC, ksvc("a", ready=False))

    async def script() -> None:
        await _soon(api.drop_watches)          # a normal drop: resume from last rv
        await _soon(api.expire_history)        # 410 on resume: relist
        await _soon(api.put, KSVC, ksvc("a", ready=True))

    task = asyncio.ensure_future(script())
    event = await asyncio.wait_for(first_event(trigger(kubeconfig, "a")), 10)
    await task
    assert event["status"] == "ready"
    assert (event["kind"], event["namespace"], event["name"]) == ("Service", "ns", "a")
    assert event["revision"] == "a-00001" and event["url"] == "http://a.ns.example.com"
    stats = informer.stats()
    assert stats.resumes >= 1 and stats.relists_after_410 >= 1
    assert api.requests["list"] > 4  # one list per watched collection, then relists


async def test_fail_fast_on_image_pull_backoff(fake: tuple[FakeApi, str]) -> None:
    api, kubeconfig = fake
    api.put(KSVC, ksvc("b", ready=False))
    started = time.monotonic()
    writer = asyncio.ensure_future(_soon(api.put, PODS, bad_pod("b")))
    event = await asyncio.wait_for(first_event(trigger(kubeconfig, "b", timeout=60)), 10)
    assert event["status"] == "failed" and event["reason"] == "ImagePullBackOff"
    assert "acme/x:nope" in event["message"]
    assert time.monotonic() - started < 5
    await writer


async def test_deadline_comes_from_the_serialized_start_time(fake: tuple[FakeApi, str]) -> None:
    api, kubeconfig = fake
    api.put(KSVC, ksvc("c", ready=False))
    # as after a triggerer restart: started 50 s ago with a 50.5 s timeout
    t = trigger(kubeconfig, "c", timeout=50.5, start=time.time() - 50)
    again = InferenceReadyTrigger(**t.serialize()[1])
    began = time.monotonic()
    event = await asyncio.wait_for(first_event(again), 10)
    assert event["status"] == "timeout"
    assert time.monotonic() - began < 3
    assert "RevisionMissing" in event["message"] and "timeout 50s" in event["message"]


async def test_triggers_share_watches(fake: tuple[FakeApi, str]) -> None:
    api, kubeconfig = fake
    names = [f"w{i}" for i in range(30)]
    for n in names:
        api.put(KSVC, ksvc(n, ready=False))
    tasks = [asyncio.ensure_future(first_event(trigger(kubeconfig, n))) for n in names]
    await asyncio.sleep(0.5)
    stats = informer.stats()
    assert stats.open_watches == 4  # services, revisions, pods, events of one namespace
    for n in names:
        await asyncio.to_thread(api.put, KSVC, ksvc(n, ready=True))
    events = await asyncio.wait_for(asyncio.gather(*tasks), 10)
    assert {e["name"] for e in events if e["status"] == "ready"} == set(names)
    assert api.requests["watch"] == 4
    await asyncio.sleep(0.1)
    assert informer.stats().open_watches == 0  # the last trigger closed them
