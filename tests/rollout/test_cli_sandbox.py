"""The rollout commands end to end against the sandbox API server (no sleeps: every wait
is the CLI's own watch-based wait on conditions)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from inference_core.cli.main import app
from inference_core.errors import KubeApiError
from inference_core.rollout.client import KubernetesClient
from inference_core.rollout.constants import KNATIVE_CREATOR_ANNOTATION
from tests.rollout.conftest import NS, write_spec

runner = CliRunner()


def cli(sandbox: Any, *args: str) -> Any:
    """Run infstack against the sandbox's kubeconfig."""
    return runner.invoke(app, [*args, "--kubeconfig", sandbox.kubeconfig_path])


def owned_by_us(obj: dict[str, Any]) -> str:
    """The fields our field manager owns, as JSON text."""
    entries = [m for m in obj["metadata"].get("managedFields") or []
               if m["manager"] == "inference-stacks"]
    return json.dumps([e.get("fieldsV1") for e in entries])


def test_deploy_fail_rollback_then_deploy_again(
        cluster: tuple[Any, KubernetesClient], tmp_path: Path) -> None:
    sandbox, client = cluster
    spec = tmp_path / "app.yaml"

    ok = cli(sandbox, "deploy", str(write_spec(spec, "ghcr.io/acme/app:1")), "--wait",
             "-o", "json")
    assert ok.exit_code == 0, ok.stderr
    first = json.loads(ok.stdout)
    assert first["readiness"]["state"] == "ready"
    good_revision = first["readiness"]["revision"]

    bad = cli(sandbox, "deploy", str(write_spec(spec, "ghcr.io/acme/does-not-exist:2")),
              "--wait")
    assert bad.exit_code == 1
    assert "ErrImagePull" in bad.stderr or "ImagePullBackOff" in bad.stderr
    assert f'traffic stays on "{good_revision}"' in bad.stderr

    back = cli(sandbox, "rollback", "app", "-n", NS, "-o", "json")
    assert back.exit_code == 0, back.stderr
    data = json.loads(back.stdout)
    assert data["readiness"]["state"] == "ready"
    assert data["readiness"]["traffic"][0]["revision"] == good_revision
    assert data["readiness"]["traffic"][0]["percent"] == 100
    svc = client.get("serving.knative.dev/v1", "Service", "app", NS)
    assert svc is not None
    assert KNATIVE_CREATOR_ANNOTATION in svc["metadata"]["annotations"]  # the server's ...
    assert KNATIVE_CREATOR_ANNOTATION not in owned_by_us(svc)            # ... not ours

    hist = cli(sandbox, "history", "app", "-n", NS, "-o", "json")
    rows = json.loads(hist.stdout)
    assert [(r["action"], r["status"]) for r in rows] == [
        ("deploy", "good"), ("deploy", "failed"), ("rollback", "good")]
    assert rows[2]["rollback_of"] == 1 and rows[2]["image"] == "ghcr.io/acme/app:1"
    text = cli(sandbox, "history", "app", "-n", NS)
    assert "rollback  good" in text.stdout and "(of 1)" in text.stdout

    again = cli(sandbox, "deploy", str(write_spec(spec, "ghcr.io/acme/app:3")), "--wait",
                "-o", "json")
    assert again.exit_code == 0, again.stderr
    after = json.loads(again.stdout)["readiness"]
    assert after["state"] == "ready"
    assert [(t["revision"], t["percent"]) for t in after["traffic"]] == [
        (after["revision"], 100)]


def test_status_wait_diff_and_json(cluster: tuple[Any, KubernetesClient],
                                   tmp_path: Path) -> None:
    sandbox, _ = cluster
    spec = write_spec(tmp_path / "app.yaml", "ghcr.io/acme/app:1")
    create = cli(sandbox, "diff", str(spec), "-o", "json")
    assert create.exit_code == 0, create.stderr
    assert [c["action"] for c in json.loads(create.stdout)] == ["create"]
    assert cli(sandbox, "deploy", str(spec)).exit_code == 0

    waited = cli(sandbox, "wait", "app", "-n", NS, "--timeout", "120")
    assert waited.exit_code == 0, waited.stderr
    assert waited.stdout.startswith("ready (Ready)")
    assert "pods 1/1 ready" in waited.stderr  # the live status line

    status = cli(sandbox, "status", "app", "-n", NS, "-o", "json")
    data = json.loads(status.stdout)
    assert data["readiness"]["state"] == "ready" and data["latest"]["revision"] == 1
    assert "Service team-a/app: ready" in cli(sandbox, "status", "app", "-n", NS).stdout

    same = cli(sandbox, "diff", str(spec), "-o", "json")
    assert [c["action"] for c in json.loads(same.stdout)] == ["none"]
    changed = cli(sandbox, "diff", str(write_spec(spec, "ghcr.io/acme/app:2")))
    assert "-      - image: ghcr.io/acme/app:1" in changed.stdout
    assert "+      - image: ghcr.io/acme/app:2" in changed.stdout


def test_candidate_split_promote(cluster: tuple[Any, KubernetesClient],
                                 tmp_path: Path) -> None:
    sandbox, client = cluster
    spec = tmp_path / "app.yaml"
    first = cli(sandbox, "deploy", str(write_spec(spec, "ghcr.io/acme/app:1")), "--wait",
                "-o", "json")
    stable = json.loads(first.stdout)["readiness"]["revision"]
    cand = cli(sandbox, "deploy", str(write_spec(spec, "ghcr.io/acme/app:2")), "--wait",
               "--candidate-tag", "candidate", "-o", "json")
    assert cand.exit_code == 0, cand.stderr
    traffic = json.loads(cand.stdout)["readiness"]["traffic"]
    assert {(t["revision"], t["percent"], t["tag"]) for t in traffic} >= {(stable, 100, None)}
    candidate = next(t["revision"] for t in traffic if t["tag"] == "candidate")

    split = cli(sandbox, "traffic", "app", "-n", NS, "--split", "25", "-o", "json")
    assert split.exit_code == 0, split.stderr
    got = {(t["revision"], t["percent"]) for t in json.loads(split.stdout)["readiness"]["traffic"]}
    assert got == {(stable, 75), (candidate, 25)}
    svc = client.get("serving.knative.dev/v1", "Service", "app", NS)
    assert svc is not None and '"f:traffic"' in owned_by_us(svc)  # SSA as inference-stacks

    promote = cli(sandbox, "traffic", "app", "-n", NS, "--promote", "-o", "json")
    got = {(t["revision"], t["percent"])
           for t in json.loads(promote.stdout)["readiness"]["traffic"]}
    assert got == {(candidate, 100)}
    usage = cli(sandbox, "traffic", "app", "-n", NS)
    assert usage.exit_code == 2


def test_conflict_refused_by_default_then_forced(cluster: tuple[Any, KubernetesClient],
                                                 tmp_path: Path) -> None:
    sandbox, client = cluster
    spec = write_spec(tmp_path / "app.yaml", "ghcr.io/acme/app:1")
    assert cli(sandbox, "deploy", str(spec), "--wait").exit_code == 0
    svc = client.get("serving.knative.dev/v1", "Service", "app", NS)
    assert svc is not None
    other = {"apiVersion": "serving.knative.dev/v1", "kind": "Service",
             "metadata": {"name": "app", "namespace": NS},
             "spec": {"template": {"spec": {"containers": [
                 {"name": "inference", "image": "ghcr.io/acme/app:pulumi"}]}}}}
    client.apply(other, field_manager="pulumi-kubernetes", force=True)
    refused = cli(sandbox, "deploy", str(write_spec(spec, "ghcr.io/acme/app:2")))
    assert refused.exit_code == 1
    assert "'pulumi-kubernetes' owns .spec.template.spec.containers" in refused.stderr
    assert "--force-conflicts" in refused.stderr
    forced = cli(sandbox, "deploy", str(spec), "--force-conflicts", "--wait")
    assert forced.exit_code == 0, forced.stderr


def test_delete_by_name_waits_until_gone(cluster: tuple[Any, KubernetesClient],
                                         tmp_path: Path) -> None:
    sandbox, client = cluster
    spec = write_spec(tmp_path / "app.yaml", "ghcr.io/acme/app:1")
    assert cli(sandbox, "deploy", str(spec), "--wait").exit_code == 0
    gone = cli(sandbox, "delete", "app", "-n", NS, "-o", "json")
    assert gone.exit_code == 0, gone.stderr
    data = json.loads(gone.stdout)
    assert "Service team-a/app" in data["deleted"]
    assert "ConfigMap team-a/app-history" in data["deleted"]
    assert client.get("serving.knative.dev/v1", "Service", "app", NS) is None
    assert client.get("v1", "ConfigMap", "app-history", NS) is None
    assert not [r for r in list(sandbox.requests) if r.verb == "list" and "/secrets" in r.path]
    # redeploy at once lands on a fresh object
    assert cli(sandbox, "deploy", str(spec), "--wait").exit_code == 0
    by_file = cli(sandbox, "delete", str(spec))
    assert by_file.exit_code == 0 and "Service team-a/app" in by_file.stdout


def test_errors_and_exit_codes(cluster: tuple[Any, KubernetesClient], tmp_path: Path) -> None:
    sandbox, _ = cluster
    missing = cli(sandbox, "status", "ghost", "-n", NS)
    assert missing.exit_code == 1 and "no Knative Service or LeaderWorkerSet" in missing.stderr
    nothing = cli(sandbox, "rollback", "ghost", "-n", NS, "-o", "json")
    assert nothing.exit_code == 1
    assert json.loads(nothing.stdout)["exit_code"] == 1
    spec = write_spec(tmp_path / "app.yaml", "ghcr.io/acme/app:1")
    wrong_ns = cli(sandbox, "deploy", str(spec), "-n", "other")
    assert wrong_ns.exit_code == 2
    # a progress deadline far beyond the CLI's timeout (the sandbox runs 100x faster)
    never = write_spec(tmp_path / "never.yaml", "ghcr.io/acme/never-ready:1", init="60m")
    timeout = cli(sandbox, "deploy", str(never), "--wait", "--timeout", "2")
    assert timeout.exit_code == 3, timeout.stderr
    assert "not ready after" in timeout.stderr and "API server answered" in timeout.stderr


def test_delete_returns_only_after_finalizers_finish(
        cluster: tuple[Any, KubernetesClient], tmp_path: Path) -> None:
    """Another controller holds a finalizer on the Service; delete waits for it."""
    import threading

    sandbox, client = cluster
    spec = write_spec(tmp_path / "app.yaml", "ghcr.io/acme/app:1")
    assert cli(sandbox, "deploy", str(spec), "--wait").exit_code == 0
    held = {"apiVersion": "serving.knative.dev/v1", "kind": "Service",
            "metadata": {"name": "app", "namespace": NS, "finalizers": ["example.com/hold"]}}
    client.apply(held, field_manager="other-controller")
    released = threading.Event()
    errors: list[BaseException] = []

    other = KubernetesClient.from_kubeconfig(sandbox.kubeconfig_path)  # its own connection

    def release() -> None:
        """What a controller does: update its finalizer away (re-read on a 409)."""
        for _ in range(20):
            meta = (other.get("serving.knative.dev/v1", "Service", "app", NS)
                    or {}).get("metadata") or {}
            rest = [f for f in meta.get("finalizers") or [] if f != "example.com/hold"]
            try:
                other.request(
                    "PATCH", f"/apis/serving.knative.dev/v1/namespaces/{NS}/services/app",
                    body={"metadata": {"finalizers": rest,
                                       "resourceVersion": meta["resourceVersion"]}},
                    content_type="application/merge-patch+json")
            except KubeApiError as e:
                if e.status == 409:
                    continue
                raise
            released.set()
            return

    def release_when_terminating() -> None:
        try:
            for _ in range(30):  # bounded: each watch window ends after ~10 s
                for event in other.watch("serving.knative.dev/v1", "Service", NS,
                                          field_selector="metadata.name=app", timeout_s=10):
                    if event.object.get("metadata", {}).get("deletionTimestamp"):
                        release()
                        return
        except BaseException as e:  # reported to the test
            errors.append(e)

    helper = threading.Thread(target=release_when_terminating, daemon=True)
    helper.start()
    gone = cli(sandbox, "delete", "app", "-n", NS)
    helper.join(30)
    other.close()
    assert not errors
    assert gone.exit_code == 0, gone.stderr
    assert released.is_set()  # delete returned only after the finalizer was released ...
    assert client.get("serving.knative.dev/v1", "Service", "app", NS) is None  # ... and gone
