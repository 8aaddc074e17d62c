"""The CLI path: validate/render/explain with --policy/--assets and the profile's lists."""

from __future__ import annotations

import json

import yaml
from typer.testing import CliRunner

from tests.helpers import REPO
from tests.policy.conftest import Write, policy

runner = CliRunner()
EX = REPO / "examples/policies"
ARGS = ["-p", "kai", "--policy", str(EX / "policies"), "--assets", str(EX / "assets")]


def _app():  # type: ignore[no-untyped-def]
    from inference_core.cli.main import app

    return app


def test_validate_and_render_the_policy_example() -> None:
    ok = runner.invoke(_app(), ["validate", *ARGS, str(EX / "chat.yaml")])
    assert ok.exit_code == 0, ok.stderr
    assert "ok  HuggingFaceInference team-a/llama-chat" in ok.stdout
    assert "ok  CustomInference team-a/triton-resnet" in ok.stdout
    rendered = runner.invoke(_app(), ["render", *ARGS, str(EX / "chat.yaml")])
    assert rendered.exit_code == 0, rendered.stderr
    services = list(yaml.safe_load_all(rendered.stdout))
    pod = services[0]["spec"]["template"]["spec"]
    assert pod["containers"][0]["image"] == "registry.example.com/mirror/vllm-openai:v0.11.0"
    assert pod["imagePullSecrets"] == [{"name": "team-registry-pull"}]
    assert {"name": "team-a-datasets", "persistentVolumeClaim": {
        "claimName": "team-a-datasets", "readOnly": True}} in pod["volumes"]
    assert services[0]["metadata"]["labels"]["cost-center"] == "ml-team-a"


def test_without_the_assets_the_example_is_refused_with_a_hint() -> None:
    result = runner.invoke(_app(), ["validate", "-p", "kai", str(EX / "chat.yaml")])
    assert result.exit_code == 1
    assert "spec.environment" in result.stderr and "--assets" in result.stderr


def test_policy_violations_exit_1_naming_policy_rule_file_and_document(write: Write) -> None:
    spec = write("specs.yaml", """
        apiVersion: inference-stacks/v1alpha1
        kind: CustomInference
        metadata: {name: ok, project: team-a}
        spec: {image: "img:1", scheduling: {nodeType: a100}}
        ---
        apiVersion: inference-stacks/v1alpha1
        kind: CustomInference
        metadata: {name: greedy, project: team-a}
        spec:
          image: "img:1"
          compute: {gpuDevices: 4}
          preemptibility: preemptible
          replicas: {min: 1, max: 9, autoscaling: {metric: concurrency, target: 4}}
        """)
    result = runner.invoke(_app(), ["validate", *ARGS, str(spec)])
    assert result.exit_code == 1
    team = EX / "policies/team-a.yaml"
    assert (f"{spec}#1 (line 11, column 13): spec.compute.gpuDevices: policy "
            "team-a-inference: must be <= 2 (got 4). Hint: rule spec.compute.gpuDevices max in "
            f"{team}#0") in result.stderr
    assert (f"{spec}#1 (line 12, column 3): spec.preemptibility: policy team-a-inference: "
            "cannot be edited") in result.stderr
    assert (f"{spec}#1 (line 13, column 22): spec.replicas.max: policy team-a-inference: must "
            "be <= 4 (got 9)") in result.stderr
    assert f"{spec}#0" not in result.stderr
    assert result.stdout == ""  # nothing rendered, nothing applied
    rendered = runner.invoke(_app(), ["render", *ARGS, str(spec)])
    assert rendered.exit_code == 1 and rendered.stdout == ""


def test_bad_policy_file_is_reported_with_its_location(write: Write) -> None:
    bad = write("bad-policy.yaml", policy("typo", """
        rules:
          spec.compute.gpuDevicez: {max: 1}
        """))
    result = runner.invoke(_app(), ["validate", "-p", "kai", "--policy", str(bad),
                                    str(REPO / "examples/custom-http.yaml")])
    assert result.exit_code == 1
    assert f"{bad}#0: rules.spec.compute.gpuDevicez: is not a field of any workload kind" in \
        result.stderr


def test_profile_lists_policies_and_assets_relative_to_itself(write: Write) -> None:
    kai = (REPO / "inference_core/profiles/kai.yaml").read_text()
    profile = write("cluster/profile.yaml", kai + f"policies: [{EX / 'policies'}]\n"
                    "assets: [assets]\n")
    write("cluster/assets/compute.yaml", (EX / "assets/compute.yaml").read_text())
    for name in ("data-sources", "environments", "credentials"):
        write(f"cluster/assets/{name}.yaml", (EX / f"assets/{name}.yaml").read_text())
    result = runner.invoke(_app(), ["validate", "-p", str(profile), str(EX / "chat.yaml")])
    assert result.exit_code == 0, result.stderr


def test_explain_yaml_table_and_json() -> None:
    out = runner.invoke(_app(), ["explain", *ARGS, str(EX / "chat.yaml")])
    assert out.exit_code == 0, out.stderr
    docs = list(yaml.safe_load_all(out.stdout))
    assert docs[0]["spec"]["compute"]["memory"]["limit"] == "96G"
    lines = out.stdout.splitlines()
    assert ('    nodeType: "h100"  # spec; policy: one of a100, h100 (team-a-inference); '
            'required (team-a-inference)') in lines
    assert ('  preemptibility: "non-preemptible"  # policy team-a-inference (cannot be edited); '
            'policy: cannot be edited (team-a-inference)') in lines
    assert any(line.strip().startswith("gpuDevices: 1  # asset ComputeResource/one-a100")
               for line in lines)
    assert any("requestTimeout" in line and "# policy gpu-cluster default" in line
               for line in lines)
    table = runner.invoke(_app(), ["explain", *ARGS, "-o", "table", str(EX / "chat.yaml")])
    assert table.exit_code == 0
    row = next(r for r in table.stdout.splitlines() if r.startswith("spec.vllm.image "))
    assert row.split()[-1] == "Environment/vllm-openai" and "asset" in row
    raw = runner.invoke(_app(), ["explain", *ARGS, "-o", "json", str(EX / "chat.yaml")])
    data = json.loads(raw.stdout)
    first = data["documents"][0]
    assert first["name"] == "llama-chat" and first["document"] == 0
    assert [p["name"] for p in first["policies"]] == ["gpu-cluster", "team-a-inference"]
    assert first["sources"]["spec.model.tokenSecret"] == "asset Credential/hf-read"
    assert first["sources"]["spec.storage[0].pvc.claimName"] == \
        "policy team-a-inference (imposed)"
    assert first["sources"]["spec.priority"] == "default"
    assert first["spec"]["spec"]["model"]["tokenSecret"] == "team-a-hf-token"
    assert first["limits"]["spec.compute.gpuDevices"] == "<= 2 (team-a-inference)"


def test_explain_refusal_exit_1(write: Write) -> None:
    spec = write("s.yaml", "kind: CustomInference\nmetadata: {name: a, project: team-a}\n"
                           "spec: {image: i, compute: {gpuDevices: 3}}\n")
    result = runner.invoke(_app(), ["explain", *ARGS, str(spec)])
    assert result.exit_code == 1 and "policy team-a-inference: must be <= 2" in result.stderr


def test_plain_specs_are_unchanged_without_policies() -> None:
    example = REPO / "examples/custom-http.yaml"
    plain = runner.invoke(_app(), ["render", str(example)])
    explained = runner.invoke(_app(), ["explain", str(example)])
    assert plain.exit_code == explained.exit_code == 0
    assert "# default" in explained.stdout and "image: \"ghcr.io/acme/iris-classifier:1.4.2\"" \
        "  # spec" in explained.stdout


def test_a_loaded_profile_object_keeps_its_paths_relative_to_its_file(write: Write) -> None:
    from inference_core.policy import effective_specs
    from inference_core.profile import load_profile

    kai = (REPO / "inference_core/profiles/kai.yaml").read_text()
    profile = write("cluster/profile.yaml", kai + "policies: [policies]\n")
    write("cluster/policies/p.yaml", policy("d", "defaults: {spec: {priority: high}}\n"))
    prof = load_profile(str(profile))  # front doors often pass the loaded object
    assert prof.policies == [str(profile.parent.resolve() / "policies")]
    spec = {"kind": "CustomInference", "metadata": {"name": "a", "project": "p"},
            "spec": {"image": "img:1"}}
    assert effective_specs(spec, prof)[0].spec.priority == "high"


def test_the_example_profile_lists_the_example_policies_and_assets() -> None:
    result = runner.invoke(_app(), ["validate", "-p", str(EX / "cluster-profile.yaml"),
                                    str(EX / "chat.yaml")])
    assert result.exit_code == 0, result.stderr
    assert "ok  HuggingFaceInference team-a/llama-chat" in result.stdout
