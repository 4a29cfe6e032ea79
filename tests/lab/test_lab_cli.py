"""The lab tool itself: idempotent up, clean down, and clear errors that leave nothing behind.

Each case uses its own prefix, subnet and ports, never the suite's main lab.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from labkit import LAB, ROOT, TEST_ENV, TEST_PREFIX, run_lab
from patchpilot_lab import config

pytestmark = pytest.mark.lab


def env_for(prefix: str, port_base: int, subnet: str, hosts: int = 1, **extra: str) -> dict:
    env = dict(os.environ)
    for key in list(env):
        if key.startswith("LAB_"):
            del env[key]
    env.update({"LAB_PREFIX": prefix, "LAB_SSH_PORT_BASE": str(port_base), "LAB_SUBNET": subnet,
                "LAB_HOSTS": str(hosts)})
    env.update(extra)
    return env


def leftovers(prefix: str) -> list[str]:
    """Everything a lab with this prefix could have left on the machine."""
    found = []
    ps = subprocess.run(["podman", "ps", "-a", "--filter", f"label=io.patchpilot.lab={prefix}",
                         "--format", "{{.Names}}"], capture_output=True, text=True, check=True)
    found += ps.stdout.split()
    if subprocess.run(["podman", "network", "exists", f"{prefix}-net"], check=False).returncode == 0:
        found.append(f"{prefix}-net")
    rules = subprocess.run(["iptables", "-w", "-t", "mangle", "-S", "PREROUTING"],
                           capture_output=True, text=True, check=True).stdout
    found += [line for line in rules.splitlines() if f"patchpilot-lab:{prefix}" in line]
    if (ROOT / ".lab" / prefix).exists():
        found.append(str(ROOT / ".lab" / prefix))
    return found


def container_ids(prefix: str) -> list[str]:
    ps = subprocess.run(["podman", "ps", "-a", "--filter", f"label=io.patchpilot.lab={prefix}",
                         "--format", "json"], capture_output=True, text=True, check=True)
    return sorted(f"{c['Id']} {c['State']}" for c in json.loads(ps.stdout or "[]"))


def assert_clear_error(proc: subprocess.CompletedProcess, *needles: str) -> None:
    assert proc.returncode == 2, f"exit {proc.returncode}: {proc.stderr}"
    assert "Traceback" not in proc.stderr, proc.stderr
    for needle in needles:
        assert needle in proc.stderr, proc.stderr


def test_up_twice_leaves_one_lab_and_down_removes_everything(lab, tmp_path):
    env = env_for("pptwo", 3600, "10.214.2.0/24", hosts=2)
    try:
        first = run_lab("up", env=env)
        assert first.returncode == 0, first.stderr
        ids = container_ids("pptwo")
        assert len(ids) == 2 and all(line.endswith("running") for line in ids)
        second = run_lab("up", env=env)
        assert second.returncode == 0, second.stderr
        assert container_ids("pptwo") == ids, "a second 'lab up' must keep the same hosts"
        status = run_lab("status", env=env)
        assert status.returncode == 0 and "app01" not in status.stdout and "db01" in status.stdout
        inventory = ROOT / ".lab" / "pptwo" / "inventory" / "hosts.yml"
        assert inventory.is_file()
        # The same lab prefix from another checkout (another state directory, other keys):
        # its hosts are replaced, not reused with the first checkout's host keys.
        other = dict(env, LAB_STATE_DIR=str(tmp_path / "other-state"))
        third = run_lab("up", env=other)
        assert third.returncode == 0, third.stderr
        assert container_ids("pptwo") != ids and len(container_ids("pptwo")) == 2
        state = json.loads((tmp_path / "other-state" / "state.json").read_text(encoding="utf-8"))
        ssh = subprocess.run(
            ["ssh", "-F", "/dev/null", "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=yes",
             "-o", f"UserKnownHostsFile={state['known_hosts']}", "-i", state["ssh_key"],
             "-p", "3601", "patchpilot@127.0.0.1", "hostname"],
            capture_output=True, text=True, timeout=60, check=False)
        assert ssh.stdout.strip() == "web01", ssh.stderr
        assert run_lab("down", env=other).returncode == 0
    finally:
        down = run_lab("down", env=env)
    assert down.returncode == 0, down.stderr
    assert leftovers("pptwo") == []
    again = run_lab("down", env=env)
    assert again.returncode == 0 and "was not running" in again.stderr
    status = run_lab("status", env=env)
    assert status.returncode == 1 and "is not up" in status.stdout


def test_port_already_taken(lab):
    env = env_for("ppport", 3700, "10.214.3.0/24", hosts=2)
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 3702))
        sock.listen(1)
        proc = run_lab("up", env=env)
    assert_clear_error(proc, "port(s) 3702", "LAB_SSH_PORT_BASE")
    assert leftovers("ppport") == []


def test_not_root(tmp_path):
    env = env_for("ppuser", 3800, "10.214.4.0/24", LAB_STATE_DIR=str(tmp_path / "state"))
    env["PATH"] = "/usr/bin:/bin"
    proc = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", str(LAB), "up"],
                          env=env, capture_output=True, text=True, timeout=120, check=False)
    assert_clear_error(proc, "must run as root")
    assert not (tmp_path / "state").exists()


def _toolbox(tmp_path: Path, skip: set[str]) -> Path:
    """A PATH holding the real tools the lab uses, except those in ``skip``."""
    bindir = tmp_path / "bin"
    bindir.mkdir()
    # The interpreter itself, not a wrapper script (pyenv's shims need bash).
    (bindir / "python3").symlink_to(os.path.realpath(sys.executable))
    for tool in ("runc", "debootstrap", "reprepro", "gpg", "gpgv", "dpkg-deb", "iptables",
                 "ssh", "ssh-keygen", "ip", "tar", "podman", "apt-get", "dpkg", "sh", "env"):
        if tool in skip:
            continue
        real = shutil.which(tool)
        assert real, f"{tool} is needed by this test"
        (bindir / tool).symlink_to(real)
    return bindir


def test_podman_missing_and_not_installable(tmp_path):
    bindir = _toolbox(tmp_path, {"podman", "apt-get"})
    fake = bindir / "apt-get"
    fake.write_text("#!/bin/sh\necho 'E: Unable to locate package podman' >&2\nexit 100\n", encoding="utf-8")
    fake.chmod(0o755)
    env = env_for("ppnopod", 3900, "10.214.5.0/24", PATH=str(bindir))
    proc = run_lab("up", env=env)
    assert_clear_error(proc, "missing tools: podman", "Unable to locate package podman")
    assert leftovers("ppnopod") == []


def test_podman_failing(tmp_path):
    bindir = _toolbox(tmp_path, {"podman"})
    fake = bindir / "podman"
    fake.write_text("#!/bin/sh\necho 'Error: simulated storage failure' >&2\nexit 125\n", encoding="utf-8")
    fake.chmod(0o755)
    proc = run_lab("up", env=env_for("ppbroken", 4000, "10.214.6.0/24", PATH=str(bindir)))
    assert_clear_error(proc, "podman is not working", "simulated storage failure")
    assert leftovers("ppbroken") == []


def test_failure_midway_leaves_no_half_made_lab(tmp_path, lab):
    """podman fails to start the second host: the first host, network and rule are removed again."""
    bindir = tmp_path / "bin"
    bindir.mkdir()
    real = shutil.which("podman")
    wrapper = bindir / "podman"
    wrapper.write_text(
        "#!/bin/sh\n"
        'if [ "$1" = run ] && echo "$*" | grep -q -- "--name pphalf-db01"; then\n'
        "  echo 'Error: simulated failure starting pphalf-db01' >&2; exit 126\nfi\n"
        f'exec {real} "$@"\n', encoding="utf-8")
    wrapper.chmod(0o755)
    env = env_for("pphalf", 4100, "10.214.7.0/24", hosts=2, PATH=f"{bindir}:{os.environ['PATH']}")
    proc = run_lab("up", env=env)
    assert_clear_error(proc, "simulated failure starting pphalf-db01", "partial lab was removed")
    assert leftovers("pphalf") == []


def test_status_reports_hosts(lab):
    """One line per host the test lab's settings make (the fleet rules, not state.json), each running and reachable."""
    proc = run_lab("status")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    expected = config.fleet(config.from_env(TEST_ENV))
    rows = [line.split() for line in proc.stdout.splitlines()[2:] if line.strip()]
    assert [row[0] for row in rows] == [host.name for host in expected], proc.stdout
    for row, host in zip(rows, expected):
        assert row[1:] == [f"debian{host.release}", host.codename, host.location, host.ip, host.mac,
                           f"127.0.0.1:{host.ssh_port}", "running"], proc.stdout
    assert len(container_ids(TEST_PREFIX)) == len(expected)


def test_reset_unknown_host_is_refused(lab):
    proc = run_lab("reset", "nosuch01")
    assert_clear_error(proc, f"no such host(s) in lab '{TEST_PREFIX}': nosuch01")


def test_second_command_on_the_same_lab_is_refused(lab):
    """While one lab command holds the lab's lock, another is refused with a clear message."""
    lock = ROOT / ".lab" / f".{TEST_PREFIX}.lock"
    with open(lock, "w", encoding="utf-8") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        proc = run_lab("up")
    assert_clear_error(proc, f"another lab command is already running for lab '{TEST_PREFIX}'")
