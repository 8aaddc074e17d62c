"""A fake kubelet: pulls images, starts containers, readiness, crash loops — by image name.

Image conventions (the substring anywhere in the image reference):

- ``does-not-exist`` → ``ErrImagePull`` then ``ImagePullBackOff``;
- ``crashloop`` → runs ``crash_after`` seconds, exits 1 (``crashloop-exit<N>`` for code N),
  restarts with exponential back-off → ``CrashLoopBackOff``; ``oomkilled`` → exit 137, OOMKilled;
- ``never-ready`` → runs but never passes readiness;
- ``ready-after-<N>s`` → becomes ready N simulated seconds after starting.
"""

from __future__ import annotations

import contextlib
import hashlib
import re
from collections.abc import Hashable, Iterable
from dataclasses import dataclass, field
from typing import Any, cast

from inference_sandbox.apierrors import ApiError
from inference_sandbox.clock import SimClock, rfc3339
from inference_sandbox.config import Timings
from inference_sandbox.controllers.api import ObjectAPI
from inference_sandbox.controllers.base import EventRecorder
from inference_sandbox.controllers.podrefs import Lookup, container_config_error
from inference_sandbox.objects import dig, meta, set_condition
from inference_sandbox.watchcache import WatchEvent

POD = ("v1", "Pod")
MAX_LOG_LINES = 200


@dataclass
class ContainerSim:
    """Timeline of one container (simulated seconds)."""

    name: str
    image: str
    started: float | None = None
    restarts: int = 0
    last_exit: dict[str, Any] | None = None
    next_start: float | None = None
    config_blocked: bool = False
    events: set[str] = field(default_factory=set)


@dataclass
class PodSim:
    """Timeline of one pod."""

    uid: str
    bound_at: float
    containers: dict[str, ContainerSim]
    logs: dict[str, list[str]] = field(default_factory=dict)
    ip: str = ""


def image_behaviour(image: str) -> dict[str, Any]:
    """What the fake kubelet will do with this image."""
    lowered = image.lower()
    behaviour: dict[str, Any] = {"pull_fails": "does-not-exist" in lowered,
                                 "never_ready": "never-ready" in lowered,
                                 "crash": None, "ready_after": None}
    if "oomkilled" in lowered:
        behaviour["crash"] = (137, "OOMKilled")
    elif "crashloop" in lowered:
        match = re.search(r"crashloop-exit(\d+)", lowered)
        behaviour["crash"] = (int(match.group(1)) if match else 1, "Error")
    match = re.search(r"ready-after-(\d+)s?", lowered)
    if match:
        behaviour["ready_after"] = float(match.group(1))
    return behaviour


def _digest(image: str) -> str:
    return "sha256:" + hashlib.sha256(image.encode()).hexdigest()


class Kubelet:
    """Reconciles every bound pod's status from its simulated timeline."""

    name = "kubelet"

    def __init__(self, api: ObjectAPI, clock: SimClock, events: EventRecorder,
                 timings: Timings, bind_times: dict[str, float] | None = None) -> None:
        self.api = api
        self.clock = clock
        self.events = events
        self.t = timings
        self.sims: dict[str, PodSim] = {}
        self.bind_times = bind_times if bind_times is not None else {}
        self._ip = 0

    def keys_for(self, event: WatchEvent) -> Iterable[Hashable]:
        """Bound pods (all of a namespace's when one of its Secrets or ConfigMaps changes)."""
        if event.rt.kind in ("Secret", "ConfigMap") and not event.rt.group:
            namespace = event.obj["metadata"].get("namespace")
            return [(namespace, meta(p)["name"]) for p in self.api.list(POD, namespace,
                                                                           copy=False)
                    if dig(p, "spec", "nodeName")]
        if event.rt.kind != "Pod" or event.rt.group:
            return ()
        md = event.obj["metadata"]
        if event.type == "DELETED":
            self.sims.pop(md.get("uid", ""), None)
            return ()
        if not dig(event.obj, "spec", "nodeName"):
            return ()
        return ((md["namespace"], md["name"]),)

    def resync_keys(self) -> Iterable[Hashable]:
        """Every bound pod."""
        return [(meta(p)["namespace"], meta(p)["name"]) for p in self.api.list(POD, copy=False)
                if dig(p, "spec", "nodeName")]

    def logs(self, namespace: str | None, name: str | None, container: str | None
             ) -> list[str]:
        """Simulated container log lines."""
        pod = self.api.get(POD, namespace, name or "", copy=False)
        sim = self.sims.get(meta(pod or {}).get("uid", ""))
        if sim is None:
            return []
        return list(sim.logs.get(container or "", []))

    def _log(self, sim: PodSim, container: str, line: str) -> None:
        lines = sim.logs.setdefault(container, [])
        lines.append(line)
        del lines[:-MAX_LOG_LINES]

    # ------------------------------------------------------------------ reconcile
    def reconcile(self, key: Hashable) -> float | None:
        """Advance one pod's timeline to now and write its status if it changed."""
        namespace, name = cast("tuple[str, str]", key)
        pod = self.api.get(POD, namespace, name)
        if pod is None or not dig(pod, "spec", "nodeName"):
            return None
        if meta(pod).get("deletionTimestamp"):
            # Containers stop at once here; the kubelet then removes the pod object (with a
            # zero grace period on a real API server) unless finalizers hold it.
            if not meta(pod).get("finalizers"):
                with contextlib.suppress(ApiError):
                    self.api.delete(POD, namespace, name)
            return None
        now = self.clock.now()
        sim = self.sims.get(meta(pod)["uid"])
        if sim is None:
            self._ip += 1
            sim = PodSim(meta(pod)["uid"], self.bind_times.get(meta(pod)["uid"], now), {
                c["name"]: ContainerSim(c["name"], c.get("image", ""))
                for c in pod["spec"].get("containers", [])},
                ip=f"10.244.{(self._ip // 250) % 250}.{self._ip % 250 + 1}")
            self.sims[sim.uid] = sim
        statuses = []
        wakeups: list[float] = []
        for spec in pod["spec"].get("containers", []):
            status, wake = self._container(pod, sim, spec, now)
            statuses.append(status)
            if wake is not None:
                wakeups.append(wake - now)
        self._write(pod, sim, statuses)
        return min(wakeups) if wakeups else None

    def _container(self, pod: dict[str, Any], sim: PodSim, spec: dict[str, Any], now: float,
                   depth: int = 0) -> tuple[dict[str, Any], float | None]:
        c = sim.containers.setdefault(spec["name"], ContainerSim(spec["name"], spec["image"]))
        image = spec.get("image", "")
        how = image_behaviour(image)
        pulled_at = sim.bound_at + self.t.image_pull
        status: dict[str, Any] = {"name": c.name, "image": image, "imageID": "", "ready": False,
                                  "restartCount": c.restarts, "started": False}
        if c.last_exit:
            status["lastState"] = {"terminated": c.last_exit}
        else:
            status["lastState"] = {}
        self._once(pod, c, "pulling", "Normal", "Pulling", f'Pulling image "{image}"')
        if now < pulled_at:
            status["state"] = {"waiting": {"reason": "ContainerCreating"}}
            return status, pulled_at
        if how["pull_fails"]:
            return self._pull_failure(pod, c, image, status, now, pulled_at)
        status["imageID"] = f"{image.split(':')[0]}@{_digest(image)}"
        self._once(pod, c, "pulled", "Normal", "Pulled",
                   f'Successfully pulled image "{image}" in {self.t.image_pull:g}s')
        if c.started is None:
            problem = container_config_error(spec, meta(pod)["namespace"], self._lookup(pod))
            if problem is not None:
                # Events and status as the kubelet writes them; the reference is checked again
                # on every pass (a Secret created later lets the container start).
                self._once(pod, c, f"config-{problem}", "Warning", "Failed", f"Error: {problem}")
                status["state"] = {"waiting": {"reason": "CreateContainerConfigError",
                                               "message": problem}}
                c.config_blocked = True
                return status, None
            if c.config_blocked:
                c.config_blocked = False
                c.next_start = now + self.t.container_start
        if c.started is None:
            start_at = pulled_at + self.t.container_start if c.next_start is None \
                else c.next_start
            if now < start_at:
                if c.last_exit:
                    status["state"] = {"waiting": {
                        "reason": "CrashLoopBackOff",
                        "message": f"back-off {self._backoff(c):g}s restarting failed "
                                   f"container={c.name} pod={meta(pod)['name']}_"
                                   f"{meta(pod)['namespace']}({meta(pod)['uid']})"}}
                else:
                    status["state"] = {"waiting": {"reason": "ContainerCreating"}}
                return status, start_at
            c.started = start_at
            c.next_start = None
            self._once(pod, c, f"created-{c.restarts}", "Normal", "Created",
                       f"Created container: {c.name}")
            self._once(pod, c, f"started-{c.restarts}", "Normal", "Started",
                       f"Started container {c.name}")
            self._log(sim_of(self, pod), c.name, f"[sandbox] container {c.name} started "
                                                 f"(image {image})")
        if how["crash"] is not None and now >= c.started + self.t.crash_after and depth < 20:
            code, reason = how["crash"]
            finished = c.started + self.t.crash_after
            c.last_exit = {"exitCode": code, "reason": reason,
                           "message": f"simulated crash of image {image}: exit code {code}",
                           "startedAt": rfc3339(self.clock.wall_at(c.started)),
                           "finishedAt": rfc3339(self.clock.wall_at(finished)),
                           "containerID": f"containerd://{c.name}-{c.restarts}"}
            self._log(sim_of(self, pod), c.name, f"[sandbox] fatal error: simulated crash, "
                                                 f"exiting with code {code}")
            c.restarts += 1
            c.started = None
            c.next_start = finished + self._backoff(c)
            self.events.emit(pod, "Warning", "BackOff",
                             f"Back-off restarting failed container {c.name} in pod "
                             f"{meta(pod)['name']}_{meta(pod)['namespace']}({meta(pod)['uid']})",
                             component="kubelet", host=dig(pod, "spec", "nodeName"),
                             field_path=f"spec.containers{{{c.name}}}")
            return self._container(pod, sim, spec, now, depth + 1)
        status["restartCount"] = c.restarts
        status["started"] = True
        status["state"] = {"running": {"startedAt": rfc3339(self.clock.wall_at(c.started))}}
        status["containerID"] = f"containerd://{_digest(c.name + str(c.restarts))[7:31]}"
        ready_at = c.started + self._ready_delay(spec, how)
        wake = None
        if how["crash"] is not None:
            wake = c.started + self.t.crash_after
        if how["never_ready"]:
            if now >= ready_at:
                self._once(pod, c, "unhealthy", "Warning", "Unhealthy",
                           "Readiness probe failed: HTTP probe failed with statuscode: 503")
            else:
                wake = ready_at
        elif now >= ready_at and (how["crash"] is None or ready_at < c.started +
                                  self.t.crash_after):
            status["ready"] = True
        elif now < ready_at:
            wake = ready_at if wake is None else min(wake, ready_at)
        return status, wake

    def _pull_failure(self, pod: dict[str, Any], c: ContainerSim, image: str,
                      status: dict[str, Any], now: float, pulled_at: float
                      ) -> tuple[dict[str, Any], float | None]:
        repo = image.split(":")[0]
        detail = (f'rpc error: code = NotFound desc = failed to pull and unpack image "{image}": '
                  f'failed to resolve reference "{image}": {repo}: not found')
        node = dig(pod, "spec", "nodeName")
        self._once(pod, c, "pullfail", "Warning", "Failed",
                   f'Failed to pull image "{image}": {detail}', host=node)
        self._once(pod, c, "errimagepull", "Warning", "Failed", "Error: ErrImagePull", host=node)
        backoff_at = pulled_at + self.t.image_pull_backoff
        if now < backoff_at:
            status["state"] = {"waiting": {"reason": "ErrImagePull", "message": detail}}
            return status, backoff_at
        self._once(pod, c, "backoff", "Normal", "BackOff", f'Back-off pulling image "{image}"',
                   host=node)
        self._once(pod, c, "imagepullbackoff", "Warning", "Failed", "Error: ImagePullBackOff",
                   host=node)
        status["state"] = {"waiting": {"reason": "ImagePullBackOff",
                                       "message": f'Back-off pulling image "{image}"'}}
        return status, None

    def _lookup(self, pod: dict[str, Any]) -> Lookup:
        namespace = meta(pod)["namespace"]
        return lambda kind, name: self.api.get(("v1", kind), namespace, name, copy=False)

    def _once(self, pod: dict[str, Any], c: ContainerSim, tag: str, etype: str, reason: str,
              message: str, host: str | None = None) -> None:
        if tag in c.events:
            return
        c.events.add(tag)
        self.events.emit(pod, etype, reason, message, component="kubelet",
                         host=host or dig(pod, "spec", "nodeName"),
                         field_path=f"spec.containers{{{c.name}}}")

    def _backoff(self, c: ContainerSim) -> float:
        return min(self.t.crash_backoff_base * 2 ** max(c.restarts - 1, 0),
                   self.t.crash_backoff_max)

    def _ready_delay(self, spec: dict[str, Any], how: dict[str, Any]) -> float:
        if how["ready_after"] is not None:
            return float(how["ready_after"])
        probe_delay = max(dig(spec, "readinessProbe", "initialDelaySeconds", default=0),
                          dig(spec, "startupProbe", "initialDelaySeconds", default=0))
        return max(self.t.readiness_delay, float(probe_delay))

    def _write(self, pod: dict[str, Any], sim: PodSim, statuses: list[dict[str, Any]]) -> None:
        status = pod.setdefault("status", {})
        old = dict(status)
        now = rfc3339(self.clock.wall())
        running = all("running" in s.get("state", {}) or s.get("restartCount", 0) > 0
                      for s in statuses)
        all_ready = bool(statuses) and all(s["ready"] for s in statuses)
        status["phase"] = "Running" if running else "Pending"
        status["hostIP"] = "192.168.0.10"
        status["podIP"] = sim.ip
        status["podIPs"] = [{"ip": sim.ip}]
        status.setdefault("startTime", rfc3339(self.clock.wall_at(sim.bound_at)))
        status["containerStatuses"] = statuses
        conditions = status.get("conditions", [])
        conditions = set_condition(conditions, "Initialized", "True", now=now,
                                   extra={"lastProbeTime": None})
        not_ready = [s["name"] for s in statuses if not s["ready"]]
        message = f"containers with unready status: [{' '.join(not_ready)}]" if not_ready else ""
        for ctype in ("ContainersReady", "Ready"):
            conditions = set_condition(conditions, ctype, "True" if all_ready else "False",
                                       reason="" if all_ready else "ContainersNotReady",
                                       message=message, now=now, extra={"lastProbeTime": None})
        status["conditions"] = conditions
        if status != old:
            self.api.replace(POD, pod)


def sim_of(kubelet: Kubelet, pod: dict[str, Any]) -> PodSim:
    """The simulation record of a pod (exists during reconcile)."""
    return kubelet.sims[meta(pod)["uid"]]
