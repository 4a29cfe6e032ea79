# Copyright: patchpilot developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Discovery filters: prioritise, eol_status and security_tracker_enrich.

Thin wrappers around module_utils (priority.py, eol.py,
security_tracker.py): they turn Ansible's inputs into plain Python, dates
into ISO strings, and every foreseeable error into one AnsibleFilterError.
Each filter is documented in its own file beside this one
(prioritise.yml, eol_status.yml, security_tracker_enrich.yml).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import date

from ansible.errors import AnsibleFilterError

from ansible_collections.patchpilot.fleet.plugins.module_utils.eol import eol_status as _eol_status
from ansible_collections.patchpilot.fleet.plugins.module_utils.priority import prioritise as _prioritise
from ansible_collections.patchpilot.fleet.plugins.module_utils.security_tracker import (
    TrackerError,
    enrich,
    load_tracker,
)

# Tracker exports read from a path, kept for the life of the controller
# process (one play enriches many hosts from the same file): path -> (stat, data).
_TRACKER_CACHE: dict = {}


def _today(value):
    if value is None or value == "":
        return date.today()
    return value


def prioritise(host_records, assets=None, policy=None, today=None):
    """Score, due date and emergency flag per host x update; see prioritise.yml."""
    try:
        return _prioritise(host_records, assets, policy, _today(today))
    except ValueError as exc:
        raise AnsibleFilterError(f"prioritise: {exc}") from exc


def eol_status(distribution, version=None, today=None):
    """End-of-life status of an OS release; see eol_status.yml."""
    if isinstance(distribution, Mapping):
        facts = distribution
        distribution = facts.get("distribution", facts.get("ansible_distribution"))
        if version is None:
            version = facts.get("distribution_version", facts.get("ansible_distribution_version"))
    try:
        result = _eol_status(distribution, version, _today(today))
    except ValueError as exc:
        raise AnsibleFilterError(f"eol_status: {exc}") from exc
    for key in ("regular_end", "extended_end"):
        if result[key] is not None:
            result[key] = result[key].isoformat()
    return result


def _tracker(tracker):
    """The export itself, or read (once per file version) from a controller path."""
    if not isinstance(tracker, str):
        return tracker
    path = os.path.expanduser(tracker)
    try:
        stat = os.stat(path)
    except OSError as exc:
        raise TrackerError(f"{tracker}: cannot read the security tracker export: {exc.strerror or exc}") from exc
    signature = (stat.st_mtime_ns, stat.st_size)
    cached = _TRACKER_CACHE.get(path)
    if cached is None or cached[0] != signature:
        _TRACKER_CACHE[path] = (signature, load_tracker(path))
    return _TRACKER_CACHE[path][1]


def security_tracker_enrich(records, tracker, codename, source_packages=None):
    """Add CVEs and urgency from a Debian Security Tracker export; see security_tracker_enrich.yml."""
    try:
        return enrich(records, _tracker(tracker), codename, source_packages)
    except ValueError as exc:
        raise AnsibleFilterError(f"security_tracker_enrich: {exc}") from exc


class FilterModule:
    """patchpilot.fleet filters for discovery: prioritisation, end of life, security tracker."""

    def filters(self):
        return {
            "prioritise": prioritise,
            "eol_status": eol_status,
            "security_tracker_enrich": security_tracker_enrich,
        }
