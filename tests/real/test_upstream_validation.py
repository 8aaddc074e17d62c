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
from tests.real.manifests import ACCEPTED, REFUSED, Case, render_all
from tests.real.validate import findings, run_validator

pytestmark = pytest.mark.real


def namespaces(objects: Any) -> set[str]:
    return {o["metadata"]["namespace"] for o in objects if o["metadata"].get("namespace")}


def strict_dry_run(http: KubeHttp, obj: dict[str, Any]) -> list[str]:
    """Problems the real server reports for a dry-run apply of ``obj`` (empty when accepted
    without warnings)."""
    # Forced: objects other tests of the session applied may exist under another manager.
    response = http.apply(obj, dry_run=True, field_validation="Strict", force=True)
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
def test_example_is_accepted_by_the_real_api_server(case: Case, real_cluster: RealCluster,
                                                   validator_path: Any) -> None:
    for namespace in namespaces(case.objects):
        real_cluster.ensure_namespace(namespace)
    with real_cluster.client() as http:
        problems = [p for obj in case.objects for p in strict_dry_run(http, obj)]
        assert problems == []
        # What the webhooks would receive: the object after the API server's CRD defaulting.
        served = [http.apply(obj, dry_run=True, force=True).json() for obj in case.objects
                  if obj["kind"] == "LeaderWorkerSet"
                  or obj["apiVersion"] == "serving.knative.dev/v1"]
    report = run_validator(validator_path, served, case.profile)
    assert findings(report) == [], dump(report)


OWN = [c for c in ACCEPTED if c.own_profile]


@pytest.mark.parametrize("case", OWN, ids=[c.id for c in OWN])
def test_example_applied_for_real_keeps_every_field(case: Case,
                                                    real_cluster: RealCluster) -> None:
    """A real apply (not dry run) stores what we sent: nothing pruned, nothing refused."""
    for namespace in namespaces(case.objects):
        real_cluster.ensure_namespace(namespace)
    with real_cluster.client() as http:
        for obj in case.objects:
            response = http.apply(obj, manager="infstack", field_validation="Strict",
                                  force=True)
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


def _ksvc(**pod: Any) -> dict[str, Any]:
    return {"apiVersion": "serving.knative.dev/v1", "kind": "Service",
            "metadata": {"name": "probe", "namespace": "team-a"},
            "spec": {"template": {"spec": {"containers": [{"image": "registry.local/app:1"}],
                                           **pod}}}}


def test_validator_applies_the_profile_feature_flags(validator_path: Any) -> None:
    """The upstream code, not a copy of our rules: a nodeSelector is refused with Knative's
    shipped flags and accepted once the profile turns the flag on."""
    selector = _ksvc(nodeSelector={"pool": "a"})
    refused = run_validator(validator_path, [selector], load_profile("default"))
    assert refused["exitCode"] == 1
    (problem,) = refused["documents"][0]["errors"]
    assert "nodeSelector" in problem["field"] + problem["message"] + problem.get("details", "")
    accepted = run_validator(validator_path, [selector], KAI)
    assert accepted["exitCode"] == 0, dump(accepted)
    assert accepted["modules"]["knative.dev/serving"].startswith("v0.")


def test_validator_runs_the_lws_webhook(validator_path: Any) -> None:
    lws = {"apiVersion": "leaderworkerset.x-k8s.io/v1", "kind": "LeaderWorkerSet",
           "metadata": {"name": "d", "namespace": "team-c"},
           "spec": {"replicas": 1, "leaderWorkerTemplate": {
               "size": 2, "workerTemplate": {"spec": {"containers": [
                   {"name": "w", "image": "registry.local/worker:1"}]}}},
               "rolloutStrategy": {"type": "RollingUpdate", "rollingUpdateConfiguration": {
                   "maxUnavailable": "150%", "maxSurge": 0, "partition": 0}}}}
    report = run_validator(validator_path, [lws], KAI, defaulted=True)
    assert report["exitCode"] == 1
    fields = [e["field"] for e in report["documents"][0]["errors"]]
    assert any("maxUnavailable" in f for f in fields), dump(report)
    ok = {**lws, "spec": {k: v for k, v in lws["spec"].items() if k != "rolloutStrategy"}}
    report = run_validator(validator_path, [ok], KAI, defaulted=True)
    assert report["exitCode"] == 0, dump(report)
    defaulted = report["documents"][0]["defaulted"]
    assert defaulted["spec"]["rolloutStrategy"]["type"] == "RollingUpdate"
    assert defaulted["spec"]["networkConfig"]["subdomainPolicy"] == "Shared"
    # The webhook expects the CRD's schema defaults (here partition): without them its code
    # fails, which the validator reports as a finding instead of crashing.
    del lws["spec"]["rolloutStrategy"]["rollingUpdateConfiguration"]["partition"]
    crashed = run_validator(validator_path, [lws], KAI)
    assert crashed["exitCode"] == 1
    assert "panicked" in crashed["documents"][0]["errors"][0]["message"]


def test_unknown_fields_are_refused_as_the_webhooks_decoders_do(validator_path: Any) -> None:
    bad = _ksvc()
    bad["spec"]["template"]["spec"]["containers"][0]["imagePullPolicyy"] = "Always"
    report = run_validator(validator_path, [bad], KAI)
    assert report["exitCode"] == 1
    assert "imagePullPolicyy" in report["documents"][0]["errors"][0]["message"]


# What Knative's webhook says (lower-cased) when a config-features flag is off.
KNATIVE_FLAG_WORDS = {
    "kubernetes.podspec-persistent-volume-claim": "persistent volume claim support is disabled",
    "kubernetes.podspec-persistent-volume-write": "persistent volume write support is disabled",
    "kubernetes.podspec-affinity": "spec.template.spec.affinity",
    "kubernetes.podspec-tolerations": "spec.template.spec.tolerations",
    "kubernetes.podspec-nodeselector": "spec.template.spec.nodeselector",
    "kubernetes.podspec-schedulername": "spec.template.spec.schedulername",
    "kubernetes.podspec-securitycontext": "securitycontext",
    "kubernetes.podspec-priorityclassname": "spec.template.spec.priorityclassname",
    "kubernetes.podspec-init-containers": "initcontainers",
}
KNATIVE_REFUSALS = [c for c in REFUSED if any(
    e.flag in KNATIVE_FLAG_WORDS for e in getattr(c.refusal, "errors", [c.refusal]))]


@pytest.mark.parametrize("case", KNATIVE_REFUSALS, ids=[c.id for c in KNATIVE_REFUSALS])
def test_renderer_refusals_match_the_knative_webhook(case: Case, validator_path: Any) -> None:
    """What the renderer refuses for a Knative flag, Knative's own webhook rejects too: the
    example rendered under a profile with the flags on fails upstream validation under the
    refusing profile's flags, naming each field."""
    flags = {e.flag for e in getattr(case.refusal, "errors", [case.refusal])
             if e.flag in KNATIVE_FLAG_WORDS}
    permissive = load_profile("kai")
    permissive = permissive.model_copy(update={"knative": permissive.knative.model_copy(
        update={"features": {**permissive.knative.features, **dict.fromkeys(flags, "enabled")}})})
    objects = render_all(case.example, permissive)
    assert findings(run_validator(validator_path, objects, permissive)) == []
    said = " ".join(findings(run_validator(validator_path, objects, case.profile))).lower()
    for flag in sorted(flags):
        assert KNATIVE_FLAG_WORDS[flag] in said, (flag, said)
