"""Watch: initial state, resume by resourceVersion, drops, 410 Gone, bookmarks, limits."""

from __future__ import annotations

import pytest
import urllib3
from kubernetes import watch
from kubernetes.client.rest import ApiException

from tests.sandbox.util import Clients


@pytest.fixture
def k(sandbox):
    return Clients(sandbox)


def _cm(k, name, **labels):
    return k.core.create_namespaced_config_map(
        "default", {"metadata": {"name": name, "labels": labels}, "data": {"v": "1"}})


def _collect(k, *, limit, **kwargs):
    events = []
    w = watch.Watch()
    for event in w.stream(k.core.list_namespaced_config_map, "default", timeout_seconds=5,
                          **kwargs):
        events.append((event["type"], event["object"].metadata.name))
        if len(events) >= limit:
            w.stop()
    return events


def test_watch_without_version_sends_current_state_then_changes(k):
    _cm(k, "a")
    _cm(k, "b")
    events = []
    w = watch.Watch()
    for event in w.stream(k.core.list_namespaced_config_map, "default", timeout_seconds=60):
        events.append((event["type"], event["object"].metadata.name))
        if len(events) == 2:  # the current state has arrived: now change it
            k.core.patch_namespaced_config_map("a", "default", {"data": {"v": "2"}})
            k.core.delete_namespaced_config_map("b", "default")
        if len(events) >= 4:
            w.stop()
    assert events == [("ADDED", "a"), ("ADDED", "b"), ("MODIFIED", "a"), ("DELETED", "b")]


def test_watch_from_a_resource_version_replays_history(k):
    rv = _cm(k, "a").metadata.resource_version
    _cm(k, "b")
    k.core.patch_namespaced_config_map("a", "default", {"data": {"v": "3"}})
    assert _collect(k, limit=2, resource_version=rv) == [("ADDED", "b"), ("MODIFIED", "a")]


def test_label_selector_turns_transitions_into_added_and_deleted(k):
    _cm(k, "a", app="x")
    rv = k.core.list_namespaced_config_map("default").metadata.resource_version
    k.core.patch_namespaced_config_map("a", "default", {"metadata": {"labels": {"app": "y"}}})
    k.core.patch_namespaced_config_map("a", "default", {"metadata": {"labels": {"app": "x"}}})
    assert _collect(k, limit=2, resource_version=rv, label_selector="app=x") == [
        ("DELETED", "a"), ("ADDED", "a")]


def test_too_old_resource_version_is_410_gone(k, sandbox):
    rv = _cm(k, "a").metadata.resource_version
    _cm(k, "b")
    sandbox.call(sandbox.store.compact)
    response = k.core.list_namespaced_config_map("default", watch=True, resource_version=rv,
                                                 _preload_content=False)
    line = response.readline()
    assert b'"type":"ERROR"' in line and b'"code":410' in line and b'"reason":"Expired"' in line
    assert b"too old resource version" in line
    w = watch.Watch()
    with pytest.raises(ApiException) as err:
        # The official client retries once after a 410, then raises.
        for _ in w.stream(k.core.list_namespaced_config_map, "default", resource_version=rv,
                          timeout_seconds=2):
            pass
    assert err.value.status == 410


def test_history_ring_is_bounded(sandbox_factory):
    k = Clients(sandbox_factory(watch_history=3))
    rv = _cm(k, "c0").metadata.resource_version
    for i in range(1, 6):
        _cm(k, f"c{i}")
    response = k.core.list_namespaced_config_map("default", watch=True, resource_version=rv,
                                                 _preload_content=False)
    assert b'"code":410' in response.readline()


def test_dropped_stream_is_resumed_from_the_last_version(k, sandbox):
    _cm(k, "a")
    sandbox.faults.drop_watch(after_events=1, resource="configmaps", mode="reset")
    seen = []
    last_rv = None
    w = watch.Watch()
    with pytest.raises((urllib3.exceptions.ProtocolError, ValueError)):
        for event in w.stream(k.core.list_namespaced_config_map, "default", timeout_seconds=5):
            seen.append(event["object"].metadata.name)
            last_rv = event["object"].metadata.resource_version
            _cm(k, "b") if len(seen) == 1 else None
    assert seen == ["a"]
    # Resume where we stopped: only what happened after "a" arrives.
    resumed = _collect(k, limit=1, resource_version=last_rv)
    assert resumed == [("ADDED", "b")]


def test_clean_close_makes_the_client_reconnect(k, sandbox):
    _cm(k, "a")
    rule = sandbox.faults.drop_watch(after_events=1, resource="configmaps", mode="close")
    events = []
    w = watch.Watch()
    for event in w.stream(k.core.list_namespaced_config_map, "default"):
        events.append((event["type"], event["object"].metadata.name))
        if len(events) == 1:  # the server closes this stream after one event
            _cm(k, "b")
        if len(events) == 2:
            w.stop()
    assert events == [("ADDED", "a"), ("ADDED", "b")]
    assert rule.hits == 1
    assert len(sandbox.requests.find("watch", resource="configmaps")) == 2


def test_bookmarks_carry_the_current_version(k, sandbox_factory):
    sb = sandbox_factory(bookmark_interval=0.05)
    k = Clients(sb)
    _cm(k, "a")
    response = k.core.list_namespaced_config_map(
        "default", watch=True, allow_watch_bookmarks=True, timeout_seconds=1,
        _preload_content=False)
    lines = [response.readline() for _ in range(2)]
    assert b'"type":"ADDED"' in lines[0]
    assert b'"type":"BOOKMARK"' in lines[1]
    assert f'"resourceVersion":"{sb.store.resource_version}"'.encode() in lines[1]


def _raw_get(sb, path):
    import http.client
    from urllib.parse import urlparse

    url = urlparse(sb.url)
    conn = http.client.HTTPSConnection(url.hostname, url.port, timeout=5,
                                       context=sb.ssl_context())
    conn.request("GET", path, headers={"Authorization": f"Bearer {sb.config.token}"})
    return conn, conn.getresponse()


def test_watch_connections_are_limited(sandbox_factory):
    sb = sandbox_factory(max_watches=1)
    path = "/api/v1/namespaces/default/configmaps?watch=true&timeoutSeconds=3"
    first_conn, first = _raw_get(sb, path)
    assert first.status == 200
    second_conn, second = _raw_get(sb, path)
    assert second.status == 429
    assert second.getheader("Retry-After") == "1"
    assert b'"reason":"TooManyRequests"' in second.read()
    assert [r.status for r in sb.requests.find("watch")] == [200, 429]
    first_conn.close()
    second_conn.close()


def test_expire_watch_fault_sends_error_event(k, sandbox):
    sandbox.faults.expire_watch(resource="configmaps")
    response = k.core.list_namespaced_config_map("default", watch=True, resource_version="1",
                                                 _preload_content=False)
    assert b'"code":410' in response.readline()
