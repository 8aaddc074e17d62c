"""Simulated Knative Serving: Service → Configuration + Route → Revisions → pods (§1).

One reconcile per Knative Service does what Knative's service, configuration, route and
revision reconcilers do, writing each object's status with Knative's conditions and reasons.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Mapping
from typing import Any, cast

from inference_sandbox.clock import SimClock, rfc3339
from inference_sandbox.config import Timings
from inference_sandbox.controllers.api import ObjectAPI
from inference_sandbox.controllers.knative_revision import (
    RevisionReconciler,
    living_ready,
    md_generation,
    revision_message,
    revision_ready,
)
from inference_sandbox.objects import clone, dig, labels_of, meta, owner_ref, set_condition
from inference_sandbox.watchcache import WatchEvent

KSVC = ("serving.knative.dev/v1", "Service")
CONFIG = ("serving.knative.dev/v1", "Configuration")
ROUTE = ("serving.knative.dev/v1", "Route")
REVISION = ("serving.knative.dev/v1", "Revision")
SERVICE_LABEL = "serving.knative.dev/service"


class KnativeController:
    """Reconciles Knative Services (key: namespace, name)."""

    name = "knative"

    def __init__(self, api: ObjectAPI, clock: SimClock, timings: Timings, *, domain: str,
                 defaults: Callable[[], dict[str, str]], seed: int = 0) -> None:
        self.api = api
        self.clock = clock
        self.domain = domain
        self.revisions = RevisionReconciler(api, clock, timings, defaults, seed)

    def keys_for(self, event: WatchEvent) -> Iterable[Hashable]:
        """The owning Knative Service of anything Knative (or its pods)."""
        md = event.obj["metadata"]
        if event.rt.group == "serving.knative.dev":
            if event.rt.kind == "Service":
                return ((md["namespace"], md["name"]),) if event.type != "DELETED" else ()
            svc = (md.get("labels") or {}).get(SERVICE_LABEL)
            return ((md["namespace"], svc),) if svc else ()
        if event.rt.kind == "Pod" and not event.rt.group:
            svc = (md.get("labels") or {}).get(SERVICE_LABEL)
            return ((md["namespace"], svc),) if svc else ()
        return ()

    def resync_keys(self) -> Iterable[Hashable]:
        """Every Knative Service."""
        return [(meta(s)["namespace"], meta(s)["name"]) for s in self.api.list(KSVC, copy=False)]

    def reconcile(self, key: Hashable) -> float | None:
        """One pass over a Knative Service and everything it owns."""
        namespace, name = cast("tuple[str, str]", key)
        svc = self.api.get(KSVC, namespace, name)
        if svc is None or meta(svc).get("deletionTimestamp"):
            return None
        config = self._child(svc, CONFIG, {"template": clone(dig(svc, "spec", "template"))})
        route_traffic = []
        for target in dig(svc, "spec", "traffic", default=[]):
            entry = clone(target)
            if entry.get("latestRevision"):
                entry["configurationName"] = name
            route_traffic.append(entry)
        route = self._child(svc, ROUTE, {"traffic": route_traffic})
        latest = self._latest_revision(config, svc)
        revisions = [r for r in self.api.list(REVISION, namespace, copy=False)
                     if labels_of(r).get("serving.knative.dev/configuration") == name]
        config_status = self._config_status(config, latest, revisions)
        route_status, routed = self._route_status(svc, route, config_status, revisions)
        wakeups: list[float] = []
        for rev in revisions:
            rev_name = meta(rev)["name"]
            want, wake = self.revisions.desired(rev, rev_name in routed, rev_name == latest)
            if wake is not None:
                wakeups.append(wake)
            pods = self.revisions.sync_pods(rev, want)
            status = self.revisions.status(rev, pods, want)
            if status != rev.get("status"):
                updated = self.api.get(REVISION, namespace, rev_name)
                if updated is not None:
                    updated["status"] = status
                    self.api.replace(REVISION, updated)
            st = self.revisions.state(rev)
            if st.ready_at is None:
                deadline = st.created + self.revisions.progress_deadline(rev)
                wakeups.append(max(deadline - self.clock.now(), 0.01))
        revisions = [r for r in self.api.list(REVISION, namespace, copy=False)
                     if labels_of(r).get("serving.knative.dev/configuration") == name]
        config_status = self._config_status(config, latest, revisions)
        route_status, _ = self._route_status(svc, route, config_status, revisions)
        self._write_status(CONFIG, config, config_status)
        self._write_status(ROUTE, route, route_status)
        self._write_status(KSVC, svc, self._service_status(svc, config_status, route_status))
        return min(wakeups) if wakeups else None

    # ------------------------------------------------------------------ children
    def _child(self, svc: dict[str, Any], kind: tuple[str, str], spec: dict[str, Any]
               ) -> dict[str, Any]:
        md = meta(svc)
        existing = self.api.get(kind, md["namespace"], md["name"])
        labels = {SERVICE_LABEL: md["name"], "serving.knative.dev/serviceUID": md["uid"]}
        if existing is None:
            annotations = {k: v for k, v in (md.get("annotations") or {}).items()
                           if k.startswith("serving.knative.dev/")}
            return self.api.create(kind, {
                "metadata": {"name": md["name"], "namespace": md["namespace"],
                             "labels": {**labels_of(svc), **labels},
                             "annotations": annotations, "ownerReferences": [owner_ref(svc)]},
                "spec": spec})
        if existing.get("spec") != spec:
            existing["spec"] = spec
            existing["metadata"]["labels"] = {**labels_of(svc), **labels}
            return self.api.replace(kind, existing)
        return existing

    def _latest_revision(self, config: dict[str, Any], svc: dict[str, Any]) -> str:
        md = meta(config)
        template = dig(config, "spec", "template", default={})
        name = dig(template, "metadata", "name") or f"{md['name']}-{md_generation(config):05d}"
        if self.api.get(REVISION, md["namespace"], name, copy=False) is None:
            tmd = template.get("metadata") or {}
            labels = {**(tmd.get("labels") or {}),
                      "serving.knative.dev/configuration": md["name"],
                      "serving.knative.dev/configurationGeneration": str(md_generation(config)),
                      "serving.knative.dev/configurationUID": md["uid"],
                      SERVICE_LABEL: meta(svc)["name"],
                      "serving.knative.dev/serviceUID": meta(svc)["uid"],
                      "serving.knative.dev/routingState": "active"}
            annotations = dict(tmd.get("annotations") or {})
            annotations["serving.knative.dev/routes"] = md["name"]
            annotations["serving.knative.dev/routingStateModified"] = rfc3339(self.clock.wall())
            for key in ("serving.knative.dev/creator",):
                if key in (meta(svc).get("annotations") or {}):
                    annotations[key] = meta(svc)["annotations"][key]
            self.api.create(REVISION, {
                "metadata": {"name": name, "namespace": md["namespace"], "labels": labels,
                             "annotations": annotations,
                             "ownerReferences": [owner_ref(config)]},
                "spec": clone(template.get("spec") or {})})
        return name

    # ------------------------------------------------------------------ statuses
    def _config_status(self, config: dict[str, Any], latest: str,
                       revisions: list[dict[str, Any]]) -> dict[str, Any]:
        old = config.get("status") or {}
        by_name = {meta(r)["name"]: r for r in revisions}
        latest_ready = old.get("latestReadyRevisionName")
        if latest_ready not in by_name:
            latest_ready = None
        latest_rev = by_name.get(latest)
        state = revision_ready(latest_rev) if latest_rev else "Unknown"
        if state == "True":
            latest_ready = latest
        conditions = [dict(c) for c in old.get("conditions", [])]
        now = rfc3339(self.clock.wall())
        if latest_ready == latest:
            conditions = set_condition(conditions, "Ready", "True", now=now)
        elif state == "False":
            conditions = set_condition(
                conditions, "Ready", "False", reason="RevisionFailed",
                message=f'Revision "{latest}" failed with message: '
                        f"{revision_message(latest_rev or {})}.", now=now)
        else:
            conditions = set_condition(conditions, "Ready", "Unknown", now=now)
        status: dict[str, Any] = {"observedGeneration": md_generation(config),
                                  "conditions": conditions,
                                  "latestCreatedRevisionName": latest}
        if latest_ready:
            status["latestReadyRevisionName"] = latest_ready
        return status

    def _url(self, svc: Mapping[str, Any], tag: str | None = None) -> str:
        md = meta(svc)
        host = md["name"] if not tag else f"{tag}-{md['name']}"
        if labels_of(svc).get("networking.knative.dev/visibility") == "cluster-local":
            return f"http://{host}.{md['namespace']}.svc.cluster.local"
        return f"http://{host}.{md['namespace']}.{self.domain}"

    def _route_status(self, svc: dict[str, Any], route: dict[str, Any],
                      config_status: dict[str, Any], revisions: list[dict[str, Any]]
                      ) -> tuple[dict[str, Any], set[str]]:
        name = meta(svc)["name"]
        by_name = {meta(r)["name"]: r for r in revisions}
        traffic = []
        problem: tuple[str, str] | None = None  # (status, message)
        for target in dig(route, "spec", "traffic", default=[]):
            entry: dict[str, Any] = {}
            if target.get("tag"):
                entry["tag"] = target["tag"]
            if target.get("latestRevision"):
                rev_name = config_status.get("latestReadyRevisionName")
                if not rev_name:
                    failed = next((c for c in config_status.get("conditions", [])
                                   if c.get("type") == "Ready" and c.get("status") == "False"),
                                  None)
                    problem = problem or (
                        ("False", f'Configuration "{name}" does not have any ready Revision.')
                        if failed else
                        ("Unknown", f'Configuration "{name}" is waiting for a Revision to '
                                    "become ready."))
                    continue
                entry["configurationName"] = name
            else:
                rev_name = target.get("revisionName", "")
                rev = by_name.get(rev_name)
                if rev is None:
                    problem = problem or ("False",
                                          f'Revision "{rev_name}" referenced in traffic not '
                                          "found.")
                    continue
                state = revision_ready(rev)
                if state != "True":
                    problem = problem or (
                        ("False", f'Revision "{rev_name}" failed to become ready.')
                        if state == "False" else
                        ("Unknown", f'Revision "{rev_name}" is not yet ready.'))
                    continue
            entry.update({"revisionName": rev_name,
                          "latestRevision": bool(target.get("latestRevision")),
                          "percent": int(target.get("percent") or 0)})
            if target.get("tag"):
                entry["url"] = self._url(svc, target["tag"])
            traffic.append(entry)
        now = rfc3339(self.clock.wall())
        conditions = [dict(c) for c in (route.get("status") or {}).get("conditions", [])]
        if problem is None:
            conditions = set_condition(conditions, "AllTrafficAssigned", "True", now=now)
            conditions = set_condition(conditions, "IngressReady", "True", now=now)
        else:
            conditions = set_condition(conditions, "AllTrafficAssigned", problem[0],
                                       reason="RevisionMissing", message=problem[1], now=now)
            conditions = set_condition(conditions, "IngressReady", "Unknown", now=now)
        conditions = set_condition(conditions, "CertificateProvisioned", "True",
                                   reason="TLSNotEnabled",
                                   message="External domain TLS is not enabled", now=now)
        ready = living_ready(conditions, ("AllTrafficAssigned", "IngressReady",
                                          "CertificateProvisioned"))
        conditions = set_condition(conditions, "Ready", ready[0], reason=ready[1],
                                   message=ready[2], now=now)
        conditions.sort(key=lambda c: c["type"])
        status: dict[str, Any] = {"observedGeneration": md_generation(route),
                                  "conditions": conditions}
        if problem is None:
            status["traffic"] = traffic
        status["url"] = self._url(svc)
        status["address"] = {"url": f"http://{name}.{meta(svc)['namespace']}.svc.cluster.local"}
        routed = {t["revisionName"] for t in traffic if t.get("percent", 0) > 0}
        return status, routed

    def _service_status(self, svc: dict[str, Any], config_status: dict[str, Any],
                        route_status: dict[str, Any]) -> dict[str, Any]:
        now = rfc3339(self.clock.wall())
        conditions = [dict(c) for c in (svc.get("status") or {}).get("conditions", [])]
        for ctype, source in (("ConfigurationsReady", config_status),
                              ("RoutesReady", route_status)):
            ready = next((c for c in source["conditions"] if c["type"] == "Ready"), {})
            conditions = set_condition(conditions, ctype, ready.get("status", "Unknown"),
                                       reason=ready.get("reason", ""),
                                       message=ready.get("message", ""), now=now)
        ready = living_ready(conditions, ("ConfigurationsReady", "RoutesReady"))
        conditions = set_condition(conditions, "Ready", ready[0], reason=ready[1],
                                   message=ready[2], now=now)
        conditions.sort(key=lambda c: c["type"])
        status: dict[str, Any] = {"observedGeneration": md_generation(svc),
                                  "conditions": conditions,
                                  "latestCreatedRevisionName":
                                      config_status["latestCreatedRevisionName"],
                                  "url": route_status["url"],
                                  "address": route_status["address"]}
        if config_status.get("latestReadyRevisionName"):
            status["latestReadyRevisionName"] = config_status["latestReadyRevisionName"]
        if "traffic" in route_status:
            status["traffic"] = route_status["traffic"]
        return status

    def _write_status(self, kind: tuple[str, str], obj: dict[str, Any],
                      status: dict[str, Any]) -> None:
        current = self.api.get(kind, meta(obj)["namespace"], meta(obj)["name"])
        if current is None or current.get("status") == status:
            return
        current["status"] = status
        self.api.replace(kind, current)
