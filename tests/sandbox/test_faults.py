"""Fault injection: scripted 5xx, 429 + Retry-After, slow responses, conflicts, rates."""

from __future__ import annotations

import json
import time

import pytest
from kubernetes.client.rest import ApiException

from tests.sandbox.util import Clients


@pytest.fixture
def k(sandbox):
    k = Clients(sandbox)
    k.core.create_namespaced_config_map("default", {"metadata": {"name": "cm"}})
    return k


def test_scripted_503_on_chosen_request(k, sandbox):
    rule = sandbox.faults.fail(503, verb="patch", resource="configmaps", after=1, times=1)
    k.core.patch_namespaced_config_map("cm", "default", {"data": {"a": "1"}})  # first: passes
    with pytest.raises(ApiException) as err:
        k.core.patch_namespaced_config_map("cm", "default", {"data": {"a": "2"}})
    assert err.value.status == 503
    body = json.loads(err.value.body)
    assert body["kind"] == "Status" and body["reason"] == "ServiceUnavailable"
    k.core.patch_namespaced_config_map("cm", "default", {"data": {"a": "3"}})  # budget spent
    assert rule.hits == 1 and rule.seen == 2  # exhausted rules stop counting
    statuses = [r.status for r in sandbox.requests.find("patch", resource="configmaps")]
    assert statuses == [200, 503, 200]


def test_429_carries_retry_after(k, sandbox):
    sandbox.faults.throttle(retry_after=7, verb="create", resource="configmaps")
    with pytest.raises(ApiException) as err:
        k.core.create_namespaced_config_map("default", {"metadata": {"name": "x"}})
    assert err.value.status == 429
    assert err.value.headers["Retry-After"] == "7"
    assert json.loads(err.value.body)["details"] == {"retryAfterSeconds": 7}


def test_official_client_retries_idempotent_429_by_itself(k, sandbox):
    # urllib3 (inside the official client) honours Retry-After for GET; the log shows both.
    sandbox.faults.throttle(retry_after=0, verb="get", resource="configmaps", times=1)
    assert k.core.read_namespaced_config_map("cm", "default").metadata.name == "cm"
    assert [r.status for r in sandbox.requests.find("get", resource="configmaps")] == [429, 200]


def test_slow_responses(k, sandbox):
    sandbox.faults.slow(0.3, verb="get", resource="configmaps", times=1)
    start = time.monotonic()
    k.core.read_namespaced_config_map("cm", "default")
    assert time.monotonic() - start >= 0.3
    start = time.monotonic()
    k.core.read_namespaced_config_map("cm", "default")
    assert time.monotonic() - start < 0.3


def test_conflicts_at_a_seeded_rate(k, sandbox):
    sandbox.faults.conflict(verb="update", resource="configmaps", rate=0.5, times=None)
    outcomes = []
    for i in range(20):
        cm = k.core.read_namespaced_config_map("cm", "default")
        cm.data = {"i": str(i)}
        try:
            k.core.replace_namespaced_config_map("cm", "default", cm)
            outcomes.append(200)
        except ApiException as e:
            outcomes.append(e.status)
    assert set(outcomes) == {200, 409}
    assert 4 <= outcomes.count(409) <= 16


def test_injected_gone_for_lists_and_clear(k, sandbox):
    sandbox.faults.fail(410, verb="list", resource="configmaps", times=None)
    with pytest.raises(ApiException) as err:
        k.core.list_namespaced_config_map("default")
    assert err.value.status == 410 and json.loads(err.value.body)["reason"] == "Expired"
    sandbox.faults.clear()
    assert k.core.list_namespaced_config_map("default").items
