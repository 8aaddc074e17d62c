"""vLLM command lines for one pod (Knative) or a group of pods (LeaderWorkerSet).

The command is always explicit (``vllm serve``, or ``sh -c`` for Ray), so the result does not
depend on the image's entrypoint. The model is the positional argument; vLLM serves on 8000
for Knative kinds and on ``spec.endpoint.port`` (default 8000) for a distributed leader, so the
leader Service, the container port, the probes and ``--port`` always agree.
Tensor parallel = GPUs per pod, pipeline parallel = pods per group unless the user set them.
"""

from __future__ import annotations

import math
import shlex
from dataclasses import dataclass

from inference_core.errors import ProfileError
from inference_core.profile import ClusterProfile
from inference_core.render.refusals import refuse
from inference_core.spec.common import Compute, ModelSource, VllmSettings
from inference_core.spec.quantities import format_memory

VLLM_PORT = 8000
RAY_HELPER = "/vllm-workspace/examples/online_serving/multi-node-serving.sh"


@dataclass(frozen=True)
class Parallelism:
    """Tensor- and pipeline-parallel sizes of one replica."""

    tensor: int
    pipeline: int


def parallelism(vllm: VllmSettings, gpus_per_pod: int, pods: int) -> Parallelism:
    """Fill in TP/PP: TP x PP = GPUs per pod x pods (a fraction counts as one GPU)."""
    total = max(gpus_per_pod, 1) * pods
    tp, pp = vllm.tensor_parallel_size, vllm.pipeline_parallel_size
    if tp is None and pp is None:
        return Parallelism(max(gpus_per_pod, 1), pods)
    if tp is None:
        assert pp is not None
        return Parallelism(max(total // pp, 1), pp)
    if pp is None:
        return Parallelism(tp, max(total // tp, 1))
    return Parallelism(tp, pp)


def memory_utilization(vllm: VllmSettings, compute: Compute, profile: ClusterProfile) -> float:
    """``--gpu-memory-utilization``: the user's value, capped by a GPU fraction's share.

    A user value above a ``gpuMemory`` fraction's share of the profile's device memory is
    refused: GPU sharing does not isolate memory, so vLLM would take other pods' memory.
    """
    share = None
    request = compute.gpu_memory.request if compute.gpu_memory is not None else 0
    if compute.gpu_memory is not None:
        share = request / profile.gpu_memory_per_device
    if vllm.gpu_memory_utilization is not None:
        if share is not None and vllm.gpu_memory_utilization > share + 1e-9:
            refuse(ProfileError(
                "spec.vllm.gpuMemoryUtilization", "", "", "",
                message=f"is above the GPU memory fraction (got "
                f"{vllm.gpu_memory_utilization:g}; allowed: <= {math.floor(share * 1e4) / 1e4:g}"
                f", the gpuMemory request {format_memory(request)} of a "
                f"{format_memory(profile.gpu_memory_per_device)} device in the "
                f"'{profile.name}' profile). Hint: GPU sharing does not isolate memory; vLLM "
                "must stay within its share"))
        return vllm.gpu_memory_utilization
    default = profile.vllm_default_gpu_memory_utilization
    if compute.gpu_portion is not None:
        return min(default, compute.gpu_portion.request / 100)
    if share is not None:
        return min(default, round(share, 4))
    return default


def serve_args(model: ModelSource, vllm: VllmSettings, par: Parallelism,
               utilization: float, port: int = VLLM_PORT) -> list[str]:
    """``vllm serve`` arguments (model first), without multi-node flags."""
    args = [model.id, "--port", str(port)]
    if model.revision:
        args += ["--revision", model.revision]
    if model.served_model_name:
        args += ["--served-model-name", model.served_model_name]
    args += ["--tensor-parallel-size", str(par.tensor)]
    if par.pipeline != 1:
        args += ["--pipeline-parallel-size", str(par.pipeline)]
    args += ["--gpu-memory-utilization", f"{utilization:g}"]
    if vllm.max_model_len is not None:
        args += ["--max-model-len", str(vllm.max_model_len)]
    if vllm.dtype is not None:
        args += ["--dtype", vllm.dtype]
    if vllm.quantization is not None:
        args += ["--quantization", vllm.quantization]
    if model.trust_remote_code:
        args.append("--trust-remote-code")
    args += list(vllm.extra_args)
    return args


def ray_commands(args: list[str], init_timeout: int) -> tuple[list[str], list[str]]:
    """(leader command, worker command) for vLLM on a Ray cluster formed by the group.

    The leader starts the Ray head and waits for ``LWS_GROUP_SIZE`` nodes, then serves; the
    ``&&`` makes a Ray formation failure fail the container (the upstream recipe uses ``;``).
    """
    serve = " ".join(shlex.quote(a) for a in
                     ["vllm", "serve", *args, "--distributed-executor-backend", "ray"])
    leader = (f"bash {RAY_HELPER} leader --ray_cluster_size=$(LWS_GROUP_SIZE) "
              f"--ray_init_timeout={init_timeout} && exec {serve}")
    worker = (f"bash {RAY_HELPER} worker --ray_address=$(LWS_LEADER_ADDRESS) "
              f"--ray_init_timeout={init_timeout}")
    return ["sh", "-c", leader], ["sh", "-c", worker]


def native_args(args: list[str], *, headless: bool) -> list[str]:
    """Arguments for vLLM's own multi-node mode (no Ray); workers run headless."""
    multi = [*args, "--nnodes", "$(LWS_GROUP_SIZE)", "--node-rank", "$(LWS_WORKER_INDEX)",
             "--master-addr", "$(LWS_LEADER_ADDRESS)"]
    return [*multi, "--headless"] if headless else multi


def probes(init_timeout: int, port: int = VLLM_PORT) -> dict[str, dict[str, object]]:
    """Startup probe on /health sized by the initialization timeout; readiness on /v1/models
    (the model is loaded and listed, i.e. the server can serve)."""
    period = 10
    return {
        "startupProbe": {"httpGet": {"path": "/health", "port": port},
                         "periodSeconds": period,
                         "failureThreshold": max(1, -(-init_timeout // period))},
        "readinessProbe": {"httpGet": {"path": "/v1/models", "port": port},
                           "periodSeconds": period, "failureThreshold": 3},
    }
