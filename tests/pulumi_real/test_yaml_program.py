"""The component provider (``pulumi_provider/``) from a Pulumi YAML program through the real
engine and YAML language host: the engine loads the ``inference-stacks`` package's schema from
the provider, constructs the component in the provider process, and the component's children
are applied by the Kubernetes provider and awaited with the core's readiness."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from inference_core.profile import load_profile
from inference_core.render import endpoints
from inference_core.spec import parse_documents
from tests.helpers import REPO, require_real
from tests.pulumi_real.cluster import Cluster
from tests.pulumi_real.engine import Engine, find_tool, tool_path
from tests.pulumi_real.live import existing, live_differences, prerequisites, rendered

pytestmark = [pytest.mark.real, pytest.mark.timeout(1800)]


def program(spec_text: str) -> dict[str, object]:
    """A YAML stack with one hosted CustomInference from YAML text."""
    return {
        "name": "yaml-serving", "runtime": "yaml",
        "resources": {"iris": {"type": "inference-stacks:index:CustomInference",
                               "properties": {"specYaml": spec_text, "profile": "default"}}},
        "outputs": {"url": "${iris.url}", "internalUrl": "${iris.internalUrl}",
                    "serviceName": "${iris.serviceName}", "ready": "${iris.ready}"},
    }


def test_a_yaml_program_deploys_a_hosted_component(engine: Engine, cluster: Cluster,
                                                   tmp_path: Path) -> None:
    require_real(f"pulumi-language-yaml ({tool_path('pulumi-language-yaml')})",
                 find_tool("pulumi-language-yaml"))
    doc = yaml.safe_load((REPO / "examples" / "custom-http.yaml").read_text(encoding="utf-8"))
    doc["metadata"]["name"] = "iris-yaml"
    text = yaml.safe_dump(doc, sort_keys=False)
    spec = parse_documents([doc], source="test")[0]
    project = tmp_path / "project"
    project.mkdir()
    (project / "Pulumi.yaml").write_text(yaml.safe_dump(program(text), sort_keys=False),
                                         encoding="utf-8")
    with cluster.http() as http:
        for obj in prerequisites("hf_unused0123456789abcdefghij"):
            assert http.apply(obj, manager="infstack-test-setup", force=True).status_code \
                in (200, 201)
    engine.cli("stack", "init", "yaml", "--secrets-provider", "passphrase", cwd=project)
    engine.cli("config", "set", "kubernetes:kubeconfig", str(cluster.kubeconfig), cwd=project)
    objects = rendered([spec], load_profile("default"))
    try:
        up = engine.cli("up", "--yes", "--skip-preview", cwd=project)
        assert "inference-stacks:index:CustomInference" in up.stdout
        outputs = json.loads(engine.cli("stack", "output", "--json", cwd=project).stdout)
        ends = endpoints(spec, load_profile("default"))
        assert outputs["ready"] is True
        assert outputs["internalUrl"] == ends.internal_url
        assert outputs["serviceName"] == ends.service_name
        assert outputs.get("url") == ends.url
        with cluster.http() as http:
            assert live_differences(http, objects) == {}
        again = engine.cli("preview", "--diff", cwd=project)
        assert "to create" not in again.stdout and "to update" not in again.stdout, \
            again.stdout[-3000:]
    finally:
        engine.cli("destroy", "--yes", "--skip-preview", cwd=project)
    with cluster.http() as http:
        assert existing(http, objects) == []
    engine.cli("stack", "rm", "yaml", "--yes", cwd=project)
