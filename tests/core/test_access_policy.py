"""Istio access policies a real mesh needs: Knative's system pods, users and service accounts,
and a clear answer for Run:ai clusters."""

from __future__ import annotations

from typing import Any

import pytest

from inference_core.errors import ProfileError
from inference_core.profile import load_profile
from inference_core.render import render
from inference_core.spec import parse_spec
from tests.core.test_crd_schemas import schema_problems
from tests.helpers import deep_merge

KAI = load_profile("kai")
HF = {"kind": "HuggingFaceInference", "metadata": {"name": "llm", "project": "team-a"},
      "spec": {"model": {"id": "org/model"}}}
DIST = {"kind": "DistributedInference", "metadata": {"name": "big", "project": "team-a"},
        "spec": {"model": {"id": "org/big"}, "leader": {"compute": {"gpuDevices": 8}},
                 "workers": {"count": 1, "compute": {"gpuDevices": 8}}}}


def _policy(doc: dict[str, Any], access: dict[str, Any]) -> dict[str, Any]:
    objects = render(parse_spec(deep_merge(doc, {"spec": {"endpoint": {"access": access}}})),
                     KAI)
    policy = next(o for o in objects if o["kind"] == "AuthorizationPolicy")
    assert schema_problems(policy) == []
    return policy


def test_knative_system_pods_can_probe_and_scrape_a_restricted_revision() -> None:
    rules = _policy(HF, {"mode": "authenticated"})["spec"]["rules"]
    assert {"to": [{"operation": {"paths": ["/healthz"]}}]} in rules
    assert {"to": [{"operation": {"ports": ["9090", "9091"], "paths": ["/metrics"]}}]} in rules
    # Everything else still needs a valid JWT: no rule admits a source namespace (the
    # activator proxies user requests from knative-serving).
    user_rules = [r for r in rules if "from" in r]
    assert user_rules == [{"from": [{"source": {"requestPrincipals": ["*"]}}]}]
    assert not any("namespaces" in str(r) for r in rules)


def test_distributed_leader_gets_no_knative_rules() -> None:
    rules = _policy(DIST, {"mode": "authenticated"})["spec"]["rules"]
    assert rules == [{"from": [{"source": {"requestPrincipals": ["*"]}}]}]


def test_specific_users_and_service_accounts() -> None:
    rules = _policy(HF, {"mode": "users", "users": ["ana@example.com"],
                         "serviceAccounts": ["ci-pipeline"]})["spec"]["rules"]
    whens = [r["when"] for r in rules if "when" in r]
    assert [{"key": "request.auth.claims[preferred_username]",
             "values": ["ana@example.com"]}] in whens
    assert [{"key": "request.auth.claims[client_id]", "values": ["ci-pipeline"]}] in whens
    only_sa = _policy(HF, {"mode": "users", "serviceAccounts": ["ci-pipeline"]})
    assert [r["when"] for r in only_sa["spec"]["rules"] if "when" in r] == [
        [{"key": "request.auth.claims[client_id]", "values": ["ci-pipeline"]}]]


def test_runai_profile_explains_why_restricted_access_is_refused() -> None:
    spec = parse_spec(deep_merge(HF, {"spec": {"endpoint": {"access": {"mode": "groups",
                                                                        "groups": ["ml"]}}}}))
    with pytest.raises(ProfileError) as err:
        render(spec, load_profile("runai"))
    text = str(err.value)
    assert err.value.field == "spec.endpoint.access"
    assert "Run:ai enforces restricted access only for workloads submitted through its own" \
        in text and "istio.enabled: true" in text


def test_service_accounts_need_mode_users() -> None:
    from inference_core.errors import SpecError

    with pytest.raises(SpecError) as err:
        parse_spec(deep_merge(HF, {"spec": {"endpoint": {"access": {
            "mode": "groups", "groups": ["ml"], "serviceAccounts": ["ci"]}}}}))
    assert [i.path for i in err.value.issues] == ["spec.endpoint.access.serviceAccounts"]
