# Copyright: patchpilot developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""From Debian changelogs to what an apt update record says: CVEs, advisories, severity, release date.

The scan learns, per host, each pending apt upgrade's source package and
version (the deb_changelogs module, ``state: resolve``). The controller's
changelog cache (changelog_cache) holds the changelogs already read. Then:

- :func:`fetch_plan` picks which host reads which changelog that is not
  cached yet: one host per source version, so a fleet reads each changelog
  once;
- :func:`host_security` says, per host and update, what the entries between
  the installed and the candidate version say (debian_changelog.summary);
- :func:`merge` puts that into an update record. A record whose changelog
  could not be read says so in ``changelog`` (``{"origin": "unknown"}``)
  rather than showing an empty CVE list that would read as "fixes none".

Plain Python, no Ansible runtime.
"""

from __future__ import annotations

from ansible_collections.patchpilot.fleet.plugins.module_utils import debian_changelog
from ansible_collections.patchpilot.fleet.plugins.module_utils.records import highest_severity

__all__ = ["fetch_plan", "host_security", "key_of", "merge"]


def key_of(item: dict) -> tuple:
    """The cache key of a resolved package: (source, source version)."""
    return item["source"], item["source_version"]


def fetch_plan(resolved: dict, cached) -> tuple:
    """``({host: [package items to read]}, stats)`` for the changelogs the cache lacks.

    ``resolved`` is ``{host: [deb_changelogs resolve entries]}``; ``cached(source, version)`` says
    whether the cache has one. Each missing source version is read once, by one of the hosts that
    have it: the one with the fewest reads so far (then by name), so the reads spread over the
    fleet and run in parallel; from its first binary of that source (by name). ``stats``: ``keys``
    (distinct source versions), ``cached`` and ``to_read``.
    """
    holders, known = {}, set()
    for host in sorted(resolved):
        for item in sorted(resolved[host] or (), key=lambda entry: entry["name"]):
            key = key_of(item)
            if key in known:
                continue
            if key not in holders and cached(*key):
                known.add(key)
                continue
            holders.setdefault(key, {}).setdefault(host, item)
    plan, load = {}, {}
    for key in sorted(holders):
        host = min(holders[key], key=lambda name: (load.get(name, 0), name))
        load[host] = load.get(host, 0) + 1
        item = holders[key][host]
        fields = ("name", "version", "source", "source_version", "changelog_url")
        plan.setdefault(host, []).append({k: item.get(k) for k in fields})
    return plan, {"keys": len(known) + len(holders), "cached": len(known), "to_read": len(holders)}


def host_security(updates: list, resolved: list, changelog, severities: dict | None = None) -> dict:
    """``{package name: info}`` for one host's apt upgrades.

    ``updates`` are the host's update records, ``resolved`` its deb_changelogs resolve entries,
    ``changelog(source, version)`` the cached record (changelog_cache.get) or None. ``info`` is
    debian_changelog.summary of the entries the update brings, with ``source``, ``source_version``
    and ``origin`` (where the changelog was read, or ``unknown``).
    """
    by_name = {(item["name"], item["version"]): item for item in resolved or ()}
    found = {}
    for record in updates or ():
        if record.get("effect") != "upgrade" or record.get("backend") != "apt":
            continue
        item = by_name.get((record.get("name"), record.get("candidate_version")))
        if item is None:
            continue
        cached = changelog(*key_of(item))
        entries = cached["entries"] if cached else []
        try:  # the installed binary's version stands for its source's (they differ only for binNMUs)
            brought = debian_changelog.between(entries, record.get("installed_version"), item["source_version"])
        except debian_changelog.ChangelogError:
            brought = []
        info = debian_changelog.summary(brought, item["source_version"], severities)
        info.update(source=item["source"], source_version=item["source_version"],
                    origin=(cached or {}).get("origin") if entries else debian_changelog.UNKNOWN)
        if not entries and cached and cached.get("missing"):
            info["missing"] = cached["missing"]
        found[record["name"]] = info
    return found


def merge(record: dict, info: dict | None) -> dict:
    """A copy of an update record with what its changelog says.

    CVEs and advisories are added to the record's own; the severity is the higher of the record's
    and the changelog's; ``released`` is the changelog's date when the record has none. The record
    gains ``changelog``: ``{origin, urgency, entries}`` (``origin`` ``unknown`` when nothing was read).
    """
    copy = dict(record)
    if info is None:
        return copy
    unknown = debian_changelog.UNKNOWN
    if isinstance(info.get("cves"), list):
        copy["cves"] = sorted(set(record.get("cves") or ()) | set(info["cves"]))
    if isinstance(info.get("advisories"), list):
        copy["advisories"] = sorted(set(record.get("advisories") or ()) | set(info["advisories"]))
    severity = highest_severity([record.get("severity"), info.get("severity")])
    if severity is not None:
        copy["severity"] = severity
    if not record.get("released") and info.get("released") not in (None, unknown):
        copy["released"] = info["released"]
    copy["changelog"] = {"origin": info.get("origin") or unknown, "urgency": info.get("urgency", unknown),
                         "entries": info.get("entries", 0), "source": info.get("source")}
    if info.get("missing"):
        copy["changelog"]["missing"] = info["missing"]
    return copy
