"""Which URL a smoke test calls: the candidate's own, never the shared one.

- Knative Service: the URL of the traffic entry tagged ``tag`` (``status.traffic[].url``);
  with ``tag`` None, the Service's ``status.url``.
- LeaderWorkerSet: its leader Service ``http://<name>-leader.<ns>.svc.cluster.local:<port>``
  (the port of the leader container), the group endpoint.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from inference_core.errors import DeployError, ObjectRef


def smoke_url(live: Mapping[str, Any], tag: str | None = "candidate",
              cluster_domain: str = "cluster.local") -> str:
    """The URL to smoke-test; raises ``DeployError`` naming what is missing."""
    md = live.get("metadata") or {}
    ns, name, kind = str(md.get("namespace", "")), str(md.get("name", "")), live.get("kind")
    status = live.get("status") or {}
    if kind == "LeaderWorkerSet":
        template = ((live.get("spec") or {}).get("leaderWorkerTemplate") or {})
        pod = (template.get("leaderTemplate") or template.get("workerTemplate") or {})
        containers = (pod.get("spec") or {}).get("containers") or [{}]
        ports = containers[0].get("ports") or [{}]
        port = ports[0].get("containerPort", 8000)
        return f"http://{name}-leader.{ns}.svc.{cluster_domain}:{port}"
    ref = ObjectRef(str(kind or "Service"), ns, name)
    if tag is None:
        if not status.get("url"):
            raise DeployError("reports no status.url yet (not routed)", ref=ref)
        return str(status["url"])
    for entry in status.get("traffic") or []:
        if entry.get("tag") == tag and entry.get("url"):
            return str(entry["url"])
    tags = sorted(str(t["tag"]) for t in status.get("traffic") or [] if t.get("tag"))
    raise DeployError(f"has no routed traffic entry tagged {tag!r} (tags: "
                      f"{', '.join(tags) or 'none'}); deploy the candidate with a tag, or "
                      "smoke-test the Service URL (no tag)", ref=ref)


def served_model(live: Mapping[str, Any]) -> str | None:
    """The model name a vLLM workload serves (``--served-model-name``, else the model id
    after ``vllm serve``); None for other workloads."""
    spec = live.get("spec") or {}
    if live.get("kind") == "LeaderWorkerSet":
        lwt = spec.get("leaderWorkerTemplate") or {}
        pod = (lwt.get("leaderTemplate") or lwt.get("workerTemplate") or {}).get("spec") or {}
    else:
        pod = (spec.get("template") or {}).get("spec") or {}
    for container in pod.get("containers") or []:
        words = [str(w) for w in [*(container.get("command") or []),
                                  *(container.get("args") or [])]]
        if words[:2] == ["sh", "-c"] and len(words) > 2:
            words = words[2].split()
        for i in range(len(words) - 1):
            if words[i] == "vllm" and words[i + 1] == "serve":
                args = words[i + 2:]
                for j, arg in enumerate(args[:-1]):
                    if arg == "--served-model-name":
                        return args[j + 1]
                return args[0] if args and not args[0].startswith("-") else None
    return None
