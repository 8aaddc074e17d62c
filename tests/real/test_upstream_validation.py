"""Every rendered manifest passes the admission code Knative Serving and LeaderWorkerSet run
(their Go modules, with the profile's feature flags) and is accepted by a real kube-apiserver
(server-side apply, field validation Strict, CRD schemas and CEL rules)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings

from inference_core.profile import load_profile
from inference_core.render import render
from inference_core.spec import parse_spec
from tests.core.test_properties import custom_specs
from tests.kubehttp import KubeHttp
from tests.real.cluster import RealCluster, dump
from tests.real.manifests import ACCEPTED, Case
from tests.real.validate import findings, run_validator

pytestmark = pytest.mark.real


def namespaces(objects: Any) -> set[str]:
    return {o["metadata"]["namespace"] for o in objects if o["metadata"].get("namespace")}


def strict_dry_run(http: KubeHttp, obj: dict[str, Any]) -> list[str]:
    """Problems the real server reports for a dry-run apply of ``obj`` (empty when accepted
    without warnings)."""
    response = http.apply(obj, dry_run=True, field_validation="Strict")
    if response.status_code >= 300:
        return [f"{obj['kind']}/{obj['metadata']['name']}: HTTP {response.status_code} "
                f"{response.json().get('message')}"]
    warnings = response.headers.get_list("warning")
    return [f"{obj['kind']}/{obj['metadata']['name']}: warning {w}" for w in warnings]


@pytest.mark.parametrize("case", ACCEPTED, ids=[c.id for c in ACCEPTED])
def test_example_passes_upstream_admission_code(case: Case, validator_path: Any) -> None:
    report = run_validator(validator_path, case.objects, case.profile)
    assert findings(report) == [], dump(report)
    checked = [d for d in report["documents"] if d["checked"]]
    serving = [o for o in case.objects
               if o["kind"] in ("LeaderWorkerSet",) or o["apiVersion"] == "serving.knative.dev/v1"]
    assert len(checked) == len(serving) >= 1


@pytest.mark.parametrize("case", ACCEPTED, ids=[c.id for c in ACCEPTED])
def test_example_is_accepted_by_the_real_api_server(case: Case,
                                                   real_cluster: RealCluster) -> None:
    for namespace in namespaces(case.objects):
        real_cluster.ensure_namespace(namespace)
    with real_cluster.client() as http:
        problems = [p for obj in case.objects for p in strict_dry_run(http, obj)]
    assert problems == []


OWN = [c for c in ACCEPTED if c.own_profile]


@pytest.mark.parametrize("case", OWN, ids=[c.id for c in OWN])
def test_example_applied_for_real_keeps_every_field(case: Case,
                                                    real_cluster: RealCluster) -> None:
    """A real apply (not dry run) stores what we sent: nothing pruned, nothing refused."""
    for namespace in namespaces(case.objects):
        real_cluster.ensure_namespace(namespace)
    with real_cluster.client() as http:
        for obj in case.objects:
            response = http.apply(obj, manager="infstack", field_validation="Strict")
            assert response.status_code in (200, 201), response.text
            stored = response.json()
            assert _contains(stored, obj), f"{obj['kind']} changed: {dump(stored)}"
            managers = {m["manager"] for m in stored["metadata"]["managedFields"]}
            assert "infstack" in managers
        for obj in reversed(case.objects):
            assert http.delete(obj).status_code in (200, 202)


def _contains(stored: Any, sent: Any) -> bool:
    """Whether everything in ``sent`` is in ``stored`` (defaults may add fields; quantities
    are compared as the server normalises them only when equal as strings)."""
    if isinstance(sent, dict):
        return isinstance(stored, dict) and all(
            k in stored and _contains(stored[k], v) for k, v in sent.items())
    if isinstance(sent, list):
        return isinstance(stored, list) and len(stored) == len(sent) and all(
            _contains(a, b) for a, b in zip(stored, sent, strict=True))
    return bool(stored == sent)


KAI = load_profile("kai")
PROFILES = [load_profile(name) for name in ("default", "kai", "runai")]


@settings(max_examples=25, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(doc=custom_specs())
def test_generated_specs_pass_upstream_code_and_the_real_server(
        doc: dict[str, Any], real_cluster: RealCluster, validator_path: Any) -> None:
    spec = parse_spec(doc)
    objects = render(spec, KAI)
    report = run_validator(validator_path, objects, KAI)
    assert findings(report) == [], dump(report)
    for namespace in namespaces(objects):
        real_cluster.ensure_namespace(namespace)
    with real_cluster.client() as http:
        assert [p for obj in objects for p in strict_dry_run(http, obj)] == []
