# Copyright: patchpilot developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The package lists the stage, snapshot and rollback roles derive from a plan entry and what a host has.

Pure functions: no decision fails a host here, they only shape lists (what to
download, what to keep for a rollback, how dnf names a version).
"""

from __future__ import annotations

import re

__all__ = [
    "dnf_expected",
    "download_list",
    "dnf_spec",
    "packages_to_keep",
    "plan_names",
    "plan_versions_installed",
    "staged_packages",
    "version_drift",
]

_SPACES = re.compile(r"\s+")


def _mappings(items) -> list:
    return [i for i in items or () if isinstance(i, dict)]


def plan_names(entry: dict) -> list:
    """Sorted names of the entry's packages and removals (a removal is a name or a mapping)."""
    entry = entry or {}
    names = [p["name"] for p in _mappings(entry.get("packages")) if p.get("name")]
    names += [r if isinstance(r, str) else r.get("name") for r in entry.get("removals") or ()
              if isinstance(r, str) or isinstance(r, dict) and r.get("name")]
    return sorted(set(names))


def packages_to_keep(entry: dict, versions: dict, architectures: dict) -> list:
    """The installed packages a rollback needs kept: every planned one with a from_version, every removal.

    [{name, version, arch}] sorted by name, of the ones installed (``versions``: {name: version}); the
    deb_files module names their files (:func:`deb_files.deb_name`).
    """
    entry = entry or {}
    names = [p["name"] for p in _mappings(entry.get("packages")) if p.get("from_version")]
    names += [r if isinstance(r, str) else r.get("name") for r in entry.get("removals") or ()
              if isinstance(r, str) or isinstance(r, dict) and r.get("name")]
    return [{"name": n, "version": versions[n], "arch": architectures.get(n)}
            for n in sorted(set(names)) if n in versions]


def download_list(entry: dict) -> list:
    """The entry's planned packages as [{name, version}] (the version as text), what deb_files downloads."""
    return [{"name": p["name"], "version": str(p["version"])} for p in _mappings((entry or {}).get("packages"))]


def version_drift(entry: dict, versions: dict) -> list:
    """Planned packages and removals whose installed version is not the plan's from_version."""
    entry = entry or {}
    planned = _mappings(entry.get("packages")) + _mappings(entry.get("removals"))
    return [{"name": p["name"], "planned": p["from_version"], "installed": versions[p["name"]]}
            for p in planned if p.get("from_version") and p.get("name") in versions
            and versions[p["name"]] != p["from_version"]]


def plan_versions_installed(entry: dict, versions: dict) -> dict:
    """{name: installed version} of the entry's planned packages that are installed."""
    return {p["name"]: versions[p["name"]] for p in _mappings((entry or {}).get("packages")) if p.get("name") in versions}


def dnf_spec(package: dict) -> str:
    """name-version(.arch), as dnf resolves a planned version."""
    arch = package.get("arch") or ""
    return f"{package['name']}-{package['version']}" + (f".{arch}" if arch else "")


def dnf_expected(results: list) -> dict:
    """The looped ``dnf repoquery --qf '%{name} %{epoch}:%{version}-%{release} %{arch} %{location}'`` results.

    {missing: ["name-version (why)"], expected: [{name, version, arch, file, evr}]}
    """
    missing, expected = [], []
    for res in results or ():
        item = res.get("item") or {}
        name, version = item.get("name"), str(item.get("version"))
        lines = [line for line in str(res.get("stdout") or "").splitlines() if line.startswith(f"{name} ")]
        fields = lines[0].split(" ") if lines else []
        if res.get("rc") != 0 or len(fields) < 4:
            why = _SPACES.sub(" ", str(res.get("stderr") or "")).strip() or "no such version"
            missing.append(f"{name}-{version} ({why})")
            continue
        expected.append({"name": name, "version": version, "arch": fields[2],
                         "file": fields[3].rsplit("/", 1)[-1], "evr": fields[1]})
    return {"missing": missing, "expected": expected}


def staged_packages(entries: list) -> list:
    """The staged packages as stage.json lists them: [{name, version, arch, file, sha256, size}].

    An entry is a deb_files package record, or a looped ``stat`` result whose
    item is a :func:`dnf_expected` package.
    """
    out = []
    for entry in entries or ():
        if "stat" in entry:
            item, stat = entry.get("item") or {}, entry.get("stat") or {}
            entry = dict(item, sha256=stat.get("checksum", ""), size=stat.get("size", 0))
        out.append({key: entry.get(key) for key in ("name", "version", "arch", "file", "sha256", "size")})
    return out
