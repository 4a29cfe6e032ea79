# Copyright: patchpilot developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A plan's versions against what the host's repositories offer now.

A plan is written from one look at the repositories; it is installed later
(after a review, in a later wave, the next night). By then a repository may
have moved on (it offers a newer version than the plan's) or dropped the
plan's version. The patch role installs the plan's versions from the files the
stage role kept, whatever the repositories say now, so a repository that moved
on is reported, never followed. A plan version that neither a repository nor
the run's staged files can give is *gone*: the host fails before anything
changes.

The package manager's answer is parsed here (``apt-cache policy``,
``dnf list --showduplicates``); :func:`check_candidates` is the verdict.
"""

from __future__ import annotations

import re

from ansible_collections.patchpilot.fleet.plugins.module_utils.security_tracker import (
    VersionError,
    compare_versions as compare_deb,
)


class CandidatesError(Exception):
    """Output or input this module cannot read; the message says which and why."""


# ---------------------------------------------------------------------------
# apt: apt-cache policy -- NAME...
# ---------------------------------------------------------------------------

_APT_HEAD = re.compile(r"^(\S+):$")
_APT_FIELD = re.compile(r"^  (Installed|Candidate): (\S+)\s*$")
_APT_VERSION = re.compile(r"^ (?:\*\*\*|   ) (\S+) (-?\d+)\s*$")
_APT_SOURCE = re.compile(r"^ {8}(-?\d+) (.+?)\s*$")
_NONE = "(none)"


def parse_apt_policy(text: str) -> dict:
    """``LANG=C apt-cache policy -- NAME...`` as ``{name: {installed, candidate, versions}}``.

    ``versions`` is ``[{version, repositories}]`` in apt's order; ``repositories``
    are the source lines other than dpkg's status file, so a version only
    installed, in no repository, has none. ``installed``/``candidate`` are
    None for apt's ``(none)``. A name apt does not know is simply absent
    (apt-cache prints nothing for it). Lines apt adds for pins are skipped.
    """
    result: dict = {}
    current = None
    version = None
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        head = _APT_HEAD.match(line)
        if head:
            current = {"installed": None, "candidate": None, "versions": []}
            result[head.group(1)] = current
            version = None
            continue
        if current is None:
            raise CandidatesError(f"apt-cache policy line {number}: expected 'NAME:' first, got {line.strip()!r}")
        field = _APT_FIELD.match(line)
        if field:
            value = None if field.group(2) == _NONE else field.group(2)
            current["installed" if field.group(1) == "Installed" else "candidate"] = value
            continue
        found = _APT_VERSION.match(line)
        if found:
            version = {"version": found.group(1), "repositories": []}
            current["versions"].append(version)
            continue
        source = _APT_SOURCE.match(line)
        if source and version is not None:
            where = source.group(2)
            if not where.startswith("/var/lib/dpkg/status"):
                version["repositories"].append(where)
            continue
        # "Version table:", "Package pin: ...", and whatever a newer apt adds.
    return result


# ---------------------------------------------------------------------------
# dnf: dnf list --showduplicates --available / --installed
# ---------------------------------------------------------------------------

_DNF_ROW = re.compile(r"^(\S+)\.([A-Za-z0-9_]+)\s+(\S+)\s+(\S+)\s*$")


def parse_dnf_list(text: str) -> list[dict]:
    """The rows of ``dnf -q list --showduplicates ...``: ``[{name, arch, version, repository}]``.

    Section titles (``Available Packages``, ``Installed Packages``) and lines
    that are not rows are skipped. dnf writes a version without epoch as
    ``1.0-1`` and with one as ``1:1.0-1``; both are kept as written. An
    installed row's repository starts with ``@``.
    """
    rows = []
    for line in text.splitlines():
        match = _DNF_ROW.match(line.strip())
        if match:
            name, arch, version, repo = match.groups()
            rows.append({"name": name, "arch": arch, "version": version, "repository": repo})
    return rows


def dnf_candidates(available_text: str, installed_text: str) -> dict:
    """``{name: {installed, candidate, versions}}`` from ``dnf list`` of the available and installed packages.

    The candidate is the newest available version (:func:`compare_rpm`), as dnf would upgrade to.
    """
    result: dict = {}
    for row in parse_dnf_list(available_text):
        entry = result.setdefault(row["name"], {"installed": None, "candidate": None, "versions": []})
        entry["versions"].append({"version": row["version"], "repositories": [row["repository"]]})
    for row in parse_dnf_list(installed_text):
        entry = result.setdefault(row["name"], {"installed": None, "candidate": None, "versions": []})
        entry["installed"] = row["version"]
    for entry in result.values():
        for item in entry["versions"]:
            if entry["candidate"] is None or compare_rpm(item["version"], entry["candidate"]) > 0:
                entry["candidate"] = item["version"]
    return result


def _rpm_segments(text: str) -> list:
    return re.findall(r"~|\^|\d+|[A-Za-z]+", text)


def _rpmvercmp(left: str, right: str) -> int:
    """rpm's rpmvercmp: digit runs numerically, alpha runs as strings, digits beat letters, ``~`` sorts first."""
    a, b = _rpm_segments(left), _rpm_segments(right)
    while a or b:
        x, y = (a.pop(0) if a else None), (b.pop(0) if b else None)
        for mark in ("~", "^"):
            if x == mark or y == mark:
                if x == y:
                    break
                if mark == "~":
                    return -1 if x == "~" else 1
                # "^" sorts after the end of the string, before anything else
                if x is None:
                    return -1
                if y is None:
                    return 1
                return -1 if x == "^" else 1
        else:
            if x is None or y is None:
                return -1 if x is None else 1
            if x.isdigit() != y.isdigit():
                return 1 if x.isdigit() else -1
            if x.isdigit():
                x_num, y_num = int(x), int(y)
                if x_num != y_num:
                    return -1 if x_num < y_num else 1
            elif x != y:
                return -1 if x < y else 1
    return 0


def compare_rpm(left: str, right: str) -> int:
    """Compare two ``[epoch:]version-release`` strings as rpm does: -1, 0 or 1 (no epoch is 0)."""
    def split(text):
        epoch, rest = text.split(":", 1) if ":" in text else ("0", text)
        version, release = rest.split("-", 1) if "-" in rest else (rest, "")
        return int(epoch or 0), version, release
    try:
        l_epoch, l_version, l_release = split(left)
        r_epoch, r_version, r_release = split(right)
    except ValueError as exc:
        raise CandidatesError(f"not an rpm version: {left!r} or {right!r}") from exc
    if l_epoch != r_epoch:
        return -1 if l_epoch < r_epoch else 1
    return _rpmvercmp(l_version, r_version) or _rpmvercmp(l_release, r_release)


# ---------------------------------------------------------------------------
# The verdict
# ---------------------------------------------------------------------------

def _strip_epoch0(version: str) -> str:
    return version[2:] if version.startswith("0:") else version


def _pairs(items, what: str) -> list[tuple[str, str]]:
    if not isinstance(items, (list, tuple)):
        raise CandidatesError(f"{what} must be a list of {{name, version}}, got {type(items).__name__}")
    pairs = []
    for index, item in enumerate(items):
        if not isinstance(item, dict) or not isinstance(item.get("name"), str) or item.get("version") is None:
            raise CandidatesError(f"{what}[{index}] must be a mapping with a name and a version, got {item!r}")
        pairs.append((item["name"], _strip_epoch0(str(item["version"]))))
    return pairs


def check_candidates(planned, candidates: dict, staged=(), package_manager: str = "apt") -> dict:
    """The plan's versions against the repositories' offer, one verdict.

    ``planned`` and ``staged`` are lists of ``{name, version}`` (the plan entry's
    packages; the files the stage role kept for this run, empty when it has not
    run); ``candidates`` is :func:`parse_apt_policy`'s (or
    :func:`dnf_candidates`') answer for the planned names.

    Per planned package, one of:

    * ``in_place``: the planned version is installed already;
    * ``moved``: a repository offers it, but the candidate (what an upgrade
      would install now) is newer: reported, the plan's version is installed;
    * ``withdrawn``: no repository offers it any more, but it is staged for
      this run: reported, the staged file is installed;
    * ``gone``: neither a repository nor the staged files give it: the host
      fails before anything changes;
    * ``current``: a repository offers it and nothing newer.

    Returns ``{ok, packages, moved, withdrawn, gone, pending, message}`` (``pending``: the
    names not in place); ``moved`` is
    ``[{name, planned, candidate}]``, ``withdrawn`` and ``gone`` ``[{name,
    planned, offered}]`` (the versions the repositories offer now). ``ok`` is
    False only when something is gone.
    """
    if package_manager not in ("apt", "dnf"):
        raise CandidatesError(f"package manager {package_manager!r}: only apt and dnf are checked")
    if not isinstance(candidates, dict):
        raise CandidatesError(f"candidates must be a mapping of name to offer, got {type(candidates).__name__}")
    compare = compare_deb if package_manager == "apt" else compare_rpm
    staged_set = set(_pairs(list(staged or []), "staged"))
    packages, moved, withdrawn, gone = [], [], [], []
    for name, version in _pairs(planned, "planned"):
        offer = candidates.get(name) or {"installed": None, "candidate": None, "versions": []}
        installed = _strip_epoch0(offer.get("installed") or "") or None
        candidate = _strip_epoch0(offer.get("candidate") or "") or None
        offered = [_strip_epoch0(v["version"]) for v in offer.get("versions", []) if v.get("repositories")]
        entry = {"name": name, "planned": version, "installed": installed, "candidate": candidate, "offered": offered}
        if installed == version:
            state = "in_place"
        elif version not in offered:
            state = "withdrawn" if (name, version) in staged_set else "gone"
        else:
            try:
                newer = candidate is not None and compare(candidate, version) > 0
            except (VersionError, CandidatesError) as exc:
                raise CandidatesError(f"{name}: cannot compare {candidate!r} with the plan's {version!r}: {exc}") from exc
            state = "moved" if newer else "current"
        entry["state"] = state
        packages.append(entry)
        if state == "moved":
            moved.append({"name": name, "planned": version, "candidate": candidate})
        elif state in ("withdrawn", "gone"):
            (withdrawn if state == "withdrawn" else gone).append({"name": name, "planned": version, "offered": offered})
    return {"ok": not gone, "packages": packages, "moved": moved, "withdrawn": withdrawn, "gone": gone,
            "pending": [p["name"] for p in packages if p["state"] != "in_place"],
            "message": _message(moved, withdrawn, gone)}


def _offered(item: dict) -> str:
    return ", ".join(item["offered"]) if item["offered"] else "no version"


def _message(moved, withdrawn, gone) -> str:
    parts = []
    if gone:
        parts.append("plan versions gone from the repositories and not staged: "
                     + "; ".join(f"{g['name']}={g['planned']} (the repositories offer {_offered(g)})" for g in gone))
    if moved:
        parts.append("the repositories moved on since the plan, the planned versions are installed: "
                     + "; ".join(f"{m['name']} plan {m['planned']}, candidate {m['candidate']}" for m in moved))
    if withdrawn:
        parts.append("no longer in the repositories, installed from the staged files: "
                     + "; ".join(f"{w['name']}={w['planned']}" for w in withdrawn))
    return " | ".join(parts) if parts else "the repositories still offer the planned versions"
