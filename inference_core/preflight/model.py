"""Model preflight: does this model revision exist, may we read it, and does it fit the GPUs?

:func:`check_model` takes three plain records the caller builds from its spec —
:class:`ModelRequest` (what to serve), :class:`GpuBudget` (what the pod(s) get) and
:class:`VllmSettings` (engine flags) — and returns a :class:`ModelReport` with the resolved
commit sha (to pin with ``--revision``), the sizing numbers and the tensor/pipeline parallel
sizes to render. It raises :class:`~inference_core.errors.ModelNotFound`,
:class:`~inference_core.errors.ModelAccessDenied`, :class:`~inference_core.errors.HubUnavailable`,
:class:`~inference_core.errors.UnsupportedModel` or :class:`~inference_core.errors.ModelDoesNotFit`.

The memory formula is documented in :mod:`inference_core.preflight.sizing`.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field
from typing import Any

from inference_core.errors import ModelDoesNotFit, UnsupportedModel
from inference_core.preflight import architectures, sizing
from inference_core.preflight.hub import HubClient, HubModel
from inference_core.preflight.sizing import Architecture, gib

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ModelRequest:
    """The model to serve. ``token`` is a secret: never in repr, logs or messages."""

    model_id: str
    revision: str | None = None
    token: str | None = field(default=None, repr=False)


@dataclass(frozen=True)
class GpuBudget:
    """GPUs one replica gets.

    ``gpus_per_pod`` whole devices per pod (or, with ``fraction``/``memory_request_bytes``, the
    number of devices the fraction is taken from — KAI ``gpu-fraction-num-devices``);
    ``pods_per_replica`` is the LWS group size (1 for single-pod services).
    ``memory_per_device_bytes`` comes from the cluster profile's GPU type.
    """

    gpus_per_pod: int
    memory_per_device_bytes: int
    pods_per_replica: int = 1
    fraction: float | None = None
    memory_request_bytes: int | None = None
    gpu_memory_utilization: float = 0.9

    @property
    def total_devices(self) -> int:
        """Devices one replica spans (TP x PP must equal this)."""
        return self.gpus_per_pod * self.pods_per_replica


@dataclass(frozen=True)
class VllmSettings:
    """The vLLM engine flags that change memory use; None means "vLLM's default"."""

    vllm_image: str
    max_model_len: int | None = None
    dtype: str | None = None
    quantization: str | None = None
    kv_cache_dtype: str | None = None
    tensor_parallel_size: int | None = None
    pipeline_parallel_size: int | None = None


@dataclass(frozen=True)
class ModelReport:
    """Outcome of a passed model preflight. Byte figures are per GPU unless named total."""

    model_id: str
    revision: str
    commit_sha: str
    architecture: str
    parameter_count: int
    weight_dtype: str
    weight_bytes: int
    kv_bytes_per_token: int
    max_model_len: int
    kv_cache_bytes: int
    overhead_bytes_per_gpu: int
    required_bytes_per_gpu: int
    available_bytes_per_gpu: int
    tensor_parallel_size: int
    pipeline_parallel_size: int
    gated: bool
    vllm_image: str
    architectures_list: str | None
    notes: tuple[str, ...] = ()

    def vllm_args(self) -> list[str]:
        """Flags to render: the pinned commit and the (possibly filled-in) parallel sizes."""
        return [
            "--revision", self.commit_sha,
            "--tensor-parallel-size", str(self.tensor_parallel_size),
            "--pipeline-parallel-size", str(self.pipeline_parallel_size),
        ]

    def summary(self) -> str:
        """One human line for CLI/log output."""
        return (
            f"{self.model_id}@{self.commit_sha[:12]} {self.architecture}: "
            f"{self.parameter_count / 1e9:.2f}B params ({self.weight_dtype}) = "
            f"{gib(self.weight_bytes)}; KV {gib(self.kv_cache_bytes)} for {self.max_model_len} "
            f"tokens; TP={self.tensor_parallel_size} PP={self.pipeline_parallel_size}: "
            f"{gib(self.required_bytes_per_gpu)} of {gib(self.available_bytes_per_gpu)} per GPU"
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-able dict (contains no secret)."""
        data = asdict(self)
        data["notes"] = list(self.notes)
        return data


_default_client: HubClient | None = None


def _client_for_env() -> HubClient:
    """A shared client for the current ``HF_ENDPOINT`` (re-created when it changes)."""
    global _default_client
    client = HubClient()
    if _default_client is None or _default_client.endpoint != client.endpoint:
        _default_client = client
    return _default_client


def check_model(
    req: ModelRequest, budget: GpuBudget, vllm: VllmSettings, *, hub: HubClient | None = None,
) -> ModelReport:
    """Run the model preflight (Hub lookup, architecture check, memory fit); see module doc."""
    client = hub or _client_for_env()
    meta = client.fetch(req.model_id, req.revision, req.token)
    return assess(meta, budget, vllm)


def assess(meta: HubModel, budget: GpuBudget, vllm: VllmSettings) -> ModelReport:
    """The offline part of :func:`check_model`, from already-fetched Hub metadata."""
    where = f"model {meta.model_id!r} (revision {meta.revision!r}, commit {meta.commit_sha[:12]})"
    notes: list[str] = []
    archs_key = _check_architecture(meta, vllm, where, notes)
    try:
        arch = Architecture.from_config(meta.config)
    except ValueError as e:
        raise UnsupportedModel(f"{where}: cannot size the model: {e}") from e
    weights, weight_dtype = sizing.weight_bytes(
        meta.parameters, arch, dtype=vllm.dtype, quantization=vllm.quantization
    )
    params = sum(meta.parameters.values()) or arch.estimated_parameters()
    if not meta.parameters:
        notes.append("no safetensors metadata on the Hub: parameter count estimated from "
                     "config.json")
    kv_elem = _kv_element_bytes(meta, arch, vllm)
    max_len = vllm.max_model_len or arch.max_position_embeddings or 4096
    if vllm.max_model_len is None:
        notes.append(f"max_model_len not set: vLLM uses the model's {max_len} tokens")
    available = _available_per_gpu(budget, where)
    tp, pp = _parallel_sizes(budget, vllm, arch, where, notes)
    layout = sizing.fit(weights, arch, kv_elem, max_len, tp, pp, available)
    if not layout.fits:
        raise ModelDoesNotFit(_no_fit_message(where, budget, weights, arch, kv_elem, max_len,
                                              layout))
    return ModelReport(
        model_id=meta.model_id, revision=meta.revision, commit_sha=meta.commit_sha,
        architecture=arch.name, parameter_count=params, weight_dtype=weight_dtype,
        weight_bytes=weights, kv_bytes_per_token=sizing.kv_bytes_per_token(arch, kv_elem),
        max_model_len=max_len,
        kv_cache_bytes=sizing.kv_bytes_per_token(arch, kv_elem) * max_len,
        overhead_bytes_per_gpu=layout.overhead_per_gpu,
        required_bytes_per_gpu=layout.required_per_gpu, available_bytes_per_gpu=available,
        tensor_parallel_size=tp, pipeline_parallel_size=pp, gated=meta.gated,
        vllm_image=vllm.vllm_image, architectures_list=archs_key, notes=tuple(notes),
    )


def _check_architecture(
    meta: HubModel, vllm: VllmSettings, where: str, notes: list[str]
) -> str | None:
    archs = [str(a) for a in (meta.config.get("architectures") or [])]
    supported = architectures.supported_architectures(vllm.vllm_image)
    key = architectures.resolve_image(vllm.vllm_image)
    if supported is None:
        notes.append(
            f"no supported-architecture list for image {vllm.vllm_image!r} (lists exist for "
            f"{', '.join(architectures.known_images())}): architecture {archs or '?'} not checked"
        )
        return None
    if not archs:
        raise UnsupportedModel(f"{where}: config.json names no architecture; the image "
                               f"{key} serves transformers-style models with `architectures`")
    if not any(a in supported for a in archs):
        raise UnsupportedModel(
            f"{where}: architecture {', '.join(archs)} is not supported by {key} (list in "
            "inference_core/data/vllm_architectures.yaml); use a model with a supported "
            "architecture (e.g. LlamaForCausalLM, Qwen2ForCausalLM, MistralForCausalLM) or an "
            "image that supports it"
        )
    return key


def _kv_element_bytes(meta: HubModel, arch: Architecture, vllm: VllmSettings) -> float:
    kv = (vllm.kv_cache_dtype or "auto").lower()
    if kv.startswith("fp8"):
        return 1
    if kv not in ("auto", ""):
        return sizing.dtype_bytes(kv)
    return sizing.model_dtype_bytes(meta.parameters, arch, vllm.dtype)


def _available_per_gpu(budget: GpuBudget, where: str) -> int:
    util = budget.gpu_memory_utilization
    share: float | None = budget.fraction
    what = f"GPU fraction {budget.fraction}"
    if share is None and budget.memory_request_bytes is not None:
        share = budget.memory_request_bytes / budget.memory_per_device_bytes
        what = (f"GPU memory request {gib(budget.memory_request_bytes)} "
                f"({share:.2f} of a {gib(budget.memory_per_device_bytes)} device)")
    if share is not None and util > share + 1e-9:
        raise ModelDoesNotFit(
            f"{where}: gpu_memory_utilization {util} exceeds the {what}; KAI does not isolate "
            f"GPU memory, so vLLM would take memory other pods own; set gpu_memory_utilization "
            f"to at most {share:.2f}"
        )
    return int(budget.memory_per_device_bytes * util)


def _parallel_sizes(
    budget: GpuBudget, vllm: VllmSettings, arch: Architecture, where: str, notes: list[str],
) -> tuple[int, int]:
    tp = vllm.tensor_parallel_size or budget.gpus_per_pod
    pp = vllm.pipeline_parallel_size or budget.pods_per_replica
    if vllm.tensor_parallel_size is None:
        notes.append(f"tensor_parallel_size filled in: {tp} (GPUs per pod)")
    if vllm.pipeline_parallel_size is None:
        notes.append(f"pipeline_parallel_size filled in: {pp} (pods per replica)")
    if tp * pp > budget.total_devices:
        raise ModelDoesNotFit(
            f"{where}: tensor_parallel_size {tp} x pipeline_parallel_size {pp} = {tp * pp} GPUs, "
            f"but the spec gives {budget.total_devices} ({budget.gpus_per_pod} per pod x "
            f"{budget.pods_per_replica} pods)"
        )
    if arch.num_attention_heads % tp:
        raise ModelDoesNotFit(
            f"{where}: tensor_parallel_size {tp} does not divide the {arch.num_attention_heads} "
            f"attention heads; use one of {_tp_options(arch)}"
        )
    return tp, pp


def _tp_options(arch: Architecture) -> str:
    return ", ".join(str(t) for t in sizing.TP_CANDIDATES if arch.num_attention_heads % t == 0)


def _no_fit_message(
    where: str, budget: GpuBudget, weights: int, arch: Architecture, kv_elem: float,
    max_len: int, layout: sizing.Fit,
) -> str:
    tp, pp = layout.tensor_parallel_size, layout.pipeline_parallel_size
    head = (
        f"{where} does not fit: needs {gib(layout.required_per_gpu)} per GPU with TP={tp} PP={pp} "
        f"(weights {gib(layout.weights_per_gpu)} + KV cache {gib(layout.kv_cache_per_gpu)} for "
        f"{max_len} tokens + overhead {gib(layout.overhead_per_gpu)}), but each GPU offers "
        f"{gib(layout.available_per_gpu)} ({gib(budget.memory_per_device_bytes)} x "
        f"gpu_memory_utilization {budget.gpu_memory_utilization})"
    )
    hints: list[str] = []
    avail = layout.available_per_gpu
    if budget.fraction is None and budget.memory_request_bytes is None:
        best_tp = sizing.smallest_fitting_tp(weights, arch, kv_elem, max_len, avail)
        if best_tp is not None and best_tp > tp * pp:
            hints.append(f"use tensor parallel size {best_tp} ({best_tp} GPUs per pod)")
        per_node = max(budget.gpus_per_pod, 1)
        pp_needed = sizing.smallest_fitting_pp(weights, arch, kv_elem, max_len, avail,
                                               tp=per_node)
        if (best_tp is None or budget.pods_per_replica > 1) and pp_needed is not None:
            hints.append(
                f"distributed inference with {pp_needed} pods x {per_node} GPUs "
                f"(pipeline parallel size {pp_needed}, LWS size {pp_needed})"
            )
    else:
        hints.append("request whole GPUs instead of a fraction")
    kv_tok = sizing.kv_bytes_per_token(arch, kv_elem, tp, pp)
    max_fit_len = layout.max_model_len_that_fits(kv_tok)
    if max_fit_len >= 256:
        hints.append(f"lower max_model_len to at most {max_fit_len}")
    if not hints:
        hints.append("use GPUs with more memory or a quantized model")
    return head + "; options: " + "; or ".join(hints)
