# Copyright: patchpilot developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Debian Security Tracker export, from a file or a URL, with a cache and its age.

``source`` is a path (the user's download) or an http(s) URL (the tracker's
``/tracker/data/json``, or a mirror of it). A URL is fetched at most once per
``max_age_hours``: the copy is kept as ``security-tracker.json`` in the cache
folder beside the time it was fetched. When a fetch fails, a cached copy is
used and said to be stale, with its age; with no copy, the failure is an error.

:func:`obtain` returns the checked export and ``info``: ``{"source", "fetched",
"age_hours", "stale", "problem"}`` for the reports. :func:`release_states` says,
per CVE, what the tracker says of a release (for an emergency's "not affected").

Plain Python; the fetch is passed in (the controller's open_url).
"""

from __future__ import annotations

import json
import os
from datetime import datetime, timezone

from ansible_collections.patchpilot.fleet.plugins.module_utils.changelog_cache import write_private
from ansible_collections.patchpilot.fleet.plugins.module_utils.security_tracker import TrackerError, load_tracker

__all__ = ["CACHE_FILE", "obtain", "release_states"]

CACHE_FILE = "security-tracker.json"
_META = "security-tracker.meta.json"


def _is_url(source: str) -> bool:
    return source.startswith(("http://", "https://"))


def obtain(source: str, cache_dir: str | None, fetch, now: datetime | None = None, max_age_hours: float = 24) -> tuple:
    """``(tracker, info)``; TrackerError when nothing usable can be had."""
    now = now or datetime.now(timezone.utc)
    if not isinstance(source, str) or not source.strip():
        raise TrackerError("security tracker: give a file or an http(s) URL")
    source = source.strip()
    if not _is_url(source):
        path = os.path.expanduser(source)
        fetched = datetime.fromtimestamp(os.stat(path).st_mtime, timezone.utc) if os.path.exists(path) else None
        tracker = load_tracker(path)
        age = round((now - fetched).total_seconds() / 3600, 1) if fetched else None
        return tracker, {"source": source, "fetched": fetched.isoformat() if fetched else None, "age_hours": age,
                         "stale": False, "problem": None}
    if not cache_dir:
        raise TrackerError("security tracker: a URL needs a cache folder")
    cached = os.path.join(cache_dir, CACHE_FILE)
    meta = {}
    try:
        with open(os.path.join(cache_dir, _META), encoding="utf-8") as handle:
            meta = json.load(handle)
    except (OSError, ValueError):
        meta = {}
    fetched = None
    if meta.get("source") == source and os.path.exists(cached):
        try:
            fetched = datetime.fromisoformat(meta["fetched"])
        except (KeyError, TypeError, ValueError):
            fetched = None
    problem = None
    if fetched is None or (now - fetched).total_seconds() >= max_age_hours * 3600:
        try:
            data = fetch(source)
            json.loads(data)  # a broken answer never replaces a good copy
            os.makedirs(cache_dir, mode=0o700, exist_ok=True)
            write_private(cached, data)
            fetched = now
            meta = {"source": source, "fetched": now.isoformat()}
            write_private(os.path.join(cache_dir, _META), json.dumps(meta).encode())
        except (OSError, ValueError) as exc:
            problem = f"{source}: cannot fetch the security tracker export: {exc}"
            if fetched is None:
                raise TrackerError(problem) from exc
    tracker = load_tracker(cached)
    age = round((now - fetched).total_seconds() / 3600, 1)
    return tracker, {"source": source, "fetched": fetched.isoformat(), "age_hours": age,
                     "stale": problem is not None, "problem": problem}


def release_states(tracker: dict, codename: str, cves) -> dict:
    """``{CVE: state}`` for ``codename``: ``resolved`` (fixed in that release, or never affected when the
    fixed version is ``0``: then ``not-affected``), ``open``, ``undetermined``; a CVE the tracker does not
    list for that release is left out."""
    wanted = {str(c).strip().upper() for c in cves or ()}
    states = {}
    for package, issues in (tracker or {}).items():
        if not isinstance(issues, dict) or str(package).startswith("_"):
            continue
        for issue, entry in issues.items():
            if str(issue).upper() not in wanted or not isinstance(entry, dict):
                continue
            state = (entry.get("releases") or {}).get(codename)
            if not isinstance(state, dict):
                continue
            word = "not-affected" if state.get("fixed_version") == "0" else str(state.get("status") or "")
            previous = states.get(str(issue).upper())
            # a CVE open in any source package of the release stays open
            if previous in (None, "not-affected") or word == "open":
                states[str(issue).upper()] = word
    return states
