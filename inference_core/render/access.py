"""Istio access policies for endpoints that are not public.

A restricted endpoint gets a ``RequestAuthentication`` (which JWTs are valid: the identity
provider's issuer and JWKS) and one ``ALLOW`` ``AuthorizationPolicy``. Once an ALLOW policy
selects a pod, Istio denies every request no rule matches, so the policy also carries:

- a rule per public tool port (public stays public beside a restricted endpoint);
- for Knative pods, the rules Knative's own system pods need (Knative Serving documentation,
  "Enabling requests to Knative services when additional authorization policies are
  enabled"): the activator probes revisions on ``/healthz`` and the autoscaler and Prometheus
  scrape the queue-proxy's ``/metrics`` on ports 9090 and 9091. Without them a restricted
  revision never becomes ready through the activator and never autoscales.

The system rules are allowed by path rather than by source namespace: requests the activator
proxies come from the ``knative-serving`` namespace too, so a namespace rule would let every
user request through the activator bypass the JWT check. The user rules keep working through
the activator, which forwards the ``Authorization`` header.

Subjects: ``authenticated`` admits any valid JWT (users and service accounts: client-credential
tokens are JWTs of the same issuer); ``groups`` matches the groups claim; ``users`` matches the
user claim and, for ``serviceAccounts``, the profile's service-account claim (``client_id``).
"""

from __future__ import annotations

from typing import Any

from inference_core.errors import ProfileError
from inference_core.profile import ClusterProfile, IstioProfile
from inference_core.render.meta import base_metadata
from inference_core.render.refusals import refuse
from inference_core.spec.common import Access, AccessMode
from inference_core.spec.loader import AnySpec

KNATIVE_PROBE_PATHS = ["/healthz"]
"""Path the activator (and net-istio's prober) probe revisions on."""
KNATIVE_METRICS_PORTS = ["9090", "9091"]
"""Queue-proxy ports the autoscaler (9090) and Prometheus (9091) scrape ``/metrics`` on."""


def access_policies(
    spec: AnySpec, profile: ClusterProfile, selector: dict[str, str], access: Access,
    field: str, tool_rules: list[tuple[Access, int, str]] | None = None, *,
    knative: bool = True,
) -> list[dict[str, Any]]:
    """Istio RequestAuthentication + AuthorizationPolicy when an endpoint is not public.

    The main endpoint's rule covers every port but the tools' (Knative traffic enters through
    the queue-proxy port). ``knative`` adds the rules Knative's system pods need.
    """
    tool_rules = tool_rules or []
    restricted = [(a, port, f) for a, port, f in [(access, 0, field), *tool_rules]
                  if a.mode is not AccessMode.PUBLIC]
    if not restricted:
        return []
    istio = profile.istio
    first_field = restricted[0][2]
    if not istio.enabled:
        how = istio.unavailable or ("install Istio and use a profile with istio.enabled, or "
                                    "set access.mode: public")
        refuse(ProfileError(first_field, "restricted endpoint access", "istio.enabled", how))
    elif not istio.issuer or not istio.jwks_uri:
        refuse(ProfileError(first_field, "restricted endpoint access", "istio.issuer/jwksUri",
                            "name the identity provider's JWT issuer and JWKS URL in the "
                            "profile"))
    name = spec.metadata.name
    request_auth = {
        "apiVersion": "security.istio.io/v1", "kind": "RequestAuthentication",
        "metadata": base_metadata(spec, profile, f"{name}-jwt"),
        "spec": {"selector": {"matchLabels": dict(selector)},
                 "jwtRules": [{"issuer": istio.issuer, "jwksUri": istio.jwks_uri,
                               "forwardOriginalToken": True}]},
    }
    tool_ports = [str(port) for _, port, _ in tool_rules]
    rules = _rules(access, istio, {"notPorts": tool_ports} if tool_ports else {})
    for acc, port, _ in tool_rules:
        rules += _rules(acc, istio, {"ports": [str(port)]})
    if knative:
        rules += [{"to": [{"operation": {"paths": list(KNATIVE_PROBE_PATHS)}}]},
                  {"to": [{"operation": {"ports": list(KNATIVE_METRICS_PORTS),
                                         "paths": ["/metrics"]}}]}]
    policy = {
        "apiVersion": "security.istio.io/v1", "kind": "AuthorizationPolicy",
        "metadata": base_metadata(spec, profile, f"{name}-access"),
        "spec": {"selector": {"matchLabels": dict(selector)}, "action": "ALLOW",
                 "rules": rules},
    }
    return [request_auth, policy]


def _rules(access: Access, istio: IstioProfile, operation: dict[str, Any]) -> list[dict[str, Any]]:
    """ALLOW rules for one endpoint or tool (several rules are OR-ed by Istio)."""
    base: dict[str, Any] = {}
    if access.mode is not AccessMode.PUBLIC:
        base["from"] = [{"source": {"requestPrincipals": ["*"]}}]
    if operation:
        base["to"] = [{"operation": operation}]
    if access.mode is AccessMode.GROUPS:
        return [{**base, "when": [{"key": f"request.auth.claims[{istio.groups_claim}]",
                                   "values": list(access.groups)}]}]
    if access.mode is AccessMode.USERS:
        out = []
        if access.users:
            out.append({**base, "when": [{"key": f"request.auth.claims[{istio.user_claim}]",
                                          "values": list(access.users)}]})
        if access.service_accounts:
            out.append({**base, "when": [
                {"key": f"request.auth.claims[{istio.service_account_claim}]",
                 "values": list(access.service_accounts)}]})
        return out
    return [base]
