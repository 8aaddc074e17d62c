"""pytest fixture ``hub``: a running Hub emulator with the environment pointed at it.

Sets ``HF_ENDPOINT`` to the emulator, turns telemetry off, unsets ``HF_HUB_OFFLINE`` and any
ambient ``HF_TOKEN``, points the Hugging Face cache at the test's tmp dir, and empties the
preflight Hub cache before and after the test (through monkeypatch, so all is undone).

Use it from a conftest: ``from inference_sandbox.hub.pytest_plugin import hub  # noqa: F401``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from inference_sandbox.hub.server import HubEmulator


@pytest.fixture
def hub(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[HubEmulator]:
    """A started :class:`HubEmulator` with the default fixture repositories."""
    from inference_core.preflight.hub import clear_hub_cache

    with HubEmulator().running() as emulator:
        monkeypatch.setenv("HF_ENDPOINT", emulator.url)
        monkeypatch.setenv("HF_HUB_DISABLE_TELEMETRY", "1")
        monkeypatch.setenv("HF_HOME", str(tmp_path / "hf-home"))
        monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf-home" / "hub"))
        for var in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_TOKEN",
                    "HUGGING_FACE_HUB_TOKEN"):
            monkeypatch.delenv(var, raising=False)
        clear_hub_cache()
        try:
            yield emulator
        finally:
            clear_hub_cache()
