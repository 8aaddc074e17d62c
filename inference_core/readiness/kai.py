"""KAI-Scheduler PodGroups (``scheduling.run.ai/v2alpha2``): why a gang is pending.

The pod-grouper builds one PodGroup per workload; its ``status.schedulingConditions[]``
carry the scheduler's reasons (``reasons[]{reason, message, details.queueDetails}``, or the
deprecated ``reason``/``message``). PodGroups may be passed to ``evaluate`` inside
``events`` or ``revisions`` (recognised by ``kind: PodGroup``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from inference_core.readiness.accessors import (
    as_list,
    as_map,
    as_str,
    metadata,
    name_of,
    path,
    shorten,
)

POD_GROUP_ANNOTATION = "pod-group-name"
"""Annotation KAI's pod-grouper puts on each pod, naming its PodGroup."""


def is_podgroup(obj: Mapping[str, Any]) -> bool:
    """True for a KAI PodGroup object."""
    return obj.get("kind") == "PodGroup"


def relevant_podgroups(
    podgroups: Sequence[Mapping[str, Any]], pods: Sequence[Mapping[str, Any]]
) -> list[Mapping[str, Any]]:
    """PodGroups named by the pods' ``pod-group-name`` annotation (all of them if none is)."""
    wanted = {
        as_str(as_map(metadata(p).get("annotations")).get(POD_GROUP_ANNOTATION)) for p in pods
    }
    wanted.discard(None)
    groups = sorted(podgroups, key=lambda g: name_of(g) or "")
    if not wanted:
        return groups
    return [g for g in groups if name_of(g) in wanted]


def _condition_text(cond: Mapping[str, Any]) -> str:
    parts: list[str] = []
    for item in as_list(cond.get("reasons")):
        reason = as_str(item.get("reason"))
        message = as_str(item.get("message"))
        queue = as_str(path(item, "details", "queueDetails", "name"))
        text = ": ".join(x for x in (reason, message) if x)
        if queue:
            text += f" (queue {queue!r})"
        if text:
            parts.append(text)
    if not parts:
        text = ": ".join(x for x in (as_str(cond.get("reason")), as_str(cond.get("message"))) if x)
        if text:
            parts.append(text)
    pool = as_str(cond.get("nodePool"))
    joined = "; ".join(parts)
    return f"{joined} [node pool {pool!r}]" if joined and pool else joined


def explain(podgroup: Mapping[str, Any]) -> str | None:
    """``PodGroup "pg-x" (queue "q"): OverLimit: ...`` or None when it reports nothing."""
    conds = [
        c for c in as_list(path(podgroup, "status", "schedulingConditions"))
        if c.get("status") != "False"
    ]
    if not conds:
        return None
    text = _condition_text(conds[-1])
    if not text:
        return None
    queue = as_str(path(podgroup, "spec", "queue"))
    where = f' (queue "{queue}")' if queue else ""
    return f'KAI PodGroup "{name_of(podgroup) or "?"}"{where}: {shorten(text)}'
