"""Built-in kinds: name rules and the API server's own defaulting (Secrets, Services, Pods ...)."""

from __future__ import annotations

import base64
import binascii
import itertools
from collections.abc import Mapping
from typing import Any

from inference_sandbox.admission.names import dns1035_label, dns1123_label, dns1123_subdomain
from inference_sandbox.apierrors import ApiError, bad_request, invalid
from inference_sandbox.objects import clone
from inference_sandbox.resources import ResourceType

_DNS1035_KINDS = {("", "Service"), ("leaderworkerset.x-k8s.io", "LeaderWorkerSet")}
_LABEL_KINDS = {("", "Namespace")}
_ip_counter = itertools.count(10)


def validate_name(rt: ResourceType, name: str) -> None:
    """Reject names the API server (or the LWS webhook) would reject."""
    key = (rt.group, rt.kind)
    if key in _DNS1035_KINDS:
        problems = dns1035_label(name)
    elif key in _LABEL_KINDS:
        problems = dns1123_label(name)
    else:
        problems = dns1123_subdomain(name)
    if problems:
        raise invalid(rt, name, [("metadata.name", f'Invalid value: "{name}": {problems[-1]}')])


def default_core(rt: ResourceType, obj: dict[str, Any], old: Mapping[str, Any] | None
                 ) -> dict[str, Any]:
    """Defaulting the API server does for built-in kinds."""
    out = clone(obj)
    kind = rt.kind if not rt.group else None
    if kind == "Secret":
        _secret(out)
    elif kind == "Service":
        _service(out, old)
    elif kind == "Namespace":
        name = out["metadata"]["name"]
        out["metadata"].setdefault("labels", {})["kubernetes.io/metadata.name"] = name
        out.setdefault("spec", {}).setdefault("finalizers", ["kubernetes"])
        if old is None:
            out["status"] = {"phase": "Active"}
    elif kind == "Pod":
        _pod(out, old)
    elif kind == "PersistentVolumeClaim" and old is None:
        out.setdefault("spec", {}).setdefault("volumeMode", "Filesystem")
        out["status"] = {"phase": "Pending"}
    elif kind == "ConfigMap":
        for key, value in (out.get("data") or {}).items():
            if not isinstance(value, str):
                raise bad_request(f"json: cannot unmarshal {type(value).__name__} into Go struct "
                                  f"field ConfigMap.data of type string (key {key!r})")
    return out


def _secret(out: dict[str, Any]) -> None:
    data = dict(out.get("data") or {})
    for key, value in (out.pop("stringData", None) or {}).items():
        data[key] = base64.b64encode(str(value).encode()).decode()
    for key, value in data.items():
        try:
            base64.b64decode(str(value), validate=True)
        except (binascii.Error, ValueError) as e:
            raise bad_request(f"illegal base64 data in Secret key {key!r}") from e
    out["data"] = data
    out.setdefault("type", "Opaque")


def _service(out: dict[str, Any], old: Mapping[str, Any] | None) -> None:
    spec = out.setdefault("spec", {})
    spec.setdefault("type", "ClusterIP")
    spec.setdefault("sessionAffinity", "None")
    old_ip = ((old or {}).get("spec") or {}).get("clusterIP")
    if spec.get("clusterIP") in (None, "") and old_ip:
        spec["clusterIP"] = old_ip
    if spec.get("clusterIP") in (None, ""):
        n = next(_ip_counter)
        spec["clusterIP"] = f"10.96.{(n // 250) % 250}.{n % 250 + 1}"
    spec["clusterIPs"] = [spec["clusterIP"]]
    spec.setdefault("ipFamilies", ["IPv4"])
    spec.setdefault("ipFamilyPolicy", "SingleStack")
    for port in spec.get("ports") or []:
        port.setdefault("protocol", "TCP")
        port.setdefault("targetPort", port.get("port"))
    out.setdefault("status", {"loadBalancer": {}})


def _pod(out: dict[str, Any], old: Mapping[str, Any] | None) -> None:
    spec = out.setdefault("spec", {})
    spec.setdefault("restartPolicy", "Always")
    spec.setdefault("schedulerName", "default-scheduler")
    spec.setdefault("dnsPolicy", "ClusterFirst")
    spec.setdefault("terminationGracePeriodSeconds", 30)
    spec.setdefault("serviceAccountName", "default")
    spec.setdefault("securityContext", {})
    for container in [*(spec.get("initContainers") or []), *(spec.get("containers") or [])]:
        container.setdefault("terminationMessagePath", "/dev/termination-log")
        container.setdefault("terminationMessagePolicy", "File")
        image = str(container.get("image", ""))
        latest = ":" not in image.rsplit("/", 1)[-1] or image.endswith(":latest")
        container.setdefault("imagePullPolicy", "Always" if latest else "IfNotPresent")
        container.setdefault("resources", {})
        for port in container.get("ports") or []:
            port.setdefault("protocol", "TCP")
    if old is None:
        from inference_sandbox.controllers.podrefs import qos_class

        out["status"] = {"phase": "Pending", "qosClass": qos_class(spec)}
    if not spec.get("containers"):
        raise ApiError(422, "Invalid",
                       f'Pod "{out["metadata"].get("name", "")}" is invalid: spec.containers: '
                       "Required value")
