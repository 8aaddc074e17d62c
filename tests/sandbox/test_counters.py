"""Server-side counters for benchmarks and tests: open watches by resource, requests by verb."""

from __future__ import annotations

import http.client
from urllib.parse import urlparse

from inference_sandbox.testing import wait_for


def _get(sb, path):
    """GET ``path``; returns (connection, response) with the headers read."""
    url = urlparse(sb.url)
    conn = http.client.HTTPSConnection(url.hostname, url.port, timeout=5,
                                       context=sb.ssl_context())
    conn.request("GET", path, headers={"Authorization": f"Bearer {sb.config.token}"})
    return conn, conn.getresponse()


def _watch(sb, path):
    conn, response = _get(sb, path + "?watch=true&allowWatchBookmarks=true")
    assert response.status == 200
    return conn


def test_open_watches_by_resource_and_namespace(sandbox_factory):
    sb = sandbox_factory(namespaces=("team-a",), bookmark_interval=0.05)
    assert sb.store.open_watches() == {}
    streams = [
        _watch(sb, "/api/v1/namespaces/team-a/pods"),
        _watch(sb, "/api/v1/namespaces/team-a/pods"),
        _watch(sb, "/apis/serving.knative.dev/v1/namespaces/team-a/services"),
        _watch(sb, "/api/v1/services"),
    ]
    assert sb.store.open_watches() == {
        ("pods", "team-a"): 2,
        ("services.serving.knative.dev", "team-a"): 1,
        ("services", ""): 1,  # core Services, all namespaces
    }
    assert sb.store.watcher_count() == 4
    streams.pop(0).close()
    wait_for(lambda: sb.store.open_watches().get(("pods", "team-a")) == 1, timeout=5,
             what="the closed stream to be noticed")
    for conn in streams:
        conn.close()
    wait_for(lambda: sb.store.open_watches() == {}, timeout=5, what="every stream closed")


def test_request_counts_are_not_bounded_by_the_log(sandbox_factory):
    sb = sandbox_factory(max_request_log=3)
    before = sb.requests.counts()
    for path, status in [("/api/v1/namespaces/default/configmaps", 200)] * 4 + [
            ("/api/v1/namespaces/default/configmaps/missing", 404)]:
        conn, response = _get(sb, path)
        assert response.status == status
        conn.close()
    assert len(sb.requests) == 3
    after = sb.requests.counts()
    assert after["list"] - before.get("list", 0) == 4
    assert after["get"] - before.get("get", 0) == 1
    assert sb.requests.total == sum(before.values()) + 5
    sb.requests.clear()
    assert len(sb.requests) == 0 and sb.requests.counts() == after
