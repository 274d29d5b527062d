"""Install what the local stack needs, idempotently: Debian packages and the Kafka jars.

``ensure_apt_packages(["dovecot-imapd"])`` is reusable by any package that needs a Debian
package for its tests: it runs ``apt-get update`` + ``apt-get install -y`` only for packages that
are not installed yet, and raises :class:`InstallError` with the command and the tail of its
output when that fails.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

from ticketstream.settings import Settings

POM = Path(__file__).resolve().parent / "kafka" / "pom.xml"
DEPENDENCY_PLUGIN = "org.apache.maven.plugins:maven-dependency-plugin:3.8.1"
JAVA_PACKAGE = "openjdk-17-jre-headless"

# binary -> (Debian package, where Debian installs it when PATH lacks that dir)
APT_BINARIES: dict[str, tuple[str, str]] = {
    "clickhouse-server": ("clickhouse-server", "/usr/sbin/clickhouse-server"),
    "clickhouse-client": ("clickhouse-client", "/usr/bin/clickhouse-client"),
    "prometheus": ("prometheus", "/usr/bin/prometheus"),
    "promtool": ("prometheus", "/usr/bin/promtool"),
}


class InstallError(Exception):
    """An install step failed; the message names the command and the tail of its output."""


_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def _tail(text: str, lines: int = 8) -> str:
    """The informative end of a command's output, on one line (errors first, no colours)."""
    all_lines = [ln.strip() for ln in _ANSI.sub("", text).splitlines()]
    all_lines = [ln for ln in all_lines if ln and ln not in ("[ERROR]", "[ERROR] ")]
    errors = [ln for ln in all_lines if ln.startswith(("[ERROR]", "E:", "ERROR"))]
    picked = errors[:2] if errors else all_lines[-lines:]
    out = " | ".join(picked)
    return out if len(out) <= 600 else out[:600] + "…"


def _log(msg: str) -> None:
    print(f"ticketstream dev: {msg}", file=sys.stderr, flush=True)


@contextlib.contextmanager
def file_lock(path: Path) -> Iterator[None]:
    """An exclusive advisory lock (serialises concurrent installs and `dev up`s)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _run(cmd: Sequence[str], *, what: str, env: dict[str, str] | None = None) -> None:
    try:
        proc = subprocess.run(
            list(cmd),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=env,
            check=False,
        )
    except OSError as exc:
        raise InstallError(f"{what} failed: `{' '.join(cmd)}`: {exc}") from None
    if proc.returncode != 0:
        raise InstallError(
            f"{what} failed (exit {proc.returncode}): `{' '.join(cmd)}`: {_tail(proc.stdout)}"
        )


def package_installed(name: str) -> bool:
    try:
        out = subprocess.run(
            ["dpkg-query", "-W", "-f=${Status}", name],
            capture_output=True,
            text=True,
            check=False,
        )
    except OSError:
        return False
    return out.returncode == 0 and "install ok installed" in out.stdout


_apt_updated = False


def ensure_apt_packages(names: Sequence[str]) -> list[str]:
    """Install the Debian packages in ``names`` that are missing; return those installed.

    Idempotent and cheap when everything is there (one ``dpkg-query`` per package).
    """
    global _apt_updated
    missing = [n for n in names if not package_installed(n)]
    if not missing:
        return []
    if shutil.which("apt-get") is None:
        raise InstallError(
            f"Debian packages {', '.join(missing)} are missing and apt-get is not available; "
            "install them with your system's package manager"
        )
    prefix: list[str] = []
    if os.geteuid() != 0:
        if shutil.which("sudo") is None:
            raise InstallError(
                f"Debian packages {', '.join(missing)} are missing; run as root: "
                f"apt-get update && apt-get install -y {' '.join(missing)}"
            )
        prefix = ["sudo", "-n"]
    # RUNLEVEL=1: packages' init scripts do not start system-wide daemons (we run our own).
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive", RUNLEVEL="1")
    lock = ["-o", "DPkg::Lock::Timeout=300"]
    with file_lock(Path("/tmp/ticketstream-apt.lock")):
        missing = [n for n in missing if not package_installed(n)]
        if not missing:
            return []
        _log(f"installing Debian packages: {' '.join(missing)}")
        if not _apt_updated:
            _run([*prefix, "apt-get", *lock, "update"], what="apt-get update", env=env)
            _apt_updated = True
        _run(
            [*prefix, "apt-get", *lock, "install", "-y", "--no-install-recommends", *missing],
            what="apt-get install",
            env=env,
        )
    return missing


def find_binary(name: str) -> str | None:
    """``name`` on PATH, or where its Debian package puts it (/usr/sbin may not be on PATH)."""
    found = shutil.which(name)
    if found:
        return found
    known = APT_BINARIES.get(name)
    if known and os.access(known[1], os.X_OK):
        return known[1]
    return None


def ensure_binaries(names: Sequence[str]) -> dict[str, str]:
    """Install the Debian packages of missing binaries; return name -> absolute path."""
    missing = [n for n in names if find_binary(n) is None]
    if missing:
        ensure_apt_packages(sorted({APT_BINARIES[n][0] for n in missing}))
    paths: dict[str, str] = {}
    for n in names:
        path = find_binary(n)
        if path is None:
            raise InstallError(
                f"{n} is still missing after installing {APT_BINARIES[n][0]}; "
                f"check `dpkg -L {APT_BINARIES[n][0]}`"
            )
        paths[n] = path
    return paths


def resolve_java(settings: Settings) -> str:
    """The java executable, installing Debian's JRE when the default ``java`` is missing.

    An explicitly configured path that does not exist is an error, never silently replaced.
    """
    java = settings.java
    found = shutil.which(java)
    if found:
        return found
    if java == "java":
        try:
            ensure_apt_packages([JAVA_PACKAGE])
        except InstallError as exc:
            raise InstallError(
                f"Java not found on PATH and installing it failed ({exc}); install a Java 17 "
                "runtime or set TICKETSTREAM_JAVA to a java executable"
            ) from None
        found = shutil.which("java")
        if found:
            return found
    raise InstallError(
        f"Java not found: TICKETSTREAM_JAVA={java!r} is not an executable; install a Java 17 "
        f"runtime (apt-get install -y {JAVA_PACKAGE}) or set TICKETSTREAM_JAVA to a java executable"
    )


def kafka_libs_dir(settings: Settings) -> Path:
    return settings.cache_dir / f"kafka-{settings.kafka_version}" / "libs"


def ensure_kafka_libs(settings: Settings) -> Path:
    """The Kafka broker's classpath dir, fetched from Maven Central once and cached."""
    libs = kafka_libs_dir(settings)
    marker = libs.parent / "libs.complete"
    if marker.exists():
        return libs
    with file_lock(libs.parent.parent / f"kafka-{settings.kafka_version}.lock"):
        if marker.exists():
            return libs
        mvn = shutil.which(settings.maven)
        if mvn is None:
            if settings.maven == "mvn":
                ensure_apt_packages(["maven"])
                mvn = shutil.which("mvn")
            if mvn is None:
                raise InstallError(
                    f"Maven not found: TICKETSTREAM_MAVEN={settings.maven!r}; install it "
                    "(apt-get install -y maven) or set TICKETSTREAM_MAVEN"
                )
        tmp = libs.parent / f"libs.tmp-{os.getpid()}"
        shutil.rmtree(tmp, ignore_errors=True)
        cmd = [
            mvn,
            "-B",
            "-q",
            "-Dstyle.color=never",
            "-f",
            str(POM),
            f"-Dkafka.version={settings.kafka_version}",
            f"{DEPENDENCY_PLUGIN}:copy-dependencies",
            f"-DoutputDirectory={tmp}",
            "-DincludeScope=runtime",
        ]
        repo = settings.maven_repo_local
        if repo is not None and str(repo) not in ("", "."):
            cmd.insert(2, f"-Dmaven.repo.local={repo}")
        _log(f"fetching Apache Kafka {settings.kafka_version} jars from Maven Central")
        try:
            _run(cmd, what="Kafka jar download (Maven)")
        except InstallError as exc:
            shutil.rmtree(tmp, ignore_errors=True)
            raise InstallError(
                f"{exc}; check network access to Maven Central and TICKETSTREAM_KAFKA_VERSION"
            ) from None
        if not any(tmp.glob("kafka_2.13-*.jar")):
            shutil.rmtree(tmp, ignore_errors=True)
            raise InstallError(
                f"Maven finished but {tmp} holds no kafka_2.13 jar: `{' '.join(cmd)}`"
            )
        shutil.rmtree(libs, ignore_errors=True)
        tmp.replace(libs)
        marker.write_text(settings.kafka_version + "\n")
    return libs
