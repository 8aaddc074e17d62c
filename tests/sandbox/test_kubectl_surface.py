"""What kubectl needs beyond CRUD: TLS, Tables, OpenAPI, protobuf bodies, access reviews."""

from __future__ import annotations

import base64
import http.client
import json
import ssl
from typing import Any
from urllib.parse import urlparse

import pytest
import yaml

from inference_sandbox.tables import human_duration, jsonpath
from inference_sandbox.testing import wait_for
from tests.helpers import require_shared
from tests.sandbox.util import ksvc

TABLE = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;" \
        "g=meta.k8s.io,application/json"
PROTOBUF = "application/vnd.kubernetes.protobuf"


def request(sb: Any, method: str, path: str, body: Any = None, *,
            headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    """One raw HTTPS request with the sandbox token (status, headers, body)."""
    url = urlparse(sb.url)
    conn = http.client.HTTPSConnection(url.hostname, url.port, timeout=30,
                                       context=sb.ssl_context())
    data = body if isinstance(body, bytes) or body is None else json.dumps(body).encode()
    sent = {"Authorization": f"Bearer {sb.config.token}",
            "Content-Type": "application/json", **(headers or {})}
    try:
        conn.request(method, path, body=data, headers=sent)
        response = conn.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        conn.close()


def test_kubeconfig_trusts_only_the_generated_ca(sandbox):
    with open(sandbox.kubeconfig_path, encoding="utf-8") as handle:
        config = yaml.safe_load(handle)
    cluster = config["clusters"][0]["cluster"]
    assert cluster["server"] == sandbox.url and sandbox.url.startswith("https://127.0.0.1:")
    assert base64.b64decode(cluster["certificate-authority-data"]) == sandbox.ca_pem
    assert config["users"][0]["user"]["token"] == sandbox.config.token
    url = urlparse(sandbox.url)
    untrusted = http.client.HTTPSConnection(url.hostname, url.port, timeout=10,
                                            context=ssl.create_default_context())
    with pytest.raises(ssl.SSLCertVerificationError):
        untrusted.request("GET", "/healthz")
    untrusted.close()


def test_plain_http_mode_stays_available(sandbox_factory):
    sb = sandbox_factory(tls=False)
    assert sb.url.startswith("http://") and sb.ssl_context() is None
    with open(sb.kubeconfig_path, encoding="utf-8") as handle:
        config = yaml.safe_load(handle)
    assert "certificate-authority-data" not in config["clusters"][0]["cluster"]


def _ready(pod: dict[str, Any]) -> bool:
    statuses = pod.get("status", {}).get("containerStatuses") or []
    return bool(statuses) and all(c.get("ready") for c in statuses)


def _wait_ready_pod(sb: Any, namespace: str = "default") -> dict[str, Any]:
    return wait_for(lambda: next((p for p in sb.store.list(("v1", "Pod"), namespace)
                                  if p["metadata"]["name"].startswith("web") and _ready(p)),
                                 None), timeout=60, what="a ready pod")


MIN_SCALE = {"autoscaling.knative.dev/min-scale": "1"}  # no scale to zero mid-test


def test_pod_table_has_the_columns_kubectl_shows(sandbox):
    require_shared()
    code, _, _ = request(sandbox, "POST", "/apis/serving.knative.dev/v1/namespaces/default/"
                         "services", ksvc("web", template_annotations=MIN_SCALE))
    assert code == 201
    pod = _wait_ready_pod(sandbox)
    code, _, raw = request(sandbox, "GET", "/api/v1/namespaces/default/pods",
                                 headers={"Accept": TABLE})
    assert code == 200
    table = json.loads(raw)
    assert (table["kind"], table["apiVersion"]) == ("Table", "meta.k8s.io/v1")
    names = [(c["name"], c["priority"]) for c in table["columnDefinitions"]]
    assert names == [("Name", 0), ("Ready", 0), ("Status", 0), ("Restarts", 0), ("Age", 0),
                     ("IP", 1), ("Node", 1), ("Nominated Node", 1), ("Readiness Gates", 1)]
    row = next(r for r in table["rows"] if r["cells"][0] == pod["metadata"]["name"])
    total = len(pod["spec"]["containers"])
    assert row["cells"][1:3] == [f"{total}/{total}", "Running"]
    assert row["cells"][6] == pod["spec"]["nodeName"]
    assert row["object"]["kind"] == "PartialObjectMetadata"
    assert row["object"]["metadata"]["uid"] == pod["metadata"]["uid"]
    assert "spec" not in row["object"]
    code, _, raw = request(sandbox, "GET", f"/api/v1/namespaces/default/pods/"
                           f"{pod['metadata']['name']}?includeObject=Object",
                           headers={"Accept": TABLE})
    single = json.loads(raw)
    assert len(single["rows"]) == 1 and single["rows"][0]["object"]["kind"] == "Pod"


def test_knative_and_event_tables_follow_printer_columns(sandbox):
    require_shared()
    request(sandbox, "POST", "/apis/serving.knative.dev/v1/namespaces/default/services",
            ksvc("web"))
    wait_for(lambda: (sandbox.store.get(("serving.knative.dev/v1", "Service"), "default", "web")
                      or {}).get("status", {}).get("url"), timeout=60, what="the service URL")
    _, _, raw = request(sandbox, "GET", "/apis/serving.knative.dev/v1/namespaces/default/"
                        "services", headers={"Accept": TABLE})
    table = json.loads(raw)
    assert [c["name"] for c in table["columnDefinitions"]] == [
        "Name", "URL", "LatestCreated", "LatestReady", "Ready", "Reason"]
    live = sandbox.store.get(("serving.knative.dev/v1", "Service"), "default", "web")
    assert table["rows"][0]["cells"][:3] == ["web", live["status"]["url"],
                                             live["status"]["latestCreatedRevisionName"]]
    _, _, raw = request(sandbox, "GET", "/apis/serving.knative.dev/v1/namespaces/default/"
                        "revisions", headers={"Accept": TABLE})
    revisions = json.loads(raw)
    assert [c["name"] for c in revisions["columnDefinitions"]][:3] == [
        "Name", "Config Name", "Generation"]
    assert revisions["rows"][0]["cells"][1:3] == ["web", "1"]
    wait_for(lambda: sandbox.store.list(("v1", "Event"), "default"), timeout=60,
             what="an event")
    # Read before the table request: controllers keep adding events, and every event that
    # exists now is in the table (none are deleted here).
    first = sandbox.store.list(("v1", "Event"), "default")[0]
    _, _, raw = request(sandbox, "GET", "/api/v1/namespaces/default/events",
                        headers={"Accept": TABLE})
    events = json.loads(raw)
    visible = [c["name"] for c in events["columnDefinitions"] if c["priority"] == 0]
    assert visible == ["Last Seen", "Type", "Reason", "Object", "Message"]
    row = next(r for r in events["rows"] if r["cells"][9] == first["metadata"]["name"])
    kind = first["involvedObject"]["kind"].lower()
    assert row["cells"][3] == f"{kind}/{first['involvedObject']['name']}"


def test_watch_with_tables_sends_one_row_per_event(sandbox):
    _, _, raw = request(sandbox, "GET", "/api/v1/namespaces/default/configmaps",
                        headers={"Accept": TABLE})
    rv = json.loads(raw)["metadata"]["resourceVersion"]
    request(sandbox, "POST", "/api/v1/namespaces/default/configmaps",
            {"metadata": {"name": "a"}, "data": {"k": "v", "l": "w"}})
    request(sandbox, "DELETE", "/api/v1/namespaces/default/configmaps/a")
    _, _, raw = request(sandbox, "GET", f"/api/v1/namespaces/default/configmaps?watch=true&"
                        f"resourceVersion={rv}&timeoutSeconds=1", headers={"Accept": TABLE})
    events = [json.loads(line) for line in raw.splitlines()]
    assert [e["type"] for e in events] == ["ADDED", "DELETED"]
    assert all(e["object"]["kind"] == "Table" for e in events)
    assert events[0]["object"]["rows"][0]["cells"][:2] == ["a", 2]


def test_partial_object_metadata_lists(sandbox):
    _, _, raw = request(sandbox, "GET", "/api/v1/namespaces", headers={
        "Accept": "application/json;as=PartialObjectMetadataList;v=v1;g=meta.k8s.io"})
    listed = json.loads(raw)
    assert listed["kind"] == "PartialObjectMetadataList"
    assert {i["metadata"]["name"] for i in listed["items"]} >= {"default", "kube-system"}


def test_protobuf_only_clients_get_406_and_unknown_bodies_415(sandbox):
    code, _, raw = request(sandbox, "GET", "/api/v1/namespaces",
                           headers={"Accept": PROTOBUF})
    assert code == 406 and json.loads(raw)["reason"] == "NotAcceptable"
    code, _, raw = request(sandbox, "POST", "/api/v1/namespaces/default/pods",
                           _envelope("v1", "Pod", b""), headers={"Content-Type": PROTOBUF})
    assert code == 415 and json.loads(raw)["reason"] == "UnsupportedMediaType"
    code, _, raw = request(sandbox, "POST", "/api/v1/namespaces/default/configmaps", b"\xa1",
                           headers={"Content-Type": "application/cbor"})
    assert code == 415


def _field(number: int, payload: bytes | str) -> bytes:
    data = payload.encode() if isinstance(payload, str) else payload
    return bytes([number << 3 | 2, len(data)]) + data


def _envelope(api_version: str, kind: str, raw: bytes) -> bytes:
    type_meta = _field(1, api_version) + _field(2, kind)
    return b"k8s\x00" + _field(1, type_meta) + _field(2, raw)


def test_protobuf_bodies_of_kubectl_create_are_decoded(sandbox):
    metadata = _field(1, "team-b") + _field(11, _field(1, "tier") + _field(2, "gold"))
    namespace = _envelope("v1", "Namespace", _field(1, metadata))
    code, _, raw = request(sandbox, "POST", "/api/v1/namespaces", namespace,
                           headers={"Content-Type": PROTOBUF,
                                    "Accept": f"{PROTOBUF}, application/json"})
    assert code == 201, raw
    created = json.loads(raw)
    assert created["metadata"]["name"] == "team-b"
    assert created["metadata"]["labels"]["tier"] == "gold"
    secret = _envelope("v1", "Secret", _field(1, _field(1, "s")) +
                       _field(2, _field(1, "token") + _field(2, b"\x00\x01")) +
                       _field(3, "Opaque"))
    code, _, raw = request(sandbox, "POST", "/api/v1/namespaces/team-b/secrets", secret,
                           headers={"Content-Type": PROTOBUF})
    assert code == 201, raw
    stored = sandbox.store.get(("v1", "Secret"), "team-b", "s")
    assert stored["data"] == {"token": base64.b64encode(b"\x00\x01").decode()}
    assert stored["type"] == "Opaque"


def test_access_reviews_answer_honestly(sandbox):
    body = {"apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview",
            "spec": {"resourceAttributes": {"verb": "create", "resource": "pods",
                                            "namespace": "default"}}}
    code, _, raw = request(sandbox, "POST",
                           "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", body)
    review = json.loads(raw)
    assert code == 201 and review["status"]["allowed"] is True
    assert "cluster administrator" in review["status"]["reason"]
    assert review["spec"] == body["spec"]
    code, _, raw = request(sandbox, "POST",
                           "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews",
                           {"spec": {}})
    assert code == 400
    code, _, raw = request(sandbox, "POST", "/apis/authentication.k8s.io/v1/selfsubjectreviews",
                           {})
    assert json.loads(raw)["status"]["userInfo"]["username"] == "sandbox-user"
    code, _, _ = request(sandbox, "POST",
                         "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", body,
                         headers={"Authorization": "Bearer wrong"})
    assert code == 401


def test_openapi_v3_documents_name_kinds_and_write_parameters(sandbox):
    require_shared()
    code, _, raw = request(sandbox, "GET", "/openapi/v3")
    index = json.loads(raw)["paths"]
    assert {"api/v1", "apis/apps/v1", "apis/serving.knative.dev/v1",
            "apis/leaderworkerset.x-k8s.io/v1"} <= set(index)
    url = index["apis/serving.knative.dev/v1"]["serverRelativeURL"]
    assert "?hash=" in url
    code, _, raw = request(sandbox, "GET", url, headers={"Accept": "application/json"})
    assert code == 200
    doc = json.loads(raw)
    ksvc_schema = doc["components"]["schemas"]["dev.knative.serving.v1.Service"]
    assert ksvc_schema["x-kubernetes-group-version-kind"] == [
        {"group": "serving.knative.dev", "version": "v1", "kind": "Service"}]
    assert "template" in ksvc_schema["properties"]["spec"]["properties"]
    assert ksvc_schema["properties"]["metadata"]["$ref"].endswith("meta.v1.ObjectMeta")
    patch = doc["paths"]["/apis/serving.knative.dev/v1/namespaces/{namespace}/services/{name}"][
        "patch"]
    assert {p["name"] for p in patch["parameters"]} >= {"fieldValidation", "fieldManager",
                                                        "dryRun", "force"}
    _, _, raw = request(sandbox, "GET", index["api/v1"]["serverRelativeURL"])
    core = json.loads(raw)["components"]["schemas"]
    container = core["io.k8s.api.core.v1.Container"]
    assert container["required"] == ["name"]
    assert "Container image name" in container["properties"]["image"]["description"]
    pod_spec = core["io.k8s.api.core.v1.PodSpec"]["properties"]
    assert pod_spec["containers"]["x-kubernetes-patch-merge-key"] == "name"


def test_openapi_v2_is_json_and_refuses_protobuf_only(sandbox):
    code, headers, raw = request(sandbox, "GET", "/openapi/v2",
                                 headers={"Accept": "application/json"})
    assert code == 200 and headers["Content-Type"].startswith("application/json")
    doc = json.loads(raw)
    pod = doc["definitions"]["io.k8s.api.core.v1.Pod"]
    assert pod["x-kubernetes-group-version-kind"] == [{"group": "", "version": "v1",
                                                       "kind": "Pod"}]
    code, _, _ = request(sandbox, "GET", "/openapi/v2", headers={
        "Accept": "application/com.github.proto-openapi.spec.v2@v1.0+protobuf"})
    assert code == 406


def test_apps_v1_is_discoverable_and_stored(sandbox):
    _, _, raw = request(sandbox, "GET", "/apis/apps/v1")
    kinds = {r["kind"] for r in json.loads(raw)["resources"]}
    assert {"Deployment", "StatefulSet"} <= kinds
    deployment = {"apiVersion": "apps/v1", "kind": "Deployment",
                  "metadata": {"name": "d"},
                  "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "d"}},
                           "template": {"metadata": {"labels": {"app": "d"}},
                                        "spec": {"containers": [{"name": "c",
                                                                 "image": "i:1"}]}}}}
    code, _, raw = request(sandbox, "POST", "/apis/apps/v1/namespaces/default/deployments",
                           deployment)
    assert code == 201, raw
    _, _, raw = request(sandbox, "GET", "/apis/apps/v1/namespaces/default/deployments",
                        headers={"Accept": TABLE})
    table = json.loads(raw)
    assert [c["name"] for c in table["columnDefinitions"] if c["priority"] == 0] == [
        "Name", "Ready", "Up-to-date", "Available", "Age"]
    assert table["rows"][0]["cells"][:2] == ["d", "0/2"]


@pytest.mark.parametrize(("seconds", "text"), [
    (5, "5s"), (119, "119s"), (125, "2m5s"), (600, "10m"), (3 * 3600 + 60, "3h1m"),
    (30 * 3600, "30h"), (3 * 86400 + 3600, "3d1h"), (40 * 86400, "40d"), (-5, "<invalid>")])
def test_ages_read_like_kubectl(seconds, text):
    assert human_duration(seconds) == text


def test_printer_column_paths():
    obj = {"metadata": {"labels": {"serving.knative.dev/configuration": "web"}},
           "status": {"conditions": [{"type": "Other", "status": "False"},
                                     {"type": "Ready", "status": "True", "reason": ""}]}}
    assert jsonpath(obj, ".metadata.labels['serving\\.knative\\.dev/configuration']") == ["web"]
    assert jsonpath(obj, ".status.conditions[?(@.type=='Ready')].status") == ["True"]
    assert jsonpath(obj, ".status.conditions[*].type") == ["Other", "Ready"]
    assert jsonpath(obj, ".status.missing") == []


def test_leaderworkerset_table_uses_its_printer_columns(sandbox_factory):
    require_shared()
    from tests.sandbox.util import lws

    sb = sandbox_factory(controllers=False)
    code, _, raw = request(sb, "POST", "/apis/leaderworkerset.x-k8s.io/v1/namespaces/default/"
                           "leaderworkersets", lws("dist", replicas=2))
    assert code == 201, raw
    _, _, raw = request(sb, "GET", "/apis/leaderworkerset.x-k8s.io/v1/namespaces/default/"
                        "leaderworkersets", headers={"Accept": TABLE})
    table = json.loads(raw)
    columns = [(c["name"], c["type"]) for c in table["columnDefinitions"]]
    assert columns == [("Name", "string"), ("Ready", "integer"), ("Desired", "integer"),
                       ("Up-to-date", "integer"), ("Age", "date")]
    cells = table["rows"][0]["cells"]
    assert cells[:4] == ["dist", None, 2, None]  # no status yet: empty cells, like kubectl
    assert cells[4].endswith("s")
