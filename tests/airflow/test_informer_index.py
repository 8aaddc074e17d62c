"""The informer wakes only the subscribers of the changed object, reads its cache by key,
and parses each label selector once."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from airflow_provider.hooks import index
from airflow_provider.hooks.index import ANY, involved_key, label_key, name_key
from airflow_provider.hooks.informer import Informer, InformerStats, Subscription
from airflow_provider.hooks.resources import EVENT, KNATIVE_SERVICE, POD

REV = "serving.knative.dev/revision"


def informer_of(resource: Any) -> Informer:
    return Informer(hook=None, resource=resource, namespace="ns",  # type: ignore[arg-type]
                    stats=InformerStats())


def subscriber(inf: Informer, *keys: index.Key) -> Subscription:
    sub = Subscription(inf, asyncio.Event(), frozenset(keys))
    inf.add(sub)
    return sub


def pod(name: str, revision: str, phase: str = "Pending") -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "resourceVersion": "1",
                         "labels": {REV: revision, "app": "x"}},
            "status": {"phase": phase}}


def event(name: str, involved: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Event", "metadata": {"name": name},
            "involvedObject": {"kind": "Pod", "name": involved}, "reason": "Pulling"}


def test_an_event_wakes_only_the_subscribers_of_its_object() -> None:
    inf = informer_of(KNATIVE_SERVICE)
    subs = {n: subscriber(inf, name_key(n)) for n in ("a", "b", "c")}
    everyone = subscriber(inf, ANY)
    inf._apply_event({"type": "MODIFIED",
                      "object": {"metadata": {"name": "b", "resourceVersion": "7"}}})
    assert {n for n, s in subs.items() if s.wake.is_set()} == {"b"}
    assert everyone.wake.is_set()
    assert inf.lookup(name_key("b"))[0]["metadata"]["resourceVersion"] == "7"


def test_pods_are_indexed_by_label_value_and_a_relabel_wakes_both_sides() -> None:
    inf = informer_of(POD)
    old = subscriber(inf, label_key(REV, "app-00001"))
    new = subscriber(inf, label_key(REV, "app-00002"))
    other = subscriber(inf, label_key(REV, "zzz-00001"))
    inf._apply_event({"type": "ADDED", "object": pod("p1", "app-00001")})
    assert old.wake.is_set() and not new.wake.is_set() and not other.wake.is_set()
    old.wake.clear()
    inf._apply_event({"type": "MODIFIED", "object": pod("p1", "app-00002")})
    assert old.wake.is_set() and new.wake.is_set() and not other.wake.is_set()
    assert inf.lookup(label_key(REV, "app-00001")) == []
    assert [p["metadata"]["name"] for p in inf.lookup(label_key(REV, "app-00002"))] == ["p1"]
    new.wake.clear()
    inf._apply_event({"type": "DELETED", "object": pod("p1", "app-00002")})
    assert new.wake.is_set() and inf.lookup(label_key(REV, "app-00002")) == []


def test_events_are_indexed_by_involved_object_and_interest_can_move() -> None:
    inf = informer_of(EVENT)
    sub = subscriber(inf, involved_key("p1"))
    inf._apply_event({"type": "ADDED", "object": event("p2.1", "p2")})
    assert not sub.wake.is_set()
    sub.interest([involved_key("p2")])
    inf._apply_event({"type": "ADDED", "object": event("p2.2", "p2")})
    assert sub.wake.is_set()
    assert sorted(e["metadata"]["name"] for e in sub.lookup(involved_key("p2"))) == [
        "p2.1", "p2.2"]
    inf.discard(sub)
    assert inf.by_key == {}


def test_a_burst_wakes_each_waiter_once_per_own_event_not_per_event() -> None:
    """1,000 Services, one waiter each: a burst of 1,000 events sets each wake exactly
    for its own object (counted through a recording event)."""

    class Counting(asyncio.Event):
        def __init__(self) -> None:
            super().__init__()
            self.sets = 0

        def set(self) -> None:
            self.sets += 1
            super().set()

    inf = informer_of(KNATIVE_SERVICE)
    subs = []
    for i in range(1000):
        sub = Subscription(inf, Counting(), frozenset({name_key(f"s{i}")}))
        inf.add(sub)
        subs.append(sub)
    for i in range(1000):
        inf._apply_event({"type": "MODIFIED", "object": {"metadata": {"name": f"s{i}"}}})
    assert [s.wake.sets for s in subs] == [1] * 1000  # type: ignore[attr-defined]


@pytest.mark.parametrize(("selector", "key"), [
    ("serving.knative.dev/revision=app-00002", label_key(REV, "app-00002")),
    ("a==b,c!=d", label_key("a", "b")),
    ("x in (1,2),leaderworkerset.sigs.k8s.io/name=r", label_key(
        "leaderworkerset.sigs.k8s.io/name", "r")),
    ("x notin (1,2)", None),
    (None, None),
])
def test_selector_key_is_the_first_equality_term(selector: str | None,
                                                 key: index.Key | None) -> None:
    assert index.selector_key(selector) == key


def test_selector_predicates_are_parsed_once() -> None:
    index.selector_predicate.cache_clear()
    for _ in range(100):
        assert index.selector_predicate("a=b,c in (d,e)")({"a": "b", "c": "e"})
        assert not index.selector_predicate("a=b,c in (d,e)")({"a": "b", "c": "f"})
    info = index.selector_predicate.cache_info()
    assert (info.misses, info.hits) == (1, 199)
    assert not index.selector_predicate(None)({"a": "b"})
