# Copyright: patchpilot developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""End of life: when each OS release's regular and extended support end.

One dated table, :data:`EOL_TABLE`, kept here and nowhere else. Each row
gives two dates and the page they come from:

``regular_end``
    last day of the vendor's regular support, in which the release gets all
    its fixes: Debian's security team, Ubuntu's standard support, Red Hat's
    Full Support, Rocky's and Alma's active support, SUSE's general support
    of a service pack, Microsoft's mainstream support, and for macOS the
    day the next major release shipped (from then on Apple ships security
    fixes only).
``extended_end``
    last day of the extended phase that follows, in which the vendor (or
    its LTS team) still publishes security fixes: Debian LTS, Ubuntu ESM
    (Ubuntu Pro), Red Hat Maintenance Support, Rocky's and Alma's security
    support, SUSE LTSS, Microsoft extended support, and for macOS the day
    Apple shipped the third newer major release (Apple fixes the latest
    three). After it the release gets nothing: it is **outdated**.

Add-ons sold beyond that point (Freexian's Debian ELTS, Canonical's Legacy
add-on, Red Hat ELS, Microsoft ESU) are left out: a host that relies on
one is past the vendor's own lifecycle. A date not yet announced is None.

:func:`eol_status` looks a host up by its distribution name and version as
Ansible's facts give them (``ansible_facts.distribution`` and
``distribution_version``), matching on the major release (Debian ``12``,
Ubuntu ``22.04``, RHEL/Rocky/Alma ``9``, SLES ``15.4`` = 15 SP4, macOS
``14``) and on the product name for Windows Server.

Plain Python, no Ansible runtime.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import NamedTuple

__all__ = ["EOL_TABLE", "STATUSES", "TABLE_DATE", "EolRelease", "eol_status", "find_release"]

#: When the table was last checked against its sources.
TABLE_DATE = date(2026, 11, 27)

STATUSES = ("supported", "extended", "outdated", "unknown")


class EolRelease(NamedTuple):
    family: str              # debian, ubuntu, rhel, rocky, alma, sles, windows, macos
    release: str             # the key a host's version is matched on
    name: str                # shown in messages
    codename: str | None     # Debian/Ubuntu codenames also match
    regular_end: date | None
    extended_end: date | None
    extended_name: str       # what the vendor calls the extended phase
    source: str


def _d(text: str | None) -> date | None:
    return date.fromisoformat(text) if text else None


# Debian and Ubuntu dates are also in distro-info-data, the projects' own
# machine-readable release data (https://salsa.debian.org/debian/distro-info-data:
# columns eol and eol-lts of debian.csv, eol-server and eol-esm of ubuntu.csv);
# checked against distro-info-data 0.58+deb12u7 (data 0.68).
_DEBIAN = "https://wiki.debian.org/LTS"
_UBUNTU = "https://ubuntu.com/about/release-cycle"
_RHEL = "https://access.redhat.com/support/policy/updates/errata"
_ROCKY = "https://wiki.rockylinux.org/rocky/version/"
_ALMA = "https://wiki.almalinux.org/release-notes/"
_SLES = "https://www.suse.com/lifecycle/#suse-linux-enterprise-server-15"
# Apple's list of security releases, which shows which majors still get fixes
# (https://endoflife.date/macos keeps the resulting dates).
_MACOS = "https://support.apple.com/en-us/100100"

EOL_TABLE: tuple[EolRelease, ...] = (
    # Debian: security team support, then Debian LTS. 12's regular end moved
    # from 2026-06-10 to 2026-07-11 (distro-info-data 0.68); 13's are the
    # planned dates (three years, then LTS to the June of the fifth year).
    EolRelease("debian", "10", "Debian 10 (buster)", "buster", _d("2022-09-10"), _d("2024-06-30"),
               "Debian LTS", _DEBIAN),
    EolRelease("debian", "11", "Debian 11 (bullseye)", "bullseye", _d("2024-08-14"), _d("2026-08-31"),
               "Debian LTS", _DEBIAN),
    EolRelease("debian", "12", "Debian 12 (bookworm)", "bookworm", _d("2026-07-11"), _d("2028-06-30"),
               "Debian LTS", _DEBIAN),
    EolRelease("debian", "13", "Debian 13 (trixie)", "trixie", _d("2028-08-09"), _d("2030-06-30"),
               "Debian LTS", _DEBIAN),
    # Ubuntu LTS: standard support, then Expanded Security Maintenance.
    EolRelease("ubuntu", "20.04", "Ubuntu 20.04 LTS (focal)", "focal", _d("2025-05-29"), _d("2030-04-23"),
               "Ubuntu Pro ESM", _UBUNTU),
    EolRelease("ubuntu", "22.04", "Ubuntu 22.04 LTS (jammy)", "jammy", _d("2027-06-01"), _d("2032-04-21"),
               "Ubuntu Pro ESM", _UBUNTU),
    EolRelease("ubuntu", "24.04", "Ubuntu 24.04 LTS (noble)", "noble", _d("2029-05-31"), _d("2034-04-25"),
               "Ubuntu Pro ESM", _UBUNTU),
    # RHEL: Full Support, then Maintenance Support (the ten-year lifecycle).
    # The ELS add-on (8: 2032-05-31, 9: 2035-05-31) is not counted.
    EolRelease("rhel", "8", "Red Hat Enterprise Linux 8", None, _d("2024-05-31"), _d("2029-05-31"),
               "Maintenance Support", _RHEL),
    EolRelease("rhel", "9", "Red Hat Enterprise Linux 9", None, _d("2027-05-31"), _d("2032-05-31"),
               "Maintenance Support", _RHEL),
    EolRelease("rocky", "8", "Rocky Linux 8", None, _d("2024-05-31"), _d("2029-05-31"),
               "security support", _ROCKY),
    EolRelease("rocky", "9", "Rocky Linux 9", None, _d("2027-05-31"), _d("2032-05-31"),
               "security support", _ROCKY),
    EolRelease("alma", "8", "AlmaLinux 8", None, _d("2024-05-01"), _d("2029-03-01"),
               "security support", _ALMA),
    EolRelease("alma", "9", "AlmaLinux 9", None, _d("2027-05-31"), _d("2032-05-31"),
               "security support", _ALMA),
    # SLES 15, per service pack: general support, then LTSS. SP6's dates
    # follow SUSE's rule "6 / 42 months after the SP7 release" (2025-06-17).
    EolRelease("sles", "15.0", "SLES 15", None, _d("2019-12-31"), _d("2022-12-31"), "LTSS", _SLES),
    EolRelease("sles", "15.1", "SLES 15 SP1", None, _d("2021-01-31"), _d("2024-01-31"), "LTSS", _SLES),
    EolRelease("sles", "15.2", "SLES 15 SP2", None, _d("2021-12-31"), _d("2024-12-31"), "LTSS", _SLES),
    EolRelease("sles", "15.3", "SLES 15 SP3", None, _d("2022-12-31"), _d("2025-12-31"), "LTSS", _SLES),
    EolRelease("sles", "15.4", "SLES 15 SP4", None, _d("2023-12-31"), _d("2026-12-31"), "LTSS", _SLES),
    EolRelease("sles", "15.5", "SLES 15 SP5", None, _d("2024-12-31"), _d("2027-12-31"), "LTSS", _SLES),
    EolRelease("sles", "15.6", "SLES 15 SP6", None, _d("2025-12-17"), _d("2028-12-17"), "LTSS", _SLES),
    EolRelease("sles", "15.7", "SLES 15 SP7", None, _d("2031-07-31"), _d("2034-07-31"), "LTSS", _SLES),
    # Windows Server (LTSC): mainstream, then extended support.
    EolRelease("windows", "2016", "Windows Server 2016", None, _d("2022-01-11"), _d("2027-01-12"),
               "extended support", "https://learn.microsoft.com/lifecycle/products/windows-server-2016"),
    EolRelease("windows", "2019", "Windows Server 2019", None, _d("2024-01-09"), _d("2029-01-09"),
               "extended support", "https://learn.microsoft.com/lifecycle/products/windows-server-2019"),
    EolRelease("windows", "2022", "Windows Server 2022", None, _d("2026-10-13"), _d("2031-10-14"),
               "extended support", "https://learn.microsoft.com/lifecycle/products/windows-server-2022"),
    EolRelease("windows", "2025", "Windows Server 2025", None, _d("2029-10-09"), _d("2034-10-10"),
               "extended support", "https://learn.microsoft.com/lifecycle/products/windows-server-2025"),
    # macOS: Apple publishes no dates. Regular support ends when the next
    # major release ships (14: 2023-09-26, 15: 2024-09-16, 26: 2025-09-15);
    # security fixes end when the third newer one ships (13 ended with
    # macOS 26). Ends not reached yet are unknown, so None.
    EolRelease("macos", "13", "macOS 13 (Ventura)", None, _d("2023-09-26"), _d("2025-09-15"),
               "security updates", _MACOS),
    EolRelease("macos", "14", "macOS 14 (Sonoma)", None, _d("2024-09-16"), None,
               "security updates", _MACOS),
    EolRelease("macos", "15", "macOS 15 (Sequoia)", None, _d("2025-09-15"), None,
               "security updates", _MACOS),
)

# Distribution names as Ansible's facts spell them (ansible_facts.distribution),
# and the usual long forms, lower case.
_FAMILIES = {
    "debian": "debian",
    "ubuntu": "ubuntu",
    "redhat": "rhel", "rhel": "rhel", "red hat enterprise linux": "rhel",
    "red hat enterprise linux server": "rhel",
    "rocky": "rocky", "rocky linux": "rocky", "rockylinux": "rocky",
    "almalinux": "alma", "alma": "alma", "alma linux": "alma",
    "sles": "sles", "sles_sap": "sles", "suse linux enterprise server": "sles",
    "suse linux enterprise server for sap applications": "sles",
    "macosx": "macos", "macos": "macos", "mac os x": "macos", "darwin": "macos",
}

# Windows Server builds (ansible_facts.distribution_version is 10.0.BUILD).
_WINDOWS_BUILDS = {"14393": "2016", "17763": "2019", "20348": "2022", "26100": "2025"}

_BY_KEY = {(row.family, row.release): row for row in EOL_TABLE}


def _release_key(family: str, distribution: str, version: str) -> str | None:
    """The table key a host's version stands for, or None when it cannot be told."""
    if family == "windows":
        year = re.search(r"\b(20\d\d)\b", distribution)
        if year:
            return year.group(1)
        build = re.match(r"^10\.0\.(\d+)", version)
        return _WINDOWS_BUILDS.get(build.group(1)) if build else None
    if family == "ubuntu":
        match = re.match(r"^(\d+)\.(\d+)", version)
        return f"{int(match.group(1))}.{int(match.group(2)):02d}" if match else None
    if family == "sles":
        match = re.match(r"^(\d+)(?:(?:\.|[\s_-]*sp)(\d+))?", version, re.IGNORECASE)
        return f"{int(match.group(1))}.{int(match.group(2) or 0)}" if match else None
    match = re.match(r"^(\d+)", version)
    return str(int(match.group(1))) if match else None


def find_release(distribution, version) -> EolRelease | None:
    """The table row for a distribution name and version, or None."""
    name = str(distribution or "").strip()
    version = str(version or "").strip()
    lowered = name.lower()
    if "windows" in lowered:
        # Server products only: Windows 10 LTSC 2019 shares Server 2019's build.
        family = "windows" if "server" in lowered or lowered in ("windows", "microsoft windows") else None
    else:
        family = _FAMILIES.get(lowered)
    if family is None:
        return None
    if family in ("debian", "ubuntu") and version and not version[0].isdigit():
        for row in EOL_TABLE:
            if row.family == family and row.codename == version.lower():
                return row
        return None
    key = _release_key(family, name, version)
    return _BY_KEY.get((family, key)) if key else None


def _as_date(today) -> date:
    if isinstance(today, datetime):
        return today.date()
    if isinstance(today, date):
        return today
    if isinstance(today, str):
        try:
            return date.fromisoformat(today.strip())
        except ValueError:
            pass
    raise ValueError(f"today: expected a date or an ISO date YYYY-MM-DD, got {today!r}")


def eol_status(distribution, version, today) -> dict:
    """Where a release stands on ``today``.

    Returns ``status`` (STATUSES), ``regular_end`` and ``extended_end``
    (dates or None), ``message`` (one line for a report), and the matched
    row's ``release`` (its name), ``extended_name`` and ``source`` (None
    when unknown).

    - ``supported``: on or before ``regular_end`` (or no end announced).
    - ``extended``: past ``regular_end``, on or before ``extended_end`` (or
      its end not announced): warn, security fixes only.
    - ``outdated``: past ``extended_end``: no fixes at all.
    - ``unknown``: the distribution or version is not in the table.
    """
    today = _as_date(today)
    row = find_release(distribution, version)
    if row is None:
        shown = " ".join(str(part) for part in (distribution, version) if part) or "an unnamed system"
        return {
            "status": "unknown", "regular_end": None, "extended_end": None,
            "release": None, "extended_name": None, "source": None,
            "message": f"{shown}: no end-of-life data for this release",
        }
    regular, extended = row.regular_end, row.extended_end
    if extended is not None and today > extended:
        status = "outdated"
        message = f"{row.name} is out of support: {row.extended_name} ended {extended.isoformat()}"
    elif regular is None or today <= regular:
        status = "supported"
        until = f"regular support until {regular.isoformat()}" if regular else "regular support end not announced"
        then = f"{row.extended_name} until {extended.isoformat()}" if extended else f"{row.extended_name} end not announced"
        message = f"{row.name} is supported: {until}, then {then}"
    else:
        status = "extended"
        left = f"until {extended.isoformat()}" if extended else "end not announced"
        message = (f"{row.name} is past regular support (ended {regular.isoformat()}): "
                   f"{row.extended_name} only, {left}")
    return {
        "status": status, "regular_end": regular, "extended_end": extended,
        "release": row.name, "extended_name": row.extended_name, "source": row.source,
        "message": message,
    }
