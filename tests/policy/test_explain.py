"""Provenance: every value of the effective spec with its source, in three forms."""

from __future__ import annotations

import json

import yaml

from inference_core.policy import explain, resolve_files
from tests.helpers import REPO
from tests.policy.conftest import Write, policy

EX = REPO / "examples/policies"


def _example() -> list:  # type: ignore[type-arg]
    return resolve_files(EX / "chat.yaml", "kai", [EX / "policies"], [EX / "assets"])


def test_yaml_form_is_the_effective_document_with_a_source_per_value() -> None:
    results = _example()
    text = explain.to_yaml(results)
    docs = list(yaml.safe_load_all(text))
    assert docs == [explain.effective_document(r) for r in results]
    value_lines = [line for line in text.splitlines()
                   if not line.startswith("#") and not line.rstrip().endswith(":")
                   and line.strip() not in ("---",)]
    assert value_lines and all("  # " in line for line in value_lines)


def test_rows_cover_every_value_with_the_right_source() -> None:
    chat, triton = _example()
    rows = {path: (value, source) for path, value, source in explain.rows(chat)}
    assert rows["spec.compute.memory.limit"] == ("96G", "spec")
    assert rows["spec.compute.memory.request"] == ("32G", "asset ComputeResource/one-a100")
    assert rows["spec.vllm.image"][1] == "asset Environment/vllm-openai"
    assert rows["spec.general.requestTimeout"] == ("120s", "policy gpu-cluster default")
    assert rows["metadata.labels.cost-center"] == ("ml-team-a", "policy team-a-inference default")
    assert rows["spec.priority"] == ("very-high", "default")
    trows = {path: source for path, _, source in explain.rows(triton)}
    assert trows["spec.storage[0].path"] == "asset DataSource/triton-models"
    assert trows["spec.storage[1].name"] == "policy team-a-inference (imposed)"
    assert trows["spec.scheduling.nodeType"] == "policy team-a-inference default"


def test_profile_values_are_named(write: Write) -> None:
    spec = write("d.yaml", """
        kind: DistributedInference
        metadata: {name: llm, project: team-x}
        spec:
          model: {id: Qwen/Qwen2.5-7B-Instruct}
          leader: {compute: {gpuDevices: 1}}
          workers: {count: 1, image: "custom:1", compute: {gpuDevices: 1}}
        """)
    empty = write("p.yaml", policy("unrelated", "defaults: {}\n", "{projects: [nobody]}"))
    for pols in ([], [empty]):  # the plain path and the policy path agree
        (result,) = resolve_files(spec, "kai", pols)
        rows = {path: (value, source) for path, value, source in explain.rows(result)}
        assert rows["spec.leader.image"] == ("vllm/vllm-openai:v0.11.0", "profile kai")
        assert rows["spec.workers.image"] == ("custom:1", "spec")
        assert rows["spec.workers.count"] == (1, "spec")


def test_json_and_table_forms() -> None:
    results = _example()
    data = json.loads(json.dumps(explain.to_json(results)))
    assert [d["name"] for d in data["documents"]] == ["llama-chat", "triton-resnet"]
    assert data["documents"][1]["policies"][1] == {
        "name": "team-a-inference", "level": "project",
        "file": str(EX / "policies/team-a.yaml"), "document": 0}
    table = explain.to_table(results).splitlines()
    assert table[1].split() == ["FIELD", "VALUE", "SOURCE", "POLICY"]
    assert any(line.split()[:3] == ["spec.scheduling.nodeType", "h100", "spec"] and
               line.endswith("one of a100, h100 (team-a-inference); required "
                             "(team-a-inference)") for line in table)


def test_limits_name_the_stricter_bound_and_every_policy(write: Write) -> None:
    cluster = write("c.yaml", policy("cluster", """
        rules:
          spec.compute.memory.limit: {max: 256GB, min: 1Gi}
          spec.storage[].pvc.claimName: {options: [models]}
        """))
    project = write("p.yaml", policy("project", """
        rules:
          spec.compute.memory.limit: {max: 64Gi, min: 512Mi, required: true}
        """, "{projects: [team-a]}"))
    spec = write("s.yaml", """
        kind: CustomInference
        metadata: {name: a, project: team-a}
        spec:
          image: "img:1"
          compute: {memory: {limit: 32Gi}}
          storage: [{name: m, path: /m, pvc: {claimName: models}}]
        """)
    (result,) = resolve_files(spec, "kai", [cluster, project])
    assert explain.limits(result) == {
        "spec.compute.memory.limit": ">= 1Gi (cluster); <= 64Gi (project); required (project)",
        "spec.storage[].pvc.claimName": "one of models (cluster)"}
    text = explain.to_yaml([result])
    assert '      claimName: "models"  # spec; policy: one of models (cluster)' in text


def test_token_values_never_appear(write: Write) -> None:
    token = "hf_" + "x" * 34
    spec = write("s.yaml", f"""
        kind: HuggingFaceInference
        metadata: {{name: chat, project: team-a}}
        spec: {{model: {{id: Qwen/Qwen2.5-7B-Instruct, token: {token}}}}}
        """)
    p = write("p.yaml", policy("d", "defaults: {spec: {priority: high}}\n"))
    results = resolve_files(spec, "kai", [p])
    assert results[0].spec is not None
    for text in (explain.to_yaml(results), explain.to_table(results),
                 json.dumps(explain.to_json(results))):
        assert token not in text
        assert "**********" in text  # shown masked, as pydantic renders a SecretStr
