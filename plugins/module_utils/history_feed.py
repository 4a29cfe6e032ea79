# Copyright: patchpilot developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The feed: a run directory (or a scan report) -> the records of the history store.

The records are those of :mod:`history_records` (the contract). Each mapping
rule is one small pure function over plain data:

* :func:`run_record`: the run (run.json, plan.json and the context the
  controller gathered: who ran it, AWX, the project commit ...);
* :func:`asset_record`: a host's facts (the scan's asset record and the CMDB's fields);
* :func:`host_state` / :func:`host_record`: a host's result in the run, from its
  phase history (an unreachable host, or one the scan could not reach, is
  ``unreachable``);
* :func:`phase_times` / :func:`update_states` / :func:`update_records`: per
  planned update the lifecycle states it reached, each at the time of the
  phase that reached it;
* :func:`exception_records`: the plan's excluded and refused updates;
* :func:`scan_records`: a scan report's assets and missing updates (no run).

:func:`read_run` reads a run directory (read-only: no lock taken), and
:func:`run_records` puts it all together. :func:`ingest` appends the records
a store does not hold yet (idempotent: the same run fed twice adds nothing)
and :func:`feed` adds the buffer (``<state>/history-buffer.jsonl``) for the
times the store cannot be opened or written: a failing store never fails a
run; its records wait in the buffer for the next successful feed.

Plain Python, no Ansible runtime.
"""

from __future__ import annotations

import json
import os
from datetime import date, datetime, timezone
from urllib.parse import unquote

from ansible_collections.patchpilot.fleet.plugins.module_utils import eol, history_records, runrecord
from ansible_collections.patchpilot.fleet.plugins.module_utils.history_store import StoreError, open_store

__all__ = [
    "BUFFER_NAME", "asset_record", "exception_records", "feed", "host_record", "host_state", "ingest",
    "phase_times", "read_run", "redacted", "run_records", "run_record", "scan_records", "update_records", "update_states",
]

#: The buffer's file name in the state directory.
BUFFER_NAME = "history-buffer.jsonl"
#: The context keys a run record takes from the controller (the action plugin gathers them).
CONTEXT_KEYS = ("user", "approved_by", "inventory", "project_commit", "awx_job_id", "awx_user", "controller",
                "playbook", "awx_inventory", "awx_project_revision", "policy_file")
#: Phases in which a host has changed nothing yet.
_UNTOUCHED = ("pending", "preflight", "staged")


def _detail(entry: dict) -> dict:
    detail = entry.get("detail") if isinstance(entry, dict) else None
    return detail if isinstance(detail, dict) else {}


# ---------------------------------------------------------------------------
# The run
# ---------------------------------------------------------------------------

def run_record(run: dict, plan: dict, context: dict | None = None) -> dict:
    """The ``run`` record of run.json's current state, with who ran and approved it."""
    context = context or {}
    approval = plan.get("approval") if isinstance(plan.get("approval"), dict) else {}
    data = {key: context.get(key) for key in CONTEXT_KEYS}
    data.update(
        started=run.get("started"), finished=run.get("finished"),
        approved_by=approval.get("by") or context.get("approved_by"),
        change_ticket=run.get("change_ticket") or plan.get("change_ticket"),
        policy_digest=run.get("policy_digest") or plan.get("policy_digest"),
        # the policy as the run applied it: the plan's run-time slice of it (the digest names the whole)
        policy=plan.get("settings"),
        scope=run.get("scope"),
        hosts=sorted(str(entry.get("host")) for entry in plan.get("hosts") or () if entry.get("host")),
        halted=(run.get("halted") or {}).get("reason") if isinstance(run.get("halted"), dict) else run.get("halted"),
        emergency=bool(plan.get("emergency")),
    )
    return {"kind": "run", "at": run.get("finished") or run.get("started"), "run_id": run.get("run_id"),
            "state": run.get("state"), "data": data}


# ---------------------------------------------------------------------------
# Assets
# ---------------------------------------------------------------------------

def _os_name(asset: dict) -> str | None:
    text = " ".join(str(asset[k]) for k in ("os_distribution", "os_version") if asset.get(k))
    return text or None


def asset_record(host: str, asset: dict | None, cmdb: dict | None = None, run_id: str | None = None,
                 at: str | None = None, today: date | None = None) -> dict | None:
    """The ``asset`` record of ``host`` from its facts (the asset_facts module's record, or a scan
    report's asset row) and its CMDB fields; None when no fact is known (never scanned)."""
    asset = dict(asset or {})
    cmdb = dict(cmdb or {})
    if not asset.get("hostname") and not asset.get("os_distribution"):
        return None
    merged = {**cmdb, **{k: v for k, v in asset.items() if v is not None}}
    status = None
    if merged.get("os_distribution"):
        found = eol.eol_status(merged.get("os_distribution") or "", merged.get("os_version") or "",
                               today or datetime.now(timezone.utc).date())
        status = {"status": found["status"],
                  "date": (found.get("extended_end") or found.get("regular_end") or None)}
        if status["date"] is not None:
            status["date"] = status["date"].isoformat()
    elif merged.get("eol_status"):
        status = {"status": merged["eol_status"], "date": merged.get("eol_extended_end") or merged.get("eol_regular_end")}
    kernel = merged.get("kernel")
    revision = ", ".join(part for part in (_os_name(merged), f"kernel {kernel}" if kernel else None) if part) or None
    data = {
        "hostname": merged.get("hostname") or host, "location": merged.get("location"),
        "ip": merged.get("ip_address") or merged.get("ip"), "mac": merged.get("mac_address") or merged.get("mac"),
        "os": _os_name(merged), "revision": revision, "group": merged.get("group") or merged.get("role"),
        "criticality": merged.get("criticality"), "data_sensitivity": merged.get("data_sensitivity"),
        "internet_exposed": merged.get("internet_exposed"), "eol": status,
        "reachable": merged.get("status", "scanned") == "scanned",  # a scan report row says; a run's facts were read
    }
    return {"kind": "asset", "at": at, "run_id": run_id, "host": host, "machine_id": merged.get("machine_id"),
            "data": data}


# ---------------------------------------------------------------------------
# Hosts
# ---------------------------------------------------------------------------

def went_unreachable(history: list) -> bool:
    """Whether any entry of a host's history says it became unreachable."""
    return any(_detail(entry).get("unreachable") is True for entry in history or ())


def host_state(plan_entry: dict, record: dict | None, noted_unreachable: bool = False) -> str:
    """A host's result in the run (history_records.HOST_RESULTS).

    Its last phase when finished (done, failed, rolled_back, abandoned); otherwise
    ``unreachable`` when its history says it became unreachable, or the plan has it
    ``unscannable`` (the scan could not reach it); ``not_started`` when nothing
    changed on it yet (or the plan left it out: refused); ``abandoned`` when it
    stopped half-way (the run died in its middle). A host with nothing to do is ``done``.
    ``noted_unreachable``: the callback saw the host unreachable in this playbook run.
    """
    status = plan_entry.get("status")
    if record is None:
        if status == "unscannable" or noted_unreachable:
            return "unreachable"
        return "done" if status == "nothing_to_do" else "not_started"
    phase = record.get("phase")
    if phase in runrecord.FINISHED_PHASES:
        return phase
    if noted_unreachable or went_unreachable(record.get("history")):
        return "unreachable"
    return "not_started" if phase in _UNTOUCHED else "abandoned"


def phase_times(history: list) -> dict:
    """{phase: time} of a host's history: the first time it reached each phase."""
    times = {}
    for entry in history or ():
        if isinstance(entry, dict) and entry.get("phase") and entry.get("at"):
            times.setdefault(entry["phase"], entry["at"])
    return times


def _last(history: list, phase: str) -> dict:
    found = [entry for entry in history or () if isinstance(entry, dict) and entry.get("phase") == phase]
    return found[-1] if found else {}


def host_error(history: list) -> str | None:
    """The message of the host's failure (its first ``failed`` entry), None when it did not fail."""
    for entry in history or ():
        if isinstance(entry, dict) and entry.get("phase") == "failed":
            detail = _detail(entry)
            return str(detail.get("message") or detail.get("error") or "failed")
    return None


def reboot_times(done_detail: dict, done_at: str | None) -> list:
    """When the host was back from its reboot (the reboot role's ``back_at``), or, from a run recorded
    before that was kept, the time the host was done; [] when it did not reboot."""
    if done_detail.get("rebooted") is not True:
        return []
    back_at = done_detail.get("rebooted_at")
    return [back_at if isinstance(back_at, str) and back_at else done_at]


def host_record(run_id: str, plan_entry: dict, record: dict | None, final: dict | None,
                canary: bool = False, machine_id: str | None = None, unreachable_at: str | None = None) -> dict:
    """The ``host`` record: the host's result, phases, snapshot, reboots, error and end versions."""
    history = (record or {}).get("history") or []
    snapshot_detail = _detail(_last(history, "snapshotted"))
    snapshot = None
    if snapshot_detail:
        snapshot = {"provider": snapshot_detail.get("provider"),
                    "id": snapshot_detail.get("id") or snapshot_detail.get("snapshot_id") or snapshot_detail.get("name")}
    done = _last(history, "done")
    reboots = reboot_times(_detail(done), done.get("at") if done else None)
    state = host_state(plan_entry, record, bool(unreachable_at))
    at = history[-1].get("at") if history else unreachable_at
    return {
        "kind": "host", "at": at, "run_id": run_id, "host": plan_entry.get("host"), "machine_id": machine_id,
        "state": state,
        "data": {
            "wave": plan_entry.get("wave"), "canary": bool(canary),
            "phases": [{"phase": e.get("phase"), "at": e.get("at")} for e in history if isinstance(e, dict)],
            "snapshot": snapshot, "reboots": reboots, "error": host_error(history) or (
                plan_entry.get("reason") if plan_entry.get("status") in ("unscannable", "refused") else None),
            "unreachable": state == "unreachable", "unreachable_at": unreachable_at,
            "versions": dict((final or {}).get("installed") or {}),
        },
    }


# ---------------------------------------------------------------------------
# Updates
# ---------------------------------------------------------------------------

def stale_after_restart(history: list) -> bool | None:
    """Whether the restart role left a service (or process) running replaced files: True, False,
    or None when nothing tells (no restart result recorded)."""
    restart = _detail(_last(history, "done")).get("restart")
    if not isinstance(restart, dict):
        return None
    if "fixed" in restart:
        return not restart["fixed"]
    return bool(restart.get("still_stale") or restart.get("still_stale_processes"))


def update_states(package: dict, history: list, final: dict | None, planned_at: str | None,
                  canary: bool = False) -> list:
    """[(state, time)] the planned ``package`` reached on its host, in lifecycle order.

    missing and approved: when the plan was made (``planned_at``; the approval's time when the
    plan has one); downloaded: staged; tested: verified on a canary host; installed: patched,
    and the version the patch read back (else the host's final read-back) is the candidate;
    active: installed, verified, and the restart role left nothing running the old files (when
    nothing tells: active once verified); verified: installed and verified; failed and
    rolled_back: the host's own, for every update of it.
    """
    times = phase_times(history)
    name, version = package.get("name"), package.get("version")
    states = [("missing", planned_at), ("approved", planned_at)]
    if "staged" in times:
        states.append(("downloaded", times["staged"]))
    patched = _detail(_last(history, "patched")).get("installed")
    seen = patched if isinstance(patched, dict) and name in patched else (final or {}).get("installed") or {}
    installed = "patched" in times and version is not None and seen.get(name) == version
    verified = installed and "verified" in times
    if verified and canary:
        states.append(("tested", times["verified"]))
    if installed:
        states.append(("installed", times["patched"]))
    if verified and stale_after_restart(history) is not True:
        states.append(("active", times["verified"]))
    if verified:
        states.append(("verified", times["verified"]))
    if "failed" in times:
        states.append(("failed", times["failed"]))
    if "rolled_back" in times:
        states.append(("rolled_back", _last(history, "rolled_back")["at"]))
    return states


def update_records(run_id: str | None, plan_entry: dict, record: dict | None, final: dict | None,
                   planned_at: str | None, canary: bool = False, approved_by: str | None = None,
                   machine_id: str | None = None) -> list:
    """The ``update`` records of every planned update of a host (:func:`update_states`)."""
    history = (record or {}).get("history") or []
    error = host_error(history)
    found = []
    for package in plan_entry.get("packages") or ():
        for state, at in update_states(package, history, final, planned_at, canary):
            found.append({
                "kind": "update", "at": at, "run_id": run_id, "host": plan_entry.get("host"),
                "machine_id": machine_id, "package": package.get("name"), "version": package.get("version"),
                "state": state,
                "data": {"from_version": package.get("from_version"),
                         "severity": package.get("effective_severity") or package.get("severity"),
                         "cves": list(package.get("cves") or ()), "due": package.get("due"),
                         "error": error if state == "failed" else None,
                         # the person (the plan's approver), and the policy's reason (the plan's
                         # package "approved_by" names the rule, not a person)
                         "approved_by": approved_by, "approval": package.get("approved_by")},
            })
    return found


def exception_records(run_id: str | None, plan_entry: dict, at: str | None, today: date | None = None,
                      machine_id: str | None = None) -> list:
    """An ``exception`` per excluded (``held``) or refused (``rejected``) update of a plan entry,
    with its reason and expiry (the policy rejection's, when it has one)."""
    today = today or datetime.now(timezone.utc).date()
    found = []
    for field in ("excluded", "refused"):
        for item in plan_entry.get(field) or ():
            reason = str(item.get("reason") or "")
            expires = item.get("until")
            state = "rejected" if field == "refused" or reason.startswith("rejected") else "held"
            expired = False
            if expires:
                try:
                    expired = date.fromisoformat(str(expires)[:10]) < today
                except ValueError:
                    expired = False
            found.append({"kind": "exception", "at": at, "run_id": run_id, "host": plan_entry.get("host"),
                          "machine_id": machine_id, "package": item.get("name"), "version": item.get("version"), "state": state,
                          "data": {"reason": reason or None, "expires": expires, "expired": expired}})
    return found


# ---------------------------------------------------------------------------
# A run directory, a scan
# ---------------------------------------------------------------------------

def _read_optional(path: str):
    return runrecord.read_json(path) if os.path.isfile(path) else None


def read_run(path: str) -> dict:
    """Everything the feed reads of a run directory: run, plan, hosts {host: record},
    finals {host: final.json}, summary (None until written). Read-only: no lock is taken."""
    path = os.path.abspath(path)
    run = runrecord.read_json(os.path.join(path, "run.json"), "run record")
    plan = runrecord.read_json(os.path.join(path, "plan.json"), "plan")
    if not isinstance(run, dict) or not isinstance(plan, dict):
        raise runrecord.RunRecordError(f"{path}: run.json and plan.json must hold JSON objects")
    hosts, finals = {}, {}
    for entry in plan.get("hosts") or ():
        host = entry.get("host")
        if not isinstance(host, str):
            continue
        record_path = runrecord.path_under(path, "hosts", host + ".json")
        if os.path.isfile(record_path):
            hosts[host] = runrecord.read_json(record_path, f"progress record of {host}")
        final_path = runrecord.path_under(path, "archive", host, "final.json")
        if os.path.isfile(final_path):
            finals[host] = runrecord.read_json(final_path, "final state")
    return {"path": path, "run": run, "plan": plan, "hosts": hosts, "finals": finals,
            "summary": _read_optional(os.path.join(path, "summary.json"))}


def canary_hosts(plan: dict) -> set:
    return {h for wave in plan.get("waves") or () if wave.get("canary") for h in wave.get("hosts") or ()}


def run_records(found: dict, context: dict | None = None, today: date | None = None) -> list:
    """The records of one run (:func:`read_run`'s answer) in order: the run, then per host its
    asset (when ``context["assets"]`` knows its facts; ``context["cmdb"]`` its CMDB fields), its
    updates, exceptions and result (``context["unreachable"]``: {host: time} the callback saw
    unreachable)."""
    context = context or {}
    run, plan = found["run"], found["plan"]
    run_id = run.get("run_id") or plan.get("run_id")
    approval = plan.get("approval") if isinstance(plan.get("approval"), dict) else {}
    planned_at = approval.get("at") or plan.get("created") or run.get("started")
    canaries = canary_hosts(plan)
    assets = context.get("assets") or {}
    cmdb = context.get("cmdb") or {}
    noted = context.get("unreachable") or {}
    records = [run_record(run, plan, context)]
    for entry in sorted(plan.get("hosts") or (), key=lambda e: str(e.get("host"))):
        host = entry.get("host")
        if not isinstance(host, str):
            continue
        record, final = found["hosts"].get(host), found["finals"].get(host)
        asset = asset_record(host, assets.get(host), cmdb.get(host), run_id, run.get("started"), today)
        machine_id = asset["machine_id"] if asset else None
        if asset:
            asset["data"]["reachable"] = host_state(entry, record, host in noted) != "unreachable"
            records.append(asset)
        records += update_records(run_id, entry, record, final, planned_at, host in canaries,
                                  approval.get("by"), machine_id)
        records += exception_records(run_id, entry, plan.get("created"), today, machine_id)
        if record is not None or entry.get("status") != "rollout":
            records.append(host_record(run_id, entry, record, final, host in canaries, machine_id, noted.get(host)))
    return records


def _day_start(value) -> str | None:
    if not value:
        return None
    text = str(value)
    return text if "T" in text else f"{text[:10]}T00:00:00+00:00"


def scan_records(assets: list, updates: list, at: str | None = None, today: date | None = None) -> list:
    """A scan report's records: an ``asset`` per scanned host and a ``missing`` update (run_id
    None) per update row, at the day it was first seen (else ``at``)."""
    records = []
    for row in assets or ():
        if not isinstance(row, dict) or not row.get("host"):
            continue
        asset = asset_record(row["host"], row, None, None, at, today)
        if asset:
            records.append(asset)
    for row in updates or ():
        if not isinstance(row, dict) or not row.get("host") or not row.get("name"):
            continue
        records.append({
            "kind": "update", "at": _day_start(row.get("first_seen")) or at, "run_id": None, "host": row["host"],
            "package": row["name"], "version": row.get("candidate_version"), "state": "missing",
            "data": {"from_version": row.get("installed_version"),
                     "severity": row.get("effective_severity") or row.get("severity"),
                     "cves": list(row.get("cves") or ()), "due": row.get("due"), "error": None,
                     "approved_by": None},
        })
    return records


# ---------------------------------------------------------------------------
# Into the store
# ---------------------------------------------------------------------------

def _plain(value):
    """``value`` as plain JSON data (what the store and the buffer hold)."""
    return json.loads(json.dumps(value, sort_keys=True, default=str))


def _identity(record: dict) -> tuple:
    """What makes two records the same: history_records.key, and an asset's facts (a scan that
    finds a host changed records it again; the same scan fed twice does not)."""
    key = history_records.key(record)
    if record.get("kind") == "asset":
        return key + (json.dumps(record.get("data"), sort_keys=True),)
    return key


def ingest(store, records: list) -> list:
    """Append the records ``store`` does not hold yet (by :func:`_identity`); the ones appended."""
    records = [_plain(r) for r in records]
    run_ids = sorted({r.get("run_id") for r in records if r.get("run_id") is not None})
    held = []
    for run_id in run_ids:
        held += store.records("run_id = ?", (run_id,))
    if any(r.get("run_id") is None for r in records):
        held += store.records("run_id IS NULL AND kind IN ('asset', 'update', 'exception')")
    latest_assets = {}
    known = set()
    for record in held:
        if record.get("kind") == "asset":
            latest_assets[history_records.key(record)] = _identity(record)
        else:
            known.add(_identity(record))
    known |= set(latest_assets.values())
    fresh, seen = [], set()
    for record in records:
        identity = _identity(record)
        if identity in known or identity in seen:
            continue
        seen.add(identity)
        fresh.append(record)
    return store.append(fresh) if fresh else []


def read_buffer(path: str) -> list:
    """The records a buffer holds (a line that is not a record is skipped)."""
    found = []
    try:
        with open(path, encoding="utf-8") as handle:
            for line in handle:
                try:
                    record = json.loads(line)
                except ValueError:
                    continue
                if isinstance(record, dict) and record.get("kind"):
                    found.append(record)
    except FileNotFoundError:
        return []
    return found


def buffer_records(path: str, records: list) -> None:
    """Append ``records`` to the buffer (0600, runrecord.append_private_jsonl)."""
    os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
    for record in records:
        runrecord.append_private_jsonl(path, _plain(record))


def feed(spec: str | None, state_dir: str, records: list, opener=open_store) -> dict:
    """Feed ``records`` to the store ``spec`` names (history_store.open_store), the buffer first.

    Returns ``{"ok", "appended", "flushed", "buffered", "error", "buffer"}``: when the store
    cannot be opened or written, ``ok`` is False, ``error`` says why (never the store's
    password: the message names no URL) and the records wait in the buffer, which the
    next successful feed flushes (then removes). Never raises for a store problem.
    """
    path = os.path.join(state_dir, BUFFER_NAME)
    waiting = read_buffer(path)
    result = {"ok": True, "appended": 0, "flushed": 0, "buffered": 0, "error": None, "buffer": path}
    store = None
    try:
        store = opener(spec, state_dir)
        flushed = ingest(store, waiting) if waiting else []
        appended = ingest(store, records)
    except (StoreError, OSError) as exc:
        result.update(ok=False, buffered=len(records) + len(waiting), error=redacted(str(exc), spec))
        try:
            buffer_records(path, records)
        except (runrecord.RunRecordError, OSError) as problem:
            result.update(buffered=len(waiting), error=f"{result['error']}; and the buffer cannot be written"
                          f" ({problem}): {len(records)} record(s) NOT KEPT")
        return result
    finally:
        if store is not None:
            try:
                store.close()
            except Exception:  # pylint: disable=broad-except  # closing a broken store: nothing to save
                pass
    if waiting:
        os.unlink(path)
    result.update(appended=len(appended), flushed=len(flushed))
    return result


def redacted(message: str, spec, name: str = "<store URL>") -> str:
    """``message`` without the store URL's password (nor the URL itself, shown as ``name``)."""
    if isinstance(spec, str) and "://" in spec:
        message = message.replace(spec, name)
        rest = spec.split("://", 1)[1]
        userinfo = rest.split("@", 1)[0] if "@" in rest else ""
        if ":" in userinfo:
            password = userinfo.split(":", 1)[1]
            for shown in {password, unquote(password)} - {""}:
                message = message.replace(shown, "********")
    return message
