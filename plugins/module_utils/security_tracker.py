# Copyright: patchpilot developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""CVEs and urgency for apt update records from a Debian Security Tracker export.

The export is the file the tracker serves at
https://security-tracker.debian.org/tracker/data/json (linked as "All
information in JSON format" from the tracker's home page). The user
downloads it; nothing here goes to the network. Its shape, as the tracker's
own generator (``bin/tracker_service.py``, ``page_json``) writes it, with
keys whose value would be null left out::

    {
      "SOURCE-PACKAGE": {
        "CVE-2026-1234": {                      # or TEMP-... for issues without a CVE id
          "description": "...",                 # optional
          "debianbug": 1234567,                 # optional
          "scope": "remote",                    # optional: "remote" or "local"
          "releases": {
            "bookworm": {
              "status": "resolved",             # "resolved", "open" or "undetermined"
              "repositories": {"bookworm": "1.0-1", "bookworm-security": "1.0-1+deb12u1"},
              "fixed_version": "1.0-1+deb12u1", # only when resolved; "0": never affected
              "urgency": "high",                # see URGENCIES
              "nodsa": "...", "nodsa_reason": "...", "next_point_update": true
            }
          }
        }
      }
    }

:func:`enrich` adds to each apt upgrade the CVEs the upgrade fixes, the ones
*resolved* in the host's release with a ``fixed_version`` newer than the
installed version and no newer than the candidate, and raises the record's
severity to the highest of their urgencies. Versions are compared the way
dpkg compares them (:func:`compare_versions`).

Plain Python, no Ansible runtime.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping

from ansible_collections.patchpilot.fleet.plugins.module_utils.records import (
    SEVERITIES,
    highest_severity,
    normalise_severity,
)

__all__ = [
    "URGENCIES", "TrackerError", "VersionError", "compare_versions", "enrich",
    "load_tracker", "urgency_severity",
]

#: The urgency values the tracker uses (``BugFilter`` in tracker_service.py).
#: ``low``/``medium``/``high`` may carry ``**`` when the NVD assigned them
#: rather than the security team.
URGENCIES = ("high", "medium", "low", "unimportant", "not yet assigned", "end-of-life")

_CVE_RE = re.compile(r"^CVE-\d{4}-\d{4,}$")
# dpkg's rules (deb-version(7)): an optional numeric epoch, an upstream
# version of alphanumerics and . + ~ - (hyphens only with a revision) and an
# optional revision of alphanumerics and . + ~.
_EPOCH_RE = re.compile(r"^\d+$")
_UPSTREAM_RE = re.compile(r"^[0-9][A-Za-z0-9.+~-]*$")
_REVISION_RE = re.compile(r"^[A-Za-z0-9.+~]*$")
_DIGITS = "0123456789"
_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


class VersionError(ValueError):
    """A string that is not a Debian version."""


class TrackerError(ValueError):
    """A tracker export that cannot be used: names the file or entry and the reason."""


# ---------------------------------------------------------------------------
# Debian version comparison (dpkg's algorithm: lib/dpkg/version.c)
# ---------------------------------------------------------------------------

def _parse_version(version) -> tuple[int, str, str]:
    """Split a Debian version into (epoch, upstream, revision), checking it."""
    if not isinstance(version, str) or not version.strip():
        raise VersionError(f"not a Debian version: {version!r}")
    text = version.strip()
    if any(c.isspace() for c in text):
        raise VersionError(f"not a Debian version: {version!r} (embedded spaces)")
    epoch = 0
    if ":" in text:
        epoch_text, text = text.split(":", 1)
        if not _EPOCH_RE.match(epoch_text):
            raise VersionError(f"not a Debian version: {version!r} (bad epoch)")
        epoch = int(epoch_text)
    upstream, revision = text, ""
    if "-" in text:
        upstream, revision = text.rsplit("-", 1)
        if not revision:
            raise VersionError(f"not a Debian version: {version!r} (empty revision)")
    if not _UPSTREAM_RE.match(upstream) or not _REVISION_RE.match(revision):
        raise VersionError(f"not a Debian version: {version!r}")
    return epoch, upstream, revision


def _order(char: str) -> int:
    """dpkg's weight of one non-digit character: ~ sorts before everything,
    even the end of the string; letters before other characters."""
    if not char:
        return 0
    if char == "~":
        return -1
    if char in _LETTERS:
        return ord(char)
    return ord(char) + 256


def _compare_part(left: str, right: str) -> int:
    """dpkg's verrevcmp: alternate non-digit runs (by _order) and digit runs (numerically)."""
    i = j = 0
    while i < len(left) or j < len(right):
        while (i < len(left) and left[i] not in _DIGITS) or (j < len(right) and right[j] not in _DIGITS):
            a = _order(left[i]) if i < len(left) and left[i] not in _DIGITS else 0
            b = _order(right[j]) if j < len(right) and right[j] not in _DIGITS else 0
            if a != b:
                return -1 if a < b else 1
            if i < len(left) and left[i] not in _DIGITS:
                i += 1
            if j < len(right) and right[j] not in _DIGITS:
                j += 1
        start = i
        while i < len(left) and left[i] in _DIGITS:
            i += 1
        a_num = int(left[start:i] or "0")
        start = j
        while j < len(right) and right[j] in _DIGITS:
            j += 1
        b_num = int(right[start:j] or "0")
        if a_num != b_num:
            return -1 if a_num < b_num else 1
    return 0


def compare_versions(left: str, right: str) -> int:
    """Compare two Debian versions as ``dpkg --compare-versions`` does: -1, 0 or 1.

    Raises VersionError for a string dpkg would reject (empty, bad epoch,
    spaces, characters outside the allowed set).
    """
    l_epoch, l_upstream, l_revision = _parse_version(left)
    r_epoch, r_upstream, r_revision = _parse_version(right)
    if l_epoch != r_epoch:
        return -1 if l_epoch < r_epoch else 1
    return _compare_part(l_upstream, r_upstream) or _compare_part(l_revision, r_revision)


# ---------------------------------------------------------------------------
# The tracker export
# ---------------------------------------------------------------------------

def urgency_severity(urgency) -> str | None:
    """The severity an urgency stands for, or None when it stands for none.

    ``high``/``medium``/``low`` map to themselves (``**``, the mark of an
    NVD-assigned urgency, is dropped); ``unimportant`` is ``low``, as
    :func:`records.normalise_severity` has it: the security team judged the
    issue minor for Debian (no advisory), but the update does fix it.
    ``not yet assigned`` (not triaged yet) and ``end-of-life`` (the package is
    no longer supported in that release) give no severity. Anything else is
    a TrackerError.
    """
    if urgency is None:
        return None
    word = str(urgency).strip().lower().rstrip("*").strip()
    if word == "end-of-life":
        return None
    if word not in URGENCIES:
        raise TrackerError(f"unknown urgency {urgency!r}")
    return normalise_severity(word)


def _is_metadata(key) -> bool:
    # Debian package names start with a letter or digit; a leading underscore
    # marks a note added beside the data (the fixture's "_source").
    return isinstance(key, str) and key.startswith("_")


def _check_tracker(data, origin: str) -> None:
    """Check the whole export's shape; TrackerError names the first bad entry."""
    if not isinstance(data, dict):
        raise TrackerError(f"{origin}: expected a JSON object of source packages, got {type(data).__name__}")
    for package, issues in data.items():
        if _is_metadata(package):
            continue
        if not isinstance(issues, dict):
            raise TrackerError(f"{origin}: package {package!r}: expected an object of issues")
        for issue, entry in issues.items():
            _check_issue(entry, f"{origin}: {package}/{issue}")


def _check_issue(entry, where: str) -> dict:
    if not isinstance(entry, dict):
        raise TrackerError(f"{where}: expected an object")
    releases = entry.get("releases", {})
    if not isinstance(releases, dict):
        raise TrackerError(f"{where}: 'releases' must be an object")
    for release, state in releases.items():
        if not isinstance(state, dict):
            raise TrackerError(f"{where}: releases.{release}: expected an object")
        for key in ("status", "fixed_version", "urgency"):
            if key in state and not isinstance(state[key], str):
                raise TrackerError(f"{where}: releases.{release}.{key}: expected a string, got {state[key]!r}")
    return releases


def load_tracker(path) -> dict:
    """Read and check a tracker export; TrackerError says which file and why."""
    try:
        with open(path, "rb") as handle:
            raw = handle.read()
    except OSError as exc:
        raise TrackerError(f"{path}: cannot read the security tracker export: {exc.strerror or exc}") from exc
    try:
        data = json.loads(raw)
    except UnicodeDecodeError as exc:
        raise TrackerError(f"{path}: not a JSON file (not UTF-8 text)") from exc
    except json.JSONDecodeError as exc:
        raise TrackerError(
            f"{path}: not a JSON file: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from exc
    _check_tracker(data, str(path))
    return data


def _fixes(record: dict, issues: dict, codename: str, package: str) -> tuple[list, list]:
    """The CVEs (and their severities) of one source package that this upgrade fixes."""
    installed = record["installed_version"]
    candidate = record["candidate_version"]
    cves, severities = [], []
    for issue, entry in issues.items():
        releases = _check_issue(entry, f"{package}/{issue}")
        state = releases.get(codename)
        if not state or state.get("status") != "resolved" or not _CVE_RE.match(str(issue)):
            continue
        fixed = state.get("fixed_version")
        if not fixed:
            continue
        try:
            fixed_here = compare_versions(fixed, installed) > 0 and compare_versions(fixed, candidate) <= 0
        except VersionError as exc:
            raise TrackerError(f"{package}/{issue}: releases.{codename}: {exc}") from exc
        if fixed_here:
            cves.append(issue)
            try:
                severities.append(urgency_severity(state.get("urgency")))
            except TrackerError as exc:
                raise TrackerError(f"{package}/{issue}: releases.{codename}: {exc}") from exc
    return cves, severities


def enrich(records: list, tracker: dict, codename: str, source_packages: dict | None = None) -> list:
    """Add the CVEs each apt upgrade fixes, and the urgency they carry, to copies of the records.

    - ``codename``: the host's Debian release as the tracker names it
      (``bookworm``), not a suite (``bookworm-security``) or alias (``stable``).
    - ``source_packages``: binary package name -> source package name (the
      tracker is keyed by source package, records by binary); a binary not
      in it is looked up under its own name.

    Only apt records with both an installed and a candidate version are
    looked at (upgrades and kept back packages); the others are copied as
    they are. A CVE counts when the tracker lists it as resolved in
    ``codename`` by a version newer than the installed one and no newer than
    the candidate. Its id joins ``cves`` (sorted, no duplicates) and
    ``severity`` becomes the highest of the record's own severity and the
    CVEs' urgencies (:func:`urgency_severity`): a severity is raised, never
    lowered. TEMP- issues (no CVE id yet) are not counted.
    """
    if not isinstance(records, list):
        raise TrackerError(f"records: expected a list of update records, got {type(records).__name__}")
    if not isinstance(tracker, dict):
        raise TrackerError(f"tracker: expected the export's JSON object, got {type(tracker).__name__}")
    if not isinstance(codename, str) or not codename.strip() or "-" in codename:
        raise TrackerError(f"codename: expected a Debian release codename such as 'bookworm', got {codename!r}")
    codename = codename.strip().lower()
    if source_packages is None:
        source_packages = {}
    if not isinstance(source_packages, Mapping):
        raise TrackerError(f"source_packages: expected a mapping of binary to source package, got {type(source_packages).__name__}")

    result = []
    for index, record in enumerate(records):
        if not isinstance(record, Mapping) or "name" not in record:
            raise TrackerError(f"records[{index}]: expected an update record, got {record!r}")
        copy = dict(record)
        if record.get("backend") == "apt" and record.get("installed_version") and record.get("candidate_version"):
            package = source_packages.get(record["name"], record["name"])
            issues = tracker.get(package)
            if issues is not None and not _is_metadata(package):
                if not isinstance(issues, dict):
                    raise TrackerError(f"tracker: package {package!r}: expected an object of issues")
                try:
                    cves, severities = _fixes(record, issues, codename, package)
                except TrackerError as exc:
                    raise TrackerError(f"records[{index}] ({record['name']}): {exc}") from exc
                if cves:
                    copy["cves"] = sorted({*(c.upper() for c in record.get("cves") or ()), *cves})
                    current = record.get("severity")
                    current = current if current in SEVERITIES else normalise_severity(current)
                    copy["severity"] = highest_severity([current, *severities])
        result.append(copy)
    return result
