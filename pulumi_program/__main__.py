"""The inference-stacks Pulumi program: stack config → specs → components → exports.

Config (namespace ``inference-stacks``; see Pulumi.dev.yaml and docs/pulumi.md):
``specs`` (YAML paths, relative to the project root), ``inlineSpecs`` (spec documents),
``profile`` (built-in name or YAML path), ``skipAwait``, ``rolloutOwner``, ``hfToken``
(secret, for model specs that name no token), ``preflight`` (run the model preflight and
deploy the pinned spec; the program uses the default provider, so the capacity check, which
needs a kubeconfig argument, is left to programs using the components directly). The
cluster comes from ``kubernetes:kubeconfig`` / ``kubernetes:context`` (the default Kubernetes
provider) or ``$KUBECONFIG``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pulumi

from inference_core.spec import load_specs, parse_documents
from pulumi_components import InferenceArgs, inference

ROOT = Path(__file__).resolve().parent.parent  # the folder holding Pulumi.yaml


def project_path(value: str) -> str:
    """A path from config, relative to the project root unless absolute."""
    path = Path(value)
    return str(path if path.is_absolute() else ROOT / path)


def camel(name: str) -> str:
    """``llama-8b`` → ``llama8b``; ``iris-classifier`` → ``irisClassifier``."""
    head, *rest = name.split("-")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


config = pulumi.Config("inference-stacks")
profile = config.get("profile") or "default"
if profile.endswith((".yaml", ".yml")):
    profile = project_path(profile)
specs = [s for path in config.get_object("specs") or [] for s in load_specs(project_path(path))]
specs += parse_documents(list(config.get_object("inlineSpecs") or []), source="inlineSpecs")
hf_token = config.get_secret("hfToken")

workloads: dict[str, Any] = {}
for spec in specs:
    model = getattr(spec.spec, "model", None)
    needs_token = model is not None and model.token is None and model.token_secret is None
    component = inference(spec.metadata.name, InferenceArgs(
        spec=spec, profile=profile, skip_await=config.get_bool("skipAwait") or False,
        rollout_owner=config.get("rolloutOwner") or "stack",  # type: ignore[arg-type]
        hf_token=hf_token if needs_token else None,
        preflight=config.get_bool("preflight") or False))
    key = camel(spec.metadata.name)
    pulumi.export(f"{key}Url", component.url)
    pulumi.export(f"{key}InternalUrl", component.internal_url)
    pulumi.export(f"{key}Namespace", component.namespace)
    pulumi.export(f"{key}ServiceName", component.service_name)
    pulumi.export(f"{key}Ready", component.ready)
    workloads[spec.metadata.name] = {"kind": spec.kind, "url": component.url,
                                     "internalUrl": component.internal_url,
                                     "namespace": component.namespace,
                                     "serviceName": component.service_name}
pulumi.export("workloads", workloads)
