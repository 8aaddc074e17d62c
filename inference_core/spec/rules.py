"""Cross-field rules: what single-field types cannot express.

``check(doc)`` returns every issue found (never stops at the first), each with the camelCase
path of the field to change, the bad value, what is allowed and a hint.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence

from inference_core.errors import FieldIssue
from inference_core.spec import rules_credentials, rules_k8s
from inference_core.spec.common import (
    Access,
    AccessMode,
    AutoscaleMetric,
    Compute,
    Container,
    Endpoint,
    EnvVar,
    Replicas,
    Security,
    ToolType,
    VllmSettings,
)
from inference_core.spec.kinds import (
    CustomInference,
    CustomSpec,
    DistributedInference,
    DistributedSpec,
    HuggingFaceInference,
    Role,
)
from inference_core.spec.secrets import credential_kind
from inference_core.spec.storage import DataSource

KNATIVE_NAME_MAX = 49
DISTRIBUTED_NAME_MAX = 45
KNATIVE_RESERVED_PORTS = (8008, 8012, 8013, 8022, 9090, 9091)
KNATIVE_RESERVED_ENV = ("PORT", "K_SERVICE", "K_CONFIGURATION", "K_REVISION")
KNATIVE_RESERVED_PATHS = ("/", "/dev", "/dev/log")
INIT_TIMEOUT_RANGE = (5, 3600)
REQUEST_TIMEOUT_RANGE = (5, 600)
NODE_PORT_RANGE = (30000, 32767)
VLLM_PORT = 8000
Doc = CustomInference | HuggingFaceInference | DistributedInference


def check(doc: Doc) -> list[FieldIssue]:
    """All cross-field problems of one document."""
    if isinstance(doc, CustomInference):
        issues = list(_custom(doc))
    elif isinstance(doc, HuggingFaceInference):
        issues = list(_huggingface(doc))
    else:
        issues = list(_distributed(doc))
    issues += rules_k8s.metadata(doc.metadata.labels, doc.metadata.annotations)
    issues += rules_credentials.pull_credential("spec.imagePullCredential", doc.metadata.name,
                                                doc.spec.image_pull_credential)
    model = getattr(doc.spec, "model", None)
    if model is not None:
        issues += rules_credentials.model_token("spec.model", model)
    if isinstance(doc, CustomInference):
        issues += rules_credentials.tool_urls(doc.metadata.name, doc.spec.tools)
    spec = doc.spec
    if isinstance(spec, DistributedSpec):
        storages = [("spec.leader.storage", spec.leader.storage),
                    ("spec.workers.storage", spec.workers.storage)]
    else:
        storages = [("spec.storage", spec.storage)]
    for base, storage in storages:
        issues += rules_k8s.volume_names(doc.metadata.name, base, storage)
    sched = spec.scheduling
    keys: list[tuple[str, str | None]] = [
        (f"spec.scheduling.tolerations[{i}].key", t.key) for i, t in enumerate(sched.tolerations)]
    topology = getattr(sched, "topology", None)
    if topology is not None:
        keys += [(f"spec.scheduling.topology.{field}", getattr(topology, attr))
                 for field, attr in (("requiredLevel", "required_level"),
                                     ("preferredLevel", "preferred_level"),
                                     ("exclusiveKey", "exclusive_key"))]
    issues += rules_k8s.label_keys(keys)
    issues += rules_k8s.literal_credentials(_texts(doc))
    return issues


def _texts(doc: Doc) -> Iterator[tuple[str, str]]:
    """Every free text of a document that reaches a manifest, by path."""
    yield from rules_k8s.map_texts("metadata.labels", doc.metadata.labels)
    yield from rules_k8s.map_texts("metadata.annotations", doc.metadata.annotations)
    spec = doc.spec
    if isinstance(spec, CustomSpec):
        containers: list[tuple[str, Container | Role]] = [("spec", spec)]
    elif isinstance(spec, DistributedSpec):
        containers = [("spec.leader", spec.leader), ("spec.workers", spec.workers)]
    else:
        containers = []
        yield from rules_k8s.env_texts("spec.env", spec.env)
    for base, c in containers:
        yield from rules_k8s.env_texts(f"{base}.env", c.env)
        yield from rules_k8s.list_texts(f"{base}.command", c.command)
        yield from rules_k8s.list_texts(f"{base}.args", c.args)
    vllm = getattr(spec, "vllm", None)
    if vllm is not None:
        yield from rules_k8s.list_texts("spec.vllm.extraArgs", vllm.extra_args)


def _issue(path: str, message: str, value: object = None, allowed: str | None = None,
           hint: str | None = None) -> FieldIssue:
    return FieldIssue(path=path, message=message, value=value, allowed=allowed, hint=hint)


def _name(name: str, limit: int, why: str) -> Iterator[FieldIssue]:
    if len(name) > limit:
        yield _issue("metadata.name", f"is {len(name)} characters long", name,
                     f"at most {limit} characters", why)
    if not name[0].isalpha():
        yield _issue("metadata.name", "must start with a letter (DNS-1035 label)", name,
                     "a lowercase letter first")


def _custom(doc: CustomInference) -> Iterator[FieldIssue]:
    spec = doc.spec
    yield from _name(doc.metadata.name, KNATIVE_NAME_MAX,
                     "Knative adds '-00001' revision and '-private' service suffixes")
    yield from _endpoint(spec.endpoint)
    yield from _tools(doc)
    yield from rules_k8s.tools(doc.metadata.name, spec.tools)
    yield from _container("spec", spec, knative=True)
    yield from _replicas("spec.replicas", spec.replicas)
    yield from _general(doc)


def _huggingface(doc: HuggingFaceInference) -> Iterator[FieldIssue]:
    spec = doc.spec
    yield from _name(doc.metadata.name, KNATIVE_NAME_MAX,
                     "Knative adds '-00001' revision and '-private' service suffixes")
    yield from _access("spec.endpoint.access", spec.endpoint.access)
    yield from _compute("spec.compute", spec.compute)
    yield from _env("spec.env", spec.env, knative=True)
    yield from _storage("spec.storage", spec.storage, spec.compute, knative=True)
    yield from _security("spec.security", spec.security)
    yield from _replicas("spec.replicas", spec.replicas)
    yield from _general(doc)
    gpus = _gpus_per_pod(spec.compute)
    if gpus == 0:
        yield _issue("spec.compute", "vLLM needs a GPU", 0,
                     "gpuDevices >= 1, or a gpuPortion/gpuMemory fraction")
    yield from _vllm(spec.vllm, spec.compute, gpus, pods=1)


def _distributed(doc: DistributedInference) -> Iterator[FieldIssue]:
    spec = doc.spec
    yield from _name(doc.metadata.name, DISTRIBUTED_NAME_MAX,
                     "LeaderWorkerSet names its StatefulSets '<name>-<group>' and hashes them")
    yield from _access("spec.endpoint.access", spec.endpoint.access)
    for role_name, role in (("leader", spec.leader), ("workers", spec.workers)):
        base = f"spec.{role_name}"
        if role.image is None and spec.model is None:
            yield _issue(f"{base}.image", "is required when no model is served", None,
                         "a container image", "or set spec.model to serve a Hugging Face model")
        if spec.model is not None and role.command:
            yield _issue(f"{base}.command", "must be empty when spec.model is set", role.command,
                         "empty (the vLLM command is generated)",
                         "pass extra vLLM flags in spec.vllm.extraArgs")
        yield from _container(base, role, knative=False)
    if spec.model is not None:
        leader_gpus = _gpus_per_pod(spec.leader.compute)
        worker_gpus = _gpus_per_pod(spec.workers.compute)
        if leader_gpus != worker_gpus or leader_gpus < 1 or spec.leader.compute.gpu_portion \
                or spec.leader.compute.gpu_memory:
            yield _issue("spec.workers.compute.gpuDevices",
                         "leader and workers must have the same whole number of GPUs",
                         {"leader": leader_gpus, "workers": worker_gpus},
                         "equal gpuDevices >= 1 on leader and workers (no fractions)",
                         "vLLM uses one tensor-parallel size on every pod")
        else:
            yield from _vllm(spec.vllm, spec.leader.compute, leader_gpus,
                             pods=spec.workers.count + 1)
    r = spec.rollout
    if r.max_surge == 0 and r.max_unavailable == 0:
        yield _issue("spec.rollout.maxUnavailable", "must not be 0 when maxSurge is 0", 0,
                     ">= 1, or maxSurge >= 1", "otherwise the update can never start")
    if r.max_unavailable > spec.replicas:
        yield _issue("spec.rollout.maxUnavailable", "is larger than replicas", r.max_unavailable,
                     f"0..{spec.replicas}")
    if r.partition > spec.replicas:
        yield _issue("spec.rollout.partition", "is larger than replicas", r.partition,
                     f"0..{spec.replicas}")
    topo = spec.scheduling.topology
    if topo and (topo.required_level or topo.preferred_level) and not topo.name:
        yield _issue("spec.scheduling.topology.name", "is required with a placement level", None,
                     "the name of a KAI Topology object")
    yield from _general(doc)


def _endpoint(endpoint: Endpoint) -> Iterator[FieldIssue]:
    if endpoint.port in KNATIVE_RESERVED_PORTS:
        yield _issue("spec.endpoint.port", "is reserved by Knative (queue-proxy, metrics, "
                     "profiling)", endpoint.port,
                     f"any port except {', '.join(map(str, KNATIVE_RESERVED_PORTS))}")
    yield from _access("spec.endpoint.access", endpoint.access)


def _access(path: str, access: Access) -> Iterator[FieldIssue]:
    if access.mode is AccessMode.GROUPS:
        if not access.groups:
            yield _issue(f"{path}.groups", "must list at least one group for mode 'groups'", [],
                         "one or more identity-provider group names")
        for extra in ("users", "service_accounts"):
            if getattr(access, extra):
                yield _issue(f"{path}.{_camel(extra)}", "is only used with mode 'users'",
                             getattr(access, extra), "empty with mode 'groups'",
                             "use mode 'users' to allow users and service accounts")
    elif access.mode is AccessMode.USERS:
        if not access.users and not access.service_accounts:
            yield _issue(f"{path}.users", "must list at least one user or service account for "
                         "mode 'users'", [], "user names or e-mail addresses, or "
                         "serviceAccounts")
        if access.groups:
            yield _issue(f"{path}.groups", "is only used with mode 'groups'", access.groups,
                         "empty with mode 'users'")
    elif access.groups or access.users or access.service_accounts:
        yield _issue(f"{path}.mode", f"mode '{access.mode.value}' ignores groups, users and "
                     "service accounts", access.mode.value, "groups or users",
                     "set mode to 'groups' or 'users'")


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(p.title() for p in rest)


def _tools(doc: CustomInference) -> Iterator[FieldIssue]:
    seen_names: set[str] = set()
    seen_ports = {doc.spec.endpoint.port}
    for i, tool in enumerate(doc.spec.tools):
        path = f"spec.tools[{i}]"
        if tool.name in seen_names:
            yield _issue(f"{path}.name", "is used by another tool", tool.name, "unique names")
        seen_names.add(tool.name)
        if tool.port in seen_ports:
            yield _issue(f"{path}.port", "is already used by the endpoint or another tool",
                         tool.port, "a port not used elsewhere")
        seen_ports.add(tool.port)
        if tool.port in KNATIVE_RESERVED_PORTS:
            yield _issue(f"{path}.port", "is reserved by Knative", tool.port,
                         f"any port except {', '.join(map(str, KNATIVE_RESERVED_PORTS))}")
        if tool.node_port is not None:
            if tool.type is not ToolType.NODE_PORT:
                yield _issue(f"{path}.nodePort", "is only used with type 'node-port'",
                             tool.node_port, "empty for external-url tools")
            lo, hi = NODE_PORT_RANGE
            if not lo <= tool.node_port <= hi:
                yield _issue(f"{path}.nodePort", "is outside the NodePort range", tool.node_port,
                             f"{lo}-{hi}, or empty to allocate one")
        yield from _access(f"{path}.access", tool.access)


def _container(base: str, c: Container | Role, *, knative: bool) -> Iterator[FieldIssue]:
    yield from rules_k8s.image(f"{base}.image", c.image)
    yield from rules_k8s.env_names(f"{base}.env", c.env)
    yield from _env(f"{base}.env", c.env, knative=knative)
    yield from _security(f"{base}.security", c.security)
    yield from _compute(f"{base}.compute", c.compute)
    yield from _storage(f"{base}.storage", c.storage, c.compute, knative=knative)


def _env(base: str, env: Sequence[EnvVar], *, knative: bool) -> Iterator[FieldIssue]:
    names: set[str] = set()
    for i, var in enumerate(env):
        path = f"{base}[{i}]"
        sources = [s for s in (var.value, var.secret_key_ref, var.config_map_key_ref)
                   if s is not None]
        if len(sources) != 1:
            yield _issue(path, "needs exactly one of value, secretKeyRef, configMapKeyRef",
                         var.name, "one source")
        if var.name in names:
            yield _issue(f"{path}.name", "is set twice", var.name, "unique names")
        names.add(var.name)
        if knative and var.name in KNATIVE_RESERVED_ENV:
            yield _issue(f"{path}.name", "is reserved by Knative", var.name,
                         f"any name except {', '.join(KNATIVE_RESERVED_ENV)}")
        if var.value is not None and var.name in ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN") \
                and credential_kind(var.value) is None:
            yield _issue(f"{path}.value", "a token must not be a literal value", "<hidden>",
                         "secretKeyRef", "use spec.model.token or spec.model.tokenSecret")


def _security(base: str, sec: Security) -> Iterator[FieldIssue]:
    custom_set = sec.run_as_uid is not None or sec.run_as_gid is not None or \
        bool(sec.supplemental_groups)
    if sec.ids_from == "image" and custom_set:
        yield _issue(f"{base}.idsFrom", "is 'image' but UID/GID values are set", "image",
                     "custom", "set idsFrom: custom to use runAsUid/runAsGid/supplementalGroups")
    if sec.ids_from == "custom" and sec.run_as_uid is None:
        yield _issue(f"{base}.runAsUid", "is required when idsFrom is 'custom'", None,
                     "a UID >= 0")


def _compute(base: str, c: Compute) -> Iterator[FieldIssue]:
    if c.gpu_portion and c.gpu_memory:
        yield _issue(f"{base}.gpuMemory", "cannot be combined with gpuPortion", None,
                     "one of gpuPortion or gpuMemory")
    if (c.gpu_portion or c.gpu_memory) and c.gpu_devices > 1:
        yield _issue(f"{base}.gpuDevices", "a GPU fraction applies to one device only",
                     c.gpu_devices, "0 or 1 with gpuPortion/gpuMemory",
                     "use whole GPUs (gpuDevices) for more than one device")
    if c.gpu_portion and c.gpu_portion.limit is not None \
            and c.gpu_portion.limit < c.gpu_portion.request:
        yield _issue(f"{base}.gpuPortion.limit", "is below the request", c.gpu_portion.limit,
                     f">= {c.gpu_portion.request:g} (the request)")
    if c.gpu_memory and c.gpu_memory.limit is not None \
            and c.gpu_memory.limit < c.gpu_memory.request:
        yield _issue(f"{base}.gpuMemory.limit", "is below the request", c.gpu_memory.limit,
                     ">= the request")
    for field, res in (("cpu", c.cpu), ("memory", c.memory)):
        if isinstance(res.limit, int) and res.request is not None and res.limit < res.request:
            yield _issue(f"{base}.{field}.limit", "is below the request", res.limit,
                         f">= the request ({res.request})", "or 'auto' for no limit")
    yield from rules_k8s.extended_resources(base, c)
    names: set[str] = set()
    for i, ext in enumerate(c.extended_resources):
        if ext.name in names:
            yield _issue(f"{base}.extendedResources[{i}].name", "is listed twice", ext.name,
                         "unique names")
        names.add(ext.name)
        if ext.name in ("nvidia.com/gpu", "cpu", "memory"):
            yield _issue(f"{base}.extendedResources[{i}].name", "is set by a dedicated field",
                         ext.name, "an extended resource", "use gpuDevices, cpu or memory")


def _storage(base: str, storage: Iterable[DataSource], compute: Compute, *,
             knative: bool) -> Iterator[FieldIssue]:
    names: set[str] = set()
    paths: set[str] = set()
    for i, src in enumerate(storage):
        path = f"{base}[{i}]"
        kinds = [k for k in ("pvc", "config_map", "secret", "volume", "empty_dir", "s3")
                 if getattr(src, k) is not None]
        if src.s3 is not None:
            yield _issue(f"{path}.s3", "S3 data sources are not supported for inference "
                         "workloads", src.s3.bucket,
                         "pvc, configMap, secret, volume or emptyDir",
                         "copy the data into a PVC, or download it at start-up")
        elif len(kinds) != 1:
            yield _issue(path, "needs exactly one source", kinds or None,
                         "one of pvc, configMap, secret, volume, emptyDir")
        if src.name in names:
            yield _issue(f"{path}.name", "is used twice", src.name, "unique names")
        names.add(src.name)
        if src.path in paths:
            yield _issue(f"{path}.path", "is mounted twice", src.path, "unique container paths")
        paths.add(src.path)
        if knative and src.path.rstrip("/") in ("", "/dev", "/dev/log"):
            yield _issue(f"{path}.path", "is reserved by Knative", src.path,
                         "any path except /, /dev and /dev/log")
        if compute.large_shm and src.path.rstrip("/") == "/dev/shm":
            yield _issue(f"{path}.path", "conflicts with compute.largeShm", src.path,
                         "another path", "largeShm already mounts /dev/shm")


def _replicas(base: str, r: Replicas) -> Iterator[FieldIssue]:
    if r.min > r.max:
        yield _issue(f"{base}.min", "is greater than max", r.min, f"0..{r.max}")
    if r.min != r.max and r.autoscaling is None:
        yield _issue(f"{base}.autoscaling", "is required when min and max differ", None,
                     "metric (latency, throughput, concurrency) and target",
                     "or set min equal to max")
    if r.min == r.max and r.autoscaling is not None:
        yield _issue(f"{base}.autoscaling", "has no effect when min equals max", None,
                     "empty", "set max above min to autoscale")
    if r.scale_to_zero_after is not None:
        if r.min != 0:
            yield _issue(f"{base}.scaleToZeroAfter", "needs min 0", r.min, "min: 0",
                         "scale to zero only applies when the minimum is 0")
        if r.scale_to_zero_after > 3600:
            yield _issue(f"{base}.scaleToZeroAfter", "is too long", r.scale_to_zero_after,
                         "0s-1h")
    if r.autoscaling and r.autoscaling.metric is AutoscaleMetric.LATENCY and r.min == 0:
        yield _issue(f"{base}.min", "latency autoscaling cannot scale to zero", 0, ">= 1",
                     "latency uses the HPA class, which keeps at least one replica")


def _general(doc: Doc) -> Iterator[FieldIssue]:
    g = doc.spec.general
    lo, hi = INIT_TIMEOUT_RANGE
    if g.initialization_timeout is not None and not lo <= g.initialization_timeout <= hi:
        yield _issue("spec.general.initializationTimeout", "is out of range",
                     f"{g.initialization_timeout}s", "5s-60m")
    lo, hi = REQUEST_TIMEOUT_RANGE
    if g.request_timeout is not None and not lo <= g.request_timeout <= hi:
        yield _issue("spec.general.requestTimeout", "is out of range", f"{g.request_timeout}s",
                     "5s-10m")


def _gpus_per_pod(c: Compute) -> int:
    if c.gpu_devices:
        return c.gpu_devices
    return 1 if (c.gpu_portion or c.gpu_memory) else 0


def _vllm(v: VllmSettings, compute: Compute, gpus: int, *, pods: int) -> Iterator[FieldIssue]:
    if compute.gpu_portion and v.gpu_memory_utilization is not None \
            and v.gpu_memory_utilization > compute.gpu_portion.request / 100:
        yield _issue("spec.vllm.gpuMemoryUtilization", "is above the GPU fraction",
                     v.gpu_memory_utilization, f"<= {compute.gpu_portion.request / 100:g}",
                     "GPU sharing does not isolate memory; vLLM must stay within its share")
    tp, pp = v.tensor_parallel_size, v.pipeline_parallel_size
    total = gpus * pods
    if gpus and tp is not None and pp is not None and tp * pp != total:
        yield _issue("spec.vllm.tensorParallelSize",
                     "tensorParallelSize x pipelineParallelSize must equal the GPUs of one "
                     "replica", {"tensorParallelSize": tp, "pipelineParallelSize": pp},
                     f"a product of {total} ({gpus} GPU(s) x {pods} pod(s))",
                     "leave one empty to have it derived")
    elif gpus and (tp is None) != (pp is None):
        field, given = ("tensorParallelSize", tp) if tp is not None else \
            ("pipelineParallelSize", pp)
        assert given is not None
        if total % given:
            yield _issue(f"spec.vllm.{field}", "does not divide the GPUs of one replica", given,
                         f"a divisor of {total} ({gpus} GPU(s) x {pods} pod(s))")
    yield from rules_k8s.image("spec.vllm.image", v.image)
    yield from rules_k8s.vllm_extra_args(v.extra_args)
