"""Rules that need the cluster profile: device memory, vLLM memory share, derived namespace
names, the distributed leader port, and every refusal reported at once."""

from __future__ import annotations

from typing import Any

import pytest

from inference_core.errors import ProfileError, ProfileRefusals
from inference_core.profile import load_profile
from inference_core.render import profile_refusals, render, serving_object
from inference_core.spec import parse_spec
from tests.helpers import deep_merge

KAI = load_profile("kai")
RUNAI = load_profile("runai")
HF = {"kind": "HuggingFaceInference", "metadata": {"name": "llm", "project": "team-a"},
      "spec": {"model": {"id": "org/model"}}}
DIST = {"kind": "DistributedInference", "metadata": {"name": "big", "project": "team-a"},
        "spec": {"model": {"id": "org/big"}, "leader": {"compute": {"gpuDevices": 8}},
                 "workers": {"count": 1, "compute": {"gpuDevices": 8}}}}


def _spec(doc: dict[str, Any], patch: dict[str, Any]) -> Any:
    return parse_spec(deep_merge(doc, patch))


def test_gpu_memory_fraction_larger_than_the_device_is_refused() -> None:
    spec = _spec(HF, {"spec": {"compute": {"gpuDevices": 0, "gpuMemory": {"request": "90GB"}}}})
    with pytest.raises(ProfileError) as err:
        render(spec, KAI)
    assert err.value.field == "spec.compute.gpuMemory.request"
    assert "more than one GPU device holds" in str(err.value) and "80G" in str(err.value)
    fits = _spec(HF, {"spec": {"compute": {"gpuDevices": 0, "gpuMemory": {"request": "80GB"}}}})
    assert render(fits, KAI)


def test_memory_utilization_checked_against_gpu_memory_share() -> None:
    base = {"spec": {"compute": {"gpuDevices": 0, "gpuMemory": {"request": "20GB"}}}}
    over = _spec(HF, deep_merge(base, {"spec": {"vllm": {"gpuMemoryUtilization": 0.5}}}))
    with pytest.raises(ProfileError) as err:
        render(over, KAI)
    assert err.value.field == "spec.vllm.gpuMemoryUtilization"
    assert "allowed: <= 0.25" in str(err.value)
    ok = _spec(HF, deep_merge(base, {"spec": {"vllm": {"gpuMemoryUtilization": 0.25}}}))
    args = serving_object(render(ok, KAI))["spec"]["template"]["spec"]["containers"][0]["args"]
    assert args[args.index("--gpu-memory-utilization") + 1] == "0.25"


def test_runai_namespace_prefix_cannot_push_a_project_past_63() -> None:
    project = "p" * 60
    spec = _spec(HF, {"metadata": {"project": project}})
    assert render(spec, KAI)  # 60 characters is a valid namespace as is
    with pytest.raises(ProfileError) as err:
        render(spec, RUNAI)
    assert err.value.field == "metadata.project"
    assert f"'runai-{project}' (66 characters)" in str(err.value)
    assert "at most 57 characters" in str(err.value)


def test_every_refusal_reported_at_once() -> None:
    spec = _spec(HF, {"spec": {"priority": "low", "compute": {"gpuDevices": 0,
                                                              "gpuPortion": {"request": 50}},
                               "scheduling": {"tolerations": [{"key": "gpu",
                                                               "operator": "Exists"}]}}})
    found = profile_refusals(spec, load_profile("default"))
    assert sorted(e.field for e in found) == ["spec.compute.gpuPortion", "spec.priority",
                                              "spec.scheduling.tolerations"]
    with pytest.raises(ProfileRefusals) as err:
        render(spec, load_profile("default"))
    assert len(err.value.issues) == 3
    assert "3 problem(s) with the cluster profile 'default'" in str(err.value)


@pytest.mark.parametrize("multi_node", ["ray", "native"])
def test_distributed_port_reaches_vllm_probes_and_service(multi_node: str) -> None:
    spec = _spec(DIST, {"spec": {"multiNode": multi_node, "endpoint": {"port": 9000}}})
    objects = render(spec, KAI)
    lws = serving_object(objects)
    leader = lws["spec"]["leaderWorkerTemplate"]["leaderTemplate"]["spec"]["containers"][0]
    command = " ".join(leader.get("command", []) + leader.get("args", []))
    assert "--port 9000" in command and "--port 8000" not in command
    assert leader["ports"] == [{"containerPort": 9000, "name": "http"}]
    assert leader["startupProbe"]["httpGet"]["port"] == 9000
    assert leader["readinessProbe"]["httpGet"]["port"] == 9000
    service = next(o for o in objects if o["kind"] == "Service")
    assert service["spec"]["ports"][0]["targetPort"] == 9000


def test_distributed_default_port_is_8000() -> None:
    lws = serving_object(render(_spec(DIST, {}), KAI))
    leader = lws["spec"]["leaderWorkerTemplate"]["leaderTemplate"]["spec"]["containers"][0]
    assert "--port 8000" in " ".join(leader["command"])
    assert leader["startupProbe"]["httpGet"]["port"] == 8000
