"""Collecting profile refusals instead of stopping at the first one.

Render code calls ``refuse(ProfileError(...))``: outside ``collecting()`` it raises at once;
inside, the refusal is recorded and rendering carries on, so one pass finds every field the
cluster profile cannot run. The partial manifests of such a pass are thrown away.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from inference_core.errors import ProfileError

_found: ContextVar[list[ProfileError] | None] = ContextVar("profile_refusals", default=None)


def refuse(error: ProfileError) -> None:
    """Raise ``error``, or record it when a ``collecting()`` block is active."""
    found = _found.get()
    if found is None:
        raise error
    if not any(str(e) == str(error) for e in found):
        found.append(error)


@contextmanager
def collecting() -> Iterator[list[ProfileError]]:
    """Record refusals in the yielded list instead of raising them."""
    token = _found.set([])
    try:
        found = _found.get()
        assert found is not None
        yield found
    finally:
        _found.reset(token)
