"""Airflow as deployed, for tests: PostgreSQL from Debian's package on loopback, and the
scheduler (LocalExecutor), the dag-processor, the api-server and triggerers as separate
processes sharing a temporary AIRFLOW_HOME.

Everything runs as the current user except PostgreSQL, which refuses to run as root: as
root its commands go through ``runuser -u postgres``. No process reads stdin. DAG runs are
triggered and read through the api-server's REST API (the simple auth manager with every
user an admin hands out a token without credentials).
"""

from __future__ import annotations

import contextlib
import glob
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent
TERMINAL_RUN_STATES = {"success", "failed"}


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def postgres_bin() -> Path | None:
    """The newest ``/usr/lib/postgresql/<v>/bin`` holding ``pg_ctl`` (None if absent)."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"),
                   key=lambda p: int(Path(p).parent.parent.name)
                   if Path(p).parent.parent.name.isdigit() else 0)
    return Path(found[-1]).parent if found else None


def wait_until(predicate: Callable[[], Any], *, what: str, limit_s: float,
               every_s: float = 0.5, alive: Callable[[], None] | None = None) -> Any:
    """Poll ``predicate`` until it returns a truthy value (returned) or ``limit_s`` passes
    (``TimeoutError`` naming ``what``). ``alive`` raises if a process it watches died."""
    deadline = time.monotonic() + limit_s
    while True:
        value = predicate()
        if value:
            return value
        if alive is not None:
            alive()
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what}: not reached within {limit_s:.0f}s")
        time.sleep(every_s)


class Postgres:
    """A private PostgreSQL cluster on 127.0.0.1 in ``root`` (trust auth, user ``airflow``)."""

    def __init__(self, bindir: Path, root: Path) -> None:
        self.bindir = bindir
        self.root = root
        self.data = root / "data"
        self.port = free_port()
        self.as_root = os.geteuid() == 0

    def _run(self, *args: str) -> None:
        cmd = [str(self.bindir / args[0]), *args[1:]]
        if self.as_root:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        done = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True,
                              timeout=300, cwd="/")
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} failed ({done.returncode}): "
                               f"{done.stdout.decode()[-2000:]} {done.stderr.decode()[-2000:]}")

    @property
    def url(self) -> str:
        """SQLAlchemy URL of the ``airflow`` database."""
        return f"postgresql+psycopg2://airflow@127.0.0.1:{self.port}/airflow"

    def start(self) -> Postgres:
        """initdb, start on loopback, create the ``airflow`` database."""
        self.root.mkdir(parents=True, exist_ok=True)
        if self.as_root:
            shutil.chown(self.root, "postgres", "postgres")
            for parent in self.root.parents:  # the postgres user must reach its directory
                if parent == Path(tempfile.gettempdir()):
                    break
                parent.chmod(parent.stat().st_mode | 0o711)
        self._run("initdb", "-D", str(self.data), "-U", "airflow", "-A", "trust", "-E", "UTF8",
                  "--no-sync")
        opts = (f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off "
                "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200")
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.root / "postgres.log"),
                  "-o", opts, "-w", "-t", "120", "start")
        self._run("createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "airflow",
                  "airflow")
        return self

    def stop(self) -> None:
        """Stop the cluster (fast shutdown)."""
        with contextlib.suppress(subprocess.SubprocessError, OSError, RuntimeError):
            self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "-t", "60", "stop")

    def query(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        """Rows of one query on the ``airflow`` database."""
        import psycopg2

        conn = psycopg2.connect(host="127.0.0.1", port=self.port, user="airflow",
                                dbname="airflow", connect_timeout=30)
        try:
            with conn.cursor() as cur:
                cur.execute(sql, params)
                return list(cur.fetchall()) if cur.description else []
        finally:
            conn.close()


class AirflowCluster:
    """Airflow processes on one metadata database, each its own process group."""

    def __init__(self, home: Path, db: Postgres, dags: list[Path], *,
                 kubeconfig: str) -> None:
        self.home = home
        self.db = db
        self.api_port = free_port()
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.logs = home / "process-logs"
        self.logs.mkdir(parents=True, exist_ok=True)
        dags_dir = home / "dags"
        dags_dir.mkdir(exist_ok=True)
        for dag in dags:
            (dags_dir / dag.name).symlink_to(dag)
        from cryptography.fernet import Fernet

        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")},
            "PATH": f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '/usr/bin:/bin')}",
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(dags_dir),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
            "AIRFLOW__CORE__PARALLELISM": "4",
            "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
            # Airflow ships default_deferrable = False; the provider's waits follow it
            "AIRFLOW__OPERATORS__DEFAULT_DEFERRABLE": "True",
            "AIRFLOW__CORE__FERNET_KEY": Fernet.generate_key().decode(),
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL":
                f"http://127.0.0.1:{self.api_port}/execution/",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
            "AIRFLOW__API__BASE_URL": f"http://127.0.0.1:{self.api_port}",
            "AIRFLOW__API__SECRET_KEY": secrets.token_hex(16),
            "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_hex(32),
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": db.url,
            "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
            "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(home / "logs"),
            "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
            "AIRFLOW_CONN_KUBERNETES_DEFAULT": json.dumps(
                {"conn_type": "kubernetes", "extra": {"kube_config_path": kubeconfig}}),
        }
        self._token: str | None = None

    # -- processes --------------------------------------------------------------------------
    def airflow(self, *args: str, timeout: float = 900) -> str:
        """Run one ``airflow`` command to its end (output returned; raises on failure)."""
        done = subprocess.run([str(VENV_BIN / "airflow"), *args], env=self.env,
                              stdin=subprocess.DEVNULL, capture_output=True, timeout=timeout,
                              cwd=self.home)
        if done.returncode != 0:
            raise RuntimeError(f"airflow {' '.join(args)} failed ({done.returncode}):\n"
                               f"{done.stdout.decode()[-3000:]}\n{done.stderr.decode()[-3000:]}")
        return done.stdout.decode()

    def start(self, name: str, *args: str) -> subprocess.Popen[bytes]:
        """Start ``airflow ARGS`` as process ``name`` (log in ``process-logs/<name>.log``)."""
        log = open(self.logs / f"{name}.log", "ab")  # noqa: SIM115  (owned by the process)
        proc = subprocess.Popen([str(VENV_BIN / "airflow"), *args], env=self.env,
                                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                cwd=self.home, start_new_session=True)
        log.close()
        self.procs[name] = proc
        return proc

    def kill(self, name: str, sig: int = signal.SIGKILL) -> None:
        """Signal process ``name``'s whole process group (the process and its children)."""
        proc = self.procs.pop(name)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, sig)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(60)

    def check_alive(self) -> None:
        """Raise if a started process has exited (with the tail of its log)."""
        for name, proc in self.procs.items():
            if proc.poll() is not None:
                tail = (self.logs / f"{name}.log").read_text(errors="replace")[-4000:]
                raise RuntimeError(f"airflow {name} exited with {proc.returncode}:\n{tail}")

    def stop(self) -> None:
        """Terminate every process (SIGTERM, then SIGKILL after a grace period)."""
        for proc in self.procs.values():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + 30
        for proc in self.procs.values():
            try:
                proc.wait(max(1.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(30)
        self.procs.clear()

    def boot(self, *, triggerers: int = 2) -> None:
        """Migrate the database, then start the api-server, the dag-processor, the
        scheduler and ``triggerers`` triggerers, and wait until the API answers."""
        self.airflow("db", "migrate")
        self.start("api-server", "api-server", "--host", "127.0.0.1", "--port",
                   str(self.api_port), "--workers", "1")
        self.start("dag-processor", "dag-processor")
        self.start("scheduler", "scheduler", "--skip-serve-logs")
        for i in range(triggerers):
            self.start_triggerer(i)
        wait_until(self._api_up, what="the api-server to answer", limit_s=300,
                   alive=self.check_alive)

    def start_triggerer(self, index: int) -> None:
        """Start triggerer number ``index`` (no log server: several run on one host)."""
        self.start(f"triggerer-{index}", "triggerer", "--skip-serve-logs")

    # -- REST --------------------------------------------------------------------------------
    def _api_up(self) -> bool:
        try:
            self.rest("GET", "/api/v2/version")
        except (OSError, urllib.error.URLError, RuntimeError):
            return False
        return True

    def token(self) -> str:
        """A JWT from the simple auth manager (every user is an admin here)."""
        if self._token is None:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.api_port}/auth/token",
                                        timeout=60) as resp:
                self._token = json.loads(resp.read())["access_token"]
        return self._token

    def rest(self, method: str, path: str, body: Mapping[str, Any] | None = None) -> Any:
        """One REST call to the api-server; the decoded JSON answer."""
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(f"http://127.0.0.1:{self.api_port}{path}", data=data,
                                     method=method)
        req.add_header("Content-Type", "application/json")
        if not path.startswith("/api/v2/version"):
            req.add_header("Authorization", f"Bearer {self.token()}")
        try:
            with urllib.request.urlopen(req, timeout=60) as resp:
                raw = resp.read()
        except urllib.error.HTTPError as e:
            raise RuntimeError(f"{method} {path}: {e.code} {e.read()[:500]!r}") from None
        return json.loads(raw) if raw else None

    def wait_dag(self, dag_id: str, limit_s: float = 600) -> None:
        """Wait until the dag-processor has stored ``dag_id``."""
        def parsed() -> bool:
            try:
                self.rest("GET", f"/api/v2/dags/{dag_id}")
            except RuntimeError:
                return False
            return True

        wait_until(parsed, what=f"DAG {dag_id} to be parsed", limit_s=limit_s,
                   every_s=2, alive=self.check_alive)

    def trigger(self, dag_id: str, run_id: str, conf: Mapping[str, Any] | None = None) -> str:
        """Trigger a run of ``dag_id`` called ``run_id`` with ``conf``."""
        self.wait_dag(dag_id)
        self.rest("POST", f"/api/v2/dags/{dag_id}/dagRuns",
                  {"dag_run_id": run_id, "logical_date": None, "conf": dict(conf or {})})
        return run_id

    def run_state(self, dag_id: str, run_id: str) -> str:
        """The DAG run's state."""
        return str(self.rest("GET", f"/api/v2/dags/{dag_id}/dagRuns/{run_id}")["state"])

    def tasks(self, dag_id: str, run_id: str) -> dict[str, dict[str, Any]]:
        """task_id → the task instance as the REST API returns it."""
        answer = self.rest("GET", f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances")
        return {ti["task_id"]: ti for ti in answer["task_instances"]}

    def wait_run(self, dag_id: str, run_id: str, limit_s: float = 900) -> str:
        """Wait (bounded) for the run to finish; its final state."""
        return str(wait_until(
            lambda: (s if (s := self.run_state(dag_id, run_id)) in TERMINAL_RUN_STATES
                     else None),
            what=f"run {dag_id}/{run_id} to finish", limit_s=limit_s, every_s=2,
            alive=self.check_alive))

    def task_log(self, dag_id: str, run_id: str, task_id: str, try_number: int = 1) -> str:
        """The task attempt's log text, read from the log folder."""
        pattern = str(self.home / "logs" / f"dag_id={dag_id}" / f"run_id={run_id}" /
                      f"task_id={task_id}" / f"attempt={try_number}.log")
        return "".join(Path(p).read_text(errors="replace") for p in glob.glob(pattern))

    def xcom(self, dag_id: str, run_id: str, task_id: str) -> Any:
        """The task's ``return_value`` XCom."""
        entry = self.rest("GET", f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances/"
                                 f"{task_id}/xcomEntries/return_value?deserialize=true")
        return entry.get("value")


def new_home() -> Path:
    """A fresh temporary AIRFLOW_HOME."""
    return Path(tempfile.mkdtemp(prefix="infstack-airflow-real-"))
