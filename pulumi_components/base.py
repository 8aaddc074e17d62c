"""The shared ComponentResource behind CustomInference, HuggingFaceInference and
DistributedInference: spec → render → one child per manifest → outputs."""

from __future__ import annotations

import base64
import functools
import inspect
import json
from typing import Any, ClassVar

import pulumi
import pulumi_kubernetes as k8s

from inference_core.profile import ClusterProfile, load_profile
from inference_core.render import HF_TOKEN_KEY
from inference_core.spec.loader import AnySpec
from pulumi_components import children
from pulumi_components.args import InferenceArgs
from pulumi_components.errors import InferenceComponentError, translated
from pulumi_components.preflight import run_preflight
from pulumi_components.resolve import (
    AwaitOptions,
    Overrides,
    Rendered,
    apply_overrides,
    check_overrides,
    load_spec,
    render_workload,
    spec_token,
)

PACKAGE = "inference-stacks"
# Stands in for an existing-Secret name that is an unknown output at construction time.
PENDING_SECRET = "pending-secret-name"
OVERRIDE_ARGS = ("namespace", "image", "image_tag", "hf_token_secret_name")
OUTPUT_NAMES = ("url", "internal_url", "namespace", "service_name", "manifests_json", "ready")
"""The outputs every component registers (the stack state holds these)."""


def _is_output(value: Any) -> bool:
    return isinstance(value, pulumi.Output) or inspect.isawaitable(value)


def _b64(token: str) -> dict[str, str]:
    return {HF_TOKEN_KEY: base64.b64encode(token.encode()).decode()}


class InferenceComponent(pulumi.ComponentResource):
    """Base class; use one of the three concrete components.

    Outputs (see docs/pulumi.md for how each is derived):

    - ``url``: external URL (None when cluster-local). Knative: ``http://<name>.<ns>.<domain>``
      from the profile; distributed with ``exposure: external``: the leader Service's load
      balancer address once assigned. Resolves after the serving object was applied (and,
      unless ``skip_await``, became ready), so resources using it wait for the workload.
    - ``internal_url``: in-cluster URL (``.svc.cluster.local``), same dependency as ``url``.
    - ``namespace``: namespace of every object.
    - ``service_name``: the Knative Service, or the LWS leader Service (``<name>-leader``).
    - ``manifests``: the rendered objects as applied (the token Secret's value redacted);
      registered in the stack state as ``manifests_json`` (the same list as JSON text: one
      string instead of a deep object keeps state small and registration cheap).
    - ``ready``: True once Pulumi's await on the serving object passed (``condition=Ready`` /
      ``condition=Available``); None with ``skip_await`` (readiness not observed).
    """

    KIND: ClassVar[str] = ""

    url: pulumi.Output[str | None]
    internal_url: pulumi.Output[str]
    namespace: pulumi.Output[str]
    service_name: pulumi.Output[str]
    manifests_json: pulumi.Output[str]
    ready: pulumi.Output[bool | None]
    resources: dict[str, pulumi.CustomResource]
    """Children by role (``service``/``lws``, ``leader``, ``hf-token``, ``pvc-<v>`` ...)."""
    serving: pulumi.CustomResource
    """The Knative Service or LeaderWorkerSet child."""

    def __init__(self, name: str, args: InferenceArgs | dict[str, Any] | Any,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        build(self, self.KIND, name, args, opts)

    @functools.cached_property
    def manifests(self) -> pulumi.Output[list[dict[str, Any]]]:
        """The rendered objects as applied, token Secret redacted (built on first access:
        an output over the whole list costs a walk of every manifest)."""
        return self._manifests_source.apply(lambda r: r.manifests)


def build(component: Any, kind: str, name: str, args: InferenceArgs | dict[str, Any] | Any,
          opts: pulumi.ResourceOptions | None) -> None:
    """Initialise ``component`` (a ``pulumi.ComponentResource`` whose class name is its type
    token's last part) as the component deploying one ``kind`` spec: register it, create one
    child per rendered manifest, set and register the outputs."""
    type_token = f"{PACKAGE}:index:{type(component).__name__}"
    where = f'{type_token} "{name}"'
    a = InferenceArgs.coerce(args, where)
    with translated(where):
        spec = load_spec(a.spec, kind, a.spec_name, where)
        profile = load_profile(a.profile)
    dynamic = {k: getattr(a, k) for k in OVERRIDE_ARGS if _is_output(getattr(a, k))}
    plain = {k: None if k in dynamic else getattr(a, k) for k in OVERRIDE_ARGS}
    overrides = Overrides(namespace=plain["namespace"], image=plain["image"],
                          image_tag=plain["image_tag"],
                          token_secret=plain["hf_token_secret_name"]
                          or (PENDING_SECRET if "hf_token_secret_name" in dynamic else None),
                          token_from_input=a.hf_token is not None)
    wait = AwaitOptions(skip=a.skip_await, timeout_seconds=a.timeout_seconds)
    check_overrides(overrides, where)
    with translated(where):
        first = render_workload(spec, profile, overrides, wait, where)
    pulumi.ComponentResource.__init__(component, type_token, name, None, opts)

    token = a.hf_token if a.hf_token is not None else spec_token(spec)
    resolved: pulumi.Output[Rendered] | None = None
    if dynamic or a.preflight:
        def overridden(values: list[Any]) -> tuple[AnySpec, ClusterProfile]:
            ov = Overrides(**{**overrides.__dict__, **{
                ("token_secret" if k == "hf_token_secret_name" else k): v
                for k, v in zip(dynamic, values, strict=True)}})
            check_overrides(ov, where)
            with translated(where):
                return apply_overrides(spec, profile, ov, where)

        def render_final(target: tuple[AnySpec, ClusterProfile]) -> Rendered:
            with translated(where):
                out = render_workload(*target, Overrides(), wait, where)
            if [children.gvk(m) for m in out.manifests] != \
                    [children.gvk(m) for m in first.manifests]:
                raise InferenceComponentError(where, "an override changed which objects "
                                              "the workload has")
            return out

        target: pulumi.Output[tuple[AnySpec, ClusterProfile]]
        if a.preflight:
            def checked(values: list[Any]) -> tuple[AnySpec, ClusterProfile]:
                final, final_profile = overridden(values[2:])
                return run_preflight(final, final_profile, values[0], values[1],
                                     a.allow_capacity_dip, where), final_profile
            target = pulumi.Output.unsecret(pulumi.Output.all(
                token, a.kubeconfig, *dynamic.values()).apply(checked))
        else:
            target = pulumi.Output.all(*dynamic.values()).apply(overridden)
        # The dynamic values ride along so the result keeps their secretness.
        resolved = pulumi.Output.all(target, *dynamic.values()).apply(
            lambda v: render_final(v[0]))

    provider = a.provider
    if a.kubeconfig is not None:
        provider = k8s.Provider(f"{name}-provider", kubeconfig=a.kubeconfig,
                                opts=pulumi.ResourceOptions(parent=component))

    component.resources = {}
    before: list[pulumi.Resource] = []
    serving: pulumi.CustomResource | None = None
    for index, obj in enumerate(first.manifests):
        key = children.gvk(obj)
        role = children.role_of(obj, spec.metadata.name)
        if role in component.resources:
            raise InferenceComponentError(where, f"two rendered objects map to the child "
                                          f"name {name}-{role!r}")
        metadata: Any = obj["metadata"]
        body: Any = obj.get("spec")
        if resolved is not None:
            metadata = resolved.apply(_part(index, "metadata"))
            body = resolved.apply(_part(index, "spec"))
        child_opts = pulumi.ResourceOptions(parent=component, provider=provider)
        if key == ("v1", "Secret"):
            if token is None:
                raise InferenceComponentError(where, f"rendered Secret {role!r} has no "
                                              "value to set")
            metadata = (metadata.apply(children.secret_metadata)
                        if isinstance(metadata, pulumi.Output)
                        else children.secret_metadata(metadata))
            body = pulumi.Output.secret(token).apply(_b64)
            child_opts.additional_secret_outputs = children.SECRET_OUTPUTS
        if key in children.SERVING:
            child_opts.depends_on = before
            if a.rollout_owner == "pipeline":
                child_opts.ignore_changes = children.PIPELINE_OWNED_FIELDS[key]
        child = children.create(f"{name}-{role}", key, metadata, body, child_opts)
        component.resources[role] = child
        if key in children.SERVING:
            serving = child
        elif serving is None:
            before.append(child)
    assert serving is not None  # render always returns a serving object
    component.serving = serving
    leader = component.resources.get("leader")
    external_leader = leader is not None and any(
        children.role_of(m, spec.metadata.name) == "leader"
        and m["spec"].get("type") == "LoadBalancer" for m in first.manifests)
    _set_outputs(component, first, resolved, a.skip_await, leader if external_leader else None)


def _set_outputs(component: Any, first: Rendered, resolved: pulumi.Output[Rendered] | None,
                 skip_await: bool, lb_service: pulumi.CustomResource | None) -> None:
    done = component.serving.id
    component.ready = done.apply(lambda _: None if skip_await else True)
    if resolved is None:
        component.namespace = pulumi.Output.from_input(first.namespace)
        component.service_name = pulumi.Output.from_input(first.service_name)
        component.internal_url = pulumi.Output.from_input(first.internal_url)
        url: pulumi.Output[str | None] = pulumi.Output.from_input(first.url)
        component._manifests_source: pulumi.Output[Any] = done.apply(lambda _: first)
        component.manifests_json = pulumi.Output.from_input(_to_json(first.manifests))
    else:
        component.namespace = resolved.apply(lambda r: r.namespace)
        component.service_name = resolved.apply(lambda r: r.service_name)
        component.internal_url = resolved.apply(lambda r: r.internal_url)
        url = resolved.apply(lambda r: r.url)
        component._manifests_source = resolved
        component.manifests_json = resolved.apply(lambda r: _to_json(r.manifests))
    if isinstance(lb_service, k8s.core.v1.Service):
        url = lb_service.status.apply(_load_balancer_url(first.internal_url))
    component.url = url
    component.register_outputs({name: getattr(component, name) for name in OUTPUT_NAMES})


def _to_json(manifests: list[dict[str, Any]]) -> str:
    return json.dumps(manifests, separators=(",", ":"), sort_keys=True)


def _part(index: int, field: str) -> Any:
    def pick(rendered: Rendered) -> Any:
        return rendered.manifests[index].get(field)
    return pick


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
