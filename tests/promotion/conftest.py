"""Fixtures: ``bed`` (sandbox + engine + data plane, see ``cluster.py``) and ``fake_clock``."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from inference_core.rollout.client import KubernetesClient
from inference_core.rollout.engine import Engine
from inference_sandbox.dataplane import DataPlane
from tests.promotion.cluster import Bed


@pytest.fixture
def bed(sandbox_factory: Any, tmp_path: Path) -> Iterator[Bed]:
    """A sandbox with namespace team-a, the engine as its client, and a data plane whose
    servers do not wait (latencies are recorded, not slept: ``time_scale=0``)."""
    sb = sandbox_factory(namespaces=["default", "team-a"])
    sd_file = tmp_path / "targets.json"
    client = KubernetesClient.from_kubeconfig(sb.kubeconfig_path)
    with DataPlane(sb.kubeconfig_path, time_scale=0.0, sd_file=sd_file).running() as plane:
        yield Bed(sb, plane, Engine(client, by="tests"), client, sd_file)
    client.close()


class FakeClock:
    """Monotonic time that moves only when slept on (records every sleep)."""

    def __init__(self) -> None:
        self.t = 1000.0
        self.sleeps: list[float] = []

    def now(self) -> float:
        return self.t

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.t += seconds


@pytest.fixture
def fake_clock() -> FakeClock:
    """A :class:`FakeClock`."""
    return FakeClock()
