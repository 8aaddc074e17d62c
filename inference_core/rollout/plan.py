"""Plan value types: the writes a planner asks for and what to wait on afterwards."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from inference_core.rollout.history import Entry, History
from inference_core.rollout.kube import ObjectKey


@dataclass(frozen=True)
class Apply:
    """Server-side apply ``manifest`` as our field manager (``force`` takes fields over)."""

    manifest: dict[str, Any]
    force: bool = False

    @property
    def key(self) -> ObjectKey:
        """Which object."""
        return ObjectKey.of(self.manifest)

    def describe(self) -> str:
        """``apply Kind ns/name`` (never the content: Secrets carry values)."""
        return f"apply {self.key}{' (force)' if self.force else ''}"


@dataclass(frozen=True)
class Delete:
    """Delete one object (404 counts as done); ``propagation`` Foreground waits for
    dependents in the API server; ``uid`` is a precondition when known."""

    key: ObjectKey
    propagation: str = "Foreground"
    uid: str | None = None

    def describe(self) -> str:
        """``delete Kind ns/name``."""
        return f"delete {self.key}"


Write = Apply | Delete


@dataclass(frozen=True)
class WaitTarget:
    """What to wait on after the writes: the serving object ``key`` judged with
    ``readiness.evaluate`` at the generation the serving write returned (the executor fills
    ``expected_generation``), within ``timeout_s``. ``stale_pod_hashes``: LeaderWorkerSet
    ``template-revision-hash`` values of pods that predate a template change (a rollback's
    old failing pods must not fail the new template; see ``engine.stale_pod_hashes``)."""

    key: ObjectKey
    timeout_s: float
    expected_generation: int | None = None
    expected_revision: str | None = None
    fail_fast: bool = True
    stale_pod_hashes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Plan:
    """The writes of one step, in order (the history write comes first, so a crash after
    any object write still finds the entry), the history after the step, the entry the
    step applies (``None`` for delete), what to wait on, and notes for the user."""

    action: str
    rollout_id: str
    writes: tuple[Write, ...]
    history: History
    entry: Entry | None = None
    wait: WaitTarget | None = None
    notes: tuple[str, ...] = field(default_factory=tuple)

    def describe(self) -> list[str]:
        """One line per write (safe to log)."""
        return [w.describe() for w in self.writes]
