"""The LeaderWorkerSet webhook (defaulting + the validation rules of k8s-mapping.md §2.1)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from inference_sandbox.apierrors import ApiError
from inference_sandbox.objects import clone, dig

WEBHOOK = "vleaderworkerset.kb.io"


def default_lws(obj: dict[str, Any]) -> dict[str, Any]:
    """The LWS defaulting webhook (rollout strategy, startup policy, network config)."""
    out = clone(obj)
    spec = out.setdefault("spec", {})
    spec.setdefault("replicas", 1)
    template = spec.setdefault("leaderWorkerTemplate", {})
    template.setdefault("size", 1)
    template.setdefault("restartPolicy", "RecreateGroupOnPodRestart")
    if template.get("restartPolicy") == "Default":
        template["restartPolicy"] = "None"
    rollout = spec.setdefault("rolloutStrategy", {})
    rollout.setdefault("type", "RollingUpdate")
    rolling = rollout.setdefault("rollingUpdateConfiguration",
                                 {"maxUnavailable": 1, "maxSurge": 0})
    rolling.setdefault("partition", 0)
    spec.setdefault("startupPolicy", "LeaderCreated")
    spec.setdefault("networkConfig", {"subdomainPolicy": "Shared"})
    return out


def _scaled(value: Any, total: int, *, round_up: bool) -> int | None:
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.endswith("%"):
        try:
            pct = int(value[:-1])
        except ValueError:
            return None
        scaled = pct * total / 100
        return int(-(-scaled // 1)) if round_up else int(scaled)
    return None


def validate_lws(obj: Mapping[str, Any], old: Mapping[str, Any] | None) -> None:
    """Raise the webhook's denial (422 wrapped as the API server does)."""
    errs: list[tuple[str, str]] = []
    replicas = dig(obj, "spec", "replicas", default=1)
    size = dig(obj, "spec", "leaderWorkerTemplate", "size", default=1)
    rolling = dig(obj, "spec", "rolloutStrategy", "rollingUpdateConfiguration", default={})
    base = "spec.rolloutStrategy.rollingUpdateConfiguration"
    unavailable = _scaled(rolling.get("maxUnavailable", 1), replicas, round_up=False)
    surge = _scaled(rolling.get("maxSurge", 0), replicas, round_up=True)
    for key in ("maxUnavailable", "maxSurge"):
        raw = rolling.get(key)
        if isinstance(raw, str) and raw.endswith("%") and raw[:-1].isdigit() and \
                int(raw[:-1]) > 100:
            errs.append((f"{base}.{key}", f'Invalid value: "{raw}": must not be greater than '
                                           "100%"))
    if isinstance(size, int) and size < 1:
        errs.append(("spec.leaderWorkerTemplate.size",
                     f"Invalid value: {size}: must be greater than or equal to 1"))
    if unavailable == 0 and surge == 0:
        errs.append((f"{base}.maxUnavailable",
                     "Invalid value: 0: must not be 0 when `maxSurge` is 0"))
    if replicas * size > 2147483647:
        errs.append(("spec.replicas", f"Invalid value: {replicas}: the product of replicas and "
                                      "worker replicas must not exceed 2147483647"))
    sub = dig(obj, "spec", "leaderWorkerTemplate", "subGroupPolicy", default=None)
    if sub:
        group = sub.get("subGroupSize")
        if isinstance(group, int) and group > 0:
            policy = sub.get("subGroupPolicyType", "LeaderWorker")
            ok = (size - 1) % group == 0 if policy == "LeaderExcluded" else \
                size % group == 0 or (size - 1) % group == 0
            if not ok:
                errs.append(("spec.leaderWorkerTemplate.subGroupPolicy.subGroupSize",
                             f"Invalid value: {group}: size or size - 1 must be divisible by "
                             "subGroupSize"))
    if old is not None:
        old_sub = dig(old, "spec", "leaderWorkerTemplate", "subGroupPolicy", default=None)
        if (old_sub or None) != (sub or None):
            errs.append(("spec.leaderWorkerTemplate.subGroupPolicy",
                         "Invalid value: \"object\": field is immutable"))
    if errs:
        name = dig(obj, "metadata", "name", default="")
        parts = [f"{f}: {m}" for f, m in errs]
        summary = parts[0] if len(parts) == 1 else "[" + ", ".join(parts) + "]"
        raise ApiError(422, "Invalid",
                       f'admission webhook "{WEBHOOK}" denied the request: '
                       f'LeaderWorkerSet.leaderworkerset.x-k8s.io "{name}" is invalid: {summary}',
                       details={"name": name, "group": "leaderworkerset.x-k8s.io",
                                "kind": "LeaderWorkerSet",
                                "causes": [{"reason": "FieldValueInvalid", "message": m,
                                            "field": f} for f, m in errs]})
