# Copyright: patchpilot developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""dnf backend: the host's pending package upgrades with their advisories, as update records.

``collect(run, options)`` runs dnf (4.x) and hands the captured output to pure
parsers. Every command gets ``-q`` and two settings: ``skip_if_unavailable=False``
(a repository that cannot be read fails the scan instead of silently hiding its
updates; Debian's dnf.conf sets it to True) and ``exit_on_lock=True`` (another
dnf holding its lock fails the scan instead of waiting forever)::

    dnf makecache --refresh                        only with update_cache
    dnf -C repoquery --installed --latest-limit=1 --qf FIELDS
    dnf -C repoquery --upgrades --latest-limit=1 --qf FIELDS
    dnf -C updateinfo list --available             advisory -> package NEVRA
    dnf -C updateinfo info --available             advisory type, severity, CVEs, date
    dnf -C repolist --enabled                      repository names

``-C`` reads the metadata cache only, so nothing is fetched unless
``update_cache`` is set (never in check mode); a host whose cache is missing
fails with dnf's "Cache-only enabled but no cache" message. The output must
come from dnf running with ``LANG=C`` (dnf translates its labels).

dnf 4 prints no ``reboot_suggested``, so a record's reboot hint comes from the
``reboot_packages`` patterns only. The advisory date is dnf's "Updated" (the
issue date of an advisory never updated).
"""

from __future__ import annotations

import re

from ansible_collections.patchpilot.fleet.plugins.module_utils.backends._rpm import (
    classify,
    evr,
    is_vendor,
    newest_date,
    reboot_hint,
    worst_severity,
)
from ansible_collections.patchpilot.fleet.plugins.module_utils.records import BackendError, make_update

__all__ = ["QUERY_FORMAT", "DnfOutputError", "collect", "commands", "parse_nevra", "parse_repolist", "parse_repoquery",
           "parse_updateinfo_info", "parse_updateinfo_list", "records_from"]

#: repoquery --qf: one tab-separated line per package (dnf expands the \t).
QUERY_FORMAT = r"%{name}\t%{epoch}\t%{version}\t%{release}\t%{arch}\t%{repoid}\t%{vendor}"
_QUERY_FIELDS = ("name", "epoch", "version", "release", "arch", "repoid", "vendor")
_SEPARATOR = re.compile(r"^={20,}$")
_NONE = ("", "(none)", "None")


class DnfOutputError(ValueError):
    """dnf printed something the parsers do not understand."""


# --- parsers ---------------------------------------------------------------------

def parse_repoquery(text: str) -> list[dict]:
    """Lines of ``repoquery --qf QUERY_FORMAT``: one dict per package."""
    packages = []
    for line in (text or "").splitlines():
        if not line.strip():
            continue
        fields = line.split("\t")
        if len(fields) != len(_QUERY_FIELDS):
            raise DnfOutputError(f"unexpected repoquery line: {line!r}")
        item = dict(zip(_QUERY_FIELDS, (f.strip() for f in fields)))
        item["vendor"] = None if item["vendor"] in _NONE else item["vendor"]
        packages.append(item)
    return packages


def parse_nevra(text: str) -> dict:
    """``name-[epoch:]version-release.arch`` (as updateinfo list prints it) into its parts."""
    nevr, dot, arch = text.rpartition(".")
    parts = nevr.rsplit("-", 2)
    if not dot or len(parts) != 3 or not all(parts) or not arch:
        raise DnfOutputError(f"not a package NEVRA: {text!r}")
    name, version, release = parts
    epoch = "0"
    if ":" in version:
        epoch, version = version.split(":", 1)
    return {"name": name, "epoch": epoch, "version": version, "release": release, "arch": arch}


def parse_updateinfo_list(text: str) -> list[dict]:
    """``updateinfo list``: one dict per (advisory, package) line.

    A line is ``ID TYPE NEVRA`` (``-v`` adds the date); TYPE is ``bugfix``,
    ``enhancement``, ... or ``Important/Sec.`` for a security advisory.
    """
    entries = []
    for line in (text or "").splitlines():
        fields = line.split()
        if not fields:
            continue
        if len(fields) not in (3, 5):
            raise DnfOutputError(f"unexpected updateinfo list line: {line!r}")
        advisory, label, nevra = fields[:3]
        entries.append({"advisory": advisory, "label": label, **parse_nevra(nevra)})
    return entries


def parse_updateinfo_info(text: str) -> dict[str, dict]:
    """``updateinfo info``: advisory id -> {id, title, type, severity, updated, cves, bugs}.

    Each advisory is a block: a rule of ``=``, the title, another rule, then
    ``Label: value`` lines with the labels right-aligned; a value spanning
    several lines continues on lines whose label is blank.
    """
    lines = (text or "").splitlines()
    advisories = {}
    current = None
    key = None
    i = 0
    while i < len(lines):
        line = lines[i]
        if _SEPARATOR.match(line.strip()) and i + 2 < len(lines) and _SEPARATOR.match(lines[i + 2].strip()):
            current = {"id": None, "title": lines[i + 1].strip(), "type": None, "severity": None,
                       "updated": None, "cves": [], "bugs": []}
            key = None
            i += 3
            continue
        i += 1
        if current is None or ":" not in line:
            continue
        label, value = line.split(":", 1)
        label, value = label.strip(), value.strip()
        if label:
            key = label
        if key == "Update ID":
            current["id"] = value
            advisories[value] = current
        elif key == "Type":
            current["type"] = value
        elif key == "Severity":
            current["severity"] = value or None
        elif key == "Updated":
            match = re.match(r"^(\d{4}-\d{2}-\d{2})", value)
            # dnf prints the Unix epoch for an advisory without a date.
            current["updated"] = match.group(1) if match and not value.startswith("1970-01-01") else None
        elif key == "CVEs" and value:
            current["cves"].append(value)
        elif key == "Bugs" and value:
            current["bugs"].append(value.split(" - ", 1)[0].strip())
    missing = [a["title"] for a in advisories.values() if not a["type"]]
    if missing:
        raise DnfOutputError(f"updateinfo info: no type for {', '.join(missing)}")
    return advisories


def parse_repolist(text: str) -> dict[str, str]:
    """``repolist --enabled``: repository id -> name (the header line is skipped)."""
    repos = {}
    for line in (text or "").splitlines():
        if not line.strip() or line.startswith("repo id"):
            continue
        repo_id, name = (line.strip().split(None, 1) + [""])[:2]
        repos[repo_id] = name.strip() or None
    return repos


# --- records ---------------------------------------------------------------------

def records_from(installed: list[dict], upgrades: list[dict], advisory_list: list[dict],
                 advisory_info: dict[str, dict], repos: dict[str, str], options: dict) -> list:
    """Update records from the parsed outputs: one per pending package."""
    newest_installed = {}
    for pkg in installed:
        newest_installed[(pkg["name"], pkg["arch"])] = pkg
        newest_installed.setdefault((pkg["name"], None), pkg)
    covering: dict[tuple, list[dict]] = {}
    for entry in advisory_list:
        info = advisory_info.get(entry["advisory"])
        if info is None:
            raise DnfOutputError(f"advisory {entry['advisory']} is listed but has no info block")
        covering.setdefault((entry["name"], entry["arch"]), []).append(info)
    records = []
    for pkg in upgrades:
        have = newest_installed.get((pkg["name"], pkg["arch"])) or newest_installed.get((pkg["name"], None))
        advisories = covering.get((pkg["name"], pkg["arch"]), [])
        vendor = is_vendor(options.get("vendor_origins"), pkg["vendor"], pkg["repoid"])
        records.append(make_update(
            name=pkg["name"],
            installed_version=evr(have["epoch"], have["version"], have["release"]) if have else None,
            candidate_version=evr(pkg["epoch"], pkg["version"], pkg["release"]),
            arch=pkg["arch"],
            source={"repository": pkg["repoid"], "origin": pkg["vendor"], "label": repos.get(pkg["repoid"]),
                    "suite": None},
            classification=classify([a["type"] for a in advisories], vendor),
            severity=worst_severity(a["severity"] for a in advisories),
            advisories=[a["id"] for a in advisories],
            cves=[cve for a in advisories for cve in a["cves"]],
            reboot=reboot_hint(pkg["name"], options.get("reboot_packages")),
            released=newest_date(a["updated"] for a in advisories),
            effect="upgrade",
            backend="dnf",
        ))
    return records


# --- running dnf -------------------------------------------------------------------

def _base(options: dict) -> list[str]:
    argv = ["dnf", "-q", "--setopt=skip_if_unavailable=False", "--setopt=exit_on_lock=True"]
    if options.get("releasever"):
        argv.append(f"--releasever={options['releasever']}")
    return argv


def commands(options: dict) -> dict[str, list[str]]:
    """Every command collect() runs, by name, in order (makecache only with update_cache)."""
    base = _base(options)
    cached = base + ["-C"]
    found = {}
    if options.get("update_cache"):
        found["makecache"] = base + ["makecache", "--refresh"]
    found.update({
        "installed": cached + ["repoquery", "--installed", "--latest-limit=1", f"--qf={QUERY_FORMAT}"],
        "upgrades": cached + ["repoquery", "--upgrades", "--latest-limit=1", f"--qf={QUERY_FORMAT}"],
        "updateinfo_list": cached + ["updateinfo", "list", "--available"],
        "updateinfo_info": cached + ["updateinfo", "info", "--available"],
        "repolist": cached + ["repolist", "--enabled"],
    })
    return found


_LABELS = {
    "makecache": "makecache", "installed": "repoquery --installed", "upgrades": "repoquery --upgrades",
    "updateinfo_list": "updateinfo list", "updateinfo_info": "updateinfo info", "repolist": "repolist",
}


def _failure(name: str, rc: int, out: str, err: str) -> BackendError:
    lines = [ln.strip() for ln in f"{err or ''}\n{out or ''}".splitlines() if ln.strip()]
    errors = [ln for ln in lines if ln.startswith("Error:") or "locked by" in ln]
    detail = "; ".join(errors) if errors else (lines[-1] if lines else "no output")
    hint = ""
    if "Cache-only enabled but no cache" in detail:
        hint = " (the metadata cache is missing: refresh it with update_cache)"
    return BackendError(f"dnf {_LABELS.get(name, name)} failed (exit {rc}): {detail}{hint}")


def collect(run, options: dict) -> list:
    """Run dnf on the host through ``run(argv) -> (rc, stdout, stderr)``; return update records."""
    outputs = {}
    for name, argv in commands(options).items():
        rc, out, err = run(argv)
        if rc != 0:
            raise _failure(name, rc, out, err)
        outputs[name] = out or ""
    try:
        return records_from(
            parse_repoquery(outputs["installed"]), parse_repoquery(outputs["upgrades"]),
            parse_updateinfo_list(outputs["updateinfo_list"]), parse_updateinfo_info(outputs["updateinfo_info"]),
            parse_repolist(outputs["repolist"]), options)
    except DnfOutputError as exc:
        raise BackendError(f"dnf: cannot read its output: {exc}") from exc
