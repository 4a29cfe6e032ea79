# Copyright: patchpilot developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pure helpers for the asset facts a host reports about itself.

Each function takes text read from the host (``/etc/os-release``,
``/var/log/dpkg.log``, ``/proc/stat``, ``/etc/machine-id``, ...) so it is tested
without a host.
"""

from __future__ import annotations

import hashlib
import re
from datetime import datetime, timezone

__all__ = [
    "MACHINE_ID_FILES", "boot_time", "count_dpkg_installed", "dpkg_packages_digest", "ioreg_platform_uuid",
    "last_dpkg_change", "machine_id", "normalise_machine_id", "os_family", "parse_os_release",
]

#: Where a Linux host keeps its machine id, in the order systemd and D-Bus read it.
MACHINE_ID_FILES = ("/etc/machine-id", "/var/lib/dbus/machine-id")

_HEX32 = re.compile(r"^[0-9a-f]{32}$")
_IOREG_UUID = re.compile(r'"IOPlatformUUID"\s*=\s*"([^"]*)"')

_DPKG_LOG_RE = re.compile(r"^(\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}) (install|upgrade|remove|purge) ")


def parse_os_release(text: str) -> dict:
    """``/etc/os-release`` as a dict (quotes removed)."""
    values = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, value = line.split("=", 1)
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        values[key.strip()] = value
    return values


def os_family(release: dict) -> str:
    ids = [release.get("ID", "").lower()] + release.get("ID_LIKE", "").lower().split()
    for family, members in (("Debian", ("debian", "ubuntu")), ("RedHat", ("rhel", "fedora", "centos")),
                            ("Suse", ("suse", "sles", "opensuse"))):
        if any(i in members or i.startswith(members) for i in ids if i):
            return family
    return release.get("NAME", "unknown")


def last_dpkg_change(log_texts: list[str]) -> str | None:
    """The time of the last package install, upgrade or removal in dpkg's logs (ISO, local time)."""
    last = None
    for text in log_texts:
        for line in text.splitlines():
            match = _DPKG_LOG_RE.match(line)
            if match and (last is None or match.group(1) > last):
                last = match.group(1)
    return last.replace(" ", "T") if last else None


def count_dpkg_installed(status_text: str) -> int:
    """How many packages dpkg's status file lists as installed."""
    return sum(1 for line in status_text.splitlines() if line.strip() == "Status: install ok installed")


def boot_time(proc_stat: str, pid1_stat: str, clock_ticks: int) -> str:
    """When the host last booted: the start of its PID 1 (a container's boot too), ISO UTC."""
    btime = next(int(line.split()[1]) for line in proc_stat.splitlines() if line.startswith("btime "))
    # Field 22 of /proc/PID/stat, counted after the ")" that ends the command name.
    fields = pid1_stat.rsplit(")", 1)[1].split()
    start_ticks = int(fields[19])
    moment = datetime.fromtimestamp(btime + start_ticks / clock_ticks, tz=timezone.utc)
    return moment.replace(microsecond=0).isoformat()


def normalise_machine_id(text: str | None) -> str | None:
    """A machine id as 32 lower-case hex digits, or None when ``text`` is not one.

    Takes a Linux machine id (``/etc/machine-id``: 32 hex digits and a newline) or a UUID
    with hyphens and optional braces (macOS IOPlatformUUID, Windows MachineGuid), so that
    every platform's id has one form. The all-zero id is no id (systemd refuses it too).
    """
    if not isinstance(text, str):
        return None
    value = text.strip().strip("{}").replace("-", "").lower()
    if not _HEX32.match(value) or value == "0" * 32:
        return None
    return value


def _shown(text: str) -> str:
    text = text.strip()
    return repr(text[:40] + ("..." if len(text) > 40 else ""))


def machine_id(files: list) -> tuple:
    """The host's machine id from ``[(path, text)]`` (text None: the file is absent or unreadable).

    Returns ``(machine_id, None)`` from the first file holding a valid id, else
    ``(None, reason)``, the reason naming each file and what is wrong with it (absent,
    empty: not initialised yet, ``uninitialized``: first boot in progress, malformed).
    """
    problems = []
    for path, text in files:
        if text is None:
            problems.append(f"{path}: absent")
            continue
        found = normalise_machine_id(text)
        if found and len(text.strip()) == 32:
            return found, None
        if not text.strip():
            problems.append(f"{path}: empty (not initialised yet)")
        elif text.strip() == "uninitialized":
            problems.append(f"{path}: uninitialized (first boot in progress)")
        else:
            problems.append(f"{path}: malformed {_shown(text)} (expected 32 hex digits)")
    return None, "; ".join(problems) or "no machine id file"


def ioreg_platform_uuid(text: str) -> str | None:
    """macOS: the IOPlatformUUID in ``ioreg -rd1 -c IOPlatformExpertDevice`` output, as a machine id."""
    match = _IOREG_UUID.search(text or "")
    return normalise_machine_id(match.group(1)) if match else None


def dpkg_packages_digest(status_text: str) -> str | None:
    """A digest of the installed package list in dpkg's status file: ``sha256:<hex>``.

    Over the sorted ``name:arch=version`` lines of the packages installed, so two hosts
    (or one host at two times) with the same packages at the same versions have the same
    digest whatever the order of the file. None when nothing is installed.
    """
    installed, fields = [], {}
    for line in (status_text or "").splitlines() + [""]:
        if not line.strip():
            if fields.get("Status") == "install ok installed" and fields.get("Package"):
                installed.append(f"{fields['Package']}:{fields.get('Architecture', '')}={fields.get('Version', '')}")
            fields = {}
        elif not line[0].isspace() and ":" in line:
            name, value = line.split(":", 1)
            fields[name] = value.strip()
    if not installed:
        return None
    return "sha256:" + hashlib.sha256("\n".join(sorted(installed)).encode("utf-8")).hexdigest()
