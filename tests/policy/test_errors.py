"""Errors: every problem at once, each naming file, document, field, policy and rule."""

from __future__ import annotations

import pytest

from inference_core.errors import SpecError
from inference_core.policy import load_effective_specs, load_library
from tests.policy.conftest import Write, messages, policy

POLICY = policy("team-a-inference", """
    rules:
      spec.compute.gpuDevices: {max: 2}
      spec.scheduling.nodeType: {required: true}
      spec.model.token: {canEdit: false}
    """, "{projects: [team-a]}")


def test_all_problems_of_all_documents_at_once(write: Write) -> None:
    p = write("policy.yaml", POLICY)
    specs = write("specs.yaml", """
        kind: HuggingFaceInference
        metadata: {name: one, project: team-a}
        spec:
          model: {id: Qwen/Qwen2.5-7B-Instruct}
          compute: {gpuDevices: 4}
          replicas: {min: 3, max: 1}
        ---
        kind: HuggingFaceInference
        metadata: {name: two, project: team-a}
        spec:
          model: {id: Qwen/Qwen2.5-7B-Instruct, token: hf_secretsecretsecret}
          scheduling: {nodeType: a100}
        ---
        kind: HuggingFaceInference
        metadata: {name: other-team, project: team-b}
        spec: {model: {id: Qwen/Qwen2.5-7B-Instruct}, compute: {gpuDevices: 4}}
        """)
    with pytest.raises(SpecError) as err:
        load_effective_specs(specs, "kai", [p])
    lines = messages(err.value)
    assert (f"{specs}#0 (line 6, column 14): spec.replicas.min: is greater than max (got 3; "
            "allowed: 0..1)") in lines
    assert (f"{specs}#0 (line 5, column 13): spec.compute.gpuDevices: policy team-a-inference: "
            f"must be <= 2 (got 4). Hint: rule spec.compute.gpuDevices max in {p}#0") in lines
    assert any(line.startswith(f"{specs}#0 (line 3, column 1): spec.scheduling.nodeType: "
                               "policy team-a-inference: is required") for line in lines)
    assert any(line.startswith(f"{specs}#1 (line 11, column 41): spec.model.token: policy "
                               "team-a-inference: cannot be edited (got '<hidden>'")
               for line in lines)
    assert not any("#2" in line for line in lines)  # team-b is out of the policy's scope
    assert "hf_secretsecretsecret" not in str(err.value)


def test_a_bad_default_value_names_the_policy_it_came_from(write: Write) -> None:
    p = write("policy.yaml", policy("bad-default", "defaults: {spec: {replicas: {min: 5}}}\n"))
    spec = write("spec.yaml", """
        kind: CustomInference
        metadata: {name: a, project: team-a}
        spec: {image: "img:1"}
        """)
    with pytest.raises(SpecError) as err:
        load_effective_specs(spec, "kai", [p])
    line = next(m for m in messages(err.value) if "spec.replicas.min" in m)
    assert line.startswith(f"{spec}#0: spec.replicas.min: is greater than max")
    assert line.endswith("the value comes from policy bad-default default")


def test_policy_file_problems_all_at_once_with_locations(write: Write) -> None:
    broken = write("broken.yaml", "kind: InferencePolicy\nmetadata: {name: x\n")
    many = write("many.yaml", "\n---\n".join([
        policy("dup", "rules: {spec.priority: {options: []}}\n"),
        policy("dup", "defaults: {}\n"),
        "apiVersion: inference-stacks/v1alpha1\nkind: InferencePolicyy\nmetadata: {name: y}\n",
        "apiVersion: inference-stacks/v2\nkind: InferencePolicy\nmetadata: {name: z}\n",
        policy("Bad_Name", "rules: {spec.compute.gpuDevices: {max: 1, bogus: 2}}\n"),
    ]))
    with pytest.raises(SpecError) as err:
        load_library([broken, many, broken.parent / "missing.yaml"])
    lines = messages(err.value)
    text = "\n".join(lines)
    assert any(line.startswith(f"{broken}#0 (line 3, column 1): (yaml): is not valid YAML")
               for line in lines)
    assert f"{many}#0: rules.spec.priority.options: allows no value" in text
    assert f"{many}#1: metadata.name: another InferencePolicy has this name ({many}#0)" in text
    assert (f"{many}#2: kind: is not a policy or asset kind (got 'InferencePolicyy'; allowed: "
            "InferencePolicy, Environment, ComputeResource, DataSource, Credential). "
            "Hint: did you mean InferencePolicy?") in lines
    assert f"{many}#3: apiVersion: is not supported (got 'inference-stacks/v2'" in text
    assert f"{many}#4: metadata.name:" in text
    assert f"{many}#4: rules.spec.compute.gpuDevices.bogus: is not a known field" in text
    assert f"{broken.parent / 'missing.yaml'}: (file): does not exist" in text


def test_duplicate_keys_in_policy_files_are_refused(write: Write) -> None:
    dup = write("dup.yaml", policy("d", """
        rules:
          spec.priority: {options: [high]}
          spec.priority: {options: [low]}
        """))
    with pytest.raises(SpecError) as err:
        load_library([dup])
    assert "spec.priority" in str(err.value) and str(dup) in str(err.value)


def test_rule_bounds_and_paths_are_checked_when_the_policy_loads(write: Write) -> None:
    p = write("p.yaml", policy("bounds", """
        rules:
          spec.compute.memory.limit: {max: lots}
          spec.compute.gpuDevices: {max: two}
          "spec.storage[": {required: true}
        """) + "---\n" + policy("types", """
        rules:
          spec.compute.cpu.limit: {min: [1]}
        """))
    with pytest.raises(SpecError) as err:
        load_library([p])
    lines = [m.split(": ", 1)[1] for m in messages(err.value)]
    assert ("rules.spec.compute.memory.limit.max: is not a quantity of this field: expected a "
            "size such as 512MB, 16GB, 8Gi or a number of bytes (got 'lots')") in lines
    assert "rules.spec.compute.gpuDevices.max: must be a number for this field (got 'two')" in lines
    # one message per mistake, without pydantic's union member names
    assert [line for line in lines if line.startswith("rules.spec.compute.cpu.limit")] == [
        "rules.spec.compute.cpu.limit.min: Input should be a valid number"]
    assert any(line.startswith("rules.spec.storage[: is not a field") for line in lines)


def test_a_profile_listing_a_missing_path_says_so(write: Write) -> None:
    from inference_core.policy import library_for

    prof = write("cluster/profile.yaml", "name: lab\npolicies: [policies]\nassets: [assets]\n")
    write("cluster/assets/a.yaml", "")
    with pytest.raises(SpecError) as err:
        library_for(str(prof))
    (issue,) = err.value.issues
    assert (issue.source, issue.path, issue.message, issue.value) == (
        f"profile {prof}", "policies[0]", "names no file or directory",
        str(prof.parent / "policies"))
    assert issue.hint == "paths are relative to the profile file"


def test_python_values_are_held_to_the_input_limits(write: Write) -> None:
    from inference_core.policy import effective_spec

    p = write("p.yaml", policy("d", "defaults: {spec: {priority: high}}\n"))
    shared: list[object] = ["x"]
    for _ in range(40):  # 2**40 values once expanded: refused before anything walks it
        shared = [shared, shared]
    doc = {"kind": "CustomInference", "metadata": {"name": "a", "project": "p"},
           "spec": {"image": "i", "args": shared}}
    with pytest.raises(SpecError) as err:
        effective_spec(doc, "kai", policies=[p])
    assert "spec.args" in str(err.value)
