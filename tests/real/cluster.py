"""A real control plane for tests (envtest-style): etcd and kube-apiserver built from their Go
modules (``scripts/setup.d/10-kube-tools.sh``), started on loopback with TLS, token
authentication and RBAC, with our CRDs installed from the shared schemas."""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import yaml

from inference_sandbox.kubeconfig import write_kubeconfig
from tests.kubehttp import KubeHttp

START_TIMEOUT = 180.0
"""Seconds to wait for /readyz and CRDs (generous: two loaded cores)."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def make_certificates(directory: Path) -> None:
    """A CA, a serving certificate for 127.0.0.1/localhost, and the service-account key pair
    (``ca.crt``, ``apiserver.crt``/``.key``, ``sa.key``/``sa.pub``), with the openssl CLI."""
    directory.mkdir(parents=True, exist_ok=True)
    _openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
             "-keyout", "ca.key", "-out", "ca.crt", "-days", "2", "-subj", "/CN=infstack-test-ca",
             "-addext", "basicConstraints=critical,CA:TRUE",
             "-addext", "keyUsage=critical,keyCertSign,cRLSign", cwd=directory)
    _openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
             "-keyout", "apiserver.key", "-out", "apiserver.csr", "-subj", "/CN=kube-apiserver",
             cwd=directory)
    (directory / "ext.cnf").write_text(
        "subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes.default.svc\n"
        "extendedKeyUsage=serverAuth\nkeyUsage=critical,digitalSignature\n", encoding="utf-8")
    _openssl("x509", "-req", "-in", "apiserver.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
             "-CAcreateserial", "-out", "apiserver.crt", "-days", "2", "-extfile", "ext.cnf",
             cwd=directory)
    _openssl("genrsa", "-out", "sa.key", "2048", cwd=directory)
    _openssl("rsa", "-in", "sa.key", "-pubout", "-out", "sa.pub", cwd=directory)


@dataclass
class RealCluster:
    """A running etcd + kube-apiserver. ``kubeconfig`` is the admin's (system:masters)."""

    workdir: Path
    url: str
    etcd_url: str
    kubeconfig: Path
    admin_token: str
    ca_file: Path
    kubectl_path: Path | None
    users: dict[str, str] = field(default_factory=dict)
    """Static token users (name → token) known to the token file; none is privileged."""
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    # ------------------------------------------------------------------ clients
    def admin(self) -> KubeHttp:
        """An HTTP client with the admin token (close it, or use :meth:`client`)."""
        return KubeHttp(self.kubeconfig)

    @contextlib.contextmanager
    def client(self, kubeconfig: Path | None = None) -> Iterator[KubeHttp]:
        """An HTTP client for ``kubeconfig`` (the admin's by default), closed on exit."""
        http = KubeHttp(kubeconfig or self.kubeconfig)
        try:
            yield http
        finally:
            http.close()

    def kubectl(self, *args: str, kubeconfig: Path | None = None, input: str | None = None,
                timeout: float = 120.0) -> subprocess.CompletedProcess[str]:
        """Run the kubectl built beside kube-apiserver (same minor version)."""
        if self.kubectl_path is None:
            raise RuntimeError("kubectl was not built (scripts/setup.d/10-kube-tools.sh)")
        env = {**os.environ, "KUBECONFIG": str(kubeconfig or self.kubeconfig),
               "HOME": str(self.workdir)}
        return subprocess.run([str(self.kubectl_path), *args], input=input, text=True,
                              capture_output=True, env=env, timeout=timeout, check=False)

    def write_user_kubeconfig(self, name: str, token: str, namespace: str = "default") -> Path:
        """A kubeconfig for a token (a static user or a service-account token)."""
        return write_kubeconfig(self.workdir / "kubeconfigs" / f"{name}.yaml", self.url,
                                context="real", token=token, user=name, namespace=namespace,
                                ca_pem=self.ca_file.read_bytes())

    def user_kubeconfig(self, user: str, namespace: str = "default") -> Path:
        """A kubeconfig for one of the static, unprivileged token users."""
        return self.write_user_kubeconfig(user, self.users[user], namespace)

    def service_account_kubeconfig(self, namespace: str, name: str,
                                   rules: Sequence[Mapping[str, Any]] | None = None) -> Path:
        """A kubeconfig for ServiceAccount ``namespace/name`` (created if missing), optionally
        bound to a Role with ``rules``; the token comes from the TokenRequest API."""
        with self.client() as http:
            self.ensure_namespace(namespace, http=http)
            sa = {"apiVersion": "v1", "kind": "ServiceAccount",
                  "metadata": {"name": name, "namespace": namespace}}
            _ok(http.apply(sa), "apply ServiceAccount")
            if rules is not None:
                role = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
                        "metadata": {"name": name, "namespace": namespace}, "rules": list(rules)}
                binding = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
                           "metadata": {"name": name, "namespace": namespace},
                           "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role",
                                       "name": name},
                           "subjects": [{"kind": "ServiceAccount", "name": name,
                                         "namespace": namespace}]}
                _ok(http.apply(role), "apply Role")
                _ok(http.apply(binding), "apply RoleBinding")
            response = http.request(
                "POST", f"/api/v1/namespaces/{namespace}/serviceaccounts/{name}/token",
                body={"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest",
                      "spec": {"expirationSeconds": 3600}})
            token = _ok(response, "TokenRequest")["status"]["token"]
        return self.write_user_kubeconfig(f"sa-{namespace}-{name}", token, namespace)

    def ensure_namespace(self, name: str, *, http: KubeHttp | None = None) -> None:
        """Create a namespace and its ``default`` ServiceAccount (what kube-controller-manager
        would add; the ServiceAccount admission plugin needs it for pods)."""
        own = http is None
        http = http or self.admin()
        try:
            _ok(http.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}),
                "apply Namespace")
            _ok(http.apply({"apiVersion": "v1", "kind": "ServiceAccount",
                            "metadata": {"name": "default", "namespace": name}}),
                "apply default ServiceAccount")
        finally:
            if own:
                http.close()

    # ------------------------------------------------------------------ etcd
    def etcd_revision(self) -> int:
        """etcd's current revision (through its JSON gateway)."""
        response = httpx.post(f"{self.etcd_url}/v3/kv/range", json={"key": "AA=="}, timeout=30)
        response.raise_for_status()
        return int(response.json()["header"]["revision"])

    def compact_etcd(self, revision: int | None = None) -> int:
        """Compact etcd's history up to ``revision`` (now by default); returns it."""
        revision = revision or self.etcd_revision()
        response = httpx.post(f"{self.etcd_url}/v3/kv/compaction",
                              json={"revision": str(revision), "physical": True}, timeout=60)
        response.raise_for_status()
        return revision

    # ------------------------------------------------------------------ lifecycle
    def stop(self) -> None:
        """Stop the processes in reverse start order (kube-controller-manager when started,
        kube-apiserver, etcd) (TERM, then KILL after a bounded wait)."""
        for proc in reversed(self.processes):
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(timeout=30)
        self.processes.clear()


def _ok(response: httpx.Response, what: str) -> dict[str, Any]:
    if response.status_code >= 300:
        raise RuntimeError(f"{what}: HTTP {response.status_code}: {response.text[:500]}")
    return dict(response.json())


def _wait_ready(proc: subprocess.Popen[bytes], probe: Any, what: str, log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with {proc.returncode}: "
                               f"{log.read_text(errors='replace')[-3000:]}")
        with contextlib.suppress(httpx.HTTPError, OSError):
            if probe():
                return
        time.sleep(0.2)
    raise RuntimeError(f"{what} not ready after {START_TIMEOUT:g}s: "
                       f"{log.read_text(errors='replace')[-3000:]}")


STATIC_USERS = ("deployer", "reader", "outsider")


def start_cluster(etcd: Path, apiserver: Path, kubectl: Path | None, *,
                  workdir: Path | None = None,
                  extra_args: Sequence[str] = ()) -> RealCluster:
    """Start etcd and kube-apiserver under ``workdir`` (a new temp dir by default)."""
    workdir = workdir or Path(tempfile.mkdtemp(prefix="infstack-real-"))
    certs = workdir / "pki"
    make_certificates(certs)
    admin_token = secrets.token_hex(16)
    users = {name: secrets.token_hex(16) for name in STATIC_USERS}
    lines = [f'{admin_token},infstack-admin,uid-admin,"system:masters"']
    lines += [f"{token},{name},uid-{name}" for name, token in users.items()]
    (workdir / "tokens.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    etcd_port, peer_port, api_port = free_port(), free_port(), free_port()
    etcd_url = f"http://127.0.0.1:{etcd_port}"
    cluster = RealCluster(workdir=workdir, url=f"https://127.0.0.1:{api_port}", etcd_url=etcd_url,
                          kubeconfig=workdir / "admin.kubeconfig", admin_token=admin_token,
                          ca_file=certs / "ca.crt", kubectl_path=kubectl, users=users)
    try:
        etcd_log = workdir / "etcd.log"
        cluster.processes.append(subprocess.Popen(
            [str(etcd), "--name", "infstack", "--data-dir", str(workdir / "etcd"),
             "--listen-client-urls", etcd_url, "--advertise-client-urls", etcd_url,
             "--listen-peer-urls", f"http://127.0.0.1:{peer_port}",
             "--initial-advertise-peer-urls", f"http://127.0.0.1:{peer_port}",
             "--initial-cluster", f"infstack=http://127.0.0.1:{peer_port}",
             "--unsafe-no-fsync", "--log-level", "warn"],
            stdout=etcd_log.open("wb"), stderr=subprocess.STDOUT))
        _wait_ready(cluster.processes[0],
                    lambda: httpx.get(f"{etcd_url}/health", timeout=5).status_code == 200,
                    "etcd", etcd_log)
        api_log = workdir / "kube-apiserver.log"
        cluster.processes.append(subprocess.Popen(
            [str(apiserver), f"--etcd-servers={etcd_url}", f"--secure-port={api_port}",
             "--bind-address=127.0.0.1", "--advertise-address=127.0.0.1",
             f"--cert-dir={certs}", f"--tls-cert-file={certs / 'apiserver.crt'}",
             f"--tls-private-key-file={certs / 'apiserver.key'}",
             "--service-cluster-ip-range=10.0.0.0/24", "--authorization-mode=RBAC",
             f"--token-auth-file={workdir / 'tokens.csv'}",
             "--service-account-issuer=https://kubernetes.default.svc",
             f"--service-account-key-file={certs / 'sa.pub'}",
             f"--service-account-signing-key-file={certs / 'sa.key'}",
             # One resource read straight from etcd, so a compaction answers 410 Gone to watches
             # and lists from an old resourceVersion (every other resource uses the watch cache,
             # with bookmarks).
             "--watch-cache-sizes=configmaps#0",
             "--enable-priority-and-fairness=false", "--profiling=false", "-v=1",
             *extra_args],
            stdout=api_log.open("wb"), stderr=subprocess.STDOUT))
        write_kubeconfig(cluster.kubeconfig, cluster.url, context="real", token=admin_token,
                         user="infstack-admin", ca_pem=cluster.ca_file.read_bytes())
        with cluster.client() as http:
            _wait_ready(cluster.processes[1],
                        lambda: http.get("/readyz").status_code == 200, "kube-apiserver", api_log)
    except BaseException:
        cluster.stop()
        raise
    return cluster


def start_controller_manager(cluster: RealCluster, binary: Path) -> None:
    """Run kube-controller-manager against ``cluster`` with the controllers a control plane
    without nodes needs: the garbage collector (owner references, foreground deletion), the
    namespace controller (namespace deletion), the ServiceAccount controller and the
    Endpoints/EndpointSlice controllers (Pulumi's Service await reads Endpoints). Returns once
    the garbage collector has synced its monitors, so start it after the CRDs are installed."""
    log = cluster.workdir / "kube-controller-manager.log"
    proc = subprocess.Popen(
        [str(binary), f"--kubeconfig={cluster.kubeconfig}", "--leader-elect=false",
         "--controllers=garbagecollector,namespace,serviceaccount,endpoint,endpointslice",
         "--secure-port=0", "-v=2"],
        stdout=log.open("wb"), stderr=subprocess.STDOUT)
    cluster.processes.append(proc)
    _wait_ready(proc, lambda: b"all resource monitors have synced" in log.read_bytes(),
                "kube-controller-manager", log)


def crd_documents(schemas: Path) -> list[dict[str, Any]]:
    """Every CustomResourceDefinition in the shared schema folder (Istio's file holds many)."""
    out = []
    for path in sorted(schemas.rglob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")):
            if isinstance(doc, dict) and doc.get("kind") == "CustomResourceDefinition":
                out.append(doc)
    return out


def install_crds(cluster: RealCluster, schemas: Path) -> list[str]:
    """Server-side apply every CRD under ``schemas`` and wait until each is Established."""
    docs = crd_documents(schemas)
    with cluster.client() as http:
        for doc in docs:
            _ok(http.apply(doc, manager="infstack-crd-install", force=True),
                f"CRD {doc['metadata']['name']}")
        deadline = time.monotonic() + START_TIMEOUT
        pending = {d["metadata"]["name"] for d in docs}
        while pending and time.monotonic() < deadline:
            for name in sorted(pending):
                crd = http.get(f"/apis/apiextensions.k8s.io/v1/customresourcedefinitions/{name}")
                conditions = (crd.json().get("status") or {}).get("conditions") or []
                if any(c["type"] == "Established" and c["status"] == "True" for c in conditions):
                    pending.discard(name)
            if pending:
                time.sleep(0.2)
        if pending:
            raise RuntimeError(f"CRDs not Established after {START_TIMEOUT:g}s: {sorted(pending)}")
        # Discovery of the new groups lags Established a little; wait until each is served.
        for doc in docs:
            group = doc["spec"]["group"]
            version = next(v["name"] for v in doc["spec"]["versions"] if v.get("storage"))
            plural = doc["spec"]["names"]["plural"]
            deadline = time.monotonic() + START_TIMEOUT
            while time.monotonic() < deadline:
                listing = http.get(f"/apis/{group}/{version}")
                if listing.status_code == 200 and any(
                        r["name"] == plural for r in listing.json().get("resources", [])):
                    break
                time.sleep(0.2)
            else:
                raise RuntimeError(f"{plural}.{group}/{version} is not served")
    return sorted(d["metadata"]["name"] for d in docs)


def cleanup(cluster: RealCluster) -> None:
    """Stop the processes and remove the working directory."""
    cluster.stop()
    shutil.rmtree(cluster.workdir, ignore_errors=True)


def dump(obj: Any) -> str:
    """Compact JSON for assertion messages."""
    return json.dumps(obj, sort_keys=True)[:2000]
