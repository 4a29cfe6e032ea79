# Copyright: patchpilot developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Turn per-host scan results into the scan's report files (pure Python, controller side).

Inputs per host: the asset record from ``asset_facts``, the update records
and the package index record (stale when a source could not be refreshed) from
``missing_updates``, the CMDB metadata the inventory carries, or the
reason the host could not be scanned. Outputs: the asset inventory and the
missing updates in priority order, each as JSON and CSV, plus the first-seen
dates kept between scans.
"""

from __future__ import annotations

import csv
import io
import json
import os
import tempfile
from datetime import date

from ansible_collections.patchpilot.fleet.plugins.module_utils import eol, priority, security_tracker
from ansible_collections.patchpilot.fleet.plugins.module_utils.records import index_problem

ASSET_COLUMNS = (
    "host", "status", "reason", "hostname", "fqdn", "machine_id", "machine_id_reason", "location", "owner", "role",
    "criticality",
    "data_sensitivity", "internet_exposed", "ip_address", "mac_address", "os_family",
    "os_distribution", "os_version", "os_codename", "kernel", "architecture", "package_manager",
    "last_package_change", "installed_packages", "last_boot", "reboot_pending", "eol_status",
    "eol_regular_end", "eol_extended_end", "eol_message", "missing_updates", "security_updates",
    "index_stale", "index_age_seconds", "index_errors",
)
CMDB_KEYS = ("location", "owner", "role", "criticality", "data_sensitivity", "internet_exposed")
UPDATE_COLUMNS = (
    "rank", "host", "name", "installed_version", "candidate_version", "arch", "effect",
    "classification", "severity", "effective_severity", "score", "due", "overdue", "emergency",
    "emergency_reasons", "cves",
    "advisories", "reboot", "first_seen", "released", "repository", "origin", "label", "suite",
    "backend", "host_eol_status",
)
FIRST_SEEN_FILE = "first_seen.json"


class ReportError(Exception):
    """A problem writing the report (bad output folder, unreadable state)."""


def _iso(value) -> str | None:
    if value is None:
        return None
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


def asset_row(host: str, result: dict, cmdb: dict, today: date) -> dict:
    """One asset record: the host's own facts, the CMDB's metadata, EOL and the scan status."""
    asset = dict(result.get("asset") or {})
    row = {"host": host, "status": "scanned", "reason": None}
    if result.get("error"):
        row.update(status="failed", reason=result["error"])
    elif not result.get("asset") or result.get("updates") is None:
        row.update(status="unreachable", reason=result.get("reason") or "no scan result (host unreachable)")
    for key in ("hostname", "fqdn", "machine_id", "machine_id_reason", "ip_address", "mac_address", "os_family",
                "os_distribution", "os_version", "os_codename", "kernel", "architecture", "package_manager",
                "last_package_change", "installed_packages", "last_boot", "reboot_pending"):
        row[key] = asset.get(key, cmdb.get(key))
    for key in CMDB_KEYS:
        row[key] = cmdb.get(key)
    status = eol.eol_status(row.get("os_distribution") or "", row.get("os_version") or "", today)
    row["eol_status"] = status["status"]
    row["eol_regular_end"] = _iso(status.get("regular_end"))
    row["eol_extended_end"] = _iso(status.get("extended_end"))
    row["eol_message"] = status.get("message")
    updates = result.get("updates") or []
    row["missing_updates"] = sum(1 for u in updates if u.get("effect") == "upgrade")
    row["security_updates"] = sum(1 for u in updates
                                  if u.get("effect") == "upgrade" and u.get("classification") == "security")
    index = result.get("index") if isinstance(result.get("index"), dict) else {}
    row["index_stale"] = bool(index.get("stale"))
    row["index_age_seconds"] = index.get("age_seconds")
    row["index_errors"] = "; ".join(f"{e.get('source')}: {e.get('message')}" for e in index.get("errors") or ())
    row["index_problem"] = index_problem(index) if row["status"] == "scanned" else None
    return row


def _key(host: str, record: dict) -> str:
    return f"{host}|{record['name']}|{record.get('arch') or ''}|{record.get('candidate_version') or ''}"


def stamp_first_seen(results: dict, seen: dict, today: date | None) -> dict:
    """Fill each record's first_seen from earlier scans (or today) and return the new store.

    The store keeps what it knew of hosts this scan did not reach (a scan of part of the fleet, an
    unreachable host) and forgets, for each scanned host, the updates it no longer has pending.
    ``today`` None stamps only what the store knows (the plan reads the store the scan wrote).
    """
    reached = {host for host, result in results.items() if result.get("updates") is not None}
    store = {key: value for key, value in seen.items() if key.split("|", 1)[0] not in reached}
    for host, result in results.items():
        for record in result.get("updates") or []:
            key = _key(host, record)
            first = seen.get(key) or record.get("first_seen") or (today.isoformat() if today else None)
            record["first_seen"] = first
            if first:
                store[key] = first
    return store


#: First characters that make a spreadsheet read a cell as a formula (OWASP, CSV Injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\x00")


def _csv(rows: list, columns) -> str:
    """Rows as CSV text; every text cell goes through :func:`csv_text`, and every cell is quoted
    (a carriage return in a cell would otherwise end the row for a spreadsheet)."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(columns), extrasaction="ignore", lineterminator="\n",
                            quoting=csv.QUOTE_ALL)
    writer.writeheader()
    for row in rows:
        writer.writerow({k: _cell(row.get(k)) for k in columns})
    return buf.getvalue()


def csv_text(value: str) -> str:
    """A text cell a spreadsheet cannot take for a formula: one that starts with ``=``, ``+``,
    ``-``, ``@``, a tab, a carriage return or NUL gets a leading ``'`` (OWASP's advice; :func:`_csv`
    quotes every cell and doubles the double quotes in it)."""
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def _cell(value):
    if isinstance(value, (list, tuple)):
        return csv_text(" ".join(str(v) for v in value))
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (int, float)):
        return value  # a number the report made, never a formula
    return csv_text(str(value))


def _flat_update(rank: int, row: dict) -> dict:
    flat = dict(row)
    flat["rank"] = rank
    flat.update({k: (row.get("source") or {}).get(k) for k in ("repository", "origin", "label", "suite")})
    return flat


def _write(path: str, text: str, mode: int = 0o640) -> None:
    folder = os.path.dirname(path)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def enrich_from_tracker(results: dict, tracker: dict) -> None:
    """Add CVEs and urgency from a Debian Security Tracker export to each Debian host's apt records.

    The tracker is keyed by source package: a record whose changelog was read (update_security.merge)
    names its source; the others are looked up under their own name.
    """
    for result in results.values():
        asset = result.get("asset") or {}
        codename = asset.get("os_codename")
        if result.get("updates") and codename and asset.get("os_family") == "Debian":
            sources = {r["name"]: r["changelog"]["source"] for r in result["updates"]
                       if isinstance(r, dict) and isinstance(r.get("changelog"), dict) and r["changelog"].get("source")}
            result["updates"] = security_tracker.enrich(result["updates"], tracker, codename, sources)


def _laid_over(base: dict, overrides: dict) -> dict:
    out = dict(base)
    for key, value in overrides.items():
        out[key] = _laid_over(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


def priority_section(policy: dict | None, overrides: dict | None = None) -> dict:
    """The prioritisation the scan ranks with: the policy's ``priority:`` section, as the plan's.

    ``policy`` is a policy as ``policy.validate_policy`` returns it (its ``priority`` is
    ``priority.validate_policy``'s answer, with the policy's emergency rules), or None: the
    defaults. ``overrides`` (the scan's ``patchpilot_priority_policy``) are laid over it key by
    key. Raises ValueError naming the key for a bad value.
    """
    section = (policy or {}).get("priority") if isinstance(policy, dict) else None
    if policy is not None and not isinstance(policy, dict):
        raise ValueError(f"policy: expected a checked policy (a mapping), got {type(policy).__name__}")
    section = priority.validate_policy(section or {})
    if overrides:
        if not isinstance(overrides, dict):
            raise ValueError(f"priority overrides: expected a mapping, got {type(overrides).__name__}")
        section = priority.validate_policy(_laid_over(section, overrides))
    return section


def build(results: dict, cmdb: dict, policy: dict, today: date, seen: dict, tracker: dict | None = None) -> dict:
    """Everything the report holds, without touching the disk (``results`` get the tracker's CVEs)."""
    if tracker:
        enrich_from_tracker(results, tracker)
    store = stamp_first_seen(results, seen, today)
    assets = [asset_row(host, results[host], cmdb.get(host) or {}, today) for host in sorted(results)]
    scanned = {h: r.get("updates") or [] for h, r in results.items() if r.get("updates") is not None}
    asset_meta = {a["host"]: a for a in assets}
    rows = priority.prioritise(scanned, asset_meta, policy, today)
    for row in rows:  # an outdated OS release is flagged in every report
        row["host_eol_status"] = asset_meta[row["host"]]["eol_status"]
    return {"assets": assets, "updates": rows, "first_seen": store}


def write(output_dir: str, report: dict, scan_date: date, first_seen_file: str | None = None,
          keep_first_seen: bool = True) -> dict:
    """Write the report files atomically (the first-seen store to ``first_seen_file``, default in
    ``output_dir``; not at all with ``keep_first_seen`` False: the history store keeps them); return
    their paths."""
    if os.path.exists(output_dir) and not os.path.isdir(output_dir):
        raise ReportError(f"output_dir {output_dir} exists and is not a folder")
    os.makedirs(output_dir, mode=0o750, exist_ok=True)
    paths = {name: os.path.join(output_dir, name) for name in
             ("assets.json", "assets.csv", "updates.json", "updates.csv", FIRST_SEEN_FILE)}
    if not keep_first_seen:
        del paths[FIRST_SEEN_FILE]
    elif first_seen_file:
        os.makedirs(os.path.dirname(first_seen_file), mode=0o700, exist_ok=True)
        paths[FIRST_SEEN_FILE] = first_seen_file
    meta = {"scan_date": scan_date.isoformat(), "format": 1}
    _write(paths["assets.json"], json.dumps(dict(meta, assets=report["assets"]), indent=2, sort_keys=True) + "\n")
    _write(paths["assets.csv"], _csv(report["assets"], ASSET_COLUMNS))
    _write(paths["updates.json"], json.dumps(dict(meta, updates=report["updates"]), indent=2, sort_keys=True) + "\n")
    flat = [_flat_update(i + 1, row) for i, row in enumerate(report["updates"])]
    _write(paths["updates.csv"], _csv(flat, UPDATE_COLUMNS))
    if keep_first_seen:
        _write(paths[FIRST_SEEN_FILE], json.dumps(report["first_seen"], indent=2, sort_keys=True) + "\n",
               0o600 if first_seen_file else 0o640)
    return paths


def load_seen(output_dir: str | None, first_seen_file: str | None = None) -> dict:
    """The first-seen store: ``first_seen_file``, else (or while it does not exist yet: a report folder of
    an older scan) ``output_dir``'s first_seen.json; {} when neither exists."""
    if first_seen_file and (os.path.exists(first_seen_file) or not output_dir):
        path = first_seen_file
    elif output_dir:
        path = os.path.join(output_dir, FIRST_SEEN_FILE)
    else:
        return {}
    try:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise ReportError(f"{path}: unreadable first-seen store: {exc}") from exc
    if not isinstance(data, dict):
        raise ReportError(f"{path}: expected a JSON object")
    return data
