# Copyright: patchpilot developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pure helpers for the asset facts a host reports about itself.

Each function takes text read from the host (``/etc/os-release``,
``/var/log/dpkg.log``, ``/proc/stat``, ...) so it is tested without a host.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone

__all__ = [
    "boot_time", "count_dpkg_installed", "last_dpkg_change", "os_family", "parse_os_release",
]

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
