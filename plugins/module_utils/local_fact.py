# Copyright: patchpilot developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The local fact a patched host carries: its last run, on the host itself (docs/identity.md).

Once a host's part of a run ends (done, failed, rolled back), playbooks/patch.yml
writes :data:`FACT_FILE` on it, and every later fact gathering shows it as
``ansible_local.patchpilot``: which run last touched the host, when, how it
ended, at which revision level the host is, and how many packages the plan
had for it. :func:`host_fact` makes its content from the run record, the plan
and the host's asset facts; the playbook only writes it.

Plain Python, no Ansible runtime.
"""

from __future__ import annotations

__all__ = ["FACT_DIR", "FACT_FILE", "FACT_FORMAT", "FACT_MODE", "RESULTS", "LocalFactError", "host_fact", "revision"]

#: Ansible's default fact_path: ``setup`` reads every ``*.fact`` file in it.
FACT_DIR = "/etc/ansible/facts.d"
FACT_FILE = FACT_DIR + "/patchpilot.fact"
#: World-readable: ``setup`` run without become reads it as the login user, and an unreadable
#: fact file shows as an empty ``{}``, silently; the content is no secret (every local user can
#: read the OS release, the kernel and dpkg's status, which the revision level sums up).
FACT_MODE = "0644"
FACT_FORMAT = 1
#: The host results the fact is written for: the phases that end a host's part of a run.
RESULTS = ("done", "failed", "rolled_back")


class LocalFactError(ValueError):
    """Input the fact cannot be made from (a host record or plan entry of the wrong shape)."""


def revision(asset: dict | None) -> dict:
    """The host's revision level from its asset facts (patchpilot.fleet.asset_facts).

    ``os`` (the pretty name), ``os_version``, ``kernel``, ``packages`` (how many are
    installed) and ``packages_digest`` (a digest of the installed package list: two
    hosts, or two runs, with the same digest have the same packages at the same
    versions). A value the host could not tell is None.
    """
    asset = asset if isinstance(asset, dict) else {}
    return {"os": asset.get("os_pretty_name"), "os_version": asset.get("os_version"), "kernel": asset.get("kernel"),
            "packages": asset.get("installed_packages"), "packages_digest": asset.get("packages_digest")}


def _ended_at(record: dict) -> str | None:
    """When the host reached its last phase: the first of the history's trailing entries in it
    (a detail added later, with the phase unchanged, does not move it)."""
    history = [h for h in record.get("history") or () if isinstance(h, dict)]
    at = None
    for entry in reversed(history):
        if entry.get("phase") != record.get("phase"):
            break
        at = entry.get("at")
    return at


def _count(entry: dict, key: str) -> int:
    items = entry.get(key) or []
    if not isinstance(items, list):
        raise LocalFactError(f"plan entry of {entry.get('host')}: {key} is not a list")
    return len(items)


def host_fact(run_id: str, record: dict, entry: dict, asset: dict | None, now: str) -> dict | None:
    """The content of the host's local fact, or None when its part of the run has not ended.

    ``record`` is the host's run record (``{host, phase, history}``), ``entry`` its plan
    entry (``packages``, ``removals``), ``asset`` its asset facts read at the end of the
    run (None: the revision level is unknown), ``now`` the time (ISO) used when the
    history does not say when the host's part ended. Returns ``{format, run_id, host,
    machine_id, at, result, planned_packages, planned_removals, revision}``.
    """
    if not isinstance(record, dict) or not isinstance(entry, dict):
        raise LocalFactError("the host's run record and plan entry must be mappings")
    result = record.get("phase")
    if result not in RESULTS:
        return None
    return {
        "format": FACT_FORMAT,
        "run_id": run_id,
        "host": record.get("host") or entry.get("host"),
        "machine_id": asset.get("machine_id") if isinstance(asset, dict) else None,
        "at": _ended_at(record) or now,
        "result": result,
        "planned_packages": _count(entry, "packages"),
        "planned_removals": _count(entry, "removals"),
        "revision": revision(asset),
    }
