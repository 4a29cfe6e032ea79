# Copyright: patchpilot developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Retention: which snapshots and run archives a finished run removes (the policy's ``snapshot.keep``).

Plain Python, no Ansible runtime. The keep rule is ``{"runs": N, "days": D}``
(either may be None, not both): a snapshot is **kept while either holds**,
that is while it is one of the N newest (counting the current run) or younger
than D days. Whatever the rule says, these are never removed: the current
run's, a run that is not finished (still ``running``: interrupted, or going on
elsewhere), a run whose lock file names it (held, or stale and not broken yet),
and anything whose time or run is unknown. ``{"runs": 1}`` keeps the current
run's snapshot only.

:func:`select` is the verdict, over plain items ``{id, time, finished,
locked}``. :func:`read_runs` gathers the controller's run directories (the
run records of runrecord.py and, for one host, its snapshot.json), and
:func:`host_plan` / :func:`controller_plan` turn both into what to remove:
per host the snapshots of each provider with the step that removes them
(an argv list, a directory, EBS snapshot ids), on the controller whole run
directories of the same inventory scope. The roles only gather, call this,
and act.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import Mapping
from datetime import datetime, timedelta, timezone

from ansible_collections.patchpilot.fleet.plugins.module_utils import lvm_plan as _lvm
from ansible_collections.patchpilot.fleet.plugins.module_utils import runrecord as _runrecord

__all__ = ["DEFAULT_KEEP", "HOST_DIR_ROOT", "RetentionError", "controller_plan", "host_plan", "keep_rule",
           "prune_run_dirs", "read_note", "read_runs", "recorded", "select"]

#: The keep rule when the policy (or an older plan) says nothing.
DEFAULT_KEEP = {"runs": 3, "days": None}
#: Upper bounds, as in docs/policy.schema.json.
MAX_RUNS, MAX_DAYS = 1000, 3650
#: What retention removed of a host after a run, in that run's archive/<host>/ (retention_record).
NOTE_FILE = "retention.json"
#: Where the roles keep a run's files on a host (roles/snapshot defaults: snapshot_host_dir).
HOST_DIR_ROOT = "/var/cache/patchpilot/runs"
_EBS_ID = re.compile(r"^snap-[0-9a-f]{8,17}$")


class RetentionError(ValueError):
    """Input retention cannot use; the message says which."""


def keep_rule(value) -> dict:
    """The keep rule ``{"runs", "days"}`` checked; None (not set) is :data:`DEFAULT_KEEP`."""
    if value is None:
        return dict(DEFAULT_KEEP)
    if not isinstance(value, Mapping):
        raise RetentionError(f"snapshot.keep: expected a mapping with runs and/or days, got {value!r}")
    unknown = sorted(str(key) for key in value if key not in ("runs", "days"))
    if unknown:
        raise RetentionError(f"snapshot.keep: unknown keys {', '.join(unknown)} (runs, days)")
    out = {}
    for key, top in (("runs", MAX_RUNS), ("days", MAX_DAYS)):
        number = value.get(key)
        if number is not None and (isinstance(number, bool) or not isinstance(number, int) or not 1 <= number <= top):
            raise RetentionError(f"snapshot.keep.{key}: expected a whole number from 1 to {top}, got {number!r}")
        out[key] = number
    if out["runs"] is None and out["days"] is None:
        raise RetentionError("snapshot.keep: set runs, days or both (a snapshot is kept while either holds)")
    return out


def _when(value):
    """An aware datetime from an ISO string, epoch seconds or a datetime; None when unknown."""
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        moment = datetime.fromtimestamp(value, timezone.utc)
    elif isinstance(value, str) and value:
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
    else:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=timezone.utc)


def select(items, keep, now: datetime, current: str | None = None) -> dict:
    """Which items to remove under ``keep``; the verdict of retention.

    ``items``: ``[{"id", "time" (ISO 8601, epoch seconds or datetime), "finished": bool,
    "locked": bool}]``. Returns ``{"keep": [{"id", "reason"}], "remove": [{"id", "reason"}]}``,
    each newest first (the current run first of all).
    """
    rule = keep_rule(keep)
    now = _when(now)
    if now is None:
        raise RetentionError("now: a time is required")
    rows = []
    for item in items:
        if not isinstance(item, Mapping) or not isinstance(item.get("id"), str) or not item["id"]:
            raise RetentionError(f"an item needs an id: {item!r}")
        rows.append((item, _when(item.get("time"))))
    rows.sort(key=lambda row: (row[0]["id"] == current, row[1] or datetime.max.replace(tzinfo=timezone.utc),
                               row[0]["id"]), reverse=True)
    kept, removed = [], []
    for rank, (item, when) in enumerate(rows):
        reason = None
        if item["id"] == current:
            reason = "the current run"
        elif not item.get("finished"):
            reason = "its run is not finished"
        elif item.get("locked"):
            reason = "its run's lock is held"
        elif when is None:
            reason = "its time is unknown"
        elif rule["runs"] is not None and rank < rule["runs"]:
            reason = f"one of the newest {rule['runs']} runs"
        elif rule["days"] is not None and now - when < timedelta(days=rule["days"]):
            reason = f"younger than {rule['days']} days"
        if reason:
            kept.append({"id": item["id"], "reason": reason})
        else:
            removed.append({"id": item["id"], "reason": _beyond(rule)})
    return {"keep": kept, "remove": removed}


def _beyond(rule: dict) -> str:
    parts = []
    if rule["runs"] is not None:
        parts.append(f"not one of the newest {rule['runs']} runs")
    if rule["days"] is not None:
        parts.append(f"older than {rule['days']} days")
    return " and ".join(parts)


# ---------------------------------------------------------------------------
# Gathering the controller's runs
# ---------------------------------------------------------------------------

def _read(path: str):
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    except (OSError, ValueError):
        return None


def _locked_runs(base_dir: str) -> set:
    """The run ids named by a lock file under ``<base>/locks`` (held, or stale and not broken yet)."""
    folder = os.path.join(base_dir, _runrecord.LOCKS_DIR)
    found = set()
    try:
        names = os.listdir(folder)
    except OSError:
        return found
    for name in names:
        owner = _read(os.path.join(folder, name)) if name.endswith(".lock") else None
        if isinstance(owner, Mapping) and isinstance(owner.get("run_id"), str):
            found.add(owner["run_id"])
    return found


def _removed(path: str, host: str) -> bool:
    """Has retention removed ``host``'s snapshot of the run at ``path`` (a ``snapshot_removed`` note)?"""
    try:
        record = _read(_runrecord.path_under(path, "hosts", _runrecord._check_host(host) + ".json"))  # pylint: disable=protected-access
    except _runrecord.RunRecordError:
        return False
    for entry in (record or {}).get("history") or () if isinstance(record, Mapping) else ():
        detail = entry.get("detail") if isinstance(entry, Mapping) else None
        note = detail.get("retention") if isinstance(detail, Mapping) else None
        if isinstance(note, Mapping) and note.get("snapshot_removed"):
            return True
    return False


def read_runs(base_dir: str, host: str | None = None) -> list:
    """The run directories under ``base_dir``: ``[{id, started, state, finished, scope_key, locked, path,
    snapshot, snapshot_removed}]`` (``snapshot``: ``host``'s archive/<host>/snapshot.json, or None;
    ``snapshot_removed``: retention removed it already). A folder without a readable run.json is
    left out (not a run, or one being made)."""
    base_dir = os.path.abspath(base_dir)
    try:
        names = sorted(os.listdir(base_dir))
    except FileNotFoundError:
        return []
    locked = _locked_runs(base_dir)
    runs = []
    for name in names:
        try:
            path = _runrecord.path_under(base_dir, _runrecord._check_run_id(name))  # pylint: disable=protected-access
        except _runrecord.RunRecordError:
            continue
        if os.path.islink(path) or not os.path.isdir(path):
            continue
        run = _read(os.path.join(path, "run.json"))
        if not isinstance(run, Mapping) or run.get("run_id") != name:
            continue
        snapshot = None
        if host is not None:
            try:
                record = _read(_runrecord.path_under(path, "archive", _runrecord._check_host(host),  # pylint: disable=protected-access
                                                     "snapshot.json"))
            except _runrecord.RunRecordError:
                record = None
            snapshot = record if isinstance(record, Mapping) and record.get("host") == host else None
        runs.append({"id": name, "started": run.get("started"), "state": run.get("state"),
                     "finished": run.get("state") in ("completed", "failed", "aborted"),
                     "scope_key": run.get("scope_key"), "locked": name in locked, "path": path,
                     "snapshot": snapshot, "snapshot_removed": host is not None and _removed(path, host)})
    return runs


# ---------------------------------------------------------------------------
# What to remove
# ---------------------------------------------------------------------------

def _removal_steps(run_id: str, snapshot, host_dir) -> dict:
    """The steps that remove one run's snapshot of a host, from its snapshot.json record."""
    step = {"run_id": run_id, "provider": None, "host_dir": host_dir, "btrfs_argv": None, "lvm_argv": None,
            "aws_ebs": None}
    if not isinstance(snapshot, Mapping):
        return step
    provider = snapshot.get("provider")
    step["provider"] = provider
    details = snapshot.get(provider) if isinstance(provider, str) else None
    details = details if isinstance(details, Mapping) else {}
    if provider == "btrfs":
        path = details.get("snapshot")
        if not isinstance(path, str) or not path.startswith("/") or not path.endswith("-" + run_id) or ".." in path:
            raise RetentionError(f"run {run_id}: the btrfs snapshot {path!r} is not this run's absolute path")
        # a read-only snapshot is made writable first: without CAP_SYS_ADMIN (a container, a
        # file system mounted user_subvol_rm_allowed) it cannot be deleted otherwise
        step["btrfs_argv"] = [["btrfs", "property", "set", "-ts", path, "ro", "false"],
                              ["btrfs", "subvolume", "delete", path]]
    elif provider == "lvm":
        try:
            step["lvm_argv"] = _lvm.cleanup_argv(details.get("vg"), details.get("snapshot"), details.get("lv"))
        except _lvm.LvmPlanError as exc:
            raise RetentionError(f"run {run_id}: lvm record: {exc}") from None
    elif provider == "aws_ebs":
        ids = [volume.get("snapshot_id") for volume in details.get("volumes") or () if isinstance(volume, Mapping)]
        bad = [value for value in ids if not isinstance(value, str) or not _EBS_ID.match(value)]
        if bad or not details.get("region"):
            raise RetentionError(f"run {run_id}: the aws_ebs record needs a region and snapshot ids, got {bad or ids}")
        step["aws_ebs"] = {"region": details["region"], "endpoint_url": details.get("endpoint_url"),
                           "snapshot_ids": ids}
    return step


def host_plan(runs, host_dirs, keep, now, current: str) -> dict:
    """What retention removes of one host, after run ``current`` is done on it.

    ``runs``: :func:`read_runs` with the host; ``host_dirs``: the host's ``/var/cache/patchpilot/runs``
    folders ``[{"path", "mtime"}]``. An item per run with this host's snapshot (not removed before) or a
    host folder; a folder no run directory knows is kept (its run is unknown here). Returns ``{"remove": [steps], "keep":
    [{"id", "reason"}]}``; each step ``{run_id, provider, reason, host_dir, btrfs_argv (a list of argv
    lists, run in order), lvm_argv, aws_ebs: {region, endpoint_url, snapshot_ids}}``, its unused parts None.
    """
    by_id = {run["id"]: run for run in runs}
    folders = {}
    for entry in host_dirs or ():
        path = entry.get("path") if isinstance(entry, Mapping) else None
        if not isinstance(path, str) or os.path.dirname(path.rstrip("/")) != HOST_DIR_ROOT:
            raise RetentionError(f"host_dirs: {path!r} is not a folder of {HOST_DIR_ROOT}")
        name = os.path.basename(path.rstrip("/"))
        try:
            _runrecord._check_run_id(name)  # pylint: disable=protected-access
        except _runrecord.RunRecordError:
            continue  # no run's folder (a hidden one, an odd name): never touched
        folders[name] = entry
    items = []
    live = {run["id"] for run in runs if run.get("snapshot") and not run.get("snapshot_removed")}
    for run_id in sorted(set(folders) | live):
        run = by_id.get(run_id)
        if run is None:
            items.append({"id": run_id, "time": folders[run_id].get("mtime"), "finished": False, "locked": False})
            continue
        taken = (run.get("snapshot") or {}).get("taken_at")
        items.append({"id": run_id, "time": taken or run.get("started"), "finished": run.get("finished"),
                      "locked": run.get("locked")})
    verdict = select(items, keep, now, current)
    remove = []
    for item in verdict["remove"]:
        run_id = item["id"]
        host_dir = f"{HOST_DIR_ROOT}/{run_id}" if run_id in folders else None
        # a snapshot removed before (its folder left) is not removed again
        step = _removal_steps(run_id, by_id[run_id].get("snapshot") if run_id in live else None, host_dir)
        step["reason"] = item["reason"]
        remove.append(step)
    return {"remove": remove, "keep": verdict["keep"]}


def controller_plan(runs, keep, now, current: str) -> dict:
    """Which run directories of the current run's inventory scope to remove: ``{"remove", "keep"}``.

    Runs of other scopes are left to their own runs' retention (their hosts' newest snapshots
    may be in them)."""
    scope = next((run.get("scope_key") for run in runs if run["id"] == current), None)
    if scope is None:
        raise RetentionError(f"run {current}: not found among the run directories")
    items = [{"id": run["id"], "time": run.get("started"), "finished": run.get("finished"),
              "locked": run.get("locked")} for run in runs if run.get("scope_key") == scope]
    return select(items, keep, now, current)


def prune_run_dirs(base_dir: str, run_ids, check_mode: bool = False) -> list:
    """Remove the run directories ``run_ids`` (each checked again: finished, not locked); the ids removed."""
    removed = []
    current = {run["id"]: run for run in read_runs(base_dir)}
    for run_id in run_ids:
        run = current.get(run_id)
        if run is None or not run["finished"] or run["locked"]:
            continue  # changed since the plan: left alone
        if not check_mode:
            shutil.rmtree(run["path"])
        removed.append(run_id)
    return removed


def recorded(notes: Mapping) -> dict:
    """What retention removed per host in a run, from the hosts' archive/<host>/retention.json
    (``{host: note or None}``): ``{host: {"removed": [run ids], "error": message or None}}``;
    hosts without a note left out."""
    out = {}
    for host, note in notes.items():
        if not isinstance(note, Mapping):
            continue
        out[host] = {"removed": [step.get("run_id") for step in note.get("removed") or () if isinstance(step, Mapping)],
                     "error": note.get("error")}
    return out


def read_note(archive_dir: str):
    """archive/<host>/retention.json of a run, None when there is none (or it cannot be read)."""
    return _read(os.path.join(archive_dir, NOTE_FILE))
