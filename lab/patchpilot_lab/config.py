"""The lab's settings, read from the environment and checked before anything changes.

Every setting is validated up front; all problems are reported at once so a
user fixes them in one go. Nothing on the machine is touched by this module.
"""

from __future__ import annotations

import ipaddress
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from .system import LabError

REPO_ROOT = Path(__file__).resolve().parents[2]

#: Debian releases the lab runs, by version: (codename, image tag).
RELEASES = {
    "11": "bullseye",
    "12": "bookworm",
    "13": "trixie",
}

MAX_HOSTS = 200
DEFAULT_HOSTS = 6
DEFAULT_PREFIX = "pplab"
DEFAULT_PORT_BASE = 2200
DEFAULT_SUBNET = "10.213.0.0/24"

ROLES = ("web", "db", "app")
#: Role of the RPM variant's hosts (LAB_RPM_HOSTS): Debian 12 with dnf, zypper and an RPM repository.
RPM_ROLE = "rpm"
RPM_RELEASE = "12"
LOCATIONS = ("dc-east", "dc-west")

_PREFIX_RE = re.compile(r"^[a-z][a-z0-9]{1,11}$")


@dataclass(frozen=True)
class LabConfig:
    prefix: str = DEFAULT_PREFIX
    hosts: int = DEFAULT_HOSTS
    rpm_hosts: int = 0
    port_base: int = DEFAULT_PORT_BASE
    subnet: ipaddress.IPv4Network = field(default_factory=lambda: ipaddress.IPv4Network(DEFAULT_SUBNET))
    real: bool = False
    mirror: str | None = None
    install: bool = True
    cache_dir: Path = Path("/var/cache/patchpilot-lab")
    state_dir: Path = REPO_ROOT / ".lab" / DEFAULT_PREFIX
    inventory_dir: Path = REPO_ROOT / "inventories" / "lab"

    @property
    def network(self) -> str:
        return f"{self.prefix}-net"

    @property
    def label(self) -> str:
        return f"io.patchpilot.lab={self.prefix}"

    @property
    def repo_dir(self) -> Path:
        return self.cache_dir / "repo"

    @property
    def rpm_repo_dir(self) -> Path:
        return self.cache_dir / "rpm-repo"


def _int(env: dict, name: str, default: int, low: int, high: int, errors: list[str]) -> int:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    raw = raw.strip()
    if not re.fullmatch(r"[0-9]+", raw):
        errors.append(f"{name}={raw!r} is not a whole number (expected {low}..{high})")
        return default
    value = int(raw)
    if not low <= value <= high:
        errors.append(f"{name}={value} is out of range (expected {low}..{high})")
        return default
    return value


def _bool(env: dict, name: str, errors: list[str]) -> bool:
    raw = (env.get(name) or "").strip().lower()
    if raw in ("", "0", "no", "false", "off"):
        return False
    if raw in ("1", "yes", "true", "on"):
        return True
    errors.append(f"{name}={raw!r} is not a yes/no value (use 1 or 0)")
    return False


def from_env(env: dict | None = None) -> LabConfig:
    """Build the configuration from LAB_* variables; raise LabError listing every problem."""
    env = dict(os.environ if env is None else env)
    errors: list[str] = []

    prefix = (env.get("LAB_PREFIX") or DEFAULT_PREFIX).strip()
    if not _PREFIX_RE.match(prefix):
        errors.append(
            f"LAB_PREFIX={prefix!r} must be 2-12 lowercase letters or digits, starting with a letter"
        )
        prefix = DEFAULT_PREFIX

    hosts = _int(env, "LAB_HOSTS", DEFAULT_HOSTS, 1, MAX_HOSTS, errors)
    rpm_hosts = _int(env, "LAB_RPM_HOSTS", 0, 0, MAX_HOSTS, errors)
    if hosts + rpm_hosts > MAX_HOSTS:
        errors.append(f"LAB_HOSTS={hosts} plus LAB_RPM_HOSTS={rpm_hosts} is more than {MAX_HOSTS} hosts")
    total = hosts + rpm_hosts
    port_base = _int(env, "LAB_SSH_PORT_BASE", DEFAULT_PORT_BASE, 1024, 65000, errors)
    if port_base + total > 65535:
        errors.append(f"LAB_SSH_PORT_BASE={port_base} leaves no room for {total} hosts")

    subnet_raw = (env.get("LAB_SUBNET") or DEFAULT_SUBNET).strip()
    try:
        subnet = ipaddress.IPv4Network(subnet_raw, strict=True)
    except ValueError as exc:
        errors.append(f"LAB_SUBNET={subnet_raw!r} is not an IPv4 network: {exc}")
        subnet = ipaddress.IPv4Network(DEFAULT_SUBNET)
    else:
        if not subnet.is_private:
            errors.append(f"LAB_SUBNET={subnet_raw} must be a private range (the lab's own network)")
        if subnet.prefixlen > 24:
            errors.append(f"LAB_SUBNET={subnet_raw} is too small: use a /24 or larger")
        elif subnet.num_addresses - 12 < total:
            errors.append(f"LAB_SUBNET={subnet_raw} has no room for {total} hosts")

    real = _bool(env, "LAB_REAL", errors)
    if real and rpm_hosts:
        errors.append(f"LAB_RPM_HOSTS={rpm_hosts} cannot be combined with LAB_REAL (RPM hosts are built "
                      "on the lab's own Debian 12 host image)")
    install = not _bool(env, "LAB_NO_INSTALL", errors)
    mirror = (env.get("LAB_MIRROR") or "").strip() or None
    if mirror and not re.match(r"^(https?|file)://\S+$", mirror):
        errors.append(f"LAB_MIRROR={mirror!r} must be an http(s):// or file:// URL")

    cache_dir = Path(env.get("LAB_CACHE_DIR") or "/var/cache/patchpilot-lab")
    state_dir = Path(env.get("LAB_STATE_DIR") or REPO_ROOT / ".lab" / prefix)
    default_inventory = REPO_ROOT / "inventories" / "lab" if prefix == DEFAULT_PREFIX else state_dir / "inventory"
    inventory_dir = Path(env.get("LAB_INVENTORY_DIR") or default_inventory)
    for name, path in (("LAB_CACHE_DIR", cache_dir), ("LAB_STATE_DIR", state_dir),
                       ("LAB_INVENTORY_DIR", inventory_dir)):
        if not path.is_absolute():
            errors.append(f"{name}={str(path)!r} must be an absolute path")
        elif path.exists() and not path.is_dir():
            errors.append(f"{name}={str(path)!r} exists and is not a directory")

    if errors:
        raise LabError("invalid lab settings:\n  - " + "\n  - ".join(errors))
    return LabConfig(
        prefix=prefix, hosts=hosts, rpm_hosts=rpm_hosts, port_base=port_base, subnet=subnet, real=real,
        mirror=mirror, install=install, cache_dir=cache_dir, state_dir=state_dir,
        inventory_dir=inventory_dir,
    )


@dataclass(frozen=True)
class HostSpec:
    """One lab host: everything about it is decided before it exists."""

    index: int
    name: str
    role: str
    release: str
    location: str
    ip: str
    mac: str
    ssh_port: int
    container: str

    @property
    def codename(self) -> str:
        return RELEASES[self.release]

    @property
    def rpm(self) -> bool:
        """A host of the RPM variant (dnf, zypper and the lab's RPM repository)."""
        return self.role == RPM_ROLE


def fleet(cfg: LabConfig) -> list[HostSpec]:
    """The hosts of a lab: roles cycle web/db/app, releases and locations spread across them.

    Each role gets hosts on more than one release and in both locations, so HA
    pairs (web01/web02) sit in different places, as anti-affinity wants later.
    The RPM variant's hosts (rpm01, ...) come last, on Debian 12.
    """
    hosts = []
    counters = {role: 0 for role in ROLES}
    base = int(cfg.subnet.network_address)
    for i in range(cfg.hosts):
        role = ROLES[i % len(ROLES)]
        counters[role] += 1
        release = "12" if cfg.real else list(RELEASES)[(i + i // len(ROLES)) % len(RELEASES)]
        name = f"{role}{counters[role]:02d}"
        ip = ipaddress.IPv4Address(base + 11 + i)
        # Locally administered unicast MAC carrying the host's address.
        octets = ip.packed
        mac = "02:50:%02x:%02x:%02x:%02x" % tuple(octets)
        hosts.append(HostSpec(
            index=i, name=name, role=role, release=release,
            location=LOCATIONS[(counters[role] - 1) % len(LOCATIONS)],
            ip=str(ip), mac=mac, ssh_port=cfg.port_base + 1 + i,
            container=f"{cfg.prefix}-{name}",
        ))
    for n in range(cfg.rpm_hosts):
        i = cfg.hosts + n
        name = f"{RPM_ROLE}{n + 1:02d}"
        ip = ipaddress.IPv4Address(base + 11 + i)
        hosts.append(HostSpec(
            index=i, name=name, role=RPM_ROLE, release=RPM_RELEASE, location=LOCATIONS[n % len(LOCATIONS)],
            ip=str(ip), mac="02:50:%02x:%02x:%02x:%02x" % tuple(ip.packed), ssh_port=cfg.port_base + 1 + i,
            container=f"{cfg.prefix}-{name}",
        ))
    return hosts
