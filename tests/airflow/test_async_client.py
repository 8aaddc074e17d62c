"""``AsyncInferenceHook`` implements the core's ``AsyncKubeClient`` protocol: server-side
apply under one field manager (a conflict names the other manager), get, list by selector,
watch, delete with 404 as "already gone" — and the core's async snapshot read runs on it."""

from __future__ import annotations

from typing import Any

import pytest

from airflow_provider.hooks.async_inference import AsyncInferenceHook
from inference_core.rollout.kube import ObjectKey
from inference_core.rollout.plan import WaitTarget
from inference_core.rollout.retry import FieldConflict
from inference_core.rollout.wait import aread_snapshot

NS = "team-a"


def config_map(name: str, value: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": name, "namespace": NS, "labels": {"app": "x"}},
            "data": {"k": value}}


@pytest.fixture
def sb(sandbox_factory: Any) -> Any:
    return sandbox_factory(namespaces=[NS])


async def test_protocol_verbs_against_the_api_server(sb: Any) -> None:
    async with AsyncInferenceHook(config_file=str(sb.kubeconfig_path)) as hook:
        stored = await hook.apply(config_map("one", "1"))
        assert stored["data"] == {"k": "1"}
        applies = [r for r in sb.requests if r.is_apply]
        assert applies[-1].query["fieldManager"] == "inference-stacks"
        assert "force" not in applies[-1].query
        got = await hook.get("v1", "ConfigMap", "one", NS)
        assert got is not None and got["data"] == {"k": "1"}
        listed = await hook.list("v1", "ConfigMap", NS, label_selector="app=x")
        assert [o["metadata"]["name"] for o in listed] == ["one"]
        assert all(o["kind"] == "ConfigMap" for o in listed)
        events = []
        async for event in hook.watch("v1", "ConfigMap", NS,
                                      field_selector="metadata.name=one", timeout_s=1):
            events.append(event)
            break
        assert events and events[0].type == "ADDED" and events[0].object["data"] == {"k": "1"}
        assert await hook.delete("v1", "ConfigMap", "one", NS) is True
        assert await hook.delete("v1", "ConfigMap", "one", NS) is False
        assert await hook.get("v1", "ConfigMap", "one", NS) is None


async def test_a_conflict_names_the_other_manager(sb: Any) -> None:
    async with AsyncInferenceHook(config_file=str(sb.kubeconfig_path)) as hook:
        await hook.apply(config_map("shared", "mine"))
        await hook.apply(config_map("shared", "theirs"), field_manager="kubectl-hotfix",
                         force=True)
        with pytest.raises(FieldConflict) as info:
            await hook.apply(config_map("shared", "mine again"))
        assert "'kubectl-hotfix' owns" in str(info.value) and "force=True" in str(info.value)
        assert (await hook.get("v1", "ConfigMap", "shared", NS) or {})["data"] == {
            "k": "theirs"}


async def test_the_cores_async_snapshot_reads_through_the_hook(sb: Any) -> None:
    target = WaitTarget(ObjectKey("serving.knative.dev/v1", "Service", NS, "absent"), 10.0)
    async with AsyncInferenceHook(config_file=str(sb.kubeconfig_path)) as hook:
        snap = await aread_snapshot(hook, target)
    assert snap.obj is None


async def test_informer_lists_are_paged(sb: Any) -> None:
    """A relist comes in pages (small answers: decoding holds the interpreter lock)."""
    from airflow_provider.hooks.resources import RESOURCES

    async with AsyncInferenceHook(config_file=str(sb.kubeconfig_path)) as hook:
        for i in range(5):
            await hook.apply(config_map(f"cm-{i}", str(i)))
        sb.requests.clear()
        items, rv = await hook.list_objects(RESOURCES[("v1", "ConfigMap")], NS, page_size=2)
    assert sorted(i["metadata"]["name"] for i in items) == [f"cm-{i}" for i in range(5)]
    assert rv
    pages = [r for r in sb.requests if r.verb == "list"]
    assert [r.query.get("limit") for r in pages] == ["2", "2", "2"]
    assert "continue" not in pages[0].query and all("continue" in r.query for r in pages[1:])
