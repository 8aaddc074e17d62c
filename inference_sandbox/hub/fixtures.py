"""Model repositories and tokens the Hub emulator serves by default.

Config values follow the published config.json files of the models they imitate (layer counts,
heads, KV heads, head dims, vocabularies, context lengths) and the safetensors parameter counts
the Hub reports for them, so the sizing numbers in tests are the real-world ones.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

#: A valid token whose account has accepted every gated model and may read private ones.
TOKEN_GRANTED = "hf_valid_granted"
#: A valid token whose account has not been granted access to gated models.
TOKEN_NO_ACCESS = "hf_valid_no_access"
#: A syntactically plausible token the emulator rejects (401 invalid credentials).
TOKEN_INVALID = "hf_invalid_0000000000"

VALID_TOKENS = {TOKEN_GRANTED: "granted-user", TOKEN_NO_ACCESS: "no-access-user"}

PUBLIC_SMALL = "Qwen/Qwen2.5-0.5B-Instruct"
GATED_8B = "meta-llama/Llama-3.1-8B-Instruct"
LARGE_70B = "NousResearch/Meta-Llama-3.1-70B-Instruct"
PRIVATE_7B = "acme-corp/private-mistral-7b"
UNSUPPORTED = "research-lab/retnet-1.3b"
MISSING = "nobody/does-not-exist"


def fake_sha(*parts: str) -> str:
    """A stable 40-hex commit id derived from ``parts``."""
    return hashlib.sha1("/".join(parts).encode()).hexdigest()


@dataclass
class HubRepo:
    """One model repository: metadata, refs and files."""

    repo_id: str
    config: dict[str, Any]
    parameters: dict[str, int]
    gated: str | bool = False  # False, "auto" or "manual" (as the Hub reports it)
    private: bool = False
    refs: dict[str, str] = field(default_factory=dict)  # branch/tag -> commit sha
    extra_files: dict[str, bytes] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if "main" not in self.refs:
            self.refs["main"] = fake_sha(self.repo_id, "main")

    def resolve(self, revision: str) -> str | None:
        """Commit sha of a branch, tag or (full) sha; None if unknown."""
        if revision in self.refs:
            return self.refs[revision]
        if revision in self.refs.values():
            return revision
        return None

    def files(self) -> dict[str, bytes]:
        """File name -> content (config.json is generated from ``config``)."""
        import json

        files = {"config.json": json.dumps(self.config, indent=2).encode()}
        files.update(self.extra_files)
        return files


def _llama(layers: int, hidden: int, heads: int, kv: int, inter: int, max_pos: int,
           vocab: int = 128256, **extra: Any) -> dict[str, Any]:
    cfg: dict[str, Any] = {
        "architectures": ["LlamaForCausalLM"], "model_type": "llama",
        "hidden_size": hidden, "intermediate_size": inter, "num_hidden_layers": layers,
        "num_attention_heads": heads, "num_key_value_heads": kv, "head_dim": hidden // heads,
        "max_position_embeddings": max_pos, "vocab_size": vocab, "rms_norm_eps": 1e-5,
        "rope_theta": 500000.0, "torch_dtype": "bfloat16", "tie_word_embeddings": False,
        "hidden_act": "silu", "bos_token_id": 128000, "eos_token_id": [128001, 128008, 128009],
    }
    cfg.update(extra)
    return cfg


def default_repos() -> list[HubRepo]:
    """The standard fixture set: public small, gated 8B, 70B, private, unsupported."""
    qwen = {
        "architectures": ["Qwen2ForCausalLM"], "model_type": "qwen2", "hidden_size": 896,
        "intermediate_size": 4864, "num_hidden_layers": 24, "num_attention_heads": 14,
        "num_key_value_heads": 2, "max_position_embeddings": 32768, "vocab_size": 151936,
        "rms_norm_eps": 1e-6, "rope_theta": 1000000.0, "torch_dtype": "bfloat16",
        "tie_word_embeddings": True, "hidden_act": "silu", "sliding_window": 32768,
    }
    mistral = {
        "architectures": ["MistralForCausalLM"], "model_type": "mistral", "hidden_size": 4096,
        "intermediate_size": 14336, "num_hidden_layers": 32, "num_attention_heads": 32,
        "num_key_value_heads": 8, "max_position_embeddings": 32768, "vocab_size": 32768,
        "torch_dtype": "bfloat16", "tie_word_embeddings": False,
    }
    retnet = {
        "architectures": ["RetNetForCausalLM"], "model_type": "retnet", "hidden_size": 2048,
        "intermediate_size": 4096, "num_hidden_layers": 24, "num_attention_heads": 8,
        "max_position_embeddings": 2048, "vocab_size": 50257, "torch_dtype": "float32",
        "auto_map": {"AutoModelForCausalLM": "modeling_retnet.RetNetForCausalLM"},
    }
    return [
        HubRepo(PUBLIC_SMALL, qwen, {"BF16": 494032768},
                refs={"main": fake_sha(PUBLIC_SMALL, "main"),
                      "v1.0": fake_sha(PUBLIC_SMALL, "v1.0")}),
        HubRepo(GATED_8B, _llama(32, 4096, 32, 8, 14336, 131072), {"BF16": 8030261248},
                gated="manual"),
        HubRepo(LARGE_70B, _llama(80, 8192, 64, 8, 28672, 131072), {"BF16": 70553706496}),
        HubRepo(PRIVATE_7B, mistral, {"BF16": 7248023552}, private=True),
        HubRepo(UNSUPPORTED, retnet, {"F32": 1338000000}),
    ]


def synthetic_repos(count: int, *, prefix: str = "bench-org/llama-like") -> list[HubRepo]:
    """``count`` public Llama-like repos of growing size (for the benchmark)."""
    repos = []
    for i in range(count):
        layers = 16 + 2 * i
        hidden = 2048 + 256 * (i % 8)
        cfg = _llama(layers, hidden, 16, 8, hidden * 3, 8192 * (1 + i % 4))
        params = int(layers * (4 * hidden * hidden + 3 * hidden * hidden * 3) + 2 * 128256 * hidden)
        repos.append(HubRepo(f"{prefix}-{i:02d}", cfg, {"BF16": params}))
    return repos
