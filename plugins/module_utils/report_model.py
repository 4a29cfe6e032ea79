# Copyright: patchpilot developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The report's data, from the history store's records (history_records.py is their contract).

:func:`build` turns the records (chain order) into one JSON-ready dict that every
renderer (report_render.py) reads: the runs, every host and update with its latest
lifecycle state and history, the lifecycle funnel, compliance per host, group and
fleet, the overdue list, SLA breaches, pending updates by severity, exceptions,
outdated (end-of-life) machines, the asset inventory, the machines behind the
host names (identity.py: a rename keeps a machine's history, a reinstall is a new
machine under the old name), the trend over runs, the audit checklist
(audit_checklist.py) and the chain check (``Store.verify()``).

The verdicts, each one small function:

:func:`update_verdict`
    An approved update is **compliant** when it became ``active`` (installed and
    no service still runs the old files) on or before its due date (the policy's
    SLA, ``data.due``). Otherwise it is ``late`` (active after its due date: an
    SLA breach), ``not_active`` (installed, but a service still runs the old
    files), ``failed`` / ``rolled_back`` (its last state), ``overdue`` (not active
    and past due) or ``pending`` (not active yet, not due yet). Compliance is the
    share of approved updates that are compliant.
:func:`is_overdue`
    Not active, not under a live exception, and its due date has passed.
:func:`exception_expired`
    An exception whose ``expires`` date has passed (or that the feed marked expired).
:func:`host_failing`
    What makes a host's JUnit test case fail: not compliant, or its last run
    failed, rolled back, left it unreachable or abandoned it.

``run`` (optional) makes the report one "as of" that run: the records after its
last one are left out, and the audit checklist looks for that run's evidence.
Without it, the latest run.

Plain Python, no Ansible runtime.
"""

from __future__ import annotations

from datetime import date, datetime

from ansible_collections.patchpilot.fleet.plugins.module_utils import audit_checklist, identity
from ansible_collections.patchpilot.fleet.plugins.module_utils.history_records import LIFECYCLE
from ansible_collections.patchpilot.fleet.plugins.module_utils.records import SEVERITIES

__all__ = ["FORMAT", "FUNNEL", "ReportError", "build", "compliance_share", "exception_expired", "host_failing",
           "is_overdue", "update_verdict"]

FORMAT = 1
#: The funnel's stages, in order (the issue's "missing, downloaded, tested and installed", and more).
FUNNEL = ("missing", "approved", "downloaded", "tested", "installed", "verified")
#: States that mean an update was approved (reaching a later one implies the approval).
APPROVED_OR_LATER = LIFECYCLE[1:]
SEVERITY_ORDER = SEVERITIES + ("unknown",)
#: A host's last run result that fails its JUnit test case.
FAILING_RESULTS = ("failed", "rolled_back", "unreachable", "abandoned")
#: The trend shows the last this many runs (each is the fleet recomputed as of the run's end).
TREND_RUNS = 30
VERDICTS = ("compliant", "late", "not_active", "failed", "rolled_back", "overdue", "pending")


class ReportError(Exception):
    """Records the report cannot be built from; the message says which."""


# ---------------------------------------------------------------------------
# Verdicts


def _day(value) -> date | None:
    """The date of an ISO date or date-time string (None when empty or not a date)."""
    if not value:
        return None
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    text = str(value)
    try:
        return date.fromisoformat(text[:10])
    except ValueError:
        return None


def update_verdict(reached: dict, latest: str, due) -> tuple[str, str]:
    """An approved update's verdict and its reason.

    ``reached`` maps each lifecycle state the update reached to when it first did (ISO
    time); ``latest`` is its last state; ``due`` its due date (ISO) or None (no SLA).
    Returns ``(verdict, reason)``; only ``compliant`` counts as compliant.
    """
    due_day = _day(due)
    if latest in ("failed", "rolled_back"):
        word = "failed" if latest == "failed" else "rolled back"
        return latest, f"{word} on {str(reached.get(latest) or '?')[:10]}"
    active = _day(reached.get("active"))
    if active is not None:
        if due_day is not None and active > due_day:
            return "late", f"active on {active.isoformat()}, after its due date {due_day.isoformat()}"
        return "compliant", f"active on {active.isoformat()}" + (f", due {due_day.isoformat()}" if due_day else "")
    if "installed" in reached:
        return "not_active", "installed, but a service still runs the old files (restart it)"
    return "pending", "not installed yet" + (f", due {due_day.isoformat()}" if due_day else "")


def is_overdue(verdict: str, due, today: date, excepted: bool = False) -> bool:
    """True when an update that is not active (``verdict`` from :func:`update_verdict`, or
    ``missing`` for one never approved) is past its due date and no live exception covers it."""
    due_day = _day(due)
    if excepted or due_day is None or verdict in ("compliant", "late"):
        return False
    return today > due_day


def exception_expired(exception: dict, today: date) -> bool:
    """True when an exception (``{expires, expired}``) has run out: the feed said so, or its
    ``expires`` date lies before ``today``. One without an expiry never runs out."""
    if exception.get("expired") is True:
        return True
    expires = _day(exception.get("expires"))
    return expires is not None and expires < today


def host_failing(host: dict) -> str | None:
    """Why a host's test case fails (JUnit), or None: not compliant, or its last run ended badly."""
    reasons = []
    result = host.get("last_result")
    if result in FAILING_RESULTS:
        error = host.get("last_error")
        reasons.append(f"last run {host.get('last_run')}: {result.replace('_', ' ')}" + (f" ({error})" if error else ""))
    compliance = host.get("compliance") or {}
    if compliance.get("approved") and compliance.get("compliant") != compliance.get("approved"):
        reasons.append(f"not compliant: {compliance['compliant']} of {compliance['approved']} approved updates"
                       " active within their SLA")
    return "; ".join(reasons) or None


def compliance_share(compliant: int, approved: int) -> float | None:
    """The compliant share (0..1, rounded to 4 places); None when nothing was approved."""
    return round(compliant / approved, 4) if approved else None


# ---------------------------------------------------------------------------
# Building


def _data(record) -> dict:
    data = record.get("data")
    return data if isinstance(data, dict) else {}


def _runs(records: list) -> dict:
    runs = {}
    for record in records:
        if record.get("kind") != "run" or not record.get("run_id"):
            continue
        run = runs.setdefault(record["run_id"], {"run_id": record["run_id"], "first_id": record["id"]})
        for name, value in _data(record).items():
            if value is not None or name not in run:
                run[name] = value
        run["state"] = record.get("state")
        run["last_id"] = record["id"]
    for record in records:  # a run's last record of any kind marks the end of its evidence
        run = runs.get(record.get("run_id"))
        if run is not None:
            run["last_id"] = max(run["last_id"], record["id"])
    return runs


def _fleet_counts(updates: dict) -> dict:
    """The fleet's compliance from the updates folded so far (approved, compliant, share)."""
    approved = compliant = 0
    for item in updates.values():
        if item["counted"] is None:  # folded since the last checkpoint
            is_approved = any(state in item["reached"] for state in APPROVED_OR_LATER)
            item["counted"] = (is_approved, is_approved and update_verdict(item["reached"], item["latest"],
                                                                           item["due"])[0] == "compliant")
        approved += item["counted"][0]
        compliant += item["counted"][1]
    return {"approved": approved, "compliant": compliant, "share": compliance_share(compliant, approved)}


def _updates(records: list, checkpoints=frozenset()) -> tuple[dict, dict]:
    """(host, package) -> the update as its records tell it (latest version, states, history); and the
    fleet's compliance as of each record id in ``checkpoints`` (the ends of the runs the trend shows)."""
    updates, counts = {}, {}
    for record in records:
        if record.get("kind") == "update" and record.get("host") and record.get("package"):
            _fold(updates, record)
        if record["id"] in checkpoints:
            counts[record["id"]] = _fleet_counts(updates)
    return updates, counts


def _fold(updates: dict, record: dict) -> None:
    """Fold one update record into ``updates``."""
    name = (record["host"], record["package"])
    data = _data(record)
    current = updates.get(name)
    if current is None:
        current = updates[name] = {"host": record["host"], "package": record["package"],
                                   "version": record.get("version"), "reached": {}, "history": [],
                                   "severity": None, "due": None, "from_version": None, "cves": [],
                                   "approved_by": None, "error": None, "run_id": None, "latest": None,
                                   "counted": None}
    elif record.get("state") == "missing" and record.get("version") != current["version"]:
        # a newer candidate: its lifecycle starts again (the history keeps the older one's)
        current.update(reached={}, due=None, severity=None, error=None, approved_by=None)
    current["version"] = record.get("version") or current["version"]
    current["counted"] = None
    state = record.get("state")
    current["reached"].setdefault(state, record.get("at"))
    current["latest"] = state
    current["history"].append({"state": state, "at": record.get("at"), "run_id": record.get("run_id"),
                               "version": record.get("version")})
    if record.get("run_id"):
        current["run_id"] = record["run_id"]
    for field in ("severity", "due", "from_version", "approved_by", "error"):
        if data.get(field) is not None:
            current[field] = data[field]
    if data.get("cves"):
        current["cves"] = list(data["cves"])


def _latest_by(records: list, kind: str, name) -> dict:
    found = {}
    for record in records:
        if record.get("kind") == kind and name(record):
            found[name(record)] = record
    return found


def _severity(value) -> str:
    return value if value in SEVERITIES else "unknown"


def _counts(items) -> dict:
    approved = len(items)
    compliant = sum(1 for item in items if item["verdict"] == "compliant")
    return {"approved": approved, "compliant": compliant, "share": compliance_share(compliant, approved)}


def _compliance(updates: list, hosts: dict) -> dict:
    approved = [u for u in updates if u["approved"]]
    groups, by_host = {}, {}
    for item in approved:
        groups.setdefault(hosts.get(item["host"], {}).get("group") or "(none)", []).append(item)
        by_host.setdefault(item["host"], []).append(item)
    per_host = {host: _counts(by_host.get(host, [])) for host in sorted(hosts)}
    return {"fleet": _counts(approved), "groups": {g: _counts(items) for g, items in sorted(groups.items())},
            "hosts": per_host}


def _assess(raw: dict, exceptions: dict, today: date) -> dict:
    """One update as the report shows it, with its verdict."""
    reached, latest = raw["reached"], raw["latest"]
    approved = any(state in reached for state in APPROVED_OR_LATER)
    exception = exceptions.get((raw["host"], raw["package"]))
    excepted = bool(exception and not exception["expired"])
    if approved:
        verdict, reason = update_verdict(reached, latest, raw["due"])
    else:
        verdict, reason = "missing", "not approved"
    if excepted:
        reason = f"{reason}; {exception['state']}: {exception['reason'] or 'no reason given'}"
    return {"host": raw["host"], "package": raw["package"], "version": raw["version"],
            "from_version": raw["from_version"], "severity": _severity(raw["severity"]), "cves": raw["cves"],
            "due": raw["due"], "state": latest, "approved": approved, "approved_by": raw["approved_by"],
            "verdict": verdict, "reason": reason, "excepted": excepted, "error": raw["error"],
            "overdue": is_overdue(verdict, raw["due"], today, excepted),
            "active_at": reached.get("active"), "history": raw["history"]}


def _funnel_counts(items: list, run_id: str | None = None) -> dict:
    counts = dict.fromkeys(FUNNEL, 0)
    for item in items:
        states = {h["state"] for h in item["history"] if run_id is None or h["run_id"] == run_id}
        if run_id is not None:
            states.add("missing")  # every update a run touched was missing before it
        for stage in FUNNEL:
            counts[stage] += stage in states
    return counts


def _assets(records: list) -> dict:
    assets = {}
    for host, record in _latest_by(records, "asset", lambda r: r.get("host")).items():
        data = _data(record)
        eol = data.get("eol") if isinstance(data.get("eol"), dict) else {}
        assets[host] = {"host": host, "machine_id": record.get("machine_id"), "hostname": data.get("hostname") or host,
                        "location": data.get("location"), "ip": data.get("ip"), "mac": data.get("mac"),
                        "os": data.get("os"), "revision": data.get("revision"), "group": data.get("group"),
                        "criticality": data.get("criticality"), "reachable": data.get("reachable"),
                        "eol_status": eol.get("status") or "unknown", "eol_date": eol.get("date")}
    return assets


def _exceptions(records: list, today: date) -> dict:
    found = {}
    for record in records:
        if record.get("kind") != "exception" or not record.get("host"):
            continue
        data = _data(record)
        item = {"host": record["host"], "package": record.get("package"), "version": record.get("version"),
                "state": record.get("state"), "reason": data.get("reason"), "expires": data.get("expires"),
                "run_id": record.get("run_id"), "at": record.get("at")}
        item["expired"] = exception_expired({"expires": item["expires"], "expired": data.get("expired")}, today)
        found[(record["host"], record.get("package"))] = item
    return found


def _hosts(records: list, assets: dict, updates: list) -> dict:
    hosts = {}
    names = set(assets) | {u["host"] for u in updates}
    last_host = _latest_by(records, "host", lambda r: r.get("host"))
    names |= set(last_host)
    for name in sorted(names):
        asset = assets.get(name, {})
        record = last_host.get(name)
        data = _data(record) if record else {}
        hosts[name] = {"host": name, "machine_id": asset.get("machine_id") or (record or {}).get("machine_id"),
                       "group": asset.get("group"), "location": asset.get("location"), "os": asset.get("os"),
                       "revision": asset.get("revision"), "eol_status": asset.get("eol_status", "unknown"),
                       "last_run": (record or {}).get("run_id"), "last_result": (record or {}).get("state"),
                       "last_error": data.get("error"), "snapshot": data.get("snapshot"),
                       "versions": data.get("versions") or {}}
    return hosts


def _run_row(run: dict, own: list) -> dict:
    """A run's row from its run records and its own records (``own``)."""
    results = {}
    for record in _latest_by(own, "host", lambda r: r.get("host")).values():
        results[record.get("state")] = results.get(record.get("state"), 0) + 1
    return {"run_id": run["run_id"], "state": run.get("state"), "user": run.get("user"),
            "approved_by": run.get("approved_by"), "change_ticket": run.get("change_ticket"),
            "policy_digest": run.get("policy_digest"), "project_commit": run.get("project_commit"),
            "started": run.get("started"), "finished": run.get("finished"), "scope": run.get("scope"),
            "inventory": run.get("inventory"), "awx_job_id": run.get("awx_job_id"), "awx_user": run.get("awx_user"),
            "controller": run.get("controller"), "playbook": run.get("playbook"),
            "emergency": bool(run.get("emergency")), "halted": run.get("halted"),
            "hosts": len(run.get("hosts") or []) or sum(results.values()), "results": results,
            "first_id": run["first_id"], "last_id": run["last_id"]}


def _core(records: list, today: date, checkpoints=frozenset()) -> dict:
    """The state of the fleet the records tell, as of ``today`` (and the fleet's compliance at ``checkpoints``)."""
    exceptions = _exceptions(records, today)
    assets = _assets(records)
    raw, counts = _updates(records, checkpoints)
    updates = sorted((_assess(item, exceptions, today) for item in raw.values()),
                     key=lambda u: (u["host"], u["package"]))
    hosts = _hosts(records, assets, updates)
    compliance = _compliance(updates, hosts)
    return {"exceptions": exceptions, "assets": assets, "updates": updates, "hosts": hosts, "compliance": compliance,
            "counts": counts}


def _order(run: dict) -> tuple:
    return (str(run.get("started") or ""), run["first_id"])


def build(records: list, today: date, run: str | None = None, chain: dict | None = None,
          generated: str | None = None) -> dict:
    """The report data from the store's records (chain order); see the module docstring."""
    if not isinstance(today, date):
        raise ReportError(f"today: expected a date, got {today!r}")
    records = [r for r in records if isinstance(r, dict)]
    runs = _runs(records)
    if run is not None:
        if run not in runs:
            known = ", ".join(sorted(runs)[-5:]) or "none"
            raise ReportError(f"run {run!r} is not in the store (latest runs: {known})")
        records = [r for r in records if r["id"] <= runs[run]["last_id"]]
        runs = _runs(records)
    ordered = sorted(runs.values(), key=_order)
    selected = run or (ordered[-1]["run_id"] if ordered else None)
    by_run = {}
    for record in records:
        by_run.setdefault(record.get("run_id"), []).append(record)
    run_rows = [_run_row(r, by_run.get(r["run_id"], [])) for r in ordered]
    core = _core(records, today, frozenset(row["last_id"] for row in run_rows[-TREND_RUNS:]))
    updates, hosts = core["updates"], core["hosts"]
    by_host, by_package, by_update_run = {}, {}, {}
    for item in updates:
        by_host.setdefault(item["host"], []).append(item)
        by_package.setdefault((item["package"], item["version"]), []).append(item)
        for run_id in {h["run_id"] for h in item["history"] if h["run_id"]}:
            by_update_run.setdefault(run_id, []).append(item)
    for name, host in hosts.items():
        host["compliance"] = core["compliance"]["hosts"].get(name, _counts([]))
        host["updates"] = by_host.get(name, [])
        host["failing"] = host_failing(host)
    trend = []
    for row in run_rows[-TREND_RUNS:]:
        fleet = core["counts"][row["last_id"]]
        installed = sum(1 for r in by_run.get(row["run_id"], [])
                        if r.get("kind") == "update" and r.get("state") == "installed")
        trend.append({"run_id": row["run_id"], "at": row["finished"] or row["started"], "share": fleet["share"],
                      "approved": fleet["approved"], "compliant": fleet["compliant"], "installed": installed,
                      **{word: row["results"].get(word, 0) for word in ("done", "failed", "rolled_back", "unreachable")}})
    pending = [u for u in updates if u["verdict"] not in ("compliant", "late") and not u["excepted"]]
    by_severity = {word: sum(1 for u in pending if u["severity"] == word) for word in SEVERITY_ORDER}
    overdue = [u for u in updates if u["overdue"]]
    breaches = [u for u in updates if u["verdict"] == "late" or u["overdue"]]
    funnel = {"stages": list(FUNNEL),
              "updates": [{"package": p, "version": v, "counts": _funnel_counts(by_package[(p, v)])}
                          for p, v in sorted(by_package, key=lambda p: (p[0], str(p[1])))],
              "runs": [{"run_id": row["run_id"], "counts": _funnel_counts(by_update_run.get(row["run_id"], []),
                                                                          row["run_id"])} for row in run_rows]}
    model = {
        "format": FORMAT,
        "generated": generated,
        "today": today.isoformat(),
        "run_id": selected,
        "chain": chain,
        "runs": run_rows,
        "hosts": list(hosts.values()),
        "inventory": [core["assets"][h] for h in sorted(core["assets"])],
        "compliance": core["compliance"],
        "overdue": [_brief(u, today) for u in overdue],
        "sla_breaches": [_brief(u, today) for u in breaches],
        "pending": {"by_severity": by_severity, "total": len(pending)},
        "exceptions": sorted(core["exceptions"].values(), key=lambda e: (e["host"], str(e["package"]))),
        "outdated": [core["assets"][h] for h in sorted(core["assets"]) if core["assets"][h]["eol_status"] == "outdated"],
        "funnel": funnel,
        "trend": trend,
        "machines": _machines(records),
    }
    model["checklist"] = audit_checklist.evaluate(model, _run_records(records, selected))
    return model


def _machines(records: list) -> list:
    """The machines the asset records describe (identity.machines), without the record indices; a store
    whose asset records identity cannot read (a malformed machine id) is a ReportError naming it."""
    try:
        found = identity.machines([r for r in records if r.get("kind") == "asset" and r.get("host")])
    except identity.IdentityError as exc:
        raise ReportError(f"machines: {exc}") from exc
    return [{key: value for key, value in machine.items() if key != "records"} for machine in found]


def _run_records(records: list, run_id: str | None) -> list:
    """A run's records, and the asset records of its hosts (an asset record names no run)."""
    if run_id is None:
        return []
    own = [r for r in records if r.get("run_id") == run_id]
    hosts = {r.get("host") for r in own if r.get("host")}
    for record in own:
        if record.get("kind") == "run":
            hosts.update(h if isinstance(h, str) else h.get("host") for h in _data(record).get("hosts") or []
                         if isinstance(h, (str, dict)))
    return own + [r for r in records if r.get("kind") == "asset" and r.get("host") in hosts]


def _brief(update: dict, today: date) -> dict:
    due = _day(update["due"])
    return {"host": update["host"], "package": update["package"], "version": update["version"],
            "severity": update["severity"], "due": update["due"], "state": update["state"],
            "verdict": update["verdict"], "reason": update["reason"], "active_at": update["active_at"],
            "days_overdue": (today - due).days if due and update["overdue"] else 0}
