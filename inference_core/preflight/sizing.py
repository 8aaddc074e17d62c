"""GPU memory arithmetic for serving a model with vLLM (pure functions, no I/O).

Definitions (bytes; GiB = 2**30 bytes in messages, one decimal):

- **weights** = Σ parameters x bytes per parameter. The parameter count comes from the
  repository's safetensors metadata (per dtype); without it, it is estimated from config.json
  (embeddings + per-layer attention/MLP + norms). The bytes per parameter follow what vLLM loads:

  * ``--dtype auto`` (or unset): the checkpoint dtype, except float32 checkpoints, which vLLM
    loads in float16 (2 bytes);
  * ``--dtype float16|bfloat16|half`` → 2, ``float32|float`` → 4;
  * a pre-quantized checkpoint (config.json has ``quantization_config``): the stored bytes;
  * ``--quantization fp8`` on an unquantized checkpoint: 1 byte/param;
  * ``--quantization awq|gptq|...`` (4-bit): 0.5 byte/param x ``FOUR_BIT_OVERHEAD`` (group
    scales, zero points and unquantized embeddings).

- **KV cache per token** = 2 (K and V) x layers x KV heads x head dim x bytes of the KV dtype
  (the model dtype, or 1 byte for an fp8 KV cache). Per GPU with tensor parallel TP and
  pipeline parallel PP, each GPU holds ``ceil(layers / PP)`` layers and ``max(1, kv_heads // TP)``
  KV heads (KV heads are replicated when TP exceeds their number).

- **required per GPU** = weights / (TP x PP) + KV cache of one full-length sequence
  (max_model_len tokens) per GPU + ``ACTIVATION_OVERHEAD_BYTES`` (activations, CUDA graphs,
  NCCL buffers, the non-torch allocations vLLM profiles at start-up). vLLM refuses to start when
  the KV cache cannot hold one sequence of max_model_len, so this is the true minimum.

- **available per GPU** = device memory x ``gpu_memory_utilization`` (vLLM's share of the
  *total* device memory). With a KAI GPU fraction ``f`` (or a ``gpu-memory`` request of M bytes,
  ``f = M / device memory``) the utilisation must be ≤ f, because KAI does not isolate memory;
  available = device memory x min(utilisation, f).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

GIB = 1024**3

#: Fixed per-GPU allowance for activations, CUDA graphs and framework buffers.
ACTIVATION_OVERHEAD_BYTES = 2 * GIB
#: Multiplier on 0.5 byte/param for 4-bit weight quantization (scales, zeros, fp16 embeddings).
FOUR_BIT_OVERHEAD = 1.125
#: Tensor-parallel sizes preflight suggests (vLLM needs TP to divide the attention heads).
TP_CANDIDATES = (1, 2, 4, 8)
#: Largest pipeline-parallel size (number of pods/nodes) preflight suggests.
MAX_SUGGESTED_PP = 16

_DTYPE_BYTES: dict[str, float] = {
    # safetensors dtype names
    "F64": 8, "F32": 4, "BF16": 2, "F16": 2, "F8_E4M3": 1, "F8_E5M2": 1, "F8_E8M0": 1,
    "I64": 8, "I32": 4, "I16": 2, "I8": 1, "U8": 1, "BOOL": 1, "F4": 0.5, "I4": 0.5,
    # torch / vLLM --dtype spellings
    "float64": 8, "double": 8, "float32": 4, "float": 4, "bfloat16": 2, "float16": 2,
    "half": 2, "fp16": 2, "bf16": 2, "fp32": 4, "fp8": 1, "float8": 1, "int8": 1, "int4": 0.5,
    "fp8_e4m3": 1, "fp8_e5m2": 1,
}
_FOUR_BIT_METHODS = frozenset({
    "awq", "awq_marlin", "gptq", "gptq_marlin", "gptq_marlin_24", "marlin", "bitsandbytes",
    "compressed-tensors-w4a16", "gguf", "hqq", "auto-round", "mxfp4",
})
_ONE_BYTE_METHODS = frozenset({"fp8", "fbgemm_fp8", "ptpc_fp8", "modelopt", "experts_int8"})


def gib(n: float) -> str:
    """``n`` bytes as GiB with one decimal, e.g. ``"131.4 GiB"``."""
    return f"{n / GIB:.1f} GiB"


def dtype_bytes(dtype: str) -> float:
    """Bytes per element for a safetensors or torch dtype name (KeyError if unknown)."""
    key = dtype if dtype in _DTYPE_BYTES else dtype.lower()
    return _DTYPE_BYTES[key]


@dataclass(frozen=True)
class Architecture:
    """The numbers of config.json that sizing needs."""

    name: str
    model_type: str | None
    num_layers: int
    num_attention_heads: int
    num_kv_heads: int
    head_dim: int
    hidden_size: int
    intermediate_size: int
    vocab_size: int
    max_position_embeddings: int | None
    torch_dtype: str | None
    tie_word_embeddings: bool
    quantization_method: str | None

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Architecture:
        """Read a (possibly nested, e.g. ``text_config``) HF config.json; ValueError if unusable."""
        archs = config.get("architectures") or []
        name = str(archs[0]) if archs else ""
        text: Mapping[str, Any] = config
        if "num_hidden_layers" not in config and isinstance(config.get("text_config"), Mapping):
            text = config["text_config"]
        try:
            layers = int(text.get("num_hidden_layers") or text["n_layer"])
            hidden = int(text.get("hidden_size") or text["n_embd"])
            heads = int(text.get("num_attention_heads") or text["n_head"])
        except (KeyError, TypeError, ValueError) as e:
            raise ValueError(f"config.json lacks layer/hidden/head sizes ({e})") from e
        kv_heads = int(text.get("num_key_value_heads") or heads)
        head_dim = int(text.get("head_dim") or hidden // heads)
        quant = config.get("quantization_config")
        qmethod = quant.get("quant_method") if isinstance(quant, Mapping) else None
        max_pos = text.get("max_position_embeddings") or config.get("max_position_embeddings")
        return cls(
            name=name,
            model_type=config.get("model_type"),
            num_layers=layers,
            num_attention_heads=heads,
            num_kv_heads=kv_heads,
            head_dim=head_dim,
            hidden_size=hidden,
            intermediate_size=int(text.get("intermediate_size") or 4 * hidden),
            vocab_size=int(text.get("vocab_size") or 0),
            max_position_embeddings=int(max_pos) if max_pos else None,
            torch_dtype=text.get("torch_dtype") or config.get("torch_dtype")
            or text.get("dtype") or config.get("dtype"),
            tie_word_embeddings=bool(config.get("tie_word_embeddings", False)),
            quantization_method=str(qmethod) if qmethod else None,
        )

    def estimated_parameters(self) -> int:
        """Parameter count estimated from the shapes (dense decoder; used without safetensors)."""
        q = self.num_attention_heads * self.head_dim
        kv = self.num_kv_heads * self.head_dim
        attn = self.hidden_size * q + 2 * self.hidden_size * kv + q * self.hidden_size
        mlp = 3 * self.hidden_size * self.intermediate_size
        per_layer = attn + mlp + 2 * self.hidden_size
        embed = self.vocab_size * self.hidden_size * (1 if self.tie_word_embeddings else 2)
        return self.num_layers * per_layer + embed + self.hidden_size


def checkpoint_dtype(parameters: Mapping[str, int], arch: Architecture) -> str:
    """The dominant stored dtype (by parameter count), else config's torch_dtype, else BF16."""
    if parameters:
        return max(parameters.items(), key=lambda kv: kv[1])[0]
    return arch.torch_dtype or "bfloat16"


def weight_bytes(
    parameters: Mapping[str, int], arch: Architecture, *, dtype: str | None,
    quantization: str | None,
) -> tuple[int, str]:
    """Bytes of weights vLLM holds in GPU memory, and the dtype label used (see module doc)."""
    total = sum(parameters.values()) or arch.estimated_parameters()
    if arch.quantization_method and parameters:
        stored = sum(n * dtype_bytes(d) for d, n in parameters.items())
        return int(stored), f"{arch.quantization_method} (pre-quantized)"
    method = (quantization or "").lower()
    if method in _FOUR_BIT_METHODS:
        return int(total * 0.5 * FOUR_BIT_OVERHEAD), f"{method} 4-bit"
    if method in _ONE_BYTE_METHODS:
        return total, f"{method} 8-bit"
    return int(total * model_dtype_bytes(parameters, arch, dtype)), _dtype_label(
        parameters, arch, dtype
    )


def model_dtype_bytes(
    parameters: Mapping[str, int], arch: Architecture, dtype: str | None
) -> float:
    """Bytes per element of the activation/weight dtype vLLM runs in."""
    if dtype and dtype.lower() != "auto":
        return dtype_bytes(dtype)
    stored = checkpoint_dtype(parameters, arch)
    try:
        size = dtype_bytes(stored)
    except KeyError:
        return 2
    return 2 if size >= 4 or size < 2 else size  # auto: fp32 → fp16; quantized → 16-bit compute


def _dtype_label(parameters: Mapping[str, int], arch: Architecture, dtype: str | None) -> str:
    if dtype and dtype.lower() != "auto":
        return dtype.lower()
    stored = checkpoint_dtype(parameters, arch)
    if stored in ("F32", "float32"):
        return "float16 (auto from float32)"
    return {"BF16": "bfloat16", "F16": "float16"}.get(stored, stored)


def kv_bytes_per_token(
    arch: Architecture, kv_element_bytes: float, tp: int = 1, pp: int = 1
) -> int:
    """KV-cache bytes one token takes on one GPU (tp=pp=1: for the whole model)."""
    layers = math.ceil(arch.num_layers / pp)
    kv_heads = max(1, arch.num_kv_heads // tp) if tp > 1 else arch.num_kv_heads
    return int(2 * layers * kv_heads * arch.head_dim * kv_element_bytes)


@dataclass(frozen=True)
class Fit:
    """Memory needed and available on one GPU for one (TP, PP) layout."""

    tensor_parallel_size: int
    pipeline_parallel_size: int
    weights_per_gpu: int
    kv_cache_per_gpu: int
    overhead_per_gpu: int
    required_per_gpu: int
    available_per_gpu: int

    @property
    def fits(self) -> bool:
        """True when the required bytes fit in the available bytes."""
        return self.required_per_gpu <= self.available_per_gpu

    def max_model_len_that_fits(self, kv_per_token_per_gpu: int) -> int:
        """Longest sequence whose KV cache fits beside the weights (0 if the weights do not)."""
        free = self.available_per_gpu - self.weights_per_gpu - self.overhead_per_gpu
        return max(0, free // kv_per_token_per_gpu) if kv_per_token_per_gpu else 0


def fit(
    weights: int, arch: Architecture, kv_element_bytes: float, max_model_len: int,
    tp: int, pp: int, available_per_gpu: int,
) -> Fit:
    """Per-GPU requirement for one layout (see the module docstring for the formula)."""
    weights_per_gpu = math.ceil(weights / (tp * pp))
    kv = kv_bytes_per_token(arch, kv_element_bytes, tp, pp) * max_model_len
    required = weights_per_gpu + kv + ACTIVATION_OVERHEAD_BYTES
    return Fit(tp, pp, weights_per_gpu, kv, ACTIVATION_OVERHEAD_BYTES, required, available_per_gpu)


def smallest_fitting_tp(
    weights: int, arch: Architecture, kv_element_bytes: float, max_model_len: int,
    available_per_gpu: int, *, max_tp: int = 8,
) -> int | None:
    """Smallest TP in ``TP_CANDIDATES`` (≤ max_tp, dividing the heads) that fits with PP=1."""
    for tp in TP_CANDIDATES:
        if tp > max_tp or arch.num_attention_heads % tp:
            continue
        if fit(weights, arch, kv_element_bytes, max_model_len, tp, 1, available_per_gpu).fits:
            return tp
    return None


def smallest_fitting_pp(
    weights: int, arch: Architecture, kv_element_bytes: float, max_model_len: int,
    available_per_gpu: int, *, tp: int,
) -> int | None:
    """Smallest number of pods (PP) of ``tp`` GPUs each that fits, up to MAX_SUGGESTED_PP."""
    for pp in range(1, min(MAX_SUGGESTED_PP, arch.num_layers) + 1):
        if fit(weights, arch, kv_element_bytes, max_model_len, tp, pp, available_per_gpu).fits:
            return pp
    return None
