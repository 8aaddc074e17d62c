"""Cross-field rules about what Kubernetes and vLLM will accept from a spec.

- names and labels: label keys and values, annotation keys and total size, names we derive
  (tool Services ``<name>-<tool>``, volume claims ``<name>-<volume>``), port names,
  extended resources (domain-qualified names, whole-number quantities);
- credentials written as literal text anywhere they would reach a manifest;
- vLLM flags the renderer owns, in every spelling vLLM's argument parser accepts.

Rules that depend on the cluster profile (namespace length, device memory) are checked when
rendering, where the profile is known.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from decimal import Decimal

from inference_core.errors import FieldIssue
from inference_core.spec import k8s_names
from inference_core.spec.common import Compute, EnvVar, Tool
from inference_core.spec.quantities import parse_quantity
from inference_core.spec.secrets import HIDDEN, credential_kind

# Room kept in the serving object's annotations for the ones we add (await hints, timeouts).
RESERVED_ANNOTATION_BYTES = 4 * 1024
# Label keys we set on every object; a user label must not replace them.
OWN_LABEL_PREFIXES = ("inference-stacks.io/", "app.kubernetes.io/managed-by",
                      "leaderworkerset.sigs.k8s.io/", "serving.knative.dev/")

# vLLM flags the renderer owns; users set them through dedicated fields instead.
MANAGED_VLLM_FLAGS = {
    "--port": "spec.endpoint.port (the leader's port; Knative kinds serve on 8000)",
    "--host": "the endpoint",
    "--model": "spec.model.id",
    "--revision": "spec.model.revision",
    "--served-model-name": "spec.model.servedModelName",
    "--tensor-parallel-size": "spec.vllm.tensorParallelSize",
    "--pipeline-parallel-size": "spec.vllm.pipelineParallelSize",
    "--max-model-len": "spec.vllm.maxModelLen",
    "--dtype": "spec.vllm.dtype",
    "--quantization": "spec.vllm.quantization",
    "--gpu-memory-utilization": "spec.vllm.gpuMemoryUtilization",
    "--trust-remote-code": "spec.model.trustRemoteCode",
    "--no-trust-remote-code": "spec.model.trustRemoteCode",
    "--api-key": "spec.endpoint.access",
    "--distributed-executor-backend": "spec.multiNode",
    "--nnodes": "spec.multiNode",
    "--node-rank": "spec.multiNode",
    "--master-addr": "spec.multiNode",
    "--headless": "spec.multiNode",
    "--config": "the spec fields (a config file could set any managed flag)",
}
# Short aliases vLLM defines for managed flags (argparse also accepts ``-tp4`` and ``-tp=4``).
MANAGED_VLLM_SHORT = {"-tp": "spec.vllm.tensorParallelSize",
                      "-pp": "spec.vllm.pipelineParallelSize",
                      "-q": "spec.vllm.quantization"}
# Shortest prefix taken as an abbreviation: vLLM's parser (argparse, allow_abbrev) accepts any
# unambiguous prefix of a long flag; ambiguous ones fail in vLLM anyway.
MIN_ABBREVIATION = 4


def _issue(path: str, message: str, value: object = None, allowed: str | None = None,
           hint: str | None = None) -> FieldIssue:
    return FieldIssue(path=path, message=message, value=value, allowed=allowed, hint=hint)


def metadata(labels: Mapping[str, str], annotations: Mapping[str, str]) -> Iterator[FieldIssue]:
    """Label keys/values and annotation keys/size as the API server checks them."""
    for key, value in labels.items():
        path = f"metadata.labels.{key}"
        problem = k8s_names.qualified_name(key)
        if problem:
            yield _issue(path, f"is not a valid label key: it {problem}", key,
                         k8s_names.QUALIFIED_NAME_HELP)
        elif key.startswith(OWN_LABEL_PREFIXES):
            yield _issue(path, "is a label inference-stacks or its controllers set", key,
                         "another key", "choose a key outside inference-stacks.io/, "
                         "app.kubernetes.io/managed-by, leaderworkerset and Knative")
        problem = k8s_names.label_value(value)
        if problem:
            yield _issue(path, f"is not a valid label value: it {problem}", value,
                         k8s_names.LABEL_VALUE_HELP)
    for key in annotations:
        problem = k8s_names.qualified_name(key)
        if problem:
            yield _issue(f"metadata.annotations.{key}",
                         f"is not a valid annotation key: it {problem}", key,
                         k8s_names.QUALIFIED_NAME_HELP)
    size = k8s_names.annotations_size(annotations)
    limit = k8s_names.TOTAL_ANNOTATION_SIZE - RESERVED_ANNOTATION_BYTES
    if size > limit:
        yield _issue("metadata.annotations", "are too large in total",
                     f"{size:,} bytes", f"at most {limit:,} bytes of keys and values",
                     "Kubernetes refuses objects whose annotations exceed 256 KiB; "
                     f"{RESERVED_ANNOTATION_BYTES:,} bytes are kept for the ones we add")


def label_keys(keys: Iterable[tuple[str, str | None]]) -> Iterator[FieldIssue]:
    """(path, key) pairs naming node labels (tolerations, topology levels)."""
    for path, key in keys:
        if key is None:
            continue
        problem = k8s_names.qualified_name(key)
        if problem:
            yield _issue(path, f"is not a valid label key: it {problem}", key,
                         k8s_names.QUALIFIED_NAME_HELP)


def derived_name(path: str, name: str, what: str, hint: str) -> Iterator[FieldIssue]:
    """A name we build from the workload name must still be a DNS label."""
    problem = k8s_names.dns_label(name)
    if problem:
        yield _issue(path, f"makes the {what} name {name!r} too long" if "long" in problem
                     else f"makes an invalid {what} name", name,
                     "a DNS label of at most 63 characters", hint)


def tools(workload: str, items: Sequence[Tool]) -> Iterator[FieldIssue]:
    """Tool port names (IANA service names) and their Services' names."""
    for i, tool in enumerate(items):
        path = f"spec.tools[{i}].name"
        problem = k8s_names.port_name(tool.name)
        if problem:
            yield _issue(path, f"is not a valid port name: it {problem}", tool.name,
                         "at most 15 lowercase letters, digits and '-', with a letter, "
                         "no '--'")
        yield from derived_name(path, f"{workload}-{tool.name}", "tool Service",
                                "shorten the tool name or the workload name")


def volume_names(workload: str, base: str, storage: Iterable[object]) -> Iterator[FieldIssue]:
    """New volumes become PVCs named ``<workload>-<volume>``."""
    for i, src in enumerate(storage):
        if getattr(src, "volume", None) is not None:
            name = f"{workload}-{getattr(src, 'name', '')}"
            yield from derived_name(f"{base}[{i}].name", name, "volume claim",
                                    "shorten the data source name or the workload name")


def extended_resources(base: str, compute: Compute) -> Iterator[FieldIssue]:
    """Domain-qualified names and whole-number quantities."""
    for i, ext in enumerate(compute.extended_resources):
        path = f"{base}.extendedResources[{i}]"
        problem = k8s_names.extended_resource_name(ext.name)
        if problem and ext.name not in ("cpu", "memory"):
            yield _issue(f"{path}.name", f"is not an extended resource name: it {problem}",
                         ext.name, "a domain-qualified name such as example.com/rdma-ib",
                         "extended resources are advertised by device plugins under their "
                         "vendor's domain")
        try:
            amount = parse_quantity(ext.quantity)
        except ValueError:
            yield _issue(f"{path}.quantity", "is not a Kubernetes quantity", ext.quantity,
                         "a whole number such as 1 or 2")
            continue
        if amount <= 0 or amount != amount.to_integral_value():
            yield _issue(f"{path}.quantity", "must be a whole number greater than 0",
                         ext.quantity, "1, 2, ... (extended resources cannot be shared)")
        elif amount > Decimal(10**6):
            yield _issue(f"{path}.quantity", "is implausibly large", ext.quantity,
                         "at most 1,000,000")


def image(path: str, value: str | None) -> Iterator[FieldIssue]:
    """An image reference Knative's webhook and the kubelet can parse."""
    if value is None:
        return
    problem = k8s_names.image_reference(value)
    if problem:
        yield _issue(path, f"is not a valid image reference: it {problem}", value,
                     k8s_names.IMAGE_HELP)


def env_names(base: str, env: Sequence[EnvVar]) -> Iterator[FieldIssue]:
    """Names the API server accepts (checked here for a precise message)."""
    for i, var in enumerate(env):
        problem = k8s_names.env_name(var.name)
        if problem:
            yield _issue(f"{base}[{i}].name", problem, var.name, k8s_names.ENV_NAME_HELP)


def literal_credentials(texts: Iterable[tuple[str, str]]) -> Iterator[FieldIssue]:
    """(path, text) pairs that hold a credential's literal value."""
    for path, text in texts:
        kind = credential_kind(text)
        if kind:
            yield _issue(path, f"holds what looks like {kind}; a credential must not be a "
                         "literal value", HIDDEN,
                         "a reference to a Secret (secretKeyRef, tokenSecret, a credential)",
                         "put the value in a Secret and reference it; for the model token use "
                         "spec.model.token (stored only in a Secret) or spec.model.tokenSecret")


def env_texts(base: str, env: Sequence[EnvVar]) -> Iterator[tuple[str, str]]:
    """Literal environment values, by path."""
    for i, var in enumerate(env):
        if var.value is not None:
            yield f"{base}[{i}].value", var.value


def list_texts(base: str, items: Sequence[str]) -> Iterator[tuple[str, str]]:
    """Items of a list of strings, by path."""
    for i, item in enumerate(items):
        yield f"{base}[{i}]", item


def map_texts(base: str, items: Mapping[str, str]) -> Iterator[tuple[str, str]]:
    """Values of a string mapping, by path."""
    for key, value in items.items():
        yield f"{base}.{key}", value


def managed_flag(arg: str) -> tuple[str, str] | None:
    """(flag, owning field) when ``arg`` would set a flag the renderer owns in vLLM's parser:
    exact, ``--flag=value``, underscores for dashes, an unambiguous abbreviation
    (``--gpu-memory-util``), or a short alias with its value attached (``-tp4``)."""
    if not arg.startswith("-") or arg == "--":
        return None
    flag = arg.split("=", 1)[0]
    if not flag.startswith("--"):
        for short, owner in MANAGED_VLLM_SHORT.items():
            if flag.startswith(short):
                return short, owner
        return None
    flag = "--" + flag[2:].replace("_", "-")
    if flag in MANAGED_VLLM_FLAGS:
        return flag, MANAGED_VLLM_FLAGS[flag]
    if len(flag) - 2 >= MIN_ABBREVIATION:
        for full, owner in MANAGED_VLLM_FLAGS.items():
            if full.startswith(flag):
                return full, owner
    return None


def vllm_extra_args(args: Sequence[str]) -> Iterator[FieldIssue]:
    """Extra arguments must not set managed flags in any spelling."""
    for j, arg in enumerate(args):
        found = managed_flag(arg)
        if found:
            flag, owner = found
            spelled = "" if arg.split("=", 1)[0] == flag else f" (vLLM reads it as {flag})"
            yield _issue(f"spec.vllm.extraArgs[{j}]", f"is a flag the renderer sets{spelled}",
                         arg, "other vLLM flags", f"set {owner} instead")
