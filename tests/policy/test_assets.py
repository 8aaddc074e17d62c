"""Assets: loaded by name where they land, overridden field by field, scoped, credentials."""

from __future__ import annotations

from typing import Any

import pytest

from inference_core.errors import SpecError
from inference_core.policy import load_library
from inference_core.profile import load_profile
from inference_core.render import render
from tests.policy.conftest import Write, effective, policy

ASSETS = """
apiVersion: inference-stacks/v1alpha1
kind: Environment
metadata: {name: triton}
spec:
  image: nvcr.io/nvidia/tritonserver:24.08-py3
  command: [tritonserver]
  args: ["--model-repository=/models"]
  env:
    - {name: LOG_VERBOSE, value: "0"}
    - {name: API_KEY, secretKeyRef: {asset: api-key}}
  endpoint: {protocol: http, port: 8000}
  tools: [{name: metrics, port: 8002}]
  imagePullSecret: {asset: registry}
---
apiVersion: inference-stacks/v1alpha1
kind: ComputeResource
metadata: {name: one-gpu}
spec:
  gpuDevices: 1
  cpu: {request: "4", limit: "8"}
  memory: {request: 16GB, limit: 32GB}
---
apiVersion: inference-stacks/v1alpha1
kind: DataSource
metadata: {name: models}
spec:
  path: /models
  pvc: {claimName: model-repo, readOnly: true}
---
apiVersion: inference-stacks/v1alpha1
kind: DataSource
metadata: {name: team-b-only}
scope: {projects: [team-b]}
spec:
  path: /b
  emptyDir: {}
---
apiVersion: inference-stacks/v1alpha1
kind: Credential
metadata: {name: registry}
spec: {type: docker-registry, secret: {name: regcred}}
---
apiVersion: inference-stacks/v1alpha1
kind: Credential
metadata: {name: api-key}
spec: {type: generic, secret: {name: api-secret, key: token}}
---
apiVersion: inference-stacks/v1alpha1
kind: Credential
metadata: {name: hf}
spec: {type: hugging-face, secret: {name: team-hf}}
"""


def _custom(**spec: Any) -> dict[str, Any]:
    return {"kind": "CustomInference", "metadata": {"name": "triton", "project": "team-a"},
            "spec": spec}


def test_environment_compute_and_data_source_with_overrides(write: Write) -> None:
    assets = write("assets.yaml", ASSETS)
    doc = _custom(environment="triton",
                  args=["--model-repository=/models", "--strict-readiness=true"],
                  env=[{"name": "LOG_VERBOSE", "value": "1"}],
                  compute={"asset": "one-gpu", "memory": {"limit": "48GB"}},
                  storage=[{"asset": "models", "path": "/repo"}])
    result = effective(doc, assets)
    assert result.spec is not None, [i.render() for i in result.issues]
    spec = result.spec.spec
    assert spec.image == "nvcr.io/nvidia/tritonserver:24.08-py3"
    assert spec.command == ["tritonserver"]
    assert spec.args[-1] == "--strict-readiness=true"
    assert next((e.name, e.value) for e in spec.env) == ("LOG_VERBOSE", "1")
    api = next(e for e in spec.env if e.name == "API_KEY")
    assert api.secret_key_ref is not None
    assert (api.secret_key_ref.name, api.secret_key_ref.key) == ("api-secret", "token")
    assert spec.image_pull_secret == "regcred"
    assert spec.endpoint.port == 8000 and [t.name for t in spec.tools] == ["metrics"]
    assert spec.compute.gpu_devices == 1 and spec.compute.memory.limit == 48 * 10**9
    assert spec.compute.memory.request == 16 * 10**9
    assert [(s.name, s.path, s.pvc.claim_name if s.pvc else None) for s in spec.storage] == [
        ("models", "/repo", "model-repo")]
    assert result.source_of("spec.image") == "asset Environment/triton"
    assert result.source_of("spec.env[0].value") == "spec"
    assert result.source_of("spec.compute.memory.limit") == "spec"
    assert result.source_of("spec.compute.memory.request") == "asset ComputeResource/one-gpu"
    assert result.source_of("spec.storage[0].path") == "spec"
    assert result.source_of("spec.storage[0].pvc.claimName") == "asset DataSource/models"
    assert result.source_of("spec.imagePullSecret") == "asset Credential/registry"
    objects = render(result.spec, load_profile("kai"))
    container = objects[0]["spec"]["template"]["spec"]["containers"][0]
    assert container["image"] == "nvcr.io/nvidia/tritonserver:24.08-py3"
    assert {"name": "API_KEY", "valueFrom": {"secretKeyRef": {"name": "api-secret",
                                                             "key": "token"}}} in container["env"]


def test_hugging_face_environment_maps_to_vllm_and_refuses_a_command(write: Write) -> None:
    assets = write("assets.yaml", ASSETS + """
---
apiVersion: inference-stacks/v1alpha1
kind: Environment
metadata: {name: vllm}
spec:
  image: registry.example.com/vllm-openai:v0.11.0
  endpoint: {access: {mode: authenticated}, exposure: cluster-local}
""")
    doc = {"kind": "HuggingFaceInference", "metadata": {"name": "chat", "project": "team-a"},
           "spec": {"environment": "vllm", "model": {"id": "Qwen/Qwen2.5-7B-Instruct",
                                                     "tokenSecret": {"asset": "hf"}}}}
    result = effective(doc, assets)
    assert result.spec is not None, [i.render() for i in result.issues]
    assert result.spec.spec.vllm.image == "registry.example.com/vllm-openai:v0.11.0"
    assert result.spec.spec.endpoint.exposure == "cluster-local"
    assert result.spec.spec.model.token_secret == "team-hf"
    doc["spec"]["environment"] = {"asset": "triton"}
    refused = effective(doc, assets)
    text = "\n".join(i.render() for i in refused.issues)
    assert "spec.environment: environment triton sets command, which HuggingFaceInference " \
        "does not use" in text
    assert "vLLM serves http on 8000" not in text  # triton's endpoint is http 8000: accepted


def test_distributed_roles_load_environments_and_compute(write: Write) -> None:
    assets = write("assets.yaml", ASSETS)
    doc = {"kind": "DistributedInference", "metadata": {"name": "d", "project": "team-a"},
           "spec": {"leader": {"environment": "triton", "compute": {"asset": "one-gpu"}},
                    "workers": {"environment": {"asset": "triton"}, "count": 2,
                                "compute": {"asset": "one-gpu", "gpuDevices": 2}}}}
    doc["spec"]["leader"]["environment"] = "triton"
    assets2 = write("env.yaml", """
        apiVersion: inference-stacks/v1alpha1
        kind: Environment
        metadata: {name: plain}
        spec: {image: "img:1", command: [serve], imagePullSecret: {asset: registry}}
        """)
    doc["spec"]["leader"]["environment"] = "plain"
    doc["spec"]["workers"]["environment"] = "plain"
    result = effective(doc, assets, assets2)
    assert result.spec is not None, [i.render() for i in result.issues]
    spec = result.spec.spec
    assert spec.leader.image == spec.workers.image == "img:1"
    assert spec.leader.compute.gpu_devices == 1 and spec.workers.compute.gpu_devices == 2
    assert spec.image_pull_secret == "regcred"
    doc["spec"]["leader"]["environment"] = "triton"  # has tools: refused for distributed
    assert any("sets tools" in i.message for i in effective(doc, assets, assets2).issues)


def test_unknown_and_out_of_scope_assets_are_refused_with_names(write: Write) -> None:
    assets = write("assets.yaml", ASSETS)
    doc = _custom(image="img", compute={"asset": "two-gpus"},
                  storage=[{"asset": "team-b-only"}])
    result = effective(doc, assets)
    text = [i.render() for i in result.issues]
    assert ("spec.yaml#0: spec.compute.asset: is not a known ComputeResource asset (got "
            "'two-gpus'; allowed: one-gpu)") in text
    assert any(t.startswith("spec.yaml#0: spec.storage[0].asset: DataSource team-b-only (")
               and "is not available to this workload" in t and "projects team-b" in t
               for t in text)


def test_asset_reference_without_loaded_assets_says_how(write: Write) -> None:
    p = write("p.yaml", policy("any", "defaults: {spec: {priority: high}}\n"))
    result = effective(_custom(environment="triton"), p)
    assert any(i.path == "spec.environment" and i.hint and "--assets" in i.hint
               for i in result.issues)


def test_credential_kinds_must_fit_their_use(write: Write) -> None:
    assets = write("assets.yaml", ASSETS)
    doc = _custom(image="img", imagePullSecret={"asset": "api-key"},
                  env=[{"name": "X", "secretKeyRef": {"asset": "registry"}}])
    text = "\n".join(i.render() for i in effective(doc, assets).issues)
    assert "spec.imagePullSecret: credential api-key is not an image-pull credential" in text
    assert "spec.env[0].secretKeyRef: credential registry names no key to read" in text


def test_credentials_never_hold_secret_values(write: Write) -> None:
    bad = write("cred.yaml", """
        apiVersion: inference-stacks/v1alpha1
        kind: Credential
        metadata: {name: leaky}
        spec: {type: hugging-face, secret: {name: s}, value: hf_abcdefghijklmnop}
        """)
    with pytest.raises(SpecError) as err:
        load_library([bad])
    assert f"{bad}#0: spec.value: a credential never holds the secret value" in str(err.value)
    assert "hf_abcdefghijklmnop" not in str(err.value)


def test_duplicate_asset_names_and_wrong_kinds_are_refused(write: Write) -> None:
    dup = write("dup.yaml", ASSETS + "---\n" + ASSETS.split("---")[1])
    spec_doc = write("spec.yaml", "kind: CustomInference\nmetadata: {name: a, project: b}\n")
    with pytest.raises(SpecError) as err:
        load_library([dup, spec_doc])
    text = str(err.value)
    assert f"{dup}#7: metadata.name: another ComputeResource has this name ({dup}#1)" in text
    assert f"{spec_doc}#0: kind: is not a policy or asset kind (got 'CustomInference'" in text


def test_imposed_data_sources_are_added_and_cannot_change(write: Write) -> None:
    assets = write("assets.yaml", ASSETS)
    p = write("p.yaml", policy("shared-models", """
        imposedAssets:
          dataSources:
            - models
            - {name: scratch, path: /scratch, emptyDir: {size: 1Gi}}
        """))
    result = effective(_custom(image="img"), assets, p)
    assert result.spec is not None
    assert [s.name for s in result.spec.spec.storage] == ["models", "scratch"]
    assert result.source_of("spec.storage[0].pvc.claimName") == "policy shared-models (imposed)"
    changed = effective(_custom(image="img", storage=[
        {"name": "models", "path": "/elsewhere", "pvc": {"claimName": "model-repo"}}]),
        assets, p)
    assert any(i.path == "spec.storage[0].path" and "is imposed and cannot be changed"
               in i.message for i in changed.issues)


def test_forbidden_override_of_an_asset_value_cites_policy_and_asset(write: Write) -> None:
    assets = write("assets.yaml", ASSETS)
    p = write("p.yaml", policy("fixed-image", """
        defaults: {spec: {image: "registry.example.com/approved:1"}}
        rules: {spec.image: {canEdit: false}}
        """))
    result = effective(_custom(environment="triton"), assets, p)
    assert [i.render() for i in result.issues] == [
        "spec.yaml#0: spec.image: policy fixed-image: cannot be edited (asset "
        "Environment/triton sets it) (got 'nvcr.io/nvidia/tritonserver:24.08-py3'; allowed: "
        "'registry.example.com/approved:1', set by the policy). Hint: remove it from the spec "
        f"(rule spec.image canEdit: false in {p}#0)"]


WRITTEN_OUT = """
apiVersion: inference-stacks/v1alpha1
kind: HuggingFaceInference
metadata: {name: llama-chat, project: team-a, labels: {cost-center: ml-team-a}}
spec:
  imagePullSecret: team-registry-pull
  vllm: {image: "registry.example.com/mirror/vllm-openai:v0.11.0"}
  env: [{name: VLLM_LOGGING_LEVEL, value: INFO}, {name: HF_HUB_ENABLE_HF_TRANSFER, value: "1"}]
  endpoint: {exposure: cluster-local}
  model: {id: meta-llama/Llama-3.1-8B-Instruct, tokenSecret: team-a-hf-token}
  compute: {gpuDevices: 1, cpu: {request: "4", limit: "8"}, largeShm: true,
            memory: {request: 32GB, limit: 96GB}}
  scheduling: {nodeType: h100}
  general: {requestTimeout: 2m}
  storage: [{name: team-a-datasets, path: /datasets,
             pvc: {claimName: team-a-datasets, readOnly: true}}]
"""


def test_assets_and_policies_render_what_the_written_out_spec_renders() -> None:
    from inference_core.policy import load_effective_specs
    from inference_core.spec import load_specs_text
    from tests.helpers import REPO

    ex = REPO / "examples/policies"
    resolved = load_effective_specs(ex / "chat.yaml", "kai", [ex / "policies"],
                                    [ex / "assets"])[0]
    (written,) = load_specs_text(WRITTEN_OUT)
    profile = load_profile("kai")
    assert render(resolved, profile) == render(written, profile)


def test_shared_pull_credential_from_an_asset(write: Write) -> None:
    assets = write("assets.yaml", ASSETS + """
---
apiVersion: inference-stacks/v1alpha1
kind: Credential
metadata: {name: ngc}
spec: {type: ngc-api-key, secret: {name: ngc-pull}}
""")
    result = effective(_custom(image="nvcr.io/nvidia/tritonserver:24.08-py3",
                               imagePullCredential={"asset": "ngc"}), assets)
    assert result.spec is not None, [i.render() for i in result.issues]
    cred = result.spec.spec.image_pull_credential
    assert cred is not None
    assert (cred.kind, cred.source, cred.name) == ("ngc-api-key", "shared", "ngc-pull")
    pod = render(result.spec, load_profile("kai"))[0]["spec"]["template"]["spec"]
    assert pod["imagePullSecrets"] == [{"name": "ngc-pull"}]
    mixed = effective(_custom(image="img", imagePullCredential={"asset": "ngc",
                                                              "registry": "nvcr.io"}), assets)
    assert [i.path for i in mixed.issues] == ["spec.imagePullCredential.registry"]
