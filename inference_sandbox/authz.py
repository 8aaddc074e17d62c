"""Who the caller is and what it may do: ``kubectl auth can-i`` and ``auth whoami``.

The main token is a cluster administrator (``system:masters``), so its reviews answer
*allowed* with that reason; other tokens' reviews are evaluated by the same RBAC authorizer
that guards their requests (:mod:`inference_sandbox.rbac`).
"""

from __future__ import annotations

from typing import Any

from inference_sandbox.apierrors import bad_request
from inference_sandbox.handlers import Call
from inference_sandbox.rbac import Attributes, Authorizer, User

ADMIN_REASON = "the sandbox's main token is a cluster administrator (system:masters)"


def _review_body(call: Call) -> dict[str, Any]:
    body = call.body if isinstance(call.body, dict) else {}
    expected = call.rp.rt.api_version_for(call.rp.version)
    if body.get("kind") not in (None, call.rp.rt.kind) or \
            body.get("apiVersion") not in (None, expected):
        raise bad_request(f"the body must be a {expected} {call.rp.rt.kind}")
    return body


def review(call: Call, authorizer: Authorizer) -> dict[str, Any]:
    """Answer a SelfSubjectAccessReview, SelfSubjectRulesReview or SelfSubjectReview."""
    body = _review_body(call)
    user: User = call.user
    kind = call.rp.rt.kind
    out: dict[str, Any] = {"kind": kind, "apiVersion": call.rp.rt.api_version_for(
        call.rp.version), "metadata": {"creationTimestamp": None}}
    if kind == "SelfSubjectAccessReview":
        spec = body.get("spec") or {}
        if not spec.get("resourceAttributes") and not spec.get("nonResourceAttributes"):
            raise bad_request("spec: Invalid value: exactly one of nonResourceAttributes or "
                              "resourceAttributes must be specified")
        out.update(spec=spec, status=_access(user, authorizer, spec))
    elif kind == "SelfSubjectRulesReview":
        spec = body.get("spec") or {}
        out.update(spec=spec, status=_rules(user, authorizer, spec.get("namespace") or ""))
    else:  # SelfSubjectReview
        out["status"] = {"userInfo": {"username": user.name, "groups": list(user.groups)}}
    return out


def _access(user: User, authorizer: Authorizer, spec: dict[str, Any]) -> dict[str, Any]:
    if user.admin:
        return {"allowed": True, "reason": ADMIN_REASON}
    res = spec.get("resourceAttributes")
    if not res:  # non-resource URLs: discovery and the like, open to authenticated users
        verb = (spec.get("nonResourceAttributes") or {}).get("verb", "")
        return {"allowed": verb == "get", "reason": "non-resource URLs: get only"}
    attrs = Attributes(res.get("verb", ""), res.get("group", ""), res.get("resource", ""),
                       res.get("subresource", ""), res.get("namespace", ""),
                       res.get("name", ""))
    if authorizer.allowed(user, attrs):
        return {"allowed": True, "reason": "RBAC: allowed by a Role or ClusterRole binding"}
    return {"allowed": False}


def _rules(user: User, authorizer: Authorizer, namespace: str) -> dict[str, Any]:
    if user.admin:
        resource = [{"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]}]
        non_resource = [{"verbs": ["*"], "nonResourceURLs": ["*"]}]
    else:
        resource = [{k: list(v) for k, v in rule.items()
                     if k in ("verbs", "apiGroups", "resources", "resourceNames")}
                    for rule in authorizer.rules_for(user, namespace)]
        resource.append({"verbs": ["create"], "apiGroups": ["authorization.k8s.io"],
                         "resources": ["selfsubjectaccessreviews",
                                       "selfsubjectrulesreviews"]})
        non_resource = [{"verbs": ["get"], "nonResourceURLs": ["/api", "/api/*", "/apis",
                                                             "/apis/*", "/openapi",
                                                             "/openapi/*", "/version"]}]
    return {"resourceRules": resource, "nonResourceRules": non_resource, "incomplete": False}
