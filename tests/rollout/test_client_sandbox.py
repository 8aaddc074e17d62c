"""``KubernetesClient`` against the sandbox API server: SSA, conflicts, retries, errors."""

from __future__ import annotations

from typing import Any

import pytest

from inference_core.errors import DeployError, KubeApiError
from inference_core.preflight.cluster import KubeClusterReader
from inference_core.rollout.client import KubernetesClient
from inference_core.rollout.retry import FieldConflict, RetryPolicy
from tests.rollout.conftest import NS

CM = {"apiVersion": "v1", "kind": "ConfigMap",
      "metadata": {"name": "cfg", "namespace": NS}, "data": {"a": "1"}}


def _count(sandbox: Any, verb: str, fragment: str) -> int:
    return sum(1 for r in list(sandbox.requests) if r.verb == verb and fragment in r.path)


def test_apply_get_list_delete(cluster: tuple[Any, KubernetesClient]) -> None:
    _, client = cluster
    stored = client.apply(CM)
    assert stored["data"] == {"a": "1"}
    managers = [m["manager"] for m in stored["metadata"]["managedFields"]]
    assert managers == ["inference-stacks"]
    assert client.get("v1", "ConfigMap", "cfg", NS)["data"] == {"a": "1"}  # type: ignore[index]
    assert [o["metadata"]["name"] for o in client.list("v1", "ConfigMap", NS)] == ["cfg"]
    dry = client.apply({**CM, "data": {"a": "2"}}, dry_run=True)
    assert dry["data"] == {"a": "2"}
    assert client.get("v1", "ConfigMap", "cfg", NS)["data"] == {"a": "1"}  # type: ignore[index]
    assert client.delete("v1", "ConfigMap", "cfg", NS) is True
    assert client.delete("v1", "ConfigMap", "cfg", NS) is False
    assert client.get("v1", "ConfigMap", "cfg", NS) is None


def test_conflict_names_manager_fields_and_the_way_out(
        cluster: tuple[Any, KubernetesClient]) -> None:
    _, client = cluster
    client.apply(CM, field_manager="pulumi-kubernetes")
    with pytest.raises(FieldConflict) as info:
        client.apply({**CM, "data": {"a": "2"}})
    err = info.value
    assert err.managers == ["pulumi-kubernetes"]
    assert ("pulumi-kubernetes", ".data.a") in err.conflicts
    text = str(err)
    assert "'pulumi-kubernetes' owns .data.a" in text and "--force-conflicts" in text
    assert client.get("v1", "ConfigMap", "cfg", NS)["data"] == {"a": "1"}  # type: ignore[index]
    taken = client.apply({**CM, "data": {"a": "2"}}, force=True)
    assert taken["data"] == {"a": "2"}


def test_transient_errors_retried_once_per_attempt(
        cluster: tuple[Any, KubernetesClient]) -> None:
    sandbox, client = cluster
    client.apply(CM)
    before = _count(sandbox, "get", "/configmaps/cfg")
    sandbox.faults.fail(503, verb="get", resource="configmaps", times=2)
    assert client.get("v1", "ConfigMap", "cfg", NS) is not None
    # 2 failures + 1 success: urllib3 adds no retries of its own
    assert _count(sandbox, "get", "/configmaps/cfg") - before == 3
    sandbox.faults.throttle(retry_after=0, verb="get", resource="configmaps", times=1)
    assert client.get("v1", "ConfigMap", "cfg", NS) is not None


def test_retry_budget_ends_in_kube_api_error(cluster: tuple[Any, KubernetesClient]) -> None:
    sandbox, client = cluster
    sandbox.faults.fail(500, verb="list", resource="configmaps", times=None)
    with pytest.raises(KubeApiError) as info:
        client.list("v1", "ConfigMap", NS)
    assert info.value.status == 500 and info.value.transient
    sandbox.faults.clear()
    sandbox.faults.fail(403, verb="list", resource="configmaps", times=1)
    with pytest.raises(KubeApiError) as denied:
        client.list("v1", "ConfigMap", NS)
    assert denied.value.status == 403 and not denied.value.transient


def test_unreachable_server_is_a_transient_error() -> None:
    from kubernetes import client as k8s

    cfg = k8s.Configuration()
    cfg.host = "http://127.0.0.1:9"  # discard port: nothing listens
    api = KubernetesClient(k8s.ApiClient(cfg), request_timeout=2.0,
                           retry=RetryPolicy(attempts=2, base_wait_s=0.01, max_wait_s=0.01))
    with pytest.raises(KubeApiError, match="without an answer") as info:
        api.get("v1", "ConfigMap", "x", NS)
    assert info.value.transient


def test_bad_kubeconfig_is_a_deploy_error(tmp_path: Any) -> None:
    with pytest.raises(DeployError, match="cannot load the Kubernetes configuration"):
        KubernetesClient.from_kubeconfig(str(tmp_path / "missing"))


def test_preflight_reader_retries_with_library_retries_off(
        cluster: tuple[Any, KubernetesClient]) -> None:
    sandbox, client = cluster
    reader = KubeClusterReader(client.api_client)
    sandbox.faults.fail(503, verb="list", resource="pods", times=1)
    before = _count(sandbox, "list", "/pods")
    assert reader.list_pods(NS) == []
    assert _count(sandbox, "list", "/pods") - before == 2
    assert reader.get_queue("nope") is None


def test_watch_stream_close_unblocks_a_reader_in_another_thread(
        cluster: tuple[Any, KubernetesClient]) -> None:
    import threading

    _, client = cluster
    stream = client.watch("v1", "ConfigMap", NS, timeout_s=600)  # would idle for 10 minutes
    ended = threading.Event()
    failures: list[BaseException] = []

    def read() -> None:
        try:
            for _ in stream:
                pass
        except KubeApiError as e:  # the shut-down connection, as the client's error type
            failures.append(e)
        ended.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    stream.close()  # type: ignore[attr-defined]
    assert ended.wait(60), "close() did not unblock the reader"
    assert all(isinstance(f, KubeApiError) for f in failures)
