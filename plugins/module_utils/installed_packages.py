# Copyright: patchpilot developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The installed packages of a host, read from dpkg or rpm, as one record per package.

Pure functions over captured output: the module ``installed_packages`` runs the
query with the formats below and hands the text here; every role and playbook
reads installed packages through that module, so there is one record::

    {
        "name": "libssl3",          # without dpkg's ":arch" qualifier
        "arch": "amd64",
        "version": "3.0.19-1~deb12u2",  # dpkg's Version; rpm: EPOCHNUM:VERSION-RELEASE ("0:1.0-1")
        "status": "installed",      # see STATUSES; "absent" for a name asked for and not known
        "selection": "install",     # dpkg's wanted state (install, hold, deinstall, purge, unknown); rpm: install
        "abbrev": "ii",             # dpkg's db:Status-Abbrev, trimmed ("ii" for rpm, "" when absent)
        "present": True,            # files on disk: not absent, not-installed nor config-files
        "clean": True,              # installed, wanted installed or held, no error flag
    }

A version compares with another by :func:`same_version`, which takes rpm's
epoch 0 as no epoch (a plan says ``1.0-1`` where rpm says ``0:1.0-1``).
"""

from __future__ import annotations

__all__ = [
    "DPKG_FORMAT",
    "RPM_FORMAT",
    "InstalledPackagesError",
    "MANAGERS",
    "absent",
    "STATUSES",
    "by_name",
    "parse_dpkg_query",
    "parse_query",
    "parse_rpm_query",
    "plain_version",
    "same_version",
    "select",
    "summary",
    "versions",
]

# What the module asks for: name, version, architecture, status, tab separated.
DPKG_FORMAT = "${Package}\t${Version}\t${Architecture}\t${db:Status-Abbrev}\n"
RPM_FORMAT = "%{NAME}\t%{EPOCHNUM}:%{VERSION}-%{RELEASE}\t%{ARCH}\tii \n"

# dpkg's status letter (second letter of db:Status-Abbrev) -> status.
_DPKG_STATUS = {
    "n": "not-installed",
    "c": "config-files",
    "H": "half-installed",
    "U": "unpacked",
    "F": "half-configured",
    "W": "triggers-awaited",
    "t": "triggers-pending",
    "i": "installed",
}
_DPKG_SELECTION = {"u": "unknown", "i": "install", "h": "hold", "r": "deinstall", "p": "purge"}
STATUSES = tuple(_DPKG_STATUS.values()) + ("absent",)
_NOT_PRESENT = ("absent", "not-installed", "config-files")
MANAGERS = {"apt": "dpkg", "dpkg": "dpkg", "dnf": "rpm", "dnf5": "rpm", "yum": "rpm", "rpm": "rpm"}


class InstalledPackagesError(ValueError):
    """The query output cannot be read as the package database's listing."""


def _record(name, arch, version, status, selection, abbrev, error=False):
    present = status not in _NOT_PRESENT
    return {
        "name": name,
        "arch": arch,
        "version": version,
        "status": status,
        "selection": selection,
        "abbrev": abbrev,
        "present": present,
        "clean": status == "installed" and selection in ("install", "hold") and not error,
    }


def _fields(text: str, what: str):
    if text is not None and not isinstance(text, str):
        raise InstalledPackagesError(f"{what} output must be text, got {type(text).__name__}")
    for number, line in enumerate((text or "").splitlines(), 1):
        if not line.strip():
            continue
        parts = line.split("\t")
        if len(parts) != 4 or not parts[0]:
            raise InstalledPackagesError(
                f"{what} line {number} is not name<TAB>version<TAB>arch<TAB>status: {line[:120]!r}")
        yield number, parts


def parse_dpkg_query(text: str) -> list:
    """Records from ``dpkg-query -W -f DPKG_FORMAT`` output, in dpkg's order."""
    out = []
    for number, (name, version, arch, abbrev) in _fields(text, "dpkg-query"):
        abbrev = abbrev.strip()
        if len(abbrev) < 2 or abbrev[0] not in _DPKG_SELECTION or abbrev[1] not in _DPKG_STATUS:
            raise InstalledPackagesError(f"dpkg-query line {number}: unknown status {abbrev!r} of {name}")
        error = len(abbrev) > 2 and abbrev[2] not in (" ",)
        out.append(_record(name.split(":")[0], arch or None, version or None,
                           _DPKG_STATUS[abbrev[1]], _DPKG_SELECTION[abbrev[0]], abbrev, error))
    return out


def parse_rpm_query(text: str) -> list:
    """Records from ``rpm -qa --qf RPM_FORMAT`` output: every package rpm lists is installed."""
    out = []
    for number, (name, version, arch, _abbrev) in _fields(text, "rpm"):
        if ":" not in version or "-" not in version:
            raise InstalledPackagesError(f"rpm line {number}: version {version!r} of {name} is not epoch:version-release")
        out.append(_record(name, arch or None, version, "installed", "install", "ii"))
    return out


def parse_query(manager: str, text: str) -> list:
    """Records from the query output of ``manager`` (apt/dpkg or dnf/dnf5/yum/rpm)."""
    database = MANAGERS.get(manager)
    if database is None:
        raise InstalledPackagesError(
            f"package manager {manager!r} is not supported: one of {', '.join(sorted(MANAGERS))}")
    return parse_dpkg_query(text) if database == "dpkg" else parse_rpm_query(text)


def absent(name: str) -> dict:
    """The record of a package the database does not know."""
    return _record(name, None, None, "absent", "unknown", "")


def select(records: list, names=None) -> list:
    """The records of ``names`` (every record when ``names`` is empty or None).

    A name with several records (several architectures) gives each of them; a
    name the database does not know gives one ``absent`` record.
    """
    if not names:
        return list(records)
    out = []
    for name in dict.fromkeys(names):
        found = [r for r in records if r["name"] == name]
        out.extend(found or [absent(name)])
    return out


def by_name(records: list) -> dict:
    """{name: record} preferring a present record over one that is not (last present one wins)."""
    out = {}
    for record in records:
        if record.get("present", True) or record["name"] not in out or not out[record["name"]].get("present", True):
            out[record["name"]] = record
    return out


def versions(records: list, clean_only: bool = False) -> dict:
    """{name: version} of the present packages (only cleanly installed ones with ``clean_only``)."""
    return {name: r["version"] for name, r in by_name(records).items()
            if r["present"] and (r["clean"] or not clean_only)}


def plain_version(version):
    """The version without rpm's epoch 0 (``0:1.0-1`` -> ``1.0-1``); None stays None."""
    if version is None:
        return None
    version = str(version)
    return version[2:] if version.startswith("0:") else version


def same_version(one, other) -> bool:
    """Whether two versions are equal, rpm's epoch 0 being no epoch."""
    return plain_version(one) == plain_version(other)


def summary(records: list) -> dict:
    """What a baseline keeps of the records, each as {name: ...}.

    ``versions`` and ``architectures`` of the present packages, ``config_files``
    (the version of packages only their configuration files are left of) and
    ``unhealthy`` (dpkg's status of present packages not cleanly installed).
    """
    named = by_name(records)
    present = {n: r for n, r in named.items() if r["present"]}
    return {
        "versions": {n: r["version"] for n, r in present.items()},
        "architectures": {n: r["arch"] for n, r in present.items()},
        "config_files": {n: r["version"] for n, r in named.items() if r["status"] == "config-files"},
        "unhealthy": {n: r["abbrev"] for n, r in present.items() if r["abbrev"] not in ("ii", "hi")},
    }
