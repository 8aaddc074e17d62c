"""Knative's PodSpec rules (field masks behind feature flags, ports, probes, env, volumes).

Mirrors knative/serving ``pkg/apis/serving/k8s_validation.go`` and ``fieldmask.go``; every
path is the full path from the Service (``spec.template.spec...``).
"""

from __future__ import annotations

import json
import posixpath
from collections.abc import Mapping
from typing import Any

from inference_sandbox.admission.fielderrors import (
    FieldError,
    disallowed,
    invalid_value,
    missing_field,
    out_of_bounds,
)
from inference_sandbox.admission.names import dns1123_label

RESERVED_PORTS = {8012, 8013, 8022, 9090, 9091, 8008}
RESERVED_ENV = {"PORT", "K_SERVICE", "K_CONFIGURATION", "K_REVISION"}
RESERVED_PATHS = {"/", "/dev", "/dev/log"}
VALID_PORT_NAMES = {"h2c", "http1", ""}
MAX_INT32 = 2147483647

ALWAYS_POD_FIELDS = {"serviceAccountName", "containers", "volumes", "imagePullSecrets",
                     "enableServiceLinks", "automountServiceAccountToken",
                     # RevisionSpec's own fields live beside the PodSpec ones.
                     "containerConcurrency", "timeoutSeconds", "responseStartTimeoutSeconds",
                     "idleTimeoutSeconds"}
GATED_POD_FIELDS = {
    "affinity": "kubernetes.podspec-affinity",
    "nodeSelector": "kubernetes.podspec-nodeselector",
    "tolerations": "kubernetes.podspec-tolerations",
    "topologySpreadConstraints": "kubernetes.podspec-topologyspreadconstraints",
    "runtimeClassName": "kubernetes.podspec-runtimeclassname",
    "schedulerName": "kubernetes.podspec-schedulername",
    "priorityClassName": "kubernetes.podspec-priorityclassname",
    "securityContext": "kubernetes.podspec-securitycontext",
    "initContainers": "kubernetes.podspec-init-containers",
    "dnsPolicy": "kubernetes.podspec-dnspolicy",
    "dnsConfig": "kubernetes.podspec-dnsconfig",
    "hostAliases": "kubernetes.podspec-hostaliases",
    "hostIPC": "kubernetes.podspec-hostipc",
    "hostPID": "kubernetes.podspec-hostpid",
    "hostNetwork": "kubernetes.podspec-hostnetwork",
    "shareProcessNamespace": "kubernetes.podspec-shareprocessnamespace",
}
CONTAINER_FIELDS = {"name", "args", "command", "env", "envFrom", "workingDir", "image",
                    "imagePullPolicy", "livenessProbe", "readinessProbe", "startupProbe",
                    "ports", "resources", "securityContext", "terminationMessagePath",
                    "terminationMessagePolicy", "volumeMounts"}
GATED_VOLUME_SOURCES = {
    "hostPath": "kubernetes.podspec-volumes-hostpath",
    "csi": "kubernetes.podspec-volumes-csi",
    "ephemeral": "kubernetes.podspec-volumes-ephemeral",
    "image": "kubernetes.podspec-volumes-image",
}
ALWAYS_VOLUME_SOURCES = {"secret", "configMap", "projected", "emptyDir",
                         "persistentVolumeClaim"}


def _on(features: Mapping[str, str], flag: str) -> bool:
    """Anything but ``disabled`` lets a field through the mask."""
    return features.get(flag, "disabled") != "disabled"


def _enabled(features: Mapping[str, str], flag: str) -> bool:
    return features.get(flag, "disabled") == "enabled"


def validate_pod_spec(ps: Mapping[str, Any], features: Mapping[str, str], base: str
                      ) -> list[FieldError]:
    """``ValidatePodSpec`` for a revision template's spec at path ``base``."""
    errs: list[FieldError] = []
    for key, value in ps.items():
        if key in ALWAYS_POD_FIELDS:
            if key == "automountServiceAccountToken" and value is not False:
                errs.append(disallowed(f"{base}.{key}"))
            continue
        flag = GATED_POD_FIELDS.get(key)
        if flag is None or not _on(features, flag):
            errs.append(disallowed(f"{base}.{key}"))
    containers = ps.get("containers") or []
    init_containers = ps.get("initContainers") or []
    mounted = {m.get("name") for c in [*containers, *init_containers]
               for m in c.get("volumeMounts") or []}
    volumes = {}
    for i, volume in enumerate(ps.get("volumes") or []):
        errs.extend(_validate_volume(volume, features, f"{base}.volumes[{i}]", mounted))
        volumes[volume.get("name")] = volume
    if init_containers and not _enabled(features, "kubernetes.podspec-init-containers"):
        errs.append(FieldError("pod spec support for init-containers is off, but found "
                               f"{len(init_containers)} init containers"))
    port, port_errs = _containers_port(containers, f"{base}.containers[*]")
    errs.extend(port_errs)
    if not containers:
        errs.append(missing_field(f"{base}.containers"))
    elif len(containers) > 1 and not _enabled(features, "multi-container"):
        errs.append(FieldError(f"multi-container is off, but found {len(containers)} containers"))
    else:
        names: set[str] = set()
        for i, container in enumerate(containers):
            path = f"{base}.containers[{i}]"
            if container.get("name") in names:
                errs.append(FieldError(f"duplicate container name {json.dumps(container['name'])}",
                                       (f"{path}.name",)))
            names.add(container.get("name", ""))
            serving = len(containers) == 1 or bool(container.get("ports"))
            if serving:
                errs.extend(_probe(container.get("livenessProbe"), port, f"{path}.livenessProbe"))
                errs.extend(_readiness(container.get("readinessProbe"), port,
                                       f"{path}.readinessProbe"))
            errs.extend(_container(container, volumes, features, path))
    for i, container in enumerate(init_containers):
        errs.extend(_container(container, volumes, features, f"{base}.initContainers[{i}]",
                               init=True))
    account = ps.get("serviceAccountName")
    if account:
        for msg in _subdomain_errors(account):
            errs.append(invalid_value(account, f"{base}.serviceAccountName", msg))
    return errs


def _subdomain_errors(value: str) -> list[str]:
    from inference_sandbox.admission.names import dns1123_subdomain

    return dns1123_subdomain(value)


def _containers_port(containers: list[Mapping[str, Any]], path: str
                     ) -> tuple[dict[str, Any], list[FieldError]]:
    count = 0
    port: dict[str, Any] = {}
    for container in containers:
        ports = container.get("ports") or []
        if ports:
            count += len(ports)
            port = dict(ports[0])
    port.setdefault("name", "http")
    if not port.get("name"):
        port["name"] = "http"
    if not port.get("containerPort"):
        port["containerPort"] = 8080
    if count == 0 and len(containers) > 1:
        return port, [missing_field(f"{path}.ports")]
    if count > 1:
        return port, [FieldError("more than one container port is set", (f"{path}.ports",),
                                 "Only a single port is allowed across all containers")]
    return port, []


def _container(container: Mapping[str, Any], volumes: Mapping[str, Any],
               features: Mapping[str, str], path: str, *, init: bool = False
               ) -> list[FieldError]:
    errs: list[FieldError] = []
    if not container:
        return [missing_field(path)]
    bad = sorted(f"{path}.{k}" for k in container if k not in CONTAINER_FIELDS)
    if bad:
        errs.append(disallowed(*bad))
    if container.get("name") == "queue-proxy":
        errs.append(FieldError('"queue-proxy" is a reserved container name', (f"{path}.name",)))
    reserved = RESERVED_ENV - {"PORT"} if init else RESERVED_ENV
    for i, env in enumerate(container.get("env") or []):
        env_path = f"{path}.env[{i}]"
        if not env.get("name"):
            errs.append(missing_field(f"{env_path}.name"))
        elif env["name"] in reserved:
            errs.append(FieldError(f"{json.dumps(env['name'])} is a reserved environment variable",
                                   (f"{env_path}.name",)))
        source = env.get("valueFrom") or {}
        if not _on(features, "kubernetes.podspec-fieldref"):
            gated = [f"{env_path}.valueFrom.{k}" for k in ("fieldRef", "resourceFieldRef")
                     if k in source]
            if gated:
                errs.append(disallowed(*gated))
    if not container.get("image"):
        errs.append(missing_field(f"{path}.image"))
    ports = container.get("ports") or []
    if ports:
        check = ports if init else ports[:1]
        for port in check:
            number = port.get("containerPort", 0)
            if number in RESERVED_PORTS:
                errs.append(invalid_value(f"{number} is a reserved port",
                                          f"{path}.ports.containerPort",
                                          f"{number} is a reserved port, please use a different "
                                          "value"))
            if not isinstance(number, int) or number < 0 or number > 65535:
                errs.append(out_of_bounds(number, 0, 65535, f"{path}.ports.containerPort"))
        if not init:
            user = ports[0]
            if user.get("protocol", "") not in ("", "TCP"):
                errs.append(invalid_value(user["protocol"], f"{path}.ports.protocol"))
            if user.get("name", "") not in VALID_PORT_NAMES:
                errs.append(FieldError(f"Port name {user['name']} is not allowed",
                                       (f"{path}.ports",),
                                       "Name must be empty, or one of: 'h2c', 'http1'"))
    capabilities = (container.get("securityContext") or {}).get("capabilities") or {}
    if capabilities.get("add") and not _on(features, "kubernetes.containerspec-addcapabilities"):
        errs.append(disallowed(f"{path}.securityContext.capabilities.add"))
    policy = container.get("terminationMessagePolicy", "")
    if policy not in ("", "File", "FallbackToLogsOnError"):
        errs.append(invalid_value(policy, f"{path}.terminationMessagePolicy"))
    errs.extend(_mounts(container.get("volumeMounts") or [], volumes, features,
                        f"{path}.volumeMounts"))
    return errs


def _mounts(mounts: list[Mapping[str, Any]], volumes: Mapping[str, Any],
            features: Mapping[str, str], path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    seen: set[str] = set()
    for i, mount in enumerate(mounts):
        mpath = f"{path}[{i}]"
        if mount.get("mountPropagation") and not _on(
                features, "kubernetes.podspec-volumes-mount-propagation"):
            errs.append(disallowed(f"{mpath}.mountPropagation"))
        volume = volumes.get(mount.get("name"))
        if volume is None:
            errs.append(FieldError("volumeMount has no matching volume", (f"{mpath}.name",)))
            volume = {}
        target = mount.get("mountPath", "")
        clean = posixpath.normpath(target) if target else ""
        if not target:
            errs.append(missing_field(f"{mpath}.mountPath"))
        elif clean in RESERVED_PATHS:
            errs.append(FieldError(f"mountPath {json.dumps(clean)} is a reserved path",
                                   (f"{mpath}.mountPath",)))
        elif not target.startswith("/"):
            errs.append(invalid_value(target, f"{mpath}.mountPath"))
        elif clean in seen:
            errs.append(invalid_value(f"{json.dumps(target)} must be unique", f"{mpath}.mountPath"))
        seen.add(clean)
        writable_ok = "emptyDir" in volume or "persistentVolumeClaim" in volume
        if not writable_ok and not mount.get("readOnly"):
            errs.append(FieldError("volume mount should be readOnly for this type of volume",
                                   (f"{mpath}.readOnly",)))
        pvc = volume.get("persistentVolumeClaim")
        if pvc and pvc.get("readOnly") and not mount.get("readOnly"):
            errs.append(FieldError("volume is readOnly but volume mount is not",
                                   (f"{mpath}.readOnly",)))
    return errs


def _validate_volume(volume: Mapping[str, Any], features: Mapping[str, str], path: str,
                     mounted: set[Any]) -> list[FieldError]:
    errs: list[FieldError] = []
    name = volume.get("name", "")
    if name not in mounted:
        errs.append(FieldError(f"volume with name {json.dumps(name)} not mounted",
                               (f"{path}.name",)))
    pvc = volume.get("persistentVolumeClaim")
    if pvc is not None:
        claim = pvc.get("claimName", "")
        if not _enabled(features, "kubernetes.podspec-persistent-volume-claim"):
            errs.append(FieldError("Persistent volume claim support is disabled, but found "
                                   f"persistent volume claim {claim}"))
        if not pvc.get("readOnly") and not _enabled(
                features, "kubernetes.podspec-persistent-volume-write"):
            errs.append(FieldError("Persistent volume write support is disabled, but found "
                                   f"persistent volume claim {claim} that is not read-only"))
    empty_dir = volume.get("emptyDir")
    if empty_dir is not None:
        if not _enabled(features, "kubernetes.podspec-volumes-emptydir"):
            errs.append(FieldError("EmptyDir volume support is disabled, but found EmptyDir "
                                   f"volume {name}"))
        if empty_dir.get("medium", "") not in ("", "Memory"):
            errs.append(invalid_value(empty_dir["medium"], f"{path}.emptyDir.medium"))
    gated = [f"{path}.{k}" for k, flag in GATED_VOLUME_SOURCES.items()
             if k in volume and not _on(features, flag)]
    other = [f"{path}.{k}" for k in volume if k not in ALWAYS_VOLUME_SOURCES
             and k not in GATED_VOLUME_SOURCES and k != "name"]
    if gated or other:
        errs.append(disallowed(*gated, *other))
    if not name:
        errs.append(missing_field(f"{path}.name"))
    elif dns1123_label(name):
        errs.append(invalid_value(name, f"{path}.name"))
    sources = [k for k in volume if k != "name"]
    if not sources:
        options = ["secret", "configMap", "projected"]
        if _enabled(features, "kubernetes.podspec-volumes-emptydir"):
            options.append("emptyDir")
        if _enabled(features, "kubernetes.podspec-persistent-volume-claim"):
            options.append("persistentVolumeClaim")
        errs.append(FieldError("expected exactly one, got neither",
                               tuple(f"{path}.{o}" for o in options)))
    elif len(sources) > 1:
        errs.append(FieldError("expected exactly one, got both",
                               tuple(f"{path}.{s}" for s in sources)))
    return errs


def _probe(probe: Mapping[str, Any] | None, port: Mapping[str, Any], path: str
           ) -> list[FieldError]:
    if probe is None:
        return []
    errs: list[FieldError] = []
    handlers = []
    for key, label in (("httpGet", "httpGet"), ("tcpSocket", "tcpSocket"), ("exec", "exec"),
                       ("grpc", "gRPC")):
        if key not in probe:
            continue
        handlers.append(label)
        target = (probe[key] or {}).get("port") if key in ("httpGet", "tcpSocket") else None
        if target in (None, 0, ""):
            continue
        matches = target == port.get("name") if isinstance(target, str) \
            else target == port.get("containerPort")
        if not matches:
            errs.append(invalid_value(target, f"{path}.{key}.port",
                                      "Probe port must match container port"))
    if not handlers:
        errs.append(FieldError("expected exactly one, got neither",
                               tuple(f"{path}.{h}" for h in ("httpGet", "tcpSocket", "exec",
                                                              "grpc"))))
    elif len(handlers) > 1:
        errs.append(FieldError("expected exactly one, got both",
                               tuple(f"{path}.{h}" for h in handlers)))
    return errs


def _readiness(probe: Mapping[str, Any] | None, port: Mapping[str, Any], path: str
               ) -> list[FieldError]:
    if probe is None:
        return []
    errs = _probe(probe, port, path)
    period = probe.get("periodSeconds", 0)
    if period < 0:
        errs.append(out_of_bounds(period, 0, MAX_INT32, f"{path}.periodSeconds"))
    if probe.get("initialDelaySeconds", 0) < 0:
        errs.append(out_of_bounds(probe["initialDelaySeconds"], 0, MAX_INT32,
                                  f"{path}.initialDelaySeconds"))
    if probe.get("successThreshold", 0) < 1:
        errs.append(out_of_bounds(probe.get("successThreshold", 0), 1, MAX_INT32,
                                  f"{path}.successThreshold"))
    if period == 0:
        if probe.get("failureThreshold", 0) != 0:
            errs.append(FieldError("failureThreshold is disallowed when periodSeconds is zero",
                                   (f"{path}.failureThreshold",)))
        if probe.get("timeoutSeconds", 0) != 0:
            errs.append(FieldError("timeoutSeconds is disallowed when periodSeconds is zero",
                                   (f"{path}.timeoutSeconds",)))
    else:
        if probe.get("timeoutSeconds", 0) < 1:
            errs.append(out_of_bounds(probe.get("timeoutSeconds", 0), 1, MAX_INT32,
                                      f"{path}.timeoutSeconds"))
        if probe.get("failureThreshold", 0) < 1:
            errs.append(out_of_bounds(probe.get("failureThreshold", 0), 1, MAX_INT32,
                                      f"{path}.failureThreshold"))
    return errs
