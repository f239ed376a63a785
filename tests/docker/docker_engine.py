"""A private Docker engine for the compose test, and a base image made from Debian.

:class:`PrivateDockerd` starts Debian's ``dockerd`` as root with everything of its
own: data root, exec root (and so its own containerd), socket, pid file, cgroup
parent and an empty daemon config; no bridge (``--bridge=none``), no iptables
rules (``--iptables=false``; ip6tables stays off, as it is by default in 20.10).
Containers can only use the host's network, so all traffic stays on this
machine. Its state is on a tmpfs mounted at its root. It is stopped by its pid, and :func:`clean_leftovers` removes what an
interrupted earlier run left: the daemon, its containers' processes (found
through the private cgroup parent), mounts and directories.

:func:`base_image_tar` makes the root file system of a Debian bookworm image with
Python 3.11 and pip (mmdebstrap), in place of ``python:3.11-slim-bookworm``
which cannot be pulled here. It trusts what this machine trusts (the host's CA
bundle), so pip inside ``docker build`` reaches PyPI as the host does.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

#: Fixed, short (unix socket paths are limited to 108 bytes) and ours alone, so a
#: later run finds what an interrupted one left.
STATE = Path(os.environ.get("STEPLINEAGE_COMPOSE_TEST_STATE", "/tmp/steplineage-compose-test"))
CGROUP_PARENT = "steplineage-compose-test"
BASE_TAG = "steplineage-test-base:bookworm"
#: A limit, not a reservation: the run uses about 5 GiB (images, containers, volumes).
TMPFS_SIZE = "12g"
#: The base image's Python: a venv first on PATH, as /usr/local/bin is in the official image.
BASE_CHANGES = [
    "ENV PATH=/opt/python/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "ENV LANG=C.UTF-8",
    "ENV PIP_CERT=/etc/ssl/certs/ca-certificates.crt",
    "ENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt",
    'CMD ["python3"]',
]
DEBIAN_SOURCES = [
    "deb http://deb.debian.org/debian bookworm main",
    "deb http://deb.debian.org/debian bookworm-updates main",
    "deb http://deb.debian.org/debian-security bookworm-security main",
]
HOST_CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")
MMDEBSTRAP = [
    "mmdebstrap", "--variant=minbase", "--include=python3,python3-venv,ca-certificates",
    "--customize-hook=cp /etc/ssl/certs/ca-certificates.crt "
    '"$1/usr/local/share/ca-certificates/host-trust.crt" '
    '&& chroot "$1" update-ca-certificates >/dev/null',
    '--customize-hook=chroot "$1" python3 -m venv /opt/python',
    "bookworm",
]
BASE_MAX_AGE_SECONDS = 7 * 24 * 3600


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _stop_pid(pid: int, timeout: float) -> None:
    """SIGTERM, then SIGKILL after ``timeout`` seconds."""
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not _pid_alive(pid):
            return
        time.sleep(0.2)
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def _our_processes(root: Path) -> list[int]:
    """Processes of the private engine: in its cgroup, or naming its state directory."""
    pids: set[int] = set()
    for procs in Path("/sys/fs/cgroup").glob(f"*/{CGROUP_PARENT}/**/cgroup.procs"):
        try:
            pids.update(int(p) for p in procs.read_text().split())
        except OSError:
            continue
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) == os.getpid():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ")
        except OSError:
            continue
        if str(root).encode() + b"/" in cmdline:
            pids.add(int(proc.name))
    return sorted(pids)


def _unmount_under(root: Path) -> None:
    mounts = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        point = line.split()[4].replace("\\040", " ")
        if point == str(root) or point.startswith(f"{root}/"):
            mounts.append(point)
    for point in sorted(mounts, key=len, reverse=True):
        subprocess.run(["umount", "-l", point], capture_output=True)


def clean_leftovers(root: Path = STATE) -> None:
    """Stop and remove whatever a private engine under ``root`` left running or mounted."""
    pidfile = root / "dockerd.pid"
    if pidfile.exists():
        try:
            pid = int(pidfile.read_text().strip())
        except ValueError:
            pid = 0
        if pid and _pid_alive(pid) and str(root).encode() in Path(
                f"/proc/{pid}/cmdline").read_bytes():
            _stop_pid(pid, timeout=30)  # dockerd stops its containers and containerd
    for pid in _our_processes(root):
        _stop_pid(pid, timeout=5)
    _unmount_under(root)
    for cgroup in Path("/sys/fs/cgroup").glob(f"*/{CGROUP_PARENT}"):
        for sub in sorted(cgroup.glob("**/"), key=lambda p: len(str(p)), reverse=True):
            try:
                sub.rmdir()
            except OSError:
                pass
    shutil.rmtree(root, ignore_errors=True)


class PrivateDockerd:
    """``dockerd`` with its own state under ``root``; ``env`` points docker clients at it.

    Example:
        >>> with PrivateDockerd() as engine:  # doctest: +SKIP
        ...     subprocess.run(["docker", "info"], env=engine.env, check=True)
    """

    def __init__(self, root: Path = STATE):
        self.root = root
        self.socket = root / "docker.sock"
        self.pidfile = root / "dockerd.pid"
        self.log = root / "dockerd.log"
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def host(self) -> str:
        return f"unix://{self.socket}"

    @property
    def env(self) -> dict[str, str]:
        """The environment for docker clients: this engine, no user config, BuildKit."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("DOCKER_")}
        env.update(DOCKER_HOST=self.host, DOCKER_CONFIG=str(self.root / "client"),
                   DOCKER_BUILDKIT="1", COMPOSE_DOCKER_CLI_BUILD="1")
        return env

    def start(self, timeout: float = 60) -> None:
        clean_leftovers(self.root)
        self.root.mkdir(parents=True)
        # All state in memory: images and containers go with one umount at the end
        # (deleting a few hundred thousand layer files from disk takes minutes).
        subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={TMPFS_SIZE},mode=0711",
                        "steplineage-compose-test", str(self.root)], check=True)
        (self.root / "client").mkdir()
        config = self.root / "daemon.json"
        config.write_text("{}\n")  # never /etc/docker/daemon.json
        args = ["dockerd", "--config-file", str(config),
                "--data-root", str(self.root / "data"), "--exec-root", str(self.root / "exec"),
                "--host", self.host, "--pidfile", str(self.pidfile),
                "--bridge=none", "--iptables=false", "--ip-masq=false",
                "--cgroup-parent", f"/{CGROUP_PARENT}", "--log-level", "warn"]
        with self.log.open("wb") as log:
            self.proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"dockerd exited with {self.proc.returncode}:\n"
                                   f"{self.log.read_text()[-3000:]}")
            done = subprocess.run(["docker", "version", "--format", "{{.Server.Version}}"],
                                  env=self.env, capture_output=True, text=True)
            if done.returncode == 0:
                return
            time.sleep(0.5)
        raise RuntimeError(f"dockerd did not answer on {self.socket} in {timeout:.0f} s:\n"
                           f"{self.log.read_text()[-3000:]}")

    def stop(self) -> None:
        """Remove every container, stop the daemon by its pid, delete its directories."""
        if self.proc is not None and self.proc.poll() is None:
            ids = subprocess.run(["docker", "ps", "-aq"], env=self.env, capture_output=True,
                                 text=True, timeout=60).stdout.split()
            if ids:
                subprocess.run(["docker", "rm", "-f", "-v", *ids], env=self.env,
                               capture_output=True, timeout=120)
            _stop_pid(self.proc.pid, timeout=30)
            self.proc.wait(timeout=10)
        clean_leftovers(self.root)

    def __enter__(self) -> PrivateDockerd:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def base_image_tar(cache: Path) -> Path:
    """The base image's root file system as a tarball, made once a week (mmdebstrap).

    The name carries a hash of the recipe and of the host's CA bundle, so a change
    to either makes a new one.
    """
    recipe = "\n".join([*MMDEBSTRAP, *DEBIAN_SOURCES]).encode() + HOST_CA_BUNDLE.read_bytes()
    tar = cache / f"base-bookworm-{hashlib.sha256(recipe).hexdigest()[:12]}.tar"
    if tar.exists() and time.time() - tar.stat().st_mtime < BASE_MAX_AGE_SECONDS:
        return tar
    cache.mkdir(parents=True, exist_ok=True)
    for old in cache.glob("*base-bookworm-*.tar"):
        old.unlink()
    partial = cache / f"partial-{tar.name}"  # mmdebstrap picks the format by the suffix
    done = subprocess.run(["nice", "-n", "10", *MMDEBSTRAP, str(partial), *DEBIAN_SOURCES],
                          capture_output=True, text=True, timeout=900)
    if done.returncode != 0:
        partial.unlink(missing_ok=True)
        raise RuntimeError(f"mmdebstrap failed:\n{done.stderr[-3000:]}")
    partial.rename(tar)
    return tar


def import_base_image(engine: PrivateDockerd, tar: Path) -> str:
    """``docker import`` the tarball as :data:`BASE_TAG`; returns the tag."""
    args = ["docker", "import"]
    for change in BASE_CHANGES:
        args += ["--change", change]
    done = subprocess.run([*args, str(tar), BASE_TAG], env=engine.env, capture_output=True,
                          text=True, timeout=300)
    if done.returncode != 0:
        raise RuntimeError(f"docker import of {tar} failed:\n{done.stderr[-3000:]}")
    return BASE_TAG
