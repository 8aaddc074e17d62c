"""Policy defaults: applied under the spec, most specific scope first, only in scope."""

from __future__ import annotations

import pytest
import yaml

from inference_core.errors import SpecError
from inference_core.policy import effective_spec, effective_specs, load_library
from inference_core.spec import HuggingFaceInference
from tests.policy.conftest import HF_SPEC, Write, effective, policy


def _hf(**spec: object) -> dict[str, object]:
    doc = yaml.safe_load(HF_SPEC)
    doc["spec"].update(spec)
    return doc


def test_defaults_fill_fields_the_spec_leaves_out(write: Write) -> None:
    p = write("p.yaml", policy("cluster-defaults", """
        defaults:
          metadata: {labels: {cost-center: ml}}
          spec:
            compute: {cpu: {request: "2"}}
            general: {requestTimeout: 2m}
        """))
    result = effective(_hf(), p)
    assert result.spec is not None and not result.issues
    assert result.spec.spec.compute.cpu.request == 2000
    assert result.spec.spec.general.request_timeout == 120
    assert result.spec.metadata.labels == {"cost-center": "ml"}
    # The Hugging Face built-in compute (one GPU, large /dev/shm) survives a compute default.
    assert result.spec.spec.compute.gpu_devices == 1 and result.spec.spec.compute.large_shm
    assert result.source_of("spec.compute.cpu.request") == "policy cluster-defaults default"
    assert result.source_of("spec.compute.gpuDevices") == "default"


def test_the_spec_wins_over_defaults_field_by_field(write: Write) -> None:
    p = write("p.yaml", policy("d", """
        defaults:
          spec: {compute: {cpu: {request: "2", limit: "4"}}}
        """))
    result = effective(_hf(compute={"gpuDevices": 2, "cpu": {"limit": "8"}}), p)
    assert result.spec is not None
    cpu = result.spec.spec.compute.cpu
    assert (cpu.request, cpu.limit) == (2000, 8000)
    assert result.source_of("spec.compute.cpu.limit") == "spec"
    assert result.source_of("spec.compute.cpu.request") == "policy d default"


def test_most_specific_scope_wins_for_defaults(write: Write) -> None:
    cluster = write("ps/cluster.yaml", policy("cluster", """
        defaults: {spec: {priority: medium, preemptibility: preemptible}}
        """, "{clusters: [kai]}"))
    write("ps/sub/project.yml", policy("project", """
        defaults: {spec: {priority: high}}
        """, "{projects: [team-a]}"))
    result = effective(_hf(), cluster.parent)  # a directory: every YAML file below it
    assert result.spec is not None
    assert result.spec.spec.priority == "high"
    assert result.spec.spec.preemptibility == "preemptible"
    assert result.source_of("spec.priority") == "policy project default"
    assert [a.name for a in result.policies] == ["cluster", "project"]


def test_policies_apply_only_in_their_scope(write: Write) -> None:
    p = write("p.yaml", policy("other", """
        defaults: {spec: {priority: low}}
        rules: {spec.compute.gpuDevices: {max: 0}}
        """, "{projects: [team-b]}"))
    q = write("q.yaml", policy("other-cluster", "defaults: {spec: {priority: low}}\n",
                               "{clusters: [runai]}"))
    r = write("r.yaml", policy("distributed-only", "defaults: {spec: {priority: low}}\n",
                               "{kinds: [DistributedInference]}"))
    result = effective(_hf(), p, q, r)
    assert result.spec is not None and not result.issues
    assert result.spec.spec.priority == "very-high"
    assert result.policies == []


def test_department_scope_uses_the_profile_departments(write: Write) -> None:
    p = write("p.yaml", policy("research", "defaults: {spec: {priority: medium}}\n",
                               "{departments: [research]}"))
    prof = write("prof.yaml", "name: lab\ndepartments: {research: [team-a]}\n")
    spec = effective_spec(_hf(), str(prof), policies=[p])
    assert spec.spec.priority == "medium"
    other = effective_spec(_hf(), "kai", policies=[p])
    assert other.spec.priority == "very-high"


def test_same_level_defaults_that_disagree_are_refused(write: Write) -> None:
    a = write("a.yaml", policy("a", "defaults: {spec: {priority: low}}\n"))
    b = write("b.yaml", policy("b", "defaults: {spec: {priority: high}}\n"))
    result = effective(_hf(), a, b)
    assert result.spec is None
    text = [i.render() for i in result.issues]
    assert any("b.yaml#0: defaults.spec.priority: policy b and policy a" in t for t in text)


def test_effective_spec_accepts_spec_objects_and_keeps_unset_fields_open(write: Write) -> None:
    p = write("p.yaml", policy("d", "defaults: {spec: {priority: medium}}\n"))
    obj = HuggingFaceInference.model_validate(_hf())
    assert effective_spec(obj, "kai", policies=[p]).spec.priority == "medium"
    explicit = HuggingFaceInference.model_validate(_hf(priority="low"))
    assert effective_spec(explicit, "kai", policies=[p]).spec.priority == "low"


def test_unknown_default_field_is_a_policy_error(write: Write) -> None:
    p = write("p.yaml", policy("typo", "defaults: {spec: {compute: {gpuDevice: 1}}}\n"))
    with pytest.raises(SpecError) as err:
        load_library([p])
    assert f"{p}#0: defaults.spec.compute.gpuDevice: is not a field of any workload kind" in \
        str(err.value)


def test_effective_specs_takes_every_front_door_form(write: Write) -> None:
    p = write("p.yaml", policy("d", "defaults: {spec: {priority: medium}}\n"))
    text = yaml.safe_dump(_hf())
    path = write("spec.yaml", text)
    obj = HuggingFaceInference.model_validate(_hf())
    for value in (_hf(), obj, [_hf()], text, str(path), path):
        specs = effective_specs(value, "kai", policies=[p])
        assert [s.spec.priority for s in specs] == ["medium"], value
    # without policies or assets it is the plain loader
    assert effective_specs(_hf(), "kai")[0].spec.priority == "very-high"
    with pytest.raises(SpecError) as err:
        effective_specs(str(path.parent / "missing.yaml"), "kai", policies=[p])
    assert "names no readable file" in str(err.value)


def test_the_shared_spec_input_resolver_applies_policies(write: Write) -> None:
    from inference_core.rollout.inputs import resolve_spec_input

    p = write("p.yaml", policy("d", "defaults: {spec: {priority: medium}}\n"))
    text = yaml.safe_dump(_hf())
    assert resolve_spec_input(text).spec.priority == "very-high"
    assert resolve_spec_input(text, profile="kai").spec.priority == "very-high"
    assert resolve_spec_input(text, profile="kai", policies=[p]).spec.priority == "medium"
    profile = write("prof.yaml", f"name: lab\npolicies: [{p.name}]\n")
    assert resolve_spec_input(_hf(), profile=str(profile)).spec.priority == "medium"
