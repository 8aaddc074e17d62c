"""The component outputs, derived from the rendering and the serving child.

When an override that arrives as an output is invalid (or preflight refuses, or the workload
fails), every output and child input derived from it fails with the same
:class:`InferenceComponentError`. Pulumi reports it once; :func:`quiet_duplicates` keeps the
other copies from printing "Future exception was never retrieved" when they are collected.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Any, cast

import pulumi
import pulumi_kubernetes as k8s
from pulumi.output import UNKNOWN

from pulumi_components.awaiting import (
    ClusterAccess,
    Target,
    shared_api_client,
    wait_executor,
    wait_ready,
)
from pulumi_components.errors import InferenceComponentError
from pulumi_components.resolve import TIMEOUT, AwaitOptions, Rendered


@dataclass(frozen=True)
class Outputs:
    """The six registered outputs plus the rendering they come from."""

    url: pulumi.Output[str | None]
    internal_url: pulumi.Output[str]
    namespace: pulumi.Output[str]
    service_name: pulumi.Output[str]
    manifests_json: pulumi.Output[str]
    ready: pulumi.Output[bool | None]
    manifests_source: pulumi.Output[Rendered]


def quiet_duplicates() -> None:
    """On the running event loop, drop the "exception was never retrieved" reports of
    component errors (the program already failed with that error); any other report goes
    to the handler that was there before."""
    try:
        loop = asyncio.get_event_loop()
    except RuntimeError:  # no loop: nothing to install on
        return
    previous = loop.get_exception_handler()
    if getattr(previous, "inference_stacks", False):
        return

    def handler(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        if isinstance(context.get("exception"), InferenceComponentError) and \
                "never retrieved" in str(context.get("message", "")):
            return
        if previous is not None:
            previous(loop, context)
        else:
            loop.default_exception_handler(context)

    handler.inference_stacks = True  # type: ignore[attr-defined]
    loop.set_exception_handler(handler)


def to_json(manifests: list[dict[str, Any]]) -> str:
    """The manifests as compact, key-sorted JSON (the ``manifests_json`` output)."""
    return json.dumps(manifests, separators=(",", ":"), sort_keys=True)


def derive_outputs(first: Rendered, resolved: pulumi.Output[Rendered] | None,
                   serving: pulumi.CustomResource, wait: AwaitOptions,
                   access: ClusterAccess | None, component: str,
                   lb_service: pulumi.CustomResource | None) -> Outputs:
    """Outputs from the construction-time rendering ``first`` or, when overrides are outputs
    (or preflight pins the spec), from ``resolved``."""
    source: pulumi.Output[Rendered] = (
        resolved if resolved is not None else pulumi.Output.from_input(first))
    if resolved is None:
        namespace = pulumi.Output.from_input(first.namespace)
        service_name = pulumi.Output.from_input(first.service_name)
        internal_url = pulumi.Output.from_input(first.internal_url)
        url: pulumi.Output[str | None] = pulumi.Output.from_input(first.url)
        manifests_json = pulumi.Output.from_input(to_json(first.manifests))
    else:
        namespace = resolved.apply(lambda r: r.namespace)
        service_name = resolved.apply(lambda r: r.service_name)
        internal_url = resolved.apply(lambda r: r.internal_url)
        url = resolved.apply(lambda r: r.url)
        manifests_json = resolved.apply(lambda r: to_json(r.manifests))
    if isinstance(lb_service, k8s.core.v1.Service):
        url = lb_service.status.apply(_load_balancer_url(first.internal_url))
    ready = _ready(source, serving, wait, access, component)
    # Applied objects only: the rendering resolves once the serving object was applied.
    applied = pulumi.Output.all(serving.id, source).apply(lambda v: v[1])
    return Outputs(url=url, internal_url=internal_url, namespace=namespace,
                   service_name=service_name, manifests_json=manifests_json, ready=ready,
                   manifests_source=applied)


def _ready(source: pulumi.Output[Rendered], serving: pulumi.CustomResource,
           wait: AwaitOptions, access: ClusterAccess | None,
           component: str) -> pulumi.Output[bool | None]:
    done = serving.id
    if wait.skip:
        return done.apply(lambda _: None)
    if access is None:  # the provider awaited the serving object (pulumi.com/waitFor)
        return done.apply(lambda _: True)
    if pulumi.runtime.is_dry_run():
        # A preview deploys nothing, so there is nothing to wait for: ``ready`` is known only
        # after ``up`` (the provider's dry run may already predict the next generation).
        return done.apply(lambda _: cast("bool | None", UNKNOWN))
    metadata: Any = serving.metadata  # type: ignore[attr-defined]
    generation = metadata.apply(_generation)

    def start(values: list[Any]) -> Any:
        _, rendered, gen, contents = values
        obj = _serving(rendered)
        meta = obj["metadata"]
        target = Target(api_version=obj["apiVersion"], kind=obj["kind"],
                        namespace=meta["namespace"], name=meta["name"],
                        expected_generation=gen,
                        timeout_seconds=float(meta["annotations"][TIMEOUT]))

        def run() -> bool:
            api = shared_api_client(contents, access.path, access.context, component)
            return wait_ready(api, target, component)
        return asyncio.get_running_loop().run_in_executor(wait_executor(), run)

    contents = (pulumi.Output.secret(access.contents) if access.contents is not None
                else None)
    ready: pulumi.Output[bool | None] = pulumi.Output.all(
        done, source, generation, contents).apply(start)
    return pulumi.Output.unsecret(ready)


def _serving(rendered: Rendered) -> dict[str, Any]:
    from inference_core.render import serving_object

    return serving_object(rendered.manifests)


def _generation(metadata: Any) -> int | None:
    value = (metadata.get("generation") if isinstance(metadata, dict)
             else getattr(metadata, "generation", None))
    return int(value) if isinstance(value, int | float) else None


def _load_balancer_url(internal_url: str) -> Any:
    port = internal_url.rsplit(":", 1)[-1]

    def pick(status: Any) -> str | None:
        ingress = getattr(getattr(status, "load_balancer", None), "ingress", None) or []
        for entry in ingress:
            host = getattr(entry, "hostname", None) or getattr(entry, "ip", None)
            if host:
                return f"http://{host}:{port}"
        return None
    return pick
