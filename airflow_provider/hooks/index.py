"""How watched objects are indexed, so one event wakes only the waits it concerns.

Every object in an informer's cache has a few *keys*; a subscriber names the keys it cares
about, and an event wakes only the subscribers of the changed object's keys (old and new).

- serving objects and Knative revisions: ``("name", name)``;
- pods: ``("label", key, value)`` for each of their labels (a wait subscribes to the first
  equality term of its pod selector, e.g. ``serving.knative.dev/revision=app-00002``, and
  filters the few candidates with the full selector);
- events: ``("involved", involvedObject.name)``.

:data:`ANY` subscribes to every object of the informer. Parsed label selectors are cached
(:func:`selector_predicate`), so no selector string is parsed on every wake.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from functools import lru_cache
from typing import Any

Key = tuple[str, ...]

#: The key every object has (a subscriber to it is woken by every event).
ANY: Key = ("*",)


def name_key(name: str) -> Key:
    """Key of the object called ``name``."""
    return ("name", name)


def involved_key(name: str) -> Key:
    """Key of the events about the object called ``name``."""
    return ("involved", name)


def label_key(label: str, value: str) -> Key:
    """Key of the objects labelled ``label=value``."""
    return ("label", label, value)


def keys_of(kind: str, obj: Mapping[str, Any]) -> Iterator[Key]:
    """The keys of one object of ``kind`` (see the module docstring)."""
    meta = obj.get("metadata") or {}
    if kind == "Pod":
        for label, value in (meta.get("labels") or {}).items():
            yield label_key(str(label), str(value))
    elif kind == "Event":
        involved = (obj.get("involvedObject") or obj.get("regarding") or {}).get("name")
        if involved:
            yield involved_key(str(involved))
    else:
        name = meta.get("name")
        if name is not None:
            yield name_key(str(name))


@lru_cache(maxsize=8192)
def selector_predicate(selector: str | None) -> Callable[[Mapping[str, str]], bool]:
    """The (cached) predicate of a label selector; ``None`` matches nothing."""
    if selector is None:
        return _nothing
    from inference_core.readiness import label_selector

    return label_selector(selector)


def _nothing(labels: Mapping[str, str]) -> bool:
    return False


@lru_cache(maxsize=8192)
def selector_key(selector: str | None) -> Key | None:
    """The index key of a selector's first equality term (``a=b``), None without one
    (then subscribe to :data:`ANY` and filter)."""
    for term in (selector or "").split(","):
        term = term.strip()
        if "=" in term and "!=" not in term and "(" not in term:
            label, _, value = term.replace("==", "=").partition("=")
            return label_key(label.strip(), value.strip())
    return None
