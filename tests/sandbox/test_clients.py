"""The official clients work unchanged: kubernetes_asyncio and Airflow's KubernetesHook."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from kubernetes_asyncio import client as aclient
from kubernetes_asyncio import config as aconfig
from kubernetes_asyncio import watch as awatch

from tests.sandbox.util import ksvc

REPO = Path(__file__).resolve().parents[2]


async def test_kubernetes_asyncio_crud_apply_and_watch(sandbox):
    api = await aconfig.new_client_from_config(config_file=sandbox.kubeconfig_path)
    async with api:
        core = aclient.CoreV1Api(api)
        custom = aclient.CustomObjectsApi(api)
        await core.create_namespaced_config_map("default", {"metadata": {"name": "a"}})
        listed = await core.list_namespaced_config_map("default")
        assert [i.metadata.name for i in listed.items] == ["a"]
        await custom.patch_namespaced_custom_object(
            "serving.knative.dev", "v1", "default", "services", "llm", ksvc("llm"),
            field_manager="airflow", _content_type="application/apply-patch+yaml")
        # Resume from the list's version (before the apply): the creation arrives as ADDED and
        # every controller status write as MODIFIED, however far the controller got before
        # the watch opened.
        seen, ready = [], False
        w = awatch.Watch()
        async for event in w.stream(custom.list_namespaced_custom_object, "serving.knative.dev",
                                    "v1", "default", "services", timeout_seconds=30,
                                    resource_version=listed.metadata.resource_version):
            conditions = {c["type"]: c["status"]
                          for c in event["object"].get("status", {}).get("conditions", [])}
            seen.append(event["type"])
            if conditions.get("Ready") == "True":
                ready = True
                w.stop()
        assert ready, seen
        assert seen[0] == "ADDED" and set(seen[1:]) == {"MODIFIED"}, seen
    record = sandbox.requests.find("patch", resource="services")[0]
    assert record.is_apply and record.query["fieldManager"] == "airflow"


def test_airflow_kubernetes_hook_through_a_connection(sandbox, tmp_path):
    script = textwrap.dedent("""
        import json, sys
        from airflow.providers.cncf.kubernetes.hooks.kubernetes import KubernetesHook
        hook = KubernetesHook(conn_id="sandbox_k8s")
        pods = hook.core_v1_client.list_namespaced_pod("default").items
        hook.core_v1_client.create_namespaced_config_map(
            "default", {"metadata": {"name": "from-airflow"}, "data": {"k": "v"}})
        print(json.dumps({"pods": len(pods), "namespace": hook.get_namespace()}))
    """)
    env = {**os.environ,
           "AIRFLOW_HOME": str(tmp_path),
           "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
           "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{tmp_path / 'airflow.db'}",
           "AIRFLOW_CONN_SANDBOX_K8S": json.dumps({
               "conn_type": "kubernetes",
               "extra": {"kube_config_path": sandbox.kubeconfig_path, "namespace": "default"}}),
           "PYTHONPATH": str(REPO)}
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True,
                          text=True, timeout=120, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result == {"pods": 0, "namespace": "default"}
    assert sandbox.store.get(("v1", "ConfigMap"), "default", "from-airflow")["data"] == \
        {"k": "v"}
    agents = {r.verb for r in sandbox.requests.find(resource="configmaps")}
    assert agents == {"create"}


def test_cli_up_writes_a_working_kubeconfig(tmp_path):
    kubeconfig = tmp_path / "kubeconfig"
    proc = subprocess.Popen(
        [sys.executable, "-m", "inference_sandbox", "up", "--kubeconfig", str(kubeconfig),
         "--speed", "50", "--gpu-nodes", "3", "--gpus-per-node", "4", "--queue", "team-a:8:16",
         "--namespace", "team-a", "--feature", "kubernetes.podspec-schedulername=enabled"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=REPO)
    try:
        lines: list[str] = []
        for _ in range(50):  # log lines on stderr may come first; bounded
            lines.append(proc.stdout.readline())
            if lines[-1].startswith("ready") or not lines[-1]:
                break
        announced = [line for line in lines
                     if line.startswith(("sandbox API server:", "kubeconfig:", "export ",
                                         "ready"))]
        assert len(announced) == 4, lines
        assert announced[0].startswith("sandbox API server: https://127.0.0.1:"), lines
        assert announced[1].startswith(f"kubeconfig: {kubeconfig} (context sandbox)"), lines
        assert announced[2] == f"export KUBECONFIG={kubeconfig}\n", lines
        assert announced[3].startswith("ready"), lines
        from kubernetes import client, config

        api = config.new_client_from_config(config_file=str(kubeconfig))
        core = client.CoreV1Api(api)
        names = [n.metadata.name for n in core.list_namespace().items]
        assert "default" in names and "knative-serving" in names and "team-a" in names
        nodes = core.list_node().items
        assert [n.status.capacity["nvidia.com/gpu"] for n in nodes] == ["4", "4", "4"]
        custom = client.CustomObjectsApi(api)
        queue = custom.get_cluster_custom_object("scheduling.run.ai", "v2", "queues", "team-a")
        assert queue["spec"]["resources"]["gpu"]["quota"] == 8
        assert queue["spec"]["resources"]["gpu"]["limit"] == 16
        features = core.read_namespaced_config_map("config-features", "knative-serving").data
        assert features["kubernetes.podspec-schedulername"] == "enabled"
        with pytest.raises(client.ApiException) as missing:
            core.create_namespaced_config_map("nowhere", {"metadata": {"name": "x"}})
        assert missing.value.status == 404
        assert config.list_kube_config_contexts(str(kubeconfig))[1]["name"] == "sandbox"
    finally:
        proc.terminate()
        proc.wait(timeout=15)
    assert proc.returncode == 0
