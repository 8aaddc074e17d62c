"""The shared construction behind CustomInference, HuggingFaceInference and
DistributedInference: spec → render → one child per manifest → outputs.

One typed path: :func:`construct` validates, registers the component under its class-constant
type token, creates the children and returns a :class:`Built`; the Python classes
(:class:`InferenceComponent`) and the hosted ones (``pulumi_components.hosted``) both call it
and then :func:`finish`, which sets and registers the declared outputs.
"""

from __future__ import annotations

import base64
import functools
import inspect
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol

import pulumi
import pulumi_kubernetes as k8s

from inference_core.profile import ClusterProfile, load_profile
from inference_core.render import HF_TOKEN_KEY
from inference_core.spec.loader import AnySpec
from pulumi_components import children
from pulumi_components.args import InferenceArgs
from pulumi_components.awaiting import ClusterAccess, cluster_access
from pulumi_components.errors import InferenceComponentError, translated
from pulumi_components.outputs import Outputs, derive_outputs, quiet_duplicates
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
"""The outputs every component declares and registers (the stack state holds these)."""


def type_token(class_name: str) -> str:
    """``inference-stacks:index:<class_name>``."""
    return f"{PACKAGE}:index:{class_name}"


def _is_output(value: Any) -> bool:
    return isinstance(value, pulumi.Output) or inspect.isawaitable(value)


def _b64(token: str) -> dict[str, str]:
    return {HF_TOKEN_KEY: base64.b64encode(token.encode()).decode()}


@dataclass(frozen=True)
class Built:
    """What :func:`construct` made: children by role, the serving child, the outputs."""

    resources: dict[str, pulumi.CustomResource]
    serving: pulumi.CustomResource
    outputs: Outputs


class HasOutputs(Protocol):
    """A component class declaring the six registered outputs."""

    url: pulumi.Output[str | None]
    internal_url: pulumi.Output[str]
    namespace: pulumi.Output[str]
    service_name: pulumi.Output[str]
    manifests_json: pulumi.Output[str]
    ready: pulumi.Output[bool | None]

    def register_outputs(self, outputs: Any) -> None: ...


class InferenceComponent(pulumi.ComponentResource):
    """Base class; use one of the three concrete components.

    ``TYPE_TOKEN`` is a class constant, so a user subclass keeps the component's type token
    (and therefore its URNs); ``KIND`` is the spec kind the class deploys.

    Outputs (see docs/pulumi.md for how each is derived):

    - ``url``: external URL (None when cluster-local). Knative: ``http://<name>.<ns>.<domain>``
      from the profile; distributed with ``exposure: external``: the leader Service's load
      balancer address once assigned.
    - ``internal_url``: in-cluster URL (``.svc.cluster.local``).
    - ``namespace``: namespace of every object.
    - ``service_name``: the Knative Service, or the LWS leader Service (``<name>-leader``).
    - ``manifests_json``: the rendered objects as applied (the token Secret's value redacted),
      as JSON text (``manifests``: the same list as an output of Python objects).
    - ``ready``: True once the workload serves, judged by the core's readiness definition
      (``inference_core.readiness``) on the live objects; ``pulumi up`` fails fast with the
      kubelet's reason when it cannot. None with ``skip_await`` (readiness not observed).
    """

    TYPE_TOKEN: ClassVar[str] = ""
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
        if not self.TYPE_TOKEN or not self.KIND:
            raise TypeError(f"{type(self).__name__} is abstract: use CustomInference, "
                            "HuggingFaceInference or DistributedInference (or subclass one)")
        where = f'{self.TYPE_TOKEN} "{name}"'
        built = construct(self, self.TYPE_TOKEN, self.KIND, name,
                          InferenceArgs.coerce(args, where), opts)
        self.resources = built.resources
        self.serving = built.serving
        self._manifests_source = built.outputs.manifests_source
        finish(self, built)

    @functools.cached_property
    def manifests(self) -> pulumi.Output[list[dict[str, Any]]]:
        """The rendered objects as applied, token Secret redacted (built on first access:
        an output over the whole list costs a walk of every manifest)."""
        return self._manifests_source.apply(lambda r: r.manifests)


def finish(component: HasOutputs, built: Built) -> None:
    """Set the declared outputs on ``component`` and register them."""
    out = built.outputs
    component.url = out.url
    component.internal_url = out.internal_url
    component.namespace = out.namespace
    component.service_name = out.service_name
    component.manifests_json = out.manifests_json
    component.ready = out.ready
    component.register_outputs({name: getattr(out, name) for name in OUTPUT_NAMES})


def construct(component: pulumi.ComponentResource, token_type: str, kind: str, name: str,
              a: InferenceArgs, opts: pulumi.ResourceOptions | None) -> Built:
    """Register ``component`` as ``token_type`` deploying one ``kind`` spec and create its
    children. Everything that can be checked on plain values is checked before anything is
    registered; errors name the component and the field."""
    where = f'{token_type} "{name}"'
    with translated(where):
        profile = load_profile(a.profile)
        spec = load_spec(a.spec, kind, a.spec_name, where, profile)
    dynamic = {k: getattr(a, k) for k in OVERRIDE_ARGS if _is_output(getattr(a, k))}
    plain = {k: None if k in dynamic else getattr(a, k) for k in OVERRIDE_ARGS}
    overrides = Overrides(namespace=plain["namespace"], image=plain["image"],
                          image_tag=plain["image_tag"],
                          token_secret=plain["hf_token_secret_name"]
                          or (PENDING_SECRET if "hf_token_secret_name" in dynamic else None),
                          token_from_input=a.hf_token is not None)
    access: ClusterAccess | None = None if a.skip_await else cluster_access(a)
    wait = AwaitOptions(skip=a.skip_await, timeout_seconds=a.timeout_seconds,
                        by_component=access is not None)
    check_overrides(overrides, where)
    with translated(where):
        first = render_workload(spec, profile, overrides, wait, where)
    pulumi.ComponentResource.__init__(component, token_type, name, None, opts)
    quiet_duplicates()

    # A kubeconfig given as a string is a credential: keep it secret in the state.
    kubeconfig = None if a.kubeconfig is None else pulumi.Output.secret(a.kubeconfig)
    token = a.hf_token if a.hf_token is not None else spec_token(spec)
    resolved = _resolved(spec, profile, overrides, dynamic, wait, first, token, kubeconfig,
                         a, where)

    provider = a.provider
    if kubeconfig is not None:
        provider = k8s.Provider(f"{name}-provider", kubeconfig=kubeconfig,
                                opts=pulumi.ResourceOptions(parent=component))

    resources: dict[str, pulumi.CustomResource] = {}
    before: list[pulumi.Resource] = []
    serving: pulumi.CustomResource | None = None
    for index, obj in enumerate(first.manifests):
        key = children.gvk(obj)
        role = children.role_of(obj, spec.metadata.name)
        if role in resources:
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
        resources[role] = child
        if key in children.SERVING:
            serving = child
        elif serving is None:
            before.append(child)
    if serving is None:  # the renderer always returns a serving object
        raise InferenceComponentError(where, "the rendered workload has no serving object")
    leader = resources.get("leader")
    external_leader = leader is not None and any(
        children.role_of(m, spec.metadata.name) == "leader"
        and m["spec"].get("type") == "LoadBalancer" for m in first.manifests)
    outputs = derive_outputs(first, resolved, serving, wait, access, where,
                             leader if external_leader else None)
    return Built(resources=resources, serving=serving, outputs=outputs)


def _resolved(spec: AnySpec, profile: ClusterProfile, overrides: Overrides,
              dynamic: dict[str, Any], wait: AwaitOptions, first: Rendered, token: Any,
              kubeconfig: pulumi.Output[str] | None, a: InferenceArgs, where: str,
              ) -> pulumi.Output[Rendered] | None:
    """The final rendering as an output, when it depends on outputs or on preflight
    (None: the construction-time rendering ``first`` is final)."""
    if not dynamic and not a.preflight:
        return None

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
            token, kubeconfig, *dynamic.values()).apply(checked))
    else:
        target = pulumi.Output.all(*dynamic.values()).apply(overridden)
    # The dynamic values ride along so the result keeps their secretness.
    return pulumi.Output.all(target, *dynamic.values()).apply(
        lambda v: render_final(v[0]))


def _part(index: int, field: str) -> Any:
    def pick(rendered: Rendered) -> Any:
        return rendered.manifests[index].get(field)
    return pick
