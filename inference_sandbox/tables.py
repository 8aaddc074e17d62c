"""Server-side printing: ``meta.k8s.io/v1`` Tables for ``kubectl get`` (and ``get -w``).

Clients ask with ``Accept: application/json;as=Table;v=v1;g=meta.k8s.io``. Built-in kinds get
the columns the Kubernetes printers give them (pods: NAME READY STATUS RESTARTS AGE, then
IP/NODE/... for ``-o wide``); custom resources get their CRD's ``additionalPrinterColumns``
(evaluated with the small JSONPath subset CRDs use); other kinds NAME and "Created At".
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from inference_sandbox.objects import dig
from inference_sandbox.resources import ResourceType

Row = list[Any]
Column = tuple[str, str, int]  # (name, type, priority)
Printer = Callable[[Mapping[str, Any], datetime], Row]

NAME_DESCRIPTION = ("Name must be unique within a namespace. Is required when creating "
                    "resources, although some resources may allow a client to request the "
                    "generation of an appropriate name automatically.")


# ---------------------------------------------------------------------------- time
def human_duration(seconds: float) -> str:
    """Kubernetes' ``duration.HumanDuration`` (``45s``, ``3m12s``, ``5h4m``, ``12d``)."""
    s = int(seconds)
    if s < -1:
        return "<invalid>"
    if s < 0:
        return "0s"
    if s < 120:
        return f"{s}s"
    minutes = s // 60
    if minutes < 10:
        return f"{minutes}m" if s % 60 == 0 else f"{minutes}m{s % 60}s"
    if minutes < 180:
        return f"{minutes}m"
    hours = s // 3600
    if hours < 8:
        return f"{hours}h" if minutes % 60 == 0 else f"{hours}h{minutes % 60}m"
    if hours < 48:
        return f"{hours}h"
    if hours < 24 * 8:
        return f"{hours // 24}d" if hours % 24 == 0 else f"{hours // 24}d{hours % 24}h"
    if hours < 24 * 365 * 2:
        return f"{hours // 24}d"
    if hours < 24 * 365 * 8:
        days = (hours // 24) % 365
        return f"{hours // 24 // 365}y" if days == 0 else f"{hours // 24 // 365}y{days}d"
    return f"{hours // 24 // 365}y"


def since(timestamp: Any, now: datetime) -> str:
    """Age of an RFC 3339 timestamp (``<unknown>`` when absent), like ``kubectl get``."""
    if not isinstance(timestamp, str) or not timestamp:
        return "<unknown>"
    try:
        moment = datetime.fromisoformat(timestamp.replace("Z", "+00:00"))
    except ValueError:
        return "<unknown>"
    return human_duration((now - moment).total_seconds())


# ---------------------------------------------------------------------------- JSONPath
_TOKEN = re.compile(
    r"\.([A-Za-z0-9_\-$]+)"                  # .field
    r"|\['((?:[^'\\]|\\.)*)'\]"              # ['quoted\.field']
    r"|\[(\d+)\]"                            # [0]
    r"|\[\?\(@\.([A-Za-z0-9_.]+)\s*==\s*['\"]([^'\"]*)['\"]\)\]"  # [?(@.type=='Ready')]
    r"|\[\*\]")                              # [*]


def jsonpath(obj: Any, path: str) -> list[Any]:
    """Values at a CRD printer-column path: ``.a.b``, ``['x\\.y']``, ``[0]``, ``[*]`` and
    ``[?(@.type=='Ready')]`` filters."""
    path = path.strip()
    if path.startswith("{") and path.endswith("}"):
        path = path[1:-1]
    values = [obj]
    pos = 0
    while pos < len(path):
        match = _TOKEN.match(path, pos)
        if match is None:
            return []
        pos = match.end()
        key, quoted, index, filter_key, filter_value = match.groups()
        nxt: list[Any] = []
        for value in values:
            if key is not None or quoted is not None:
                name = key if key is not None else re.sub(r"\\(.)", r"\1", quoted)
                if isinstance(value, dict) and name in value:
                    nxt.append(value[name])
            elif index is not None:
                if isinstance(value, list) and int(index) < len(value):
                    nxt.append(value[int(index)])
            elif filter_key is not None:
                for item in value if isinstance(value, list) else []:
                    if str(dig(item, *filter_key.split("."), default=None)) == filter_value:
                        nxt.append(item)
            elif isinstance(value, list):
                nxt.extend(value)
        values = nxt
    return values


def _crd_cell(kind: str, value: Any, now: datetime) -> Any:
    if kind == "integer":
        return int(value) if isinstance(value, (int, float)) and not isinstance(value, bool) \
            else None
    if kind == "number":
        return value if isinstance(value, (int, float)) and not isinstance(value, bool) else None
    if kind == "boolean":
        return value if isinstance(value, bool) else None
    if kind == "date":
        return since(value, now) if isinstance(value, str) else None
    if isinstance(value, (dict, list)):
        import json

        return json.dumps(value, separators=(",", ":"))
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


# ---------------------------------------------------------------------------- printers
def _md(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    return obj.get("metadata") or {}


def _age(obj: Mapping[str, Any], now: datetime) -> str:
    return since(_md(obj).get("creationTimestamp"), now)


def _pod(obj: Mapping[str, Any], now: datetime) -> Row:
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    reason = status.get("reason") or status.get("phase") or ""
    total = len(spec.get("containers") or [])
    ready = restarts = 0
    last_restart = ""
    init = spec.get("initContainers") or []
    initializing = False
    for i, cs in enumerate(status.get("initContainerStatuses") or []):
        restarts += int(cs.get("restartCount") or 0)
        state = cs.get("state") or {}
        term, waiting = state.get("terminated"), state.get("waiting")
        if term and term.get("exitCode") == 0:
            continue
        initializing = True
        if term:
            reason = "Init:" + (term.get("reason") or
                                f"ExitCode:{term.get('exitCode')}")
        elif waiting and waiting.get("reason") and waiting["reason"] != "PodInitializing":
            reason = "Init:" + waiting["reason"]
        else:
            reason = f"Init:{i}/{len(init)}"
        break
    if not initializing:
        restarts = 0
        running = False
        for cs in reversed(status.get("containerStatuses") or []):
            restarts += int(cs.get("restartCount") or 0)
            finished = dig(cs, "lastState", "terminated", "finishedAt", default="")
            last_restart = max(last_restart, finished or "")
            state = cs.get("state") or {}
            waiting, term = state.get("waiting") or {}, state.get("terminated")
            if waiting.get("reason"):
                reason = waiting["reason"]
            elif term is not None and term.get("reason"):
                reason = term["reason"]
            elif term is not None:
                reason = f"Signal:{term['signal']}" if term.get("signal") else \
                    f"ExitCode:{term.get('exitCode', 0)}"
            elif cs.get("ready") and "running" in state:
                running = True
                ready += 1
        if reason == "Completed" and running:
            ready_cond = any(c.get("type") == "Ready" and c.get("status") == "True"
                             for c in status.get("conditions") or [])
            reason = "Running" if ready_cond else "NotReady"
    if _md(obj).get("deletionTimestamp") and status.get("phase") not in ("Succeeded", "Failed"):
        reason = "Terminating"
    restarts_cell = str(restarts)
    if restarts and last_restart:
        restarts_cell = f"{restarts} ({since(last_restart, now)} ago)"
    ips = status.get("podIPs") or []
    ip = (ips[0].get("ip") if ips else status.get("podIP")) or "<none>"
    gates = spec.get("readinessGates") or []
    gates_cell = "<none>"
    if gates:
        true = {c.get("type") for c in status.get("conditions") or []
                if c.get("status") == "True"}
        gates_cell = f"{sum(1 for g in gates if g.get('conditionType') in true)}/{len(gates)}"
    return [_md(obj).get("name"), f"{ready}/{total}", reason, restarts_cell, _age(obj, now),
            ip, spec.get("nodeName") or "<none>", status.get("nominatedNodeName") or "<none>",
            gates_cell]


def _event_source(obj: Mapping[str, Any]) -> str:
    source = obj.get("source") or {}
    component = source.get("component") or obj.get("reportingComponent") or ""
    host = source.get("host") or obj.get("reportingInstance") or ""
    return f"{component}, {host}" if host else component


def _event(obj: Mapping[str, Any], now: datetime) -> Row:
    first = obj.get("firstTimestamp") or obj.get("eventTime")
    last = obj.get("lastTimestamp") or first
    count = obj.get("count") or 1
    series = obj.get("series")
    if series:
        last, count = series.get("lastObservedTime") or last, series.get("count") or count
    involved = obj.get("involvedObject") or {}
    target = (involved.get("kind") or "").lower()
    if involved.get("name"):
        target = f"{target}/{involved['name']}"
    return [since(last, now), obj.get("type") or "", obj.get("reason") or "", target,
            involved.get("fieldPath") or "", _event_source(obj),
            (obj.get("message") or "").strip(), since(first, now), int(count),
            _md(obj).get("name")]


def _node(obj: Mapping[str, Any], now: datetime) -> Row:
    status = obj.get("status") or {}
    ready = next((c for c in status.get("conditions") or [] if c.get("type") == "Ready"), None)
    state = "Unknown" if ready is None else ("Ready" if ready.get("status") == "True"
                                             else "NotReady")
    if dig(obj, "spec", "unschedulable", default=False):
        state += ",SchedulingDisabled"
    prefix = "node-role.kubernetes.io/"
    roles = sorted(k[len(prefix):] for k in (_md(obj).get("labels") or {})
                   if k.startswith(prefix))
    info = status.get("nodeInfo") or {}
    addresses = {a.get("type"): a.get("address") for a in status.get("addresses") or []}
    return [_md(obj).get("name"), state, ",".join(roles) or "<none>", _age(obj, now),
            info.get("kubeletVersion", ""), addresses.get("InternalIP") or "<none>",
            addresses.get("ExternalIP") or "<none>", info.get("osImage", ""),
            info.get("kernelVersion", ""), info.get("containerRuntimeVersion", "")]


def _service(obj: Mapping[str, Any], now: datetime) -> Row:
    spec = obj.get("spec") or {}
    ports = ",".join(f"{p.get('port')}/{p.get('protocol', 'TCP')}" if not p.get("nodePort")
                     else f"{p.get('port')}:{p['nodePort']}/{p.get('protocol', 'TCP')}"
                     for p in spec.get("ports") or []) or "<none>"
    external = ",".join(spec.get("externalIPs") or []) or (
        spec.get("externalName") or "<none>")
    selector = ",".join(f"{k}={v}" for k, v in sorted((spec.get("selector") or {}).items()))
    return [_md(obj).get("name"), spec.get("type") or "ClusterIP",
            spec.get("clusterIP") or "<none>", external, ports, _age(obj, now),
            selector or "<none>"]


def _containers(template_spec: Mapping[str, Any]) -> tuple[str, str]:
    containers = template_spec.get("containers") or []
    return (",".join(c.get("name", "") for c in containers),
            ",".join(c.get("image", "") for c in containers))


def _deployment(obj: Mapping[str, Any], now: datetime) -> Row:
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    names, images = _containers(dig(spec, "template", "spec", default={}))
    selector = ",".join(f"{k}={v}" for k, v in sorted(
        (dig(spec, "selector", "matchLabels", default={}) or {}).items()))
    return [_md(obj).get("name"),
            f"{status.get('readyReplicas', 0)}/{spec.get('replicas', 1)}",
            status.get("updatedReplicas", 0), status.get("availableReplicas", 0),
            _age(obj, now), names, images, selector or "<none>"]


def _statefulset(obj: Mapping[str, Any], now: datetime) -> Row:
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    names, images = _containers(dig(spec, "template", "spec", default={}))
    return [_md(obj).get("name"),
            f"{status.get('readyReplicas', 0)}/{spec.get('replicas', 1)}", _age(obj, now),
            names, images]


def _simple(*cells: Callable[[Mapping[str, Any]], Any]) -> Printer:
    def printer(obj: Mapping[str, Any], now: datetime) -> Row:
        return [_md(obj).get("name"), *(cell(obj) for cell in cells), _age(obj, now)]

    return printer


def _count(*keys: str) -> Callable[[Mapping[str, Any]], int]:
    return lambda obj: sum(len(obj.get(k) or {}) for k in keys)


NAME: Column = ("Name", "string", 0)
AGE: Column = ("Age", "string", 0)

#: (group, kind) → (columns, printer) for built-in kinds.
BUILTIN: dict[tuple[str, str], tuple[Sequence[Column], Printer]] = {
    ("", "Pod"): ((NAME, ("Ready", "string", 0), ("Status", "string", 0),
                   ("Restarts", "string", 0), AGE, ("IP", "string", 1), ("Node", "string", 1),
                   ("Nominated Node", "string", 1), ("Readiness Gates", "string", 1)), _pod),
    ("", "Event"): ((("Last Seen", "string", 0), ("Type", "string", 0),
                     ("Reason", "string", 0), ("Object", "string", 0),
                     ("Subobject", "string", 1), ("Source", "string", 1),
                     ("Message", "string", 0), ("First Seen", "string", 1),
                     ("Count", "string", 1), ("Name", "string", 1)), _event),
    ("", "Node"): ((NAME, ("Status", "string", 0), ("Roles", "string", 0), AGE,
                    ("Version", "string", 0), ("Internal-IP", "string", 1),
                    ("External-IP", "string", 1), ("OS-Image", "string", 1),
                    ("Kernel-Version", "string", 1), ("Container-Runtime", "string", 1)),
                   _node),
    ("", "Namespace"): ((NAME, ("Status", "string", 0), AGE),
                        _simple(lambda o: dig(o, "status", "phase", default=""))),
    ("", "ConfigMap"): ((NAME, ("Data", "string", 0), AGE),
                        _simple(_count("data", "binaryData"))),
    ("", "Secret"): ((NAME, ("Type", "string", 0), ("Data", "string", 0), AGE),
                     _simple(lambda o: o.get("type") or "Opaque", _count("data"))),
    ("", "ServiceAccount"): ((NAME, AGE), _simple()),
    ("", "Service"): ((NAME, ("Type", "string", 0), ("Cluster-IP", "string", 0),
                       ("External-IP", "string", 0), ("Port(s)", "string", 0), AGE,
                       ("Selector", "string", 1)), _service),
    ("apps", "Deployment"): ((NAME, ("Ready", "string", 0), ("Up-to-date", "string", 0),
                              ("Available", "string", 0), AGE, ("Containers", "string", 1),
                              ("Images", "string", 1), ("Selector", "string", 1)),
                             _deployment),
    ("apps", "StatefulSet"): ((NAME, ("Ready", "string", 0), AGE, ("Containers", "string", 1),
                               ("Images", "string", 1)), _statefulset),
    ("scheduling.k8s.io", "PriorityClass"): (
        (NAME, ("Value", "integer", 0), ("Global-Default", "boolean", 0), AGE,
         ("Preemption-Policy", "string", 0)),
        lambda o, now: [_md(o).get("name"), o.get("value"), bool(o.get("globalDefault")),
                        _age(o, now), o.get("preemptionPolicy") or "PreemptLowerPriority"]),
}


# ---------------------------------------------------------------------------- tables
def _definitions(columns: Sequence[Column]) -> list[dict[str, Any]]:
    out = []
    for name, kind, priority in columns:
        entry: dict[str, Any] = {"name": name, "type": kind, "format": "", "description":
                                 NAME_DESCRIPTION if name == "Name" else name,
                                 "priority": priority}
        if name == "Name" and priority == 0:
            entry["format"] = "name"
        out.append(entry)
    return out


class TablePrinter:
    """Turns objects of one resource into Table rows (``crd_columns``: the CRD's
    ``additionalPrinterColumns`` of the requested version, when known)."""

    def __init__(self, rt: ResourceType, crd_columns: Sequence[Mapping[str, Any]] | None,
                 now: Callable[[], datetime], include: str = "Metadata") -> None:
        self.rt = rt
        self.now = now
        self.include = include
        builtin = None if rt.crd else BUILTIN.get((rt.group, rt.kind))
        self._crd_columns = list(crd_columns or []) if rt.crd else []
        if builtin is not None:
            columns, self._printer = builtin
            self.columns = _definitions(columns)
        elif rt.crd:
            if not self._crd_columns:
                self._crd_columns = [{"name": "Age", "type": "date",
                                      "jsonPath": ".metadata.creationTimestamp"}]
            self.columns = _definitions([NAME]) + [
                {"name": c["name"], "type": c.get("type", "string"),
                 "format": c.get("format", ""), "description": c.get("description", ""),
                 "priority": int(c.get("priority", 0))} for c in self._crd_columns]
            self._printer = self._crd_row
        else:
            self.columns = _definitions([NAME, ("Created At", "date", 0)])
            self._printer = lambda o, now: [_md(o).get("name"),
                                            _md(o).get("creationTimestamp")]

    def _crd_row(self, obj: Mapping[str, Any], now: datetime) -> Row:
        cells: Row = [_md(obj).get("name")]
        for column in self._crd_columns:
            found = jsonpath(obj, column.get("jsonPath", ""))
            cells.append(_crd_cell(column.get("type", "string"), found[0], now)
                         if found and found[0] is not None else None)
        return cells

    def row(self, obj: Mapping[str, Any], now: datetime | None = None) -> dict[str, Any]:
        """One row: cells and the object as ``includeObject`` asks."""
        out: dict[str, Any] = {"cells": self._printer(obj, now or self.now())}
        if self.include == "Object":
            out["object"] = dict(obj)
        elif self.include != "None":
            out["object"] = {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
                             "metadata": dict(_md(obj))}
        return out

    def table(self, objects: Sequence[Mapping[str, Any]], list_meta: Mapping[str, Any],
              *, headers: bool = True) -> dict[str, Any]:
        """A ``meta.k8s.io/v1`` Table of ``objects``."""
        now = self.now()
        return {"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": dict(list_meta),
                "columnDefinitions": self.columns if headers else [],
                "rows": [self.row(o, now) for o in objects]}
