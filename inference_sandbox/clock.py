"""A simulated clock: runs ``speed`` times faster than real time and can be advanced by hand."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta


class SimClock:
    """Simulated time for the fake controllers.

    ``now()`` is simulated seconds since the sandbox started. ``advance(s)`` jumps ahead
    (listeners are told, so controllers re-check deadlines at once). Object timestamps use
    real wall-clock time unless ``sim_timestamps`` is set, so clients computing ages from
    ``creationTimestamp`` see sensible values.
    """

    def __init__(self, speed: float = 1.0, *, sim_timestamps: bool = False) -> None:
        if speed <= 0:
            raise ValueError(f"clock speed must be > 0 (got {speed!r})")
        self._speed = speed
        self._start_real = time.monotonic()
        self._start_wall = datetime.now(UTC)
        self._offset = 0.0
        self._lock = threading.Lock()
        self._sim_timestamps = sim_timestamps
        self._listeners: list[Callable[[], None]] = []

    @property
    def speed(self) -> float:
        """Simulated seconds per real second."""
        return self._speed

    def set_speed(self, speed: float) -> None:
        """Change the speed without jumping: simulated time stays continuous."""
        if speed <= 0:
            raise ValueError(f"clock speed must be > 0 (got {speed!r})")
        with self._lock:
            current = self._now_locked()
            self._start_real = time.monotonic()
            self._offset = current
            self._speed = speed
        self._fire()

    def now(self) -> float:
        """Simulated seconds since start."""
        with self._lock:
            return self._now_locked()

    def _now_locked(self) -> float:
        return (time.monotonic() - self._start_real) * self._speed + self._offset

    def advance(self, seconds: float) -> None:
        """Jump simulated time forward by ``seconds``."""
        if seconds < 0:
            raise ValueError(f"cannot move the clock backwards ({seconds!r})")
        with self._lock:
            self._offset += seconds
        self._fire()

    def real_delay(self, sim_seconds: float) -> float:
        """Real seconds until ``sim_seconds`` of simulated time have passed."""
        return max(sim_seconds, 0.0) / self._speed

    def wall(self) -> datetime:
        """Timestamp for objects (real wall clock, or simulated if configured)."""
        if self._sim_timestamps:
            return self._start_wall + timedelta(seconds=self.now())
        return datetime.now(UTC)

    def wall_at(self, sim_seconds: float) -> datetime:
        """Wall-clock timestamp of a past simulated instant."""
        if self._sim_timestamps:
            return self._start_wall + timedelta(seconds=sim_seconds)
        return datetime.now(UTC) - timedelta(seconds=(self.now() - sim_seconds) / self._speed)

    def add_listener(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` (from the caller's thread) whenever the clock is advanced."""
        self._listeners.append(callback)

    def _fire(self) -> None:
        for callback in list(self._listeners):
            callback()


def rfc3339(moment: datetime) -> str:
    """``2024-01-02T03:04:05Z`` like the API server writes timestamps."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
