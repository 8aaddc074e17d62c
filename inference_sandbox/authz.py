"""Who the caller is and what it may do: ``kubectl auth can-i`` and ``auth whoami``.

The sandbox authenticates one bearer token and that token is a cluster administrator (there is
no RBAC enforcement), so access reviews answer *allowed* with that reason instead of
pretending to evaluate Roles. Requests without the token never get here (401).
"""

from __future__ import annotations

from typing import Any

from inference_sandbox.apierrors import bad_request
from inference_sandbox.handlers import Call

USERNAME = "sandbox-user"
GROUPS = ("system:masters", "system:authenticated")
REASON = ("the sandbox authenticates a single token, which is a cluster administrator "
          "(no RBAC is enforced)")


def _review_body(call: Call) -> dict[str, Any]:
    body = call.body if isinstance(call.body, dict) else {}
    expected = call.rp.rt.api_version_for(call.rp.version)
    if body.get("kind") not in (None, call.rp.rt.kind) or \
            body.get("apiVersion") not in (None, expected):
        raise bad_request(f"the body must be a {expected} {call.rp.rt.kind}")
    return body


def review(call: Call) -> dict[str, Any]:
    """Answer a SelfSubjectAccessReview, SelfSubjectRulesReview or SelfSubjectReview."""
    body = _review_body(call)
    kind = call.rp.rt.kind
    out: dict[str, Any] = {"kind": kind, "apiVersion": call.rp.rt.api_version_for(
        call.rp.version), "metadata": {"creationTimestamp": None}}
    if kind == "SelfSubjectAccessReview":
        spec = body.get("spec") or {}
        if not spec.get("resourceAttributes") and not spec.get("nonResourceAttributes"):
            raise bad_request("spec: Invalid value: exactly one of nonResourceAttributes or "
                              "resourceAttributes must be specified")
        out.update(spec=spec, status={"allowed": True, "reason": REASON})
    elif kind == "SelfSubjectRulesReview":
        out.update(spec=body.get("spec") or {}, status={
            "resourceRules": [{"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]}],
            "nonResourceRules": [{"verbs": ["*"], "nonResourceURLs": ["*"]}],
            "incomplete": False})
    else:  # SelfSubjectReview
        out["status"] = {"userInfo": {"username": USERNAME, "groups": list(GROUPS)}}
    return out
