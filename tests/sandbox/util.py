"""Manifests and client helpers shared by the sandbox tests."""

from __future__ import annotations

import copy
from typing import Any

from kubernetes import client

from inference_sandbox import Sandbox
from inference_sandbox.testing import api_client, condition, wait_for

KSVC = ("serving.knative.dev", "v1", "services")
LWS = ("leaderworkerset.x-k8s.io", "v1", "leaderworkersets")


def ksvc(name: str = "llm", image: str = "ghcr.io/acme/server:1.0", *,
         namespace: str = "default", gpus: int | None = None,
         template_annotations: dict[str, str] | None = None, **spec: Any) -> dict[str, Any]:
    """A Knative Service manifest with one container on port 8000."""
    container: dict[str, Any] = {"image": image, "ports": [{"containerPort": 8000}]}
    if gpus:
        container["resources"] = {"limits": {"nvidia.com/gpu": str(gpus)}}
    template: dict[str, Any] = {"spec": {"containers": [container]}}
    if template_annotations:
        template["metadata"] = {"annotations": template_annotations}
    return {"apiVersion": "serving.knative.dev/v1", "kind": "Service",
            "metadata": {"name": name, "namespace": namespace},
            "spec": {"template": template, **spec}}


def lws(name: str = "dist", image: str = "vllm/vllm-openai:v0.9", *, replicas: int = 1,
        size: int = 2, gpus: int = 1, namespace: str = "default", **spec: Any) -> dict[str, Any]:
    """A LeaderWorkerSet manifest."""
    container = {"name": "vllm", "image": image,
                 "resources": {"limits": {"nvidia.com/gpu": str(gpus)}}}
    return {"apiVersion": "leaderworkerset.x-k8s.io/v1", "kind": "LeaderWorkerSet",
            "metadata": {"name": name, "namespace": namespace},
            "spec": {"replicas": replicas,
                     "leaderWorkerTemplate": {"size": size, "workerTemplate": {
                         "spec": {"containers": [copy.deepcopy(container)]}}},
                     **spec}}


class Clients:
    """The official sync clients bound to one sandbox."""

    def __init__(self, sb: Sandbox) -> None:
        self.sb = sb
        self.api = api_client(sb.kubeconfig_path)
        self.core = client.CoreV1Api(self.api)
        self.custom = client.CustomObjectsApi(self.api)

    def create(self, plural: tuple[str, str, str], body: dict[str, Any],
               namespace: str = "default") -> dict[str, Any]:
        group, version, resource = plural
        return self.custom.create_namespaced_custom_object(group, version, namespace, resource,
                                                           body)

    def get(self, plural: tuple[str, str, str], name: str, namespace: str = "default"
            ) -> dict[str, Any]:
        group, version, resource = plural
        return self.custom.get_namespaced_custom_object(group, version, namespace, resource,
                                                        name)

    def patch(self, plural: tuple[str, str, str], name: str, body: Any, *,
              namespace: str = "default", content_type: str = "application/merge-patch+json",
              **kwargs: Any) -> dict[str, Any]:
        group, version, resource = plural
        return self.custom.patch_namespaced_custom_object(
            group, version, namespace, resource, name, body, _content_type=content_type,
            **kwargs)

    def wait_condition(self, plural: tuple[str, str, str], name: str, ctype: str, status: str,
                       *, reason: str | None = None, timeout: float = 10.0,
                       namespace: str = "default") -> dict[str, Any]:
        """Wait until ``ctype`` has ``status`` (and ``reason``); returns the object."""

        def probe() -> dict[str, Any] | None:
            obj = self.get(plural, name, namespace)
            cond = condition(obj, ctype)
            if cond and cond.get("status") == status and \
                    (reason is None or cond.get("reason") == reason):
                return obj
            return None

        return wait_for(probe, timeout=timeout, what=f"{name} {ctype}={status} {reason or ''}")

    def pods(self, selector: str, namespace: str = "default") -> list[Any]:
        return self.core.list_namespaced_pod(namespace, label_selector=selector).items

    def events(self, namespace: str = "default", **fields: str) -> list[Any]:
        selector = ",".join(f"{k}={v}" for k, v in fields.items())
        return self.core.list_namespaced_event(namespace, field_selector=selector or None).items
