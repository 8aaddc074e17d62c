"""Entry point of the inference-stacks component provider (run by the Pulumi engine).

Serves ``CustomInference``, ``HuggingFaceInference`` and ``DistributedInference`` with the
schema Pulumi infers from ``pulumi_components.hosted``.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from pulumi.provider.experimental import component_provider_host

from pulumi_components.hosted import HOSTED

PACKAGE = "inference-stacks"


def package_version() -> str:
    """The installed package's version (the provider's schema version)."""
    try:
        return version(PACKAGE)
    except PackageNotFoundError:
        return "0.0.0"


if __name__ == "__main__":
    component_provider_host(HOSTED, name=PACKAGE, version=package_version())
