"""Knative's admission webhooks for ``serving.knative.dev/v1`` Service: defaulting + validation.

Messages are Knative's own (``validation failed: <field errors>``); see k8s-mapping.md §1.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from inference_sandbox.admission.fielderrors import (
    FieldError,
    disallowed,
    invalid_key_name,
    invalid_value,
    out_of_bounds,
    render,
)
from inference_sandbox.admission.knative_podspec import validate_pod_spec
from inference_sandbox.admission.names import dns1035_label, go_list
from inference_sandbox.apierrors import ApiError, webhook_denied
from inference_sandbox.objects import clone, dig

VALIDATING_WEBHOOK = "validation.webhook.serving.knative.dev"
AUTOSCALING = "autoscaling.knative.dev/"
CREATOR = "serving.knative.dev/creator"
MODIFIER = "serving.knative.dev/lastModifier"
VISIBILITY = "networking.knative.dev/visibility"
AUTOSCALING_PLACEMENT = (
    'autoscaling annotations must be put under "spec.template.metadata.annotations" to work'
)


# ---------------------------------------------------------------------------- defaulting
def default_service(obj: dict[str, Any], old: Mapping[str, Any] | None,
                    defaults: Mapping[str, str], username: str) -> dict[str, Any]:
    """The Knative defaulting webhook (creator/lastModifier, template and traffic defaults)."""
    out = clone(obj)
    md = out.setdefault("metadata", {})
    annotations = md.setdefault("annotations", {})
    if old is None:
        annotations.setdefault(CREATOR, username)
        annotations.setdefault(MODIFIER, username)
    elif dig(old, "spec") != out.get("spec"):
        annotations[MODIFIER] = username
    spec = out.setdefault("spec", {})
    template = spec.setdefault("template", {})
    template.setdefault("metadata", {})
    ps = template.setdefault("spec", {})
    if "timeoutSeconds" not in ps:
        ps["timeoutSeconds"] = int(defaults.get("revision-timeout-seconds", "300"))
    if "containerConcurrency" not in ps:
        ps["containerConcurrency"] = int(defaults.get("container-concurrency", "0"))
    if old is None:
        ps.setdefault("enableServiceLinks", False)
    containers = ps.get("containers") or []
    volumes = {v.get("name"): v for v in ps.get("volumes") or []}
    for i, container in enumerate(containers):
        if not container.get("name"):
            container["name"] = "user-container" if len(containers) == 1 \
                else f"user-container-{i}"
        serving = len(containers) == 1 or bool(container.get("ports"))
        if serving:
            probe = container.setdefault("readinessProbe", {})
            if not any(k in probe for k in ("tcpSocket", "httpGet", "exec", "grpc")):
                probe["tcpSocket"] = {"port": 0}
            if not probe.get("successThreshold"):
                probe["successThreshold"] = 1
            if probe.get("periodSeconds"):
                probe.setdefault("failureThreshold", 3)
                probe.setdefault("timeoutSeconds", 1)
        for mount in container.get("volumeMounts") or []:
            volume = volumes.get(mount.get("name")) or {}
            if any(k in volume for k in ("secret", "configMap", "projected")):
                mount["readOnly"] = True
    traffic = spec.get("traffic")
    if not traffic:
        spec["traffic"] = [{"latestRevision": True, "percent": 100}]
    else:
        for target in traffic:
            if "latestRevision" not in target:
                target["latestRevision"] = not target.get("revisionName")
    return out


# ---------------------------------------------------------------------------- validation
def validate_service(obj: Mapping[str, Any], old: Mapping[str, Any] | None,
                     features: Mapping[str, str], defaults: Mapping[str, str]) -> None:
    """Raise the webhook's denial (HTTP 400) when the Service breaks a Knative rule."""
    errs: list[FieldError] = []
    md = obj.get("metadata") or {}
    for key, value in (md.get("labels") or {}).items():
        if key == VISIBILITY:
            if value != "cluster-local":
                errs.append(invalid_value(value, f"metadata.labels.{VISIBILITY}"))
        elif key.startswith("serving.knative.dev/"):
            errs.append(invalid_key_name(key, "metadata.labels"))
    for key in md.get("annotations") or {}:
        if key.startswith(AUTOSCALING):
            errs.append(invalid_key_name(key, "metadata.annotations", AUTOSCALING_PLACEMENT))
    template = dig(obj, "spec", "template", default={})
    errs.extend(_validate_template(template, md.get("name", ""), features, defaults))
    errs.extend(_validate_traffic(dig(obj, "spec", "traffic", default=[])))
    if old is not None:
        errs.extend(_validate_update(obj, old))
    if errs:
        raise webhook_denied(VALIDATING_WEBHOOK, "validation failed: " + render(errs))


def _validate_template(template: Mapping[str, Any], service: str, features: Mapping[str, str],
                       defaults: Mapping[str, str]) -> list[FieldError]:
    errs: list[FieldError] = []
    ps = template.get("spec") or {}
    errs.extend(validate_pod_spec(ps, features, "spec.template.spec"))
    timeout = ps.get("timeoutSeconds")
    limit = int(defaults.get("max-revision-timeout-seconds", "600"))
    if timeout and (timeout > limit or timeout < 0):
        errs.append(out_of_bounds(timeout, 0, limit, "spec.template.spec.timeoutSeconds"))
    concurrency = ps.get("containerConcurrency")
    if concurrency is not None:
        low = 0 if defaults.get("allow-container-concurrency-zero", "true") == "true" else 1
        high = int(defaults.get("container-concurrency-max-limit", "1000"))
        if concurrency < low or concurrency > high:
            errs.append(out_of_bounds(concurrency, low, high,
                                      "spec.template.spec.containerConcurrency"))
    tmd = template.get("metadata") or {}
    errs.extend(_validate_autoscaling(tmd.get("annotations") or {}, defaults))
    name = tmd.get("name")
    if name:
        problems = dns1035_label(name)
        if problems:
            errs.append(invalid_value(f"not a DNS 1035 label: {go_list(problems)}",
                                      "spec.template.metadata.name"))
        elif not name.startswith(f"{service}-"):
            errs.append(invalid_value(f"{json.dumps(name)} must have prefix "
                                      f"{json.dumps(service + '-')}",
                                      "spec.template.metadata.name"))
    return errs


def _validate_autoscaling(annotations: Mapping[str, str], defaults: Mapping[str, str]
                          ) -> list[FieldError]:
    errs: list[FieldError] = []
    base = "spec.template.metadata.annotations"
    klass = annotations.get(AUTOSCALING + "class", "kpa.autoscaling.knative.dev")
    if klass.endswith(".knative.dev") and klass not in ("kpa.autoscaling.knative.dev",
                                                        "hpa.autoscaling.knative.dev"):
        errs.append(invalid_value(klass, f"{base}.{AUTOSCALING}class"))
    metric = annotations.get(AUTOSCALING + "metric")
    if metric is not None and klass == "kpa.autoscaling.knative.dev" and \
            metric not in ("concurrency", "rps"):
        errs.append(invalid_value(metric, f"{base}.{AUTOSCALING}metric"))
    scales: dict[str, int] = {}
    for key in ("min-scale", "max-scale", "initial-scale"):
        raw = annotations.get(AUTOSCALING + key)
        if raw is None:
            continue
        try:
            value = int(raw)
        except ValueError:
            errs.append(invalid_value(raw, f"{base}.{AUTOSCALING}{key}"))
            continue
        if value < 0:
            errs.append(invalid_value(raw, f"{base}.{AUTOSCALING}{key}"))
            continue
        scales[key] = value
    low, high = scales.get("min-scale"), scales.get("max-scale")
    if low is not None and high is not None and high != 0 and high < low:
        errs.append(FieldError(f"max-scale={high} is less than min-scale={low}",
                               (f"{base}.{AUTOSCALING}max-scale",
                                f"{base}.{AUTOSCALING}min-scale")))
    if scales.get("initial-scale") == 0 and \
            defaults.get("allow-zero-initial-scale", "false") != "true":
        errs.append(invalid_value(0, f"{base}.{AUTOSCALING}initial-scale"))
    return errs


def _validate_traffic(traffic: list[Mapping[str, Any]]) -> list[FieldError]:
    errs: list[FieldError] = []
    tags: dict[str, int] = {}
    total = 0
    for i, target in enumerate(traffic):
        path = f"spec.traffic[{i}]"
        latest = target.get("latestRevision")
        revision = target.get("revisionName", "")
        if latest is not None and bool(revision) == latest:
            errs.append(FieldError(
                f"may not set revisionName {json.dumps(revision)} when latestRevision is "
                f"{'true' if latest else 'false'}", (f"{path}.latestRevision",)))
        if target.get("configurationName"):
            errs.append(disallowed(f"{path}.configurationName"))
        percent = target.get("percent")
        if percent is not None:
            if percent < 0 or percent > 100:
                errs.append(out_of_bounds(percent, 0, 100, f"{path}.percent"))
            total += percent
        if target.get("url"):
            errs.append(disallowed(f"{path}.url"))
        tag = target.get("tag", "")
        if not tag:
            continue
        problems = dns1035_label(tag)
        if problems:
            errs.append(invalid_value(f"not a DNS 1035 label: {go_list(problems)}",
                                      f"spec.traffic.tag[{i}]"))
        if tag in tags:
            errs.append(FieldError(f"Multiple definitions for {json.dumps(tag)}",
                                   (f"spec.traffic[{i}].tag", f"spec.traffic[{tags[tag]}].tag")))
        else:
            tags[tag] = i
    if total != 100:
        errs.append(FieldError(f"Traffic targets sum to {total}, want 100", ("spec.traffic",)))
    return errs


def _validate_update(obj: Mapping[str, Any], old: Mapping[str, Any]) -> list[FieldError]:
    errs: list[FieldError] = []
    new_ann = dig(obj, "metadata", "annotations", default={})
    old_ann = dig(old, "metadata", "annotations", default={})
    if old_ann.get(CREATOR) != new_ann.get(CREATOR):
        errs.append(FieldError("annotation value is immutable",
                               (f"metadata.annotations.{CREATOR}",)))
    if dig(old, "spec") == dig(obj, "spec") and old_ann.get(MODIFIER) != new_ann.get(MODIFIER):
        errs.append(FieldError("annotation value is immutable",
                               (f"metadata.annotations.{MODIFIER}",)))
    new_t = dig(obj, "spec", "template", default={})
    old_t = dig(old, "spec", "template", default={})
    name = dig(new_t, "metadata", "name")
    if name and name == dig(old_t, "metadata", "name") and new_t != old_t:
        errs.append(FieldError("Saw the following changes without a name change (-old +new)",
                               ("spec.template.metadata.name",), _diff(old_t, new_t)))
    return errs


def _diff(old: Any, new: Any, path: str = "") -> str:
    """A short ``-old +new`` listing of changed fields."""
    if isinstance(old, dict) and isinstance(new, dict):
        parts = [_diff(old.get(k), new.get(k), f"{path}.{k}")
                 for k in sorted(set(old) | set(new)) if old.get(k) != new.get(k)]
        return "".join(parts)
    if isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        return "".join(_diff(a, b, f"{path}[{i}]") for i, (a, b) in enumerate(zip(old, new,
                                                                                      strict=True))
                       if a != b)
    return f"{{v1.RevisionTemplateSpec}}{path}:\n\t-: {json.dumps(old)}\n\t+: {json.dumps(new)}\n"


def check_immutable_revision(obj: Mapping[str, Any], old: Mapping[str, Any]) -> None:
    """Revisions' spec cannot change."""
    if dig(obj, "spec") != dig(old, "spec"):
        raise webhook_denied(VALIDATING_WEBHOOK, "validation failed: " + render([
            FieldError("Immutable fields changed (-old +new)", ("spec",),
                       _diff(dig(old, "spec"), dig(obj, "spec")))]))


__all__ = ["ApiError", "check_immutable_revision", "default_service", "validate_service"]
