"""The local stack: Kafka (KRaft), ClickHouse and Prometheus as plain processes on 127.0.0.1.

``Stack(settings).up()`` installs what is missing, starts what is not running and returns only
when each server answered a real round trip; ``down()`` stops exactly the processes named in its
pid files and waits until their ports are free. Everything lives under ``settings.stack_dir``::

    <stack_dir>/kafka/{server.properties,log4j.properties,cluster.id,data/}
    <stack_dir>/clickhouse/{config.xml,users.xml,data/}
    <stack_dir>/prometheus/{prometheus.yml,data/,targets/*.json}
    <stack_dir>/logs/*.log   <stack_dir>/run/*.pid   <stack_dir>/stack.lock

Failures raise :class:`StackError` with a one-line message naming the problem and the fix; an
``up`` that fails stops what it started, so nothing is left half-started.
"""

from __future__ import annotations

import asyncio
import atexit
import concurrent.futures
import contextlib
import glob
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ticketstream.devstack import configs, procs
from ticketstream.devstack.install import (
    InstallError,
    ensure_binaries,
    ensure_kafka_libs,
    file_lock,
    resolve_java,
)
from ticketstream.settings import REPO_ROOT, Settings

SERVICES = ("kafka", "clickhouse", "prometheus")
RULES_GLOB = "dashboards/prometheus/rules/*.yml"

# Popen objects of servers this process started: kept referenced so they are reaped on stop
# (and never garbage-collected while running, which would warn).
_CHILDREN: dict[int, subprocess.Popen[bytes]] = {}


def _reap_children() -> None:
    """Collect servers of ours that died (killed by another process's `down`, SIGKILL)."""
    for pid, proc in list(_CHILDREN.items()):
        if proc.poll() is not None:
            del _CHILDREN[pid]


@atexit.register
def _detach_children() -> None:
    """Servers still running when this process exits are meant to outlive it (`dev up`)."""
    _reap_children()
    for proc in _CHILDREN.values():
        proc.returncode = 0  # detached on purpose: no "still running" ResourceWarning
    _CHILDREN.clear()


class StackError(Exception):
    """The stack could not be brought to the requested state; the message says how to fix it.

    ``transient`` marks a round trip that may succeed when retried (server still starting).
    """

    def __init__(self, message: str, *, transient: bool = False) -> None:
        super().__init__(message)
        self.transient = transient


@dataclass
class ServiceStatus:
    name: str
    pid: int | None
    ports: list[int]
    ready: bool | None = None  # None: not checked
    detail: str = ""

    @property
    def running(self) -> bool:
        return self.pid is not None


@dataclass
class _Plan:
    name: str
    argv: list[str]
    ports: list[tuple[int, str]]  # (port, setting's environment variable)
    cwd: Path
    env: dict[str, str] = field(default_factory=dict)


def _info(msg: str) -> None:
    print(f"ticketstream dev: {msg}", file=sys.stderr, flush=True)


def _one_line(text: str, limit: int = 400) -> str:
    line = " | ".join(p.strip() for p in text.strip().splitlines() if p.strip())
    return line if len(line) <= limit else "…" + line[-limit:]


class Stack:
    """One local stack, described by ``settings`` (ports, dirs, versions)."""

    def __init__(self, settings: Settings, *, log: Callable[[str], None] = _info) -> None:
        self.settings = settings
        self.dir = Path(settings.stack_dir)
        self.log = log

    # ------------------------------------------------------------------ layout
    def path(self, *parts: str) -> Path:
        return self.dir.joinpath(*parts)

    def pidfile(self, name: str) -> Path:
        return self.path("run", f"{name}.pid")

    def logfile(self, name: str) -> Path:
        return self.path("logs", f"{name}.log")

    def log_files(self, name: str) -> list[Path]:
        files = [self.logfile(name)]
        if name == "clickhouse":
            files.append(self.path("logs", "clickhouse-server.err.log"))
        return files

    @property
    def targets_dir(self) -> Path:
        """Prometheus file_sd dir: drop ``<job>.json`` here to add scrape targets."""
        return self.path("prometheus", "targets")

    def ports(self, name: str) -> list[tuple[int, str]]:
        s = self.settings
        if name == "kafka":
            return [
                (s.kafka_port, "TICKETSTREAM_KAFKA_BOOTSTRAP"),
                (s.kafka_controller_port, "TICKETSTREAM_KAFKA_CONTROLLER_PORT"),
            ]
        if name == "clickhouse":
            return [
                (s.clickhouse_port, "TICKETSTREAM_CLICKHOUSE_PORT"),
                (s.clickhouse_http_port, "TICKETSTREAM_CLICKHOUSE_HTTP_PORT"),
            ]
        return [(s.prometheus_port, "TICKETSTREAM_PROMETHEUS_PORT")]

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        self.dir.mkdir(parents=True, exist_ok=True)
        with file_lock(self.path("stack.lock")):
            yield

    # ------------------------------------------------------------------ public API
    def status(self, *, check: bool = True, timeout: float = 3.0) -> dict[str, ServiceStatus]:
        """Each server's pid (None when not running) and, with ``check``, a round trip."""
        _reap_children()
        out: dict[str, ServiceStatus] = {}
        for name in SERVICES:
            pid = procs.running_pid(self.pidfile(name))
            st = ServiceStatus(name, pid, [p for p, _ in self.ports(name)])
            if pid is not None and check:
                try:
                    self.round_trip(name, timeout=timeout)
                    st.ready = True
                except StackError as exc:
                    st.ready, st.detail = False, str(exc)
            out[name] = st
        return out

    def is_up(self) -> bool:
        return all(s.running and s.ready for s in self.status().values())

    def up(self, names: Sequence[str] = SERVICES) -> dict[str, str]:
        """Start every server of ``names`` (default: all) that is not running; return
        name -> "started"/"already running"."""
        with self._locked():
            return self._up(self._known(names))

    def down(self, names: Sequence[str] = SERVICES) -> list[str]:
        """Stop the servers of ``names`` (default: all) named in this stack's pid files; return
        the names stopped."""
        with self._locked():
            return self._down(self._known(names))

    @staticmethod
    def _known(names: Sequence[str]) -> list[str]:
        unknown = [n for n in names if n not in SERVICES]
        if unknown:
            raise ValueError(f"unknown servers {unknown}: the stack has {', '.join(SERVICES)}")
        return [n for n in SERVICES if n in names]

    def add_scrape_target(self, job: str, address: str, **labels: str) -> Path:
        """Make Prometheus scrape ``address`` (host:port, path /metrics) as job ``job``."""
        self.targets_dir.mkdir(parents=True, exist_ok=True)
        path = self.targets_dir / f"{job}.json"
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps([{"targets": [address], "labels": {"job": job, **labels}}]))
        tmp.replace(path)
        return path

    def remove_scrape_target(self, job: str) -> None:
        (self.targets_dir / f"{job}.json").unlink(missing_ok=True)

    # ------------------------------------------------------------------ up / down
    def _up(self, names: list[str]) -> dict[str, str]:
        _reap_children()
        result: dict[str, str] = {}
        todo: list[str] = []
        for name in names:
            pid = procs.running_pid(self.pidfile(name))
            if pid is not None:
                result[name] = f"already running (pid {pid})"
            else:
                self.pidfile(name).unlink(missing_ok=True)
                todo.append(name)
        if not todo:
            for name in names:
                try:
                    self.round_trip(name, timeout=10.0)
                    if name == "prometheus":  # pick up new/changed rule files
                        self.reload_prometheus()
                except StackError as exc:
                    result[name] += f" but not answering: {exc}"
            return result

        plans = self._prepare(todo)  # installs, configs; starts nothing
        self._check_ports(plans)
        started: list[str] = []
        try:
            for plan in plans:
                self._spawn(plan)
                started.append(plan.name)
            deadline = time.monotonic() + self.settings.stack_start_timeout
            for plan in plans:
                self._wait_ready(plan.name, deadline)
                result[plan.name] = "started"
        except BaseException:
            if started:
                self.log(f"stopping what this `up` started: {', '.join(started)}")
                self._down(started)
            raise
        return {name: result[name] for name in names}

    def _down(self, names: list[str]) -> list[str]:
        stopped: list[str] = []
        ports: list[int] = []
        for name in reversed(SERVICES):
            if name not in names:
                continue
            rec = procs.read_pidfile(self.pidfile(name))
            if rec is not None and procs.is_alive(rec.pid, rec.start_ticks or None):
                self._terminate(rec.pid, rec.start_ticks or None)
                stopped.append(name)
                ports.extend(p for p, _ in self.ports(name))
            self.pidfile(name).unlink(missing_ok=True)
        _reap_children()
        taken = procs.wait_ports_free(ports, timeout=30.0)
        if taken:
            raise StackError(
                f"stopped {', '.join(stopped)} but ports {taken} are still taken "
                f"({procs.port_holder(taken[0]) or 'unknown process'})"
            )
        return stopped

    def _terminate(self, pid: int, ticks: int | None) -> None:
        child = _CHILDREN.pop(pid, None)
        leader = False
        with contextlib.suppress(OSError):
            leader = os.getpgid(pid) == pid  # our servers lead their own session
        if leader:
            with contextlib.suppress(OSError):
                os.killpg(pid, signal.SIGTERM)
        procs.terminate(pid, ticks, timeout=30.0)
        if leader:  # strays left in its process group
            with contextlib.suppress(OSError):
                os.killpg(pid, signal.SIGKILL)
        if child is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                child.wait(timeout=5)

    def _check_ports(self, plans: list[_Plan]) -> None:
        # A server that just died (SIGKILL) may still be releasing its sockets: a short grace.
        procs.wait_ports_free([p for plan in plans for p, _ in plan.ports], timeout=3.0)
        for plan in plans:
            for port, var in plan.ports:
                if not procs.port_is_free(port):
                    holder = procs.port_holder(port)
                    who = f" by {holder}" if holder else ""
                    raise StackError(
                        f"port {port} for {plan.name} is already in use{who}; stop that process "
                        f"or set {var} to a free port"
                    )

    def _spawn(self, plan: _Plan) -> None:
        self.logfile(plan.name).parent.mkdir(parents=True, exist_ok=True)
        self.pidfile(plan.name).parent.mkdir(parents=True, exist_ok=True)
        with self.logfile(plan.name).open("ab") as logf:
            logf.write(f"\n=== {time.strftime('%Y-%m-%dT%H:%M:%S')} start {plan.argv}\n".encode())
            logf.flush()
            proc = subprocess.Popen(
                plan.argv,
                cwd=plan.cwd,
                stdin=subprocess.DEVNULL,
                stdout=logf,
                stderr=subprocess.STDOUT,
                env={**os.environ, **plan.env},
                start_new_session=True,
            )
        _CHILDREN[proc.pid] = proc
        procs.write_pidfile(self.pidfile(plan.name), proc.pid)
        self.log(f"started {plan.name} (pid {proc.pid}), waiting for it to answer")

    def _wait_ready(self, name: str, deadline: float) -> None:
        last = "no answer yet"
        while True:
            rec = procs.read_pidfile(self.pidfile(name))
            if rec is None or not procs.is_alive(rec.pid, rec.start_ticks or None):
                raise StackError(
                    f"{name} exited during start-up; see {self.logfile(name)}: "
                    f"{self._log_tail(name)}"
                )
            try:
                self.round_trip(name, timeout=5.0)
                return
            except StackError as exc:
                if not exc.transient:
                    raise StackError(f"{name} answered but not as expected: {exc}") from None
                last = str(exc)
            if time.monotonic() >= deadline:
                raise StackError(
                    f"{name} did not answer within {self.settings.stack_start_timeout:.0f} s "
                    f"({last}); see {self.logfile(name)} or raise TICKETSTREAM_STACK_START_TIMEOUT"
                )
            time.sleep(0.25)

    def _log_tail(self, name: str, lines: int = 6) -> str:
        chunks: list[str] = []
        for f in self.log_files(name):
            with contextlib.suppress(OSError):
                chunks.extend(f.read_text(errors="replace").splitlines()[-lines:])
        return _one_line("\n".join(chunks))

    # ------------------------------------------------------------------ preparing servers
    def _prepare(self, names: list[str]) -> list[_Plan]:
        try:
            java = resolve_java(self.settings) if "kafka" in names else ""
            bins = ensure_binaries(
                [
                    b
                    for n, b in (("clickhouse", "clickhouse-server"), ("prometheus", "prometheus"))
                    if n in names
                ]
                + (["promtool"] if "prometheus" in names else [])
            )
            libs = ensure_kafka_libs(self.settings) if "kafka" in names else None
        except InstallError as exc:
            raise StackError(str(exc)) from None
        self.path("logs").mkdir(parents=True, exist_ok=True)
        plans: list[_Plan] = []
        for name in names:
            if name == "kafka":
                assert libs is not None
                plans.append(self._prepare_kafka(java, libs))
            elif name == "clickhouse":
                plans.append(self._prepare_clickhouse(bins["clickhouse-server"]))
            else:
                plans.append(self._prepare_prometheus(bins["prometheus"], bins["promtool"]))
        return plans

    def _prepare_kafka(self, java: str, libs: Path) -> _Plan:
        base = self.path("kafka")
        data = base / "data"
        data.mkdir(parents=True, exist_ok=True)
        props = base / "server.properties"
        props.write_text(configs.kafka_server_properties(self.settings, data))
        log4j = base / "log4j.properties"
        log4j.write_text(configs.KAFKA_LOG4J)
        cp = f"{libs}/*"
        jvm = [
            java,
            f"-Dlog4j.configuration=file:{log4j}",
            f"-Dkafka.logs.dir={self.path('logs')}",
            "-Djava.awt.headless=true",
        ]
        if not (data / "meta.properties").exists():
            id_file = base / "cluster.id"
            if not id_file.exists():
                id_file.write_text(configs.new_cluster_id() + "\n")
            cmd = [
                *jvm,
                "-Xmx256m",
                "-cp",
                cp,
                "kafka.tools.StorageTool",
                "format",
                "-t",
                id_file.read_text().strip(),
                "-c",
                str(props),
                "--ignore-formatted",
            ]
            try:
                proc = subprocess.run(cmd, capture_output=True, text=True, timeout=180, check=False)
            except (OSError, subprocess.TimeoutExpired) as exc:
                raise StackError(
                    f"formatting Kafka storage failed: `{' '.join(cmd)}`: {exc}"
                ) from None
            if proc.returncode != 0:
                raise StackError(
                    f"formatting Kafka storage failed (exit {proc.returncode}): "
                    f"`{' '.join(cmd)}`: {_one_line(proc.stdout + proc.stderr)}"
                )
        heap = self.settings.kafka_heap
        argv = [
            *jvm,
            f"-Xms{heap}",
            f"-Xmx{heap}",
            "-XX:+UseG1GC",
            "-XX:MaxGCPauseMillis=20",
            "-XX:+ExitOnOutOfMemoryError",
            "-cp",
            cp,
            "kafka.Kafka",
            str(props),
        ]
        return _Plan("kafka", argv, self.ports("kafka"), base)

    def _prepare_clickhouse(self, server: str) -> _Plan:
        base = self.path("clickhouse")
        (base / "data").mkdir(parents=True, exist_ok=True)
        try:
            base_xml = configs.CLICKHOUSE_BASE_CONFIG.read_text()
        except OSError as exc:
            raise StackError(
                f"cannot read {configs.CLICKHOUSE_BASE_CONFIG} ({exc}); reinstall it: "
                "apt-get install --reinstall -y clickhouse-server"
            ) from None
        cfg = base / "config.xml"
        cfg.write_text(configs.clickhouse_config(self.settings, base, self.path("logs"), base_xml))
        users = base / "users.xml"
        users.write_text(configs.clickhouse_users(self.settings))
        users.chmod(0o600)
        return _Plan("clickhouse", [server, f"--config-file={cfg}"], self.ports("clickhouse"), base)

    def _prepare_prometheus(self, prometheus: str, promtool: str) -> _Plan:
        base = self.path("prometheus")
        (base / "data").mkdir(parents=True, exist_ok=True)
        self.targets_dir.mkdir(parents=True, exist_ok=True)
        cfg = self._write_prometheus_config(promtool)
        argv = [
            prometheus,
            f"--config.file={cfg}",
            f"--storage.tsdb.path={base / 'data'}",
            f"--web.listen-address=127.0.0.1:{self.settings.prometheus_port}",
            "--web.enable-lifecycle",
            "--storage.tsdb.retention.time=7d",
            "--log.level=warn",
        ]
        return _Plan("prometheus", argv, self.ports("prometheus"), base)

    def _write_prometheus_config(self, promtool: str) -> Path:
        """prometheus.yml with the rule files that pass ``promtool check rules``."""
        rules: list[Path] = []
        for f in sorted(glob.glob(str(REPO_ROOT / RULES_GLOB))):
            check = subprocess.run(
                [promtool, "check", "rules", f], capture_output=True, text=True, check=False
            )
            if check.returncode == 0:
                rules.append(Path(f))
            else:
                self.log(
                    f"skipping invalid rule file {f}: {_one_line(check.stdout + check.stderr)}"
                )
        cfg = self.path("prometheus", "prometheus.yml")
        cfg.parent.mkdir(parents=True, exist_ok=True)
        jobs = configs.service_jobs(self.settings)
        cfg.write_text(configs.prometheus_config(self.settings, rules, self.targets_dir, jobs))
        return cfg

    def reload_prometheus(self) -> None:
        """Regenerate prometheus.yml (rule files may have changed) and reload it in place."""
        try:
            promtool = ensure_binaries(["promtool"])["promtool"]
        except InstallError as exc:
            raise StackError(str(exc)) from None
        self._write_prometheus_config(promtool)
        req = urllib.request.Request(f"{self.settings.prometheus_url}/-/reload", method="POST")
        try:
            with urllib.request.urlopen(req, timeout=10):
                pass
        except (urllib.error.URLError, OSError) as exc:
            raise StackError(f"prometheus: reloading its config failed: {exc}") from None

    # ------------------------------------------------------------------ round trips
    def round_trip(self, name: str, *, timeout: float = 5.0) -> None:
        """One real request to ``name``; raises StackError saying what failed."""
        try:
            if name == "kafka":
                kafka_round_trip(self.settings.kafka_bootstrap, timeout)
            elif name == "clickhouse":
                clickhouse_round_trip(self.settings, timeout)
            else:
                prometheus_round_trip(self.settings.prometheus_url, timeout)
        except StackError:
            raise
        except Exception as exc:
            raise StackError(f"{name}: {type(exc).__name__}: {exc}") from None


def kafka_round_trip(bootstrap: str, timeout: float) -> None:
    """A metadata request (aiokafka: it closes its sockets even when bootstrap fails)."""
    host, port = bootstrap.split(",")[0].rsplit(":", 1)
    try:  # cheap first: is anything listening yet?
        socket.create_connection((host, int(port)), timeout=timeout).close()
    except OSError as exc:
        raise StackError(f"kafka: cannot connect to {host}:{port}: {exc}", transient=True) from None

    async def fetch() -> list[object]:
        from aiokafka.client import AIOKafkaClient

        client = AIOKafkaClient(
            bootstrap_servers=bootstrap,
            request_timeout_ms=int(timeout * 1000),
            client_id="ticketstream-devstack",
        )
        try:
            await client.bootstrap()
            metadata = await client.fetch_all_metadata()
            return list(metadata.brokers())
        finally:
            await client.close()

    quiet = logging.getLogger("aiokafka")
    level = quiet.level
    quiet.setLevel(logging.CRITICAL)
    try:
        with concurrent.futures.ThreadPoolExecutor(1) as pool:  # safe inside a running loop too
            brokers = pool.submit(asyncio.run, fetch()).result(timeout=timeout + 5)
    except Exception as exc:
        transient = type(exc).__module__.startswith("aiokafka") or isinstance(
            exc, OSError | TimeoutError | concurrent.futures.TimeoutError
        )
        raise StackError(f"kafka: {type(exc).__name__}: {exc}", transient=transient) from None
    finally:
        quiet.setLevel(level)
    if not brokers:
        raise StackError(f"kafka: metadata from {bootstrap} lists no broker yet", transient=True)


def clickhouse_round_trip(settings: Settings, timeout: float) -> None:
    from clickhouse_driver import Client
    from clickhouse_driver.errors import NetworkError, SocketTimeoutError

    client = Client(
        host=settings.clickhouse_host,
        port=settings.clickhouse_port,
        user=settings.clickhouse_user,
        password=settings.clickhouse_password,
        connect_timeout=timeout,
        send_receive_timeout=timeout,
    )
    try:
        rows = client.execute("SELECT 1")
    except (NetworkError, SocketTimeoutError, OSError, EOFError) as exc:
        raise StackError(f"clickhouse: {type(exc).__name__}: {exc}", transient=True) from None
    finally:
        client.disconnect()
    if rows != [(1,)]:
        raise StackError(f"clickhouse: SELECT 1 returned {rows!r}")


def prometheus_round_trip(url: str, timeout: float) -> None:
    try:
        with urllib.request.urlopen(f"{url}/-/ready", timeout=timeout) as resp:
            if resp.status != 200:
                raise StackError(f"prometheus: /-/ready answered {resp.status}", transient=True)
    except urllib.error.HTTPError as exc:
        raise StackError(f"prometheus: /-/ready answered {exc.code}", transient=True) from None
    except (urllib.error.URLError, OSError) as exc:
        raise StackError(f"prometheus: {url}/-/ready: {exc}", transient=True) from None
