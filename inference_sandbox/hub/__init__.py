"""Local emulator of the Hugging Face Hub API (tests and demo): server, fixtures, pytest plugin."""

from __future__ import annotations

from inference_sandbox.hub.fixtures import (
    GATED_8B,
    LARGE_70B,
    MISSING,
    PRIVATE_7B,
    PUBLIC_SMALL,
    TOKEN_GRANTED,
    TOKEN_INVALID,
    TOKEN_NO_ACCESS,
    UNSUPPORTED,
    HubRepo,
    default_repos,
    fake_sha,
    synthetic_repos,
)
from inference_sandbox.hub.server import Faults, HubEmulator, RequestRecord

__all__ = [
    "GATED_8B",
    "LARGE_70B",
    "MISSING",
    "PRIVATE_7B",
    "PUBLIC_SMALL",
    "TOKEN_GRANTED",
    "TOKEN_INVALID",
    "TOKEN_NO_ACCESS",
    "UNSUPPORTED",
    "Faults",
    "HubEmulator",
    "HubRepo",
    "RequestRecord",
    "default_repos",
    "fake_sha",
    "synthetic_repos",
]
