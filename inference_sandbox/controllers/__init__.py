"""The simulated cluster's controllers (Knative, LeaderWorkerSet, scheduler, kubelet, core)."""

from __future__ import annotations

from collections.abc import Callable

from inference_sandbox.clock import SimClock
from inference_sandbox.config import SandboxConfig
from inference_sandbox.controllers.api import ObjectAPI
from inference_sandbox.controllers.base import ControllerManager, EventRecorder
from inference_sandbox.controllers.core import CoreController
from inference_sandbox.controllers.knative import KnativeController
from inference_sandbox.controllers.kubelet import Kubelet
from inference_sandbox.controllers.lws import LwsController
from inference_sandbox.controllers.scheduler import Scheduler


def build(api: ObjectAPI, clock: SimClock, config: SandboxConfig,
          knative_defaults: Callable[[], dict[str, str]]) -> tuple[ControllerManager, Kubelet]:
    """All controllers wired to one manager; the kubelet is returned too (for pod logs)."""
    events = EventRecorder(api, clock)
    scheduler = Scheduler(api, clock, events, config.timings)
    kubelet = Kubelet(api, clock, events, config.timings, scheduler.bind_times)
    controllers = [
        # Order matters on resync: pods are brought up to date before their owners look.
        CoreController(api),
        scheduler,
        kubelet,
        KnativeController(api, clock, config.timings, domain=config.domain,
                          defaults=knative_defaults, seed=config.seed),
        LwsController(api, clock, events),
    ]
    manager = ControllerManager(api, clock, controllers, resync_period=config.resync_period)
    return manager, kubelet


__all__ = ["ControllerManager", "EventRecorder", "Kubelet", "build"]
