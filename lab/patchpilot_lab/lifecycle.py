"""Bring a lab up, down, report its status and reset its hosts.

A lab is a set of systemd containers sharing one podman network (one prefix,
one network, one firewall rule, one state directory). Everything it creates
carries the label ``io.patchpilot.lab=<prefix>`` so ``down`` finds it again
even when the state file is gone.
"""

from __future__ import annotations

import contextlib
import csv
import dataclasses
import errno
import fcntl
import io
import ipaddress
import json
import os
import shlex
import shutil
import socket
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from . import images, rpm
from .config import LabConfig, HostSpec, fleet
from .system import LabError, ensure_tools, log, require_root, run

STATE_VERSION = 1
PODMAN_CONF = Path("/etc/containers/containers.conf.d/50-patchpilot-lab.conf")
PODMAN_CONF_TEXT = """\
# Written by the patchpilot lab (lab/lab up). crun cannot run containers on
# this machine's hybrid cgroups, and podman's default open-files limit is refused.
[engine]
runtime = "runc"

[containers]
default_ulimits = ["nofile=1024:1024", "nproc=4096:4096"]
"""

ROLE_META = {
    "web": {"owner": "team-web", "criticality": "medium", "data_sensitivity": "public", "internet_exposed": "yes"},
    "db": {"owner": "team-data", "criticality": "high", "data_sensitivity": "confidential", "internet_exposed": "no"},
    "app": {"owner": "team-apps", "criticality": "low", "data_sensitivity": "internal", "internet_exposed": "no"},
    "rpm": {"owner": "team-platform", "criticality": "low", "data_sensitivity": "internal", "internet_exposed": "no"},
}
CMDB_FIELDS = (
    "hostname", "fqdn", "ip_address", "mac_address", "os_family", "os_distribution",
    "os_version", "os_codename", "role", "location", "owner", "criticality",
    "data_sensitivity", "internet_exposed", "ansible_host", "ansible_port",
)
DOMAIN = "lab.patchpilot.test"
#: The inventory plugin's configuration file (its name must end in assets.yml).
ASSETS_CONFIG = "lab.assets.yml"
FIREWALL_TAG = "patchpilot-lab:"
#: Which state directory (keys, known_hosts) a host's mounts come from: a host
#: left by another checkout of the same lab prefix is replaced, not reused.
STATE_LABEL = "io.patchpilot.lab.state"


# --- small helpers -----------------------------------------------------------

def _atomic_write(path: Path, text: str, mode: int = 0o644) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


@contextlib.contextmanager
def _state_lock(cfg: LabConfig):
    cfg.state_dir.parent.mkdir(parents=True, exist_ok=True)
    handle = open(cfg.state_dir.parent / f".{cfg.prefix}.lock", "w", encoding="utf-8")
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            raise LabError(f"another lab command is already running for lab '{cfg.prefix}'") from exc
        yield
    finally:
        handle.close()


def _ssh_dir(cfg: LabConfig) -> Path:
    return cfg.state_dir / "ssh"


def _state_file(cfg: LabConfig) -> Path:
    return cfg.state_dir / "state.json"


def load_state(cfg: LabConfig) -> dict | None:
    try:
        return json.loads(_state_file(cfg).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, json.JSONDecodeError) as exc:
        raise LabError(f"the lab state file {_state_file(cfg)} is unreadable ({exc}); run 'lab down'") from exc


def _lab_containers(cfg: LabConfig) -> dict[str, dict]:
    proc = run(["podman", "ps", "-a", "--filter", f"label={cfg.label}", "--format", "json"],
               what="podman ps")
    found = {}
    for item in json.loads(proc.stdout or "[]"):
        names = item.get("Names") or []
        if names:
            found[names[0]] = item
    return found


def _network_exists(cfg: LabConfig) -> bool:
    return run(["podman", "network", "exists", cfg.network], check=False).returncode == 0


# --- preflight ------------------------------------------------------------------

#: Kernel limits the lab raises (never lowers). Every host's systemd holds
#: several inotify instances, all counted against root: the default of 128
#: lets about 25 hosts boot and leaves the rest degraded.
KERNEL_LIMITS = {
    "fs.inotify.max_user_instances": 8192,
    "fs.inotify.max_user_watches": 524288,
}
SYSCTL_CONF = Path("/etc/sysctl.d/60-patchpilot-lab.conf")


def configure_kernel() -> None:
    lines = ["# Written by the patchpilot lab: many systemd hosts on one kernel.\n"]
    for key, wanted in KERNEL_LIMITS.items():
        path = Path("/proc/sys") / key.replace(".", "/")
        try:
            current = int(path.read_text(encoding="utf-8").split()[0])
        except (OSError, ValueError, IndexError) as exc:
            raise LabError(f"cannot read the kernel setting {key}: {exc}") from exc
        value = max(current, wanted)
        lines.append(f"{key} = {value}\n")
        if current < wanted:
            run(["sysctl", "-q", "-w", f"{key}={wanted}"], what=f"sysctl {key}")
    text = "".join(lines)
    if not SYSCTL_CONF.exists() or SYSCTL_CONF.read_text(encoding="utf-8") != text:
        _atomic_write(SYSCTL_CONF, text)


def configure_podman() -> None:
    if not PODMAN_CONF.exists() or PODMAN_CONF.read_text(encoding="utf-8") != PODMAN_CONF_TEXT:
        _atomic_write(PODMAN_CONF, PODMAN_CONF_TEXT)
    proc = run(["podman", "info", "--format", "{{.Host.OCIRuntime.Name}} {{.Host.NetworkBackend}}"],
               check=False, timeout=120)
    if proc.returncode != 0:
        detail = (proc.stderr or proc.stdout or "").strip().splitlines()
        raise LabError(f"podman is not working: {detail[-1] if detail else 'exit ' + str(proc.returncode)}")
    runtime, _, backend = proc.stdout.strip().partition(" ")
    if runtime != "runc":
        raise LabError(f"podman uses the '{runtime}' runtime, not runc; check {PODMAN_CONF} and "
                       "/etc/containers/containers.conf")
    if backend and backend != "netavark":
        raise LabError(f"podman uses the '{backend}' network backend; the lab needs netavark "
                       "(apt-get install netavark aardvark-dns, then 'podman system reset')")


def _check_ports(cfg: LabConfig, hosts: list[HostSpec], ours: dict[str, dict]) -> None:
    own_ports = set()
    for item in ours.values():
        for port in item.get("Ports") or []:
            own_ports.add(int(port.get("host_port", 0)))
    taken = []
    for host in hosts:
        if host.ssh_port in own_ports:
            continue
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            try:
                sock.bind(("127.0.0.1", host.ssh_port))
            except OSError as exc:
                if exc.errno in (errno.EADDRINUSE, errno.EACCES):
                    taken.append(host.ssh_port)
                else:
                    raise LabError(f"cannot check port {host.ssh_port}: {exc}") from exc
    # Ports published by other podman containers (DNAT rules hold no socket).
    proc = run(["podman", "ps", "-a", "--format", "json"], what="podman ps")
    for item in json.loads(proc.stdout or "[]"):
        if (item.get("Labels") or {}).get("io.patchpilot.lab") == cfg.prefix:
            continue
        for port in item.get("Ports") or []:
            if int(port.get("host_port", 0)) in {h.ssh_port for h in hosts}:
                taken.append(int(port["host_port"]))
    if taken:
        ports = ", ".join(str(p) for p in sorted(set(taken)))
        raise LabError(
            f"port(s) {ports} on 127.0.0.1 are already taken; free them or choose another "
            f"range with LAB_SSH_PORT_BASE (hosts use {hosts[0].ssh_port}..{hosts[-1].ssh_port})"
        )


def _check_subnet(cfg: LabConfig) -> None:
    ours = _network_exists(cfg)
    proc = run(["podman", "network", "ls", "--format", "json"], what="podman network ls")
    for net in json.loads(proc.stdout or "[]"):
        if net.get("name") == cfg.network:
            continue
        for sub in net.get("subnets") or []:
            other = ipaddress.ip_network(sub.get("subnet"), strict=False)
            if other.version == 4 and other.overlaps(cfg.subnet):
                raise LabError(f"LAB_SUBNET {cfg.subnet} overlaps podman network '{net.get('name')}' "
                               f"({other}); choose another LAB_SUBNET")
    routes = json.loads(run(["ip", "-j", "-4", "route", "show"], what="ip route").stdout or "[]")
    for route in routes:
        dst = route.get("dst")
        if not dst or dst == "default":
            continue
        net = ipaddress.ip_network(dst, strict=False)
        if net.overlaps(cfg.subnet) and not ours:
            raise LabError(f"LAB_SUBNET {cfg.subnet} overlaps this machine's route to {net} "
                           f"(dev {route.get('dev')}); choose another LAB_SUBNET")


# --- keys and files --------------------------------------------------------------

def _ensure_key(path: Path, comment: str) -> None:
    if path.exists() and path.with_suffix(".pub").exists():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    for stale in (path, path.with_suffix(".pub")):
        with contextlib.suppress(FileNotFoundError):
            stale.unlink()
    run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", str(path)],
        what="ssh-keygen")


def _host_key(cfg: LabConfig, host: HostSpec) -> Path:
    return _ssh_dir(cfg) / "hostkeys" / host.name


def ensure_keys(cfg: LabConfig, hosts: list[HostSpec]) -> None:
    ssh = _ssh_dir(cfg)
    ssh.mkdir(parents=True, exist_ok=True)
    os.chmod(ssh, 0o700)
    _ensure_key(ssh / "id_ed25519", f"patchpilot-lab-{cfg.prefix}")
    shutil.copyfile(ssh / "id_ed25519.pub", ssh / "authorized_keys")
    os.chmod(ssh / "authorized_keys", 0o644)
    for host in hosts:
        _ensure_key(_host_key(cfg, host), f"{host.name}.{DOMAIN}")
    lines = []
    for host in hosts:
        keytype, key = _host_key(cfg, host).with_suffix(".pub").read_text(encoding="utf-8").split()[:2]
        lines.append(f"[127.0.0.1]:{host.ssh_port} {keytype} {key}\n")
    _atomic_write(ssh / "known_hosts", "".join(lines))


def ssh_argv(cfg: LabConfig, host: HostSpec, *command: str, timeout: int = 10) -> list[str]:
    ssh = _ssh_dir(cfg)
    return [
        "ssh", "-F", "/dev/null", "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=yes",
        "-o", f"UserKnownHostsFile={ssh / 'known_hosts'}", "-o", "IdentitiesOnly=yes",
        "-o", f"ConnectTimeout={timeout}", "-o", "LogLevel=ERROR",
        "-i", str(ssh / "id_ed25519"), "-p", str(host.ssh_port),
        f"{images.ADMIN_USER}@127.0.0.1", *command,
    ]


def _yaml_str(value: str) -> str:
    return json.dumps(value)


def write_inventory(cfg: LabConfig, hosts: list[HostSpec]) -> None:
    """The static inventory (groups by role, release, location) and the CMDB file."""
    ssh = _ssh_dir(cfg)
    groups: dict[str, list[HostSpec]] = {}
    for host in hosts:
        for group in (host.role, f"debian{host.release}", host.location.replace("-", "_")):
            groups.setdefault(group, []).append(host)
    ssh_args = (f"-o UserKnownHostsFile={ssh / 'known_hosts'} -o StrictHostKeyChecking=yes "
                "-o IdentitiesOnly=yes")
    out = io.StringIO()
    out.write(f"# Written by 'lab up' for lab '{cfg.prefix}'; regenerated on every run.\n")
    out.write("# Host keys are known in advance (known_hosts below): host key checking stays on.\n")
    out.write("all:\n  vars:\n")
    out.write("    ansible_host: 127.0.0.1\n")
    out.write(f"    ansible_user: {images.ADMIN_USER}\n")
    out.write("    ansible_become: true\n")
    out.write(f"    ansible_ssh_private_key_file: {_yaml_str(str(ssh / 'id_ed25519'))}\n")
    out.write(f"    ansible_ssh_common_args: {_yaml_str(ssh_args)}\n")
    out.write("    ansible_python_interpreter: /usr/bin/python3\n")
    out.write(f"    patchpilot_lab_prefix: {cfg.prefix}\n")
    out.write("  children:\n    lab:\n      hosts:\n")
    for host in hosts:
        out.write(f"        {host.name}:\n")
        out.write(f"          ansible_port: {host.ssh_port}\n")
        out.write(f"          patchpilot_lab_container: {host.container}\n")
    for group in sorted(groups):
        out.write(f"    {group}:\n      hosts:\n")
        for host in groups[group]:
            out.write(f"        {host.name}: {{}}\n")
    _atomic_write(cfg.inventory_dir / "hosts.yml", out.getvalue())

    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=CMDB_FIELDS, lineterminator="\n")
    writer.writeheader()
    for host in hosts:
        meta = ROLE_META[host.role]
        writer.writerow({
            "hostname": host.name, "fqdn": f"{host.name}.{DOMAIN}", "ip_address": host.ip,
            "mac_address": host.mac, "os_family": "Debian",
            "os_distribution": "Debian (RPM variant)" if host.rpm else "Debian",
            "os_version": host.release, "os_codename": host.codename, "role": host.role,
            "location": host.location, "owner": meta["owner"], "criticality": meta["criticality"],
            "data_sensitivity": meta["data_sensitivity"], "internet_exposed": meta["internet_exposed"],
            "ansible_host": "127.0.0.1", "ansible_port": host.ssh_port,
        })
    _atomic_write(cfg.inventory_dir / "cmdb.csv", buf.getvalue())
    _atomic_write(cfg.inventory_dir / ASSETS_CONFIG, assets_config(cfg))


def assets_config(cfg: LabConfig) -> str:
    """The lab's inventory: the assets plugin reading the CMDB file, with the lab's connection settings."""
    ssh = _ssh_dir(cfg)
    ssh_args = (f"-o UserKnownHostsFile={ssh / 'known_hosts'} -o StrictHostKeyChecking=yes "
                "-o IdentitiesOnly=yes")
    return f"""# Written by 'lab up' for lab '{cfg.prefix}'; regenerated on every run.
# The patchpilot.fleet.assets inventory plugin reads the lab's CMDB export
# (cmdb.csv beside this file); host keys are known in advance, so host key
# checking stays on.
plugin: patchpilot.fleet.assets
cmdb: cmdb.csv
strict: true
host_vars:
  ansible_user: {images.ADMIN_USER}
  ansible_become: true
  ansible_ssh_private_key_file: {_yaml_str(str(ssh / 'id_ed25519'))}
  ansible_ssh_common_args: {_yaml_str(ssh_args)}
  ansible_python_interpreter: /usr/bin/python3
  patchpilot_lab_prefix: {cfg.prefix}
  # The lab repository is the vendor's archive here, and pplab-kernel needs a reboot.
  patchpilot_vendor_origins: [Debian, Patchpilot Lab, patchpilot-lab]
  patchpilot_reboot_packages: [pplab-kernel, pprpm-kernel, "linux-image-*", libc6, systemd]
compose:
  patchpilot_lab_container: "'{cfg.prefix}-' ~ patchpilot_asset.hostname"
  # RPM lab hosts carry apt too: ask their RPM package manager explicitly.
  patchpilot_backend: "'dnf' if patchpilot_asset.role == 'rpm' else 'auto'"
  patchpilot_releasever: "patchpilot_asset.os_version"
groups:
  lab: true
leading_separator: false
keyed_groups:
  - key: patchpilot_asset.role
  - key: "'debian' ~ patchpilot_asset.os_version"
  - key: patchpilot_asset.location
"""


def _remove_inventory(cfg: LabConfig) -> None:
    for name in ("hosts.yml", "cmdb.csv", ASSETS_CONFIG):
        with contextlib.suppress(FileNotFoundError):
            (cfg.inventory_dir / name).unlink()


# --- network and firewall ------------------------------------------------------

def _firewall_rule(cfg: LabConfig) -> list[str]:
    # Hosts may talk to each other and to the gateway (the controller's end of
    # the port mappings); anything else they send is dropped before routing, so
    # no host can reach an outside mirror, whatever its apt sources say.
    return ["PREROUTING", "-s", str(cfg.subnet), "!", "-d", str(cfg.subnet),
            "-m", "comment", "--comment", FIREWALL_TAG + cfg.prefix, "-j", "DROP"]


def ensure_firewall(cfg: LabConfig) -> None:
    rule = _firewall_rule(cfg)
    if run(["iptables", "-w", "-t", "mangle", "-C", *rule], check=False).returncode != 0:
        run(["iptables", "-w", "-t", "mangle", "-I", *rule], what="iptables (egress block)")


def remove_firewall(prefix: str) -> None:
    proc = run(["iptables", "-w", "-t", "mangle", "-S", "PREROUTING"], check=False)
    for line in (proc.stdout or "").splitlines():
        if f'"{FIREWALL_TAG}{prefix}"' in line or f"{FIREWALL_TAG}{prefix} " in line + " ":
            if line.startswith("-A "):
                args = shlex.split(line)
                run(["iptables", "-w", "-t", "mangle", "-D", *args[1:]], check=False)


def ensure_network(cfg: LabConfig) -> None:
    if _network_exists(cfg):
        return
    run(["podman", "network", "create", "--subnet", str(cfg.subnet),
         "--gateway", str(cfg.subnet.network_address + 1),
         *([] if cfg.real else ["--disable-dns"]),
         "--label", cfg.label, cfg.network], what="podman network create")


# --- containers ------------------------------------------------------------------

def _host_image(cfg: LabConfig, host: HostSpec) -> str:
    return rpm.host_image() if host.rpm else images.host_image(host.release, cfg.real)


def _run_argv(cfg: LabConfig, host: HostSpec) -> list[str]:
    ssh = _ssh_dir(cfg)
    key = _host_key(cfg, host)
    rpm_mount = ["-v", f"{cfg.rpm_repo_dir}:{rpm.RPM_MOUNT}:ro"] if host.rpm else []
    return [
        "podman", "run", "-d", "--name", host.container, "--hostname", host.name,
        "--label", cfg.label, "--label", f"io.patchpilot.lab.host={host.name}",
        "--label", f"{STATE_LABEL}={cfg.state_dir}",
        "--network", cfg.network, "--ip", host.ip, "--mac-address", host.mac,
        "-p", f"127.0.0.1:{host.ssh_port}:22",
        *([] if cfg.real else ["--dns", "none"]),
        "--restart", "always", "--systemd", "always",
        "--add-host", f"{host.name}.{DOMAIN}:{host.ip}",
        "-v", f"{cfg.repo_dir}:{images.REPO_MOUNT}:ro",
        "-v", f"{key}:/etc/ssh/ssh_host_ed25519_key:ro",
        "-v", f"{key.with_suffix('.pub')}:/etc/ssh/ssh_host_ed25519_key.pub:ro",
        "-v", f"{ssh / 'authorized_keys'}:/home/{images.ADMIN_USER}/.ssh/authorized_keys:ro",
        *rpm_mount, _host_image(cfg, host), "/sbin/init",
    ]


def _image_id(image: str) -> str:
    return run(["podman", "image", "inspect", "--format", "{{.Id}}", image],
               what=f"podman image inspect {image}").stdout.strip()


def wait_ready(cfg: LabConfig, hosts: list[HostSpec], timeout: float | None = None) -> None:
    """Wait until every host answers SSH and its systemd has finished booting."""
    deadline = time.monotonic() + (timeout or 120 + 4 * len(hosts))

    def one(host: HostSpec) -> str | None:
        last = "no answer"
        while time.monotonic() < deadline:
            proc = run(ssh_argv(cfg, host, "systemctl", "is-system-running", "--wait", timeout=5),
                       check=False, timeout=max(5, deadline - time.monotonic()) + 5)
            state = (proc.stdout or "").strip()
            if proc.returncode == 0 and state == "running":
                return None
            if state == "degraded":
                failed = run(ssh_argv(cfg, host, "systemctl", "--failed", "--no-legend", "--plain"),
                             check=False).stdout.strip().replace("\n", "; ")
                return f"{host.name}: systemd is degraded (failed units: {failed or 'unknown'})"
            last = state or (proc.stderr or "").strip().splitlines()[-1:] or ["no answer"]
            last = last if isinstance(last, str) else last[0]
            time.sleep(1)
        return f"{host.name} (127.0.0.1:{host.ssh_port}): not ready after the timeout ({last})"

    with ThreadPoolExecutor(max_workers=min(16, len(hosts))) as pool:
        problems = [p for p in pool.map(one, hosts) if p]
    if problems:
        raise LabError("hosts did not come up: " + " | ".join(problems))


def _start_hosts(cfg: LabConfig, hosts: list[HostSpec]) -> None:
    for host in hosts:
        run(_run_argv(cfg, host), what=f"podman run {host.container}", timeout=300)


def reconcile(cfg: LabConfig, hosts: list[HostSpec]) -> list[HostSpec]:
    """Make the running containers match ``hosts``; return the hosts (re)started."""
    wanted = {h.container: h for h in hosts}
    existing = _lab_containers(cfg)
    image_ids = {image: _image_id(image) for image in {_host_image(cfg, h) for h in hosts}}
    started = []
    for name, item in existing.items():
        host = wanted.get(name)
        image_id = image_ids[_host_image(cfg, host)] if host else ""
        stale = (host is None
                 or item.get("ImageID", "") not in (image_id, image_id.removeprefix("sha256:"))
                 or (item.get("Labels") or {}).get(STATE_LABEL) != str(cfg.state_dir))
        if stale:
            log(f"removing {'extra' if host is None else 'outdated'} host {name}")
            run(["podman", "rm", "-f", "-t", "5", name], what=f"podman rm {name}")
        elif item.get("State") != "running":
            run(["podman", "start", name], what=f"podman start {name}")
            started.append(host)
    existing = _lab_containers(cfg)
    missing = [h for h in hosts if h.container not in existing]
    if missing:
        log(f"starting {len(missing)} host(s)")
        _start_hosts(cfg, missing)
    return started + missing


# --- public operations ---------------------------------------------------------------

def _save_state(cfg: LabConfig, hosts: list[HostSpec], repo_hash: str) -> None:
    state = {
        "version": STATE_VERSION, "prefix": cfg.prefix, "subnet": str(cfg.subnet),
        "port_base": cfg.port_base, "real": cfg.real, "network": cfg.network,
        "repo_dir": str(cfg.repo_dir), "repo_hash": repo_hash,
        "inventory": str(cfg.inventory_dir / ASSETS_CONFIG), "static_inventory": str(cfg.inventory_dir / "hosts.yml"),
        "cmdb": str(cfg.inventory_dir / "cmdb.csv"),
        "ssh_key": str(_ssh_dir(cfg) / "id_ed25519"), "known_hosts": str(_ssh_dir(cfg) / "known_hosts"),
        "hosts": [host.__dict__ | {"codename": host.codename} for host in hosts],
    }
    if cfg.rpm_hosts:
        state["rpm_repo_dir"] = str(cfg.rpm_repo_dir)
    _atomic_write(_state_file(cfg), json.dumps(state, indent=2) + "\n")


def setup(cfg: LabConfig) -> None:
    """Install the lab's Debian packages and configure podman; nothing else.

    The RPM repository's build tools (rpm, createrepo-c) come too, whether or not
    this lab has RPM hosts: the test suite builds that repository without a lab.
    """
    _preflight(cfg)
    rpm.ensure_build_tools(install=cfg.install)


def _preflight(cfg: LabConfig) -> None:
    require_root()
    ensure_tools(install=cfg.install)
    configure_kernel()
    configure_podman()


def _build_repo(cfg: LabConfig) -> str:
    from .repo import RepoError, build_repo  # the repository builder
    try:
        with images.build_lock(cfg):
            manifest = build_repo(cfg.repo_dir)
    except RepoError as exc:
        raise LabError(f"building the lab repository failed: {exc}") from exc
    return manifest["repo_id"]


def up(cfg: LabConfig) -> list[HostSpec]:
    _preflight(cfg)
    hosts = fleet(cfg)
    with _state_lock(cfg):
        state = load_state(cfg)
        if state and (state.get("subnet") != str(cfg.subnet) or state.get("port_base") != cfg.port_base
                      or bool(state.get("real")) != cfg.real):
            raise LabError(
                f"lab '{cfg.prefix}' already exists with subnet {state.get('subnet')}, port base "
                f"{state.get('port_base')}, real mode {bool(state.get('real'))}; run 'lab down' first "
                "to change these"
            )
        existed = bool(state) or bool(_lab_containers(cfg)) or _network_exists(cfg)
        _check_ports(cfg, hosts, _lab_containers(cfg))
        _check_subnet(cfg)
        try:
            repo_hash = _build_repo(cfg)
            images.ensure_images(cfg, {h.release for h in hosts}, repo_hash)
            if cfg.rpm_hosts:
                rpm.ensure(cfg)
            ensure_keys(cfg, hosts)
            ensure_network(cfg)
            if cfg.real:
                remove_firewall(cfg.prefix)
            else:
                ensure_firewall(cfg)
            started = reconcile(cfg, hosts)
            if started:
                wait_ready(cfg, started)
            write_inventory(cfg, hosts)
            _save_state(cfg, hosts, repo_hash)
        except (Exception, KeyboardInterrupt) as exc:
            if not existed:
                log("lab up failed; removing the partial lab")
                _teardown(cfg)
                raise LabError(f"{exc} (the partial lab was removed)") from exc
            raise
    return hosts


def _teardown(cfg: LabConfig) -> list[str]:
    removed = []
    containers = list(_lab_containers(cfg))
    if containers:
        run(["podman", "rm", "-f", "-t", "3", *containers], what="podman rm", timeout=600)
        removed += containers
    if _network_exists(cfg):
        run(["podman", "network", "rm", "-f", cfg.network], what="podman network rm")
        removed.append(cfg.network)
    remove_firewall(cfg.prefix)
    _remove_inventory(cfg)
    if cfg.state_dir.exists():
        shutil.rmtree(cfg.state_dir)
    return removed


def down(cfg: LabConfig, purge: bool = False) -> None:
    require_root()
    if shutil.which("podman") is None:
        if cfg.state_dir.exists():
            shutil.rmtree(cfg.state_dir)
        _remove_inventory(cfg)
        log("podman is not installed: nothing to remove but the lab's files")
        return
    with _state_lock(cfg):
        removed = _teardown(cfg)
    log(f"lab '{cfg.prefix}' removed ({len(removed)} containers/networks)" if removed
        else f"lab '{cfg.prefix}' was not running")
    if purge:
        with images.build_lock(cfg):
            gone = images.remove_images()
        for path in (cfg.repo_dir, cfg.rpm_repo_dir, cfg.cache_dir / "gnupg"):
            if path.exists():
                shutil.rmtree(path)
        log(f"purged {len(gone)} cached image(s) and the lab repository")


def status(cfg: LabConfig) -> tuple[bool, str]:
    state = load_state(cfg)
    if shutil.which("podman") is None or not state:
        return False, f"lab '{cfg.prefix}' is not up\n"
    containers = _lab_containers(cfg)
    hosts = [HostSpec(**{k: v for k, v in h.items() if k != "codename"}) for h in state["hosts"]]
    lines = [f"lab '{cfg.prefix}': {len(hosts)} hosts on {state['subnet']}, inventory {state['inventory']}",
             f"{'host':<8} {'release':<18} {'location':<9} {'address':<14} {'mac':<18} {'ssh':<16} state"]
    healthy = True
    for host in hosts:
        item = containers.get(host.container) or {}
        cstate = item.get("State", "missing")
        reachable = False
        if cstate == "running":
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", host.ssh_port), 2) as s:
                reachable = s.recv(4).startswith(b"SSH")
        healthy &= reachable
        release = f"debian{host.release} {host.codename}"
        lines.append(f"{host.name:<8} {release:<18} {host.location:<9} {host.ip:<14} "
                     f"{host.mac:<18} 127.0.0.1:{host.ssh_port:<6} {cstate}{'' if reachable else ' (ssh down)'}")
    return healthy, "\n".join(lines) + "\n"


def _cfg_from_state(cfg: LabConfig, state: dict) -> LabConfig:
    """The settings a lab was brought up with win over the current environment's."""
    return dataclasses.replace(cfg, real=bool(state.get("real")), port_base=int(state["port_base"]),
                               subnet=ipaddress.IPv4Network(state["subnet"]))


def reset(cfg: LabConfig, names: list[str]) -> list[HostSpec]:
    """Recreate hosts from their image: same name, address, MAC, port and keys; fresh state."""
    require_root()
    state = load_state(cfg)
    if not state:
        raise LabError(f"lab '{cfg.prefix}' is not up; run 'lab up' first")
    cfg = _cfg_from_state(cfg, state)
    hosts = [HostSpec(**{k: v for k, v in h.items() if k != "codename"}) for h in state["hosts"]]
    known = {h.name: h for h in hosts}
    unknown = [n for n in names if n not in known]
    if unknown:
        raise LabError(f"no such host(s) in lab '{cfg.prefix}': {', '.join(unknown)} "
                       f"(hosts: {', '.join(known)})")
    chosen = [known[n] for n in names] if names else hosts
    with _state_lock(cfg):
        containers = [h.container for h in chosen]
        run(["podman", "rm", "-f", "-t", "0", *containers], what="podman rm", timeout=600)
        _start_hosts(cfg, chosen)
        wait_ready(cfg, chosen)
    return chosen
