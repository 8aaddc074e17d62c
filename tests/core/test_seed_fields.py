"""Run:ai form fields: a new model credential, image-pull credentials by kind and source,
service accounts (test_access_policy.py) and tools with a custom URL."""

from __future__ import annotations

import base64
import json
from typing import Any

import yaml

from inference_core.profile import load_profile
from inference_core.render import is_redacted, render, serving_object
from inference_core.spec import parse_spec
from tests.helpers import deep_merge

KAI = load_profile("kai")
CUSTOM = {"kind": "CustomInference", "metadata": {"name": "svc", "project": "team-a"},
          "spec": {"image": "nvcr.io/acme/model:1"}}
HF = {"kind": "HuggingFaceInference", "metadata": {"name": "llm", "project": "team-a"},
      "spec": {"model": {"id": "org/model"}}}
DIST = {"kind": "DistributedInference", "metadata": {"name": "big", "project": "team-a"},
        "spec": {"leader": {"image": "nvcr.io/acme/leader:1"},
                 "workers": {"image": "nvcr.io/acme/worker:1", "count": 1}}}
HF_VALUE = "hf_" + "Z" * 34
NGC_VALUE = "nvapi-" + "Q" * 40


def _objects(doc: dict[str, Any], patch: dict[str, Any], **kw: Any) -> list[dict[str, Any]]:
    return render(parse_spec(deep_merge(doc, patch)), KAI, **kw)


def _secret(objects: list[dict[str, Any]], name: str) -> dict[str, Any]:
    return next(o for o in objects if o["kind"] == "Secret" and o["metadata"]["name"] == name)


def _decoded(secret: dict[str, Any], key: str) -> str:
    return base64.b64decode(secret["data"][key]).decode()


def test_new_model_credential_name_description_key() -> None:
    patch = {"spec": {"model": {"credential": {"name": "team-hf", "description": "read-only",
                                               "key": "TOKEN", "value": HF_VALUE}}}}
    printed = _objects(HF, patch)
    secret = _secret(printed, "team-hf")
    assert is_redacted(secret) and _decoded(secret, "TOKEN") == "<redacted>"
    assert secret["metadata"]["annotations"]["inference-stacks.io/description"] == "read-only"
    assert HF_VALUE not in yaml.safe_dump_all(printed)
    applied = _secret(_objects(HF, patch, include_secret_values=True), "team-hf")
    assert _decoded(applied, "TOKEN") == HF_VALUE and not is_redacted(applied)
    env = serving_object(printed)["spec"]["template"]["spec"]["containers"][0]["env"]
    assert {"name": "HF_TOKEN", "valueFrom": {"secretKeyRef": {"name": "team-hf",
                                                               "key": "TOKEN"}}} in env


def test_docker_registry_credential_of_a_user_becomes_a_dockerconfigjson_secret() -> None:
    patch = {"spec": {"imagePullCredential": {"kind": "docker-registry",
                                              "registry": "https://index.docker.io/v1/",
                                              "username": "ana", "password": "s3cret-pw"}}}
    printed = _objects(CUSTOM, patch)
    secret = _secret(printed, "svc-pull")
    assert secret["type"] == "kubernetes.io/dockerconfigjson" and is_redacted(secret)
    assert "s3cret-pw" not in yaml.safe_dump_all(printed)
    applied = _secret(_objects(CUSTOM, patch, include_secret_values=True), "svc-pull")
    auths = json.loads(_decoded(applied, ".dockerconfigjson"))["auths"]
    entry = auths["https://index.docker.io/v1/"]
    assert entry["username"] == "ana" and entry["password"] == "s3cret-pw"
    assert base64.b64decode(entry["auth"]).decode() == "ana:s3cret-pw"
    pod = serving_object(printed)["spec"]["template"]["spec"]
    assert pod["imagePullSecrets"] == [{"name": "svc-pull"}]


def test_ngc_api_key_becomes_an_nvcr_pull_secret_with_oauthtoken() -> None:
    patch = {"spec": {"imagePullCredential": {"kind": "ngc-api-key", "name": "ngc",
                                              "apiKey": NGC_VALUE}}}
    applied = _secret(_objects(DIST, patch, include_secret_values=True), "ngc")
    entry = json.loads(_decoded(applied, ".dockerconfigjson"))["auths"]["nvcr.io"]
    assert entry["username"] == "$oauthtoken" and entry["password"] == NGC_VALUE
    printed = _objects(DIST, patch)
    assert NGC_VALUE not in yaml.safe_dump_all(printed)
    lws = serving_object(printed)["spec"]["leaderWorkerTemplate"]
    for template in ("leaderTemplate", "workerTemplate"):
        assert lws[template]["spec"]["imagePullSecrets"] == [{"name": "ngc"}]


def test_shared_credential_is_referenced_not_created() -> None:
    patch = {"spec": {"imagePullSecret": "registry-a",
                      "imagePullCredential": {"kind": "ngc-api-key", "source": "shared",
                                              "name": "team-ngc"}}}
    objects = _objects(CUSTOM, patch)
    assert not [o for o in objects if o["kind"] == "Secret"]
    pod = serving_object(objects)["spec"]["template"]["spec"]
    assert pod["imagePullSecrets"] == [{"name": "registry-a"}, {"name": "team-ngc"}]


def test_tool_custom_url_routes_through_an_ingress() -> None:
    patch = {"spec": {"tools": [{"name": "jupyter", "port": 8888,
                                 "url": "https://tools.example.com/svc/jupyter"},
                                {"name": "tb", "port": 6006}]}}
    objects = _objects(CUSTOM, patch)
    ingress = next(o for o in objects if o["kind"] == "Ingress")
    rule = ingress["spec"]["rules"][0]
    assert rule["host"] == "tools.example.com"
    assert rule["http"]["paths"][0] == {
        "path": "/svc/jupyter", "pathType": "Prefix",
        "backend": {"service": {"name": "svc-jupyter", "port": {"number": 8888}}}}
    services = {o["metadata"]["name"]: o["spec"]["type"] for o in objects
                if o["kind"] == "Service" and o["apiVersion"] == "v1"}
    assert services == {"svc-jupyter": "ClusterIP", "svc-tb": "LoadBalancer"}


def test_cli_render_never_prints_credential_values(tmp_path: Any) -> None:
    from typer.testing import CliRunner

    from inference_core.cli.main import app

    spec = deep_merge(HF, {"spec": {
        "model": {"credential": {"name": "team-hf", "value": HF_VALUE}},
        "imagePullCredential": {"kind": "ngc-api-key", "apiKey": NGC_VALUE}}})
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(spec))
    result = CliRunner().invoke(app, ["render", "-p", "kai", str(path)])
    assert result.exit_code == 0, result.output
    assert HF_VALUE not in result.output and NGC_VALUE not in result.output
    kinds = [(d["kind"], d["metadata"]["name"]) for d in yaml.safe_load_all(result.output)]
    assert ("Secret", "team-hf") in kinds and ("Secret", "llm-pull") in kinds
