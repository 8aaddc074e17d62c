"""Readiness: one definition of "ready / progressing / failed", used by every front door.

Pure functions (no I/O, no clock unless ``now`` is passed) that turn a serving object
(Knative Service or Revision, LeaderWorkerSet) plus its pods, events and revisions into a
:class:`Readiness`. The Airflow trigger/sensor, the CLI ``wait`` and Pulumi-side checks all
call :func:`evaluate`; none keeps its own copy of these rules.
"""

from __future__ import annotations

from inference_core.readiness.api import evaluate, pod_selector
from inference_core.readiness.findings import Finding
from inference_core.readiness.knative import parse_traffic, revision_failure
from inference_core.readiness.lws import leader_url
from inference_core.readiness.model import Readiness, State, TrafficTarget, UnsupportedObject
from inference_core.readiness.selectors import label_selector, selector_matches

__all__ = [
    "Finding",
    "Readiness",
    "State",
    "TrafficTarget",
    "UnsupportedObject",
    "evaluate",
    "label_selector",
    "leader_url",
    "parse_traffic",
    "pod_selector",
    "revision_failure",
    "selector_matches",
]
