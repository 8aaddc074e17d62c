"""The pure wait steps (what the Airflow trigger and Pulumi call) and spec-input resolution."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from inference_core.errors import KubeApiError, SpecError
from inference_core.rollout.inputs import looks_like_yaml_text, resolve_spec_input
from inference_core.rollout.kube import ObjectKey
from inference_core.rollout.plan import WaitTarget
from inference_core.rollout.wait import (
    Snapshot,
    WaitProgress,
    assess,
    failure_error,
    step,
    timeout_error,
)

KEY = ObjectKey("serving.knative.dev/v1", "Service", "team-a", "app")
TARGET = WaitTarget(KEY, timeout_s=60.0, expected_generation=2)


def service(generation: int, observed: int, ready: str, created: str,
            status: str = "True") -> dict[str, Any]:
    return {"apiVersion": "serving.knative.dev/v1", "kind": "Service",
            "metadata": {"name": "app", "namespace": "team-a", "generation": generation},
            "status": {"observedGeneration": observed, "latestReadyRevisionName": ready,
                       "latestCreatedRevisionName": created,
                       "conditions": [{"type": "Ready", "status": status}]}}


def pod(revision: str, reason: str | None) -> dict[str, Any]:
    waiting = {"waiting": {"reason": reason, "message": "pull failed"}} if reason else \
        {"running": {}}
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": f"{revision}-pod", "namespace": "team-a",
                         "labels": {"serving.knative.dev/revision": revision,
                                    "serving.knative.dev/service": "app"}},
            "status": {"phase": "Pending",
                       "containerStatuses": [{"name": "inference", "ready": False,
                                              "state": waiting}]}}


@pytest.mark.parametrize(("snap", "state"), [
    (Snapshot(None), "progressing"),
    (Snapshot(service(2, 1, "app-00001", "app-00001")), "progressing"),  # old generation
    (Snapshot(service(2, 2, "app-00002", "app-00002")), "ready"),
    (Snapshot(service(2, 2, "app-00001", "app-00002", "Unknown"),
              pods=(pod("app-00002", "ImagePullBackOff"),)), "failed"),
    # a pod of another revision does not decide
    (Snapshot(service(2, 2, "app-00001", "app-00002", "Unknown"),
              pods=(pod("app-00001", "ImagePullBackOff"),)), "progressing"),
])
def test_step_outcomes(snap: Snapshot, state: str) -> None:
    progress = WaitProgress.start(TARGET, now=100.0)
    progress, outcome = step(progress, TARGET, snap, now=101.0)
    assert outcome.state == state
    assert progress.reads == 1 and progress.api_down_since is None


def test_timeout_message_names_outage_and_last_observation() -> None:
    progress = WaitProgress.start(TARGET, now=0.0)
    progress, _ = step(progress, TARGET, Snapshot(service(2, 1, "a", "a")), now=1.0)
    err = KubeApiError("GET x failed without an answer", status=None)
    progress, outcome = step(progress, TARGET, None, now=30.0, error=err)
    assert outcome.state == "progressing" and progress.api_down_since == 30.0
    progress, outcome = step(progress, TARGET, None, now=61.0, error=err)
    assert outcome.state == "timeout"
    text = str(timeout_error(TARGET, progress, now=61.0))
    assert "not ready after 61s" in text and "last observed: progressing" in text
    assert "API server was unreachable for the last 31s" in text
    assert "without an answer" in text


def test_timeout_message_when_the_api_answered() -> None:
    progress = WaitProgress.start(TARGET, now=0.0)
    progress, outcome = step(progress, TARGET, Snapshot(service(2, 1, "a", "a")), now=61.0)
    assert outcome.state == "timeout"
    assert "API server answered every read" in str(timeout_error(TARGET, progress, now=61.0))


def test_failure_error_keeps_reason_without_repeating_the_object() -> None:
    snap = Snapshot(service(2, 2, "app-00001", "app-00002", "Unknown"),
                    pods=(pod("app-00002", "ImagePullBackOff"),))
    readiness = assess(TARGET, snap)
    err = failure_error(TARGET, readiness)
    assert err.reason == "ImagePullBackOff"
    assert str(err).count("Service team-a/app") == 1


def test_no_asyncio_wait_for_in_the_engine() -> None:
    root = Path(__file__).resolve().parents[2] / "inference_core" / "rollout"
    for path in root.glob("*.py"):
        assert "wait_for(" not in path.read_text(encoding="utf-8"), path


# -- spec inputs ---------------------------------------------------------------------------------

SPEC = ("apiVersion: inference-stacks/v1alpha1\nkind: CustomInference\n"
        "metadata: {name: app, project: p}\nspec: {image: 'img:1'}\n")


@pytest.mark.parametrize(("text", "is_yaml"), [
    ("examples/custom-http.yaml", False), ("/tmp/x.yml", False), ("specs/app", False),
    (SPEC, True), ("{kind: CustomInference}", True), ("kind: CustomInference", True),
])
def test_path_or_yaml(text: str, is_yaml: bool) -> None:
    assert looks_like_yaml_text(text) is is_yaml


def test_resolve_every_form(tmp_path: Path) -> None:
    path = tmp_path / "app.yaml"
    path.write_text(SPEC, encoding="utf-8")
    from_text = resolve_spec_input(SPEC)
    for value in (str(path), path, from_text, from_text.model_dump(by_alias=True)):
        assert resolve_spec_input(value).metadata.name == "app"
    with pytest.raises(SpecError, match="names no readable file"):
        resolve_spec_input(str(tmp_path / "missing.yaml"))
    with pytest.raises(SpecError, match="unsupported type"):
        resolve_spec_input(42)
    with pytest.raises(SpecError, match="not the kind expected"):
        resolve_spec_input(SPEC, kind="HuggingFaceInference")
    with pytest.raises(SpecError, match="names no document"):
        resolve_spec_input(SPEC, name="other")
