"""The label-selector matcher shared by the trigger and the sandbox API server."""

from __future__ import annotations

import pytest

from inference_core.readiness import label_selector, pod_selector, selector_matches


def test_pod_selector_output_selects_its_pods() -> None:
    ksvc = {"apiVersion": "serving.knative.dev/v1", "kind": "Service",
            "metadata": {"name": "iris", "namespace": "team-a"}}
    selector = pod_selector(ksvc, "iris-00002")
    pod = {"serving.knative.dev/service": "iris", "serving.knative.dev/revision": "iris-00002"}
    assert selector_matches(selector, pod)
    assert not selector_matches(selector, {**pod, "serving.knative.dev/revision": "iris-00001"})


@pytest.mark.parametrize("selector", ["a in (1", "a b", "a&b"])
def test_unparsable_requirements_are_refused(selector: str) -> None:
    with pytest.raises(ValueError, match="invalid label selector requirement"):
        label_selector(selector)
