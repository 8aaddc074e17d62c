"""``ready`` is the core's readiness verdict on the live objects (not the provider's
``waitFor`` rule): the component polls the cluster its kubeconfig names and judges the serving
object, its revision's pods and their events with ``inference_core.readiness``.

The mocks register nothing in a cluster, so each test applies the rendered objects to the local
API server itself (as the provider would), and its simulated controllers drive their status.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from inference_core.profile import load_profile
from inference_core.render import render
from inference_core.spec import load_specs
from inference_sandbox.sandbox import Sandbox
from pulumi_components import CustomInference, InferenceArgs, InferenceComponentError
from tests.helpers import REPO
from tests.kubehttp import KubeHttp
from tests.pulumi.harness import deploy, install, plain

CUSTOM = REPO / "examples" / "custom-http.yaml"
BAD_IMAGE = "registry.example/does-not-exist:1"


@pytest.fixture
def cluster(sandbox_factory: Callable[..., Sandbox]) -> Sandbox:
    return sandbox_factory(namespaces=["team-a"])


def apply_rendered(sandbox: Sandbox, image: str | None = None) -> str:
    """Apply custom-http's rendered objects (optionally with another image) as the provider
    would; return the kubeconfig text."""
    spec = load_specs(CUSTOM)[0]
    if image is not None:
        spec = spec.model_copy(update={"spec": spec.spec.model_copy(update={"image": image})})
    config_map = {"apiVersion": "v1", "kind": "ConfigMap",  # the spec reads a key of it
                  "metadata": {"name": "iris-config", "namespace": "team-a"},
                  "data": {"model-uri": "s3://models/iris"}}
    http = KubeHttp(sandbox.kubeconfig_path)
    try:
        for obj in [config_map, *render(spec, load_profile("default"))]:
            response = http.apply(obj, manager="pulumi-kubernetes-test")
            assert response.status_code in (200, 201), response.text
    finally:
        http.close()
    return Path(sandbox.kubeconfig_path).read_text(encoding="utf-8")


def test_ready_when_the_core_judges_the_live_service_ready(cluster: Sandbox) -> None:
    kubeconfig = apply_rendered(cluster)
    monitor = install()
    box = deploy(lambda: CustomInference("iris", InferenceArgs(spec=CUSTOM,
                                                               kubeconfig=kubeconfig)))
    assert box["outputs"][0]["ready"] is True
    service = plain(monitor.registrations["iris-service"].inputs)
    # The provider does not wait (the component does), and the kubeconfig is a secret input.
    assert service["metadata"]["annotations"]["pulumi.com/skipAwait"] == "true"
    provider = monitor.registrations["iris-provider"].inputs["kubeconfig"]
    assert plain(provider) == kubeconfig and provider != kubeconfig  # wrapped as a secret
    paths = {r.path for r in cluster.requests}
    assert "/apis/serving.knative.dev/v1/namespaces/team-a/services/iris-classifier" in paths


def test_a_preview_does_not_wait(cluster: Sandbox) -> None:
    # Nothing is applied: a wait would fail (NotFound) or time out after 5 s.
    kubeconfig = Path(cluster.kubeconfig_path).read_text(encoding="utf-8")
    install(preview=True)
    box = deploy(lambda: CustomInference("iris", InferenceArgs(
        spec=CUSTOM, kubeconfig=kubeconfig, timeout_seconds=5)))
    assert "built" in box and "outputs" not in box  # ready stays unknown until up
    assert not any("iris-classifier" in r.path for r in cluster.requests)


def test_a_bad_image_fails_fast_with_the_kubelet_reason(cluster: Sandbox) -> None:
    kubeconfig = apply_rendered(cluster, image=BAD_IMAGE)
    install()
    with pytest.raises(InferenceComponentError) as info:
        deploy(lambda: CustomInference("iris", InferenceArgs(
            spec=CUSTOM, image=BAD_IMAGE, kubeconfig=kubeconfig, timeout_seconds=3600)))
    message = str(info.value)
    assert message.startswith('inference-stacks:index:CustomInference "iris"')
    assert "WorkloadFailed" in message and "team-a/iris-classifier" in message
    assert "ErrImagePull" in message or "ImagePullBackOff" in message


def test_a_user_subclass_keeps_the_type_token() -> None:
    class MyInference(CustomInference):
        """A user's subclass."""

    monitor = install()
    deploy(lambda: MyInference("iris", InferenceArgs(spec=CUSTOM)))
    assert monitor.registrations["iris"].type == "inference-stacks:index:CustomInference"
