# Copyright: patchpilot developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Prioritisation: a score, a due date and an emergency flag per host x update.

Inputs are the update records (records.py) of each host, an asset record
per host and the prioritisation part of the policy.

Effective severity
    The record's own severity; when the source gives none (apt carries no
    severity), the policy's ``severity_by_classification`` default for the
    record's classification (:data:`DEFAULT_SEVERITY_BY_CLASSIFICATION`).
    An emergency update is ``critical``.

Score (0..100, a sum of weights, deterministic)::

    score = severity        critical 40, high 30, medium 20, low 10
          + classification  security 10, third_party 5, bugfix 2, enhancement 0, other 0
          + criticality     critical 20, high 15, medium 8, low 0        (asset)
          + exposure        15 when the asset is internet exposed, else 0
          + sensitivity     restricted 15, confidential 10, internal 5, public 0  (asset)

    The defaults add up to at most 100 (a critical security update on a
    critical, exposed host holding restricted data) and at least 10. A
    policy may change any weight (``weights``); the sum is clamped to 0..100.
    An asset field that is missing counts as criticality ``medium``, not
    exposed, sensitivity ``internal``.

Due date
    ``first_seen`` (or the scan date when the record has none, or when
    first_seen lies after it) plus the SLA days of the effective severity:
    :data:`DEFAULT_SLA_DAYS`, critical 2, high 7, medium 30, low 90, which
    the policy's ``sla_days`` may change. An emergency is due on the scan
    date.

Emergency
    An update is an emergency when one of its CVEs is on the policy's
    ``emergency.cves`` list, or its package name matches one of the
    ``emergency.packages`` shell patterns (fnmatch, case-sensitive).

A policy (all keys optional)::

    sla_days: {critical: 2, high: 7, medium: 30, low: 90}
    severity_by_classification: {security: high, bugfix: low, enhancement: low,
                                 other: low, third_party: medium}
    emergency: {cves: [CVE-2026-1234], packages: ["openssl*", "libssl*"]}
    weights: {severity: {...}, classification: {...}, criticality: {...},
              internet_exposed: 15, data_sensitivity: {...}}

Plain Python, no Ansible runtime.
"""

from __future__ import annotations

import copy
import math
import re
from collections.abc import Mapping
from datetime import date, datetime, timedelta
from fnmatch import fnmatchcase

from ansible_collections.patchpilot.fleet.plugins.module_utils.records import (
    CLASSIFICATIONS,
    EFFECTS,
    SEVERITIES,
    RecordError,
    normalise_severity,
)

__all__ = [
    "CRITICALITIES", "DATA_SENSITIVITIES", "DEFAULT_ASSET", "DEFAULT_SEVERITY_BY_CLASSIFICATION",
    "DEFAULT_SLA_DAYS", "DEFAULT_WEIGHTS", "MAX_DAYS", "MAX_WEIGHT", "due_date", "effective_severity", "emergency_match",
    "prioritise", "score", "validate_policy",
]

# The asset record's words (cmdb.py), most to least.
CRITICALITIES = ("critical", "high", "medium", "low")
DATA_SENSITIVITIES = ("restricted", "confidential", "internal", "public")

#: apt (and any source without severities) gets its severity from the classification.
DEFAULT_SEVERITY_BY_CLASSIFICATION = {
    "security": "high",
    "bugfix": "low",
    "enhancement": "low",
    "other": "low",
    "third_party": "medium",
}

#: Days from first sight to due date, per effective severity.
DEFAULT_SLA_DAYS = {"critical": 2, "high": 7, "medium": 30, "low": 90}
#: The largest SLA (days) and weight a policy may give: more is a typo, and would overflow the dates.
MAX_DAYS = 3650
MAX_WEIGHT = 1000

#: The score's parts; see the module docstring.
DEFAULT_WEIGHTS = {
    "severity": {"critical": 40, "high": 30, "medium": 20, "low": 10},
    "classification": {"security": 10, "third_party": 5, "bugfix": 2, "enhancement": 0, "other": 0},
    "criticality": {"critical": 20, "high": 15, "medium": 8, "low": 0},
    "internet_exposed": 15,
    "data_sensitivity": {"restricted": 15, "confidential": 10, "internal": 5, "public": 0},
}

#: What an asset with no data counts as.
DEFAULT_ASSET = {"criticality": "medium", "internet_exposed": False, "data_sensitivity": "internal"}

_POLICY_KEYS = ("sla_days", "severity_by_classification", "emergency", "weights")
_EMERGENCY_KEYS = ("cves", "packages")
_WEIGHT_LEVELS = {
    "severity": SEVERITIES,
    "classification": CLASSIFICATIONS,
    "criticality": CRITICALITIES,
    "data_sensitivity": DATA_SENSITIVITIES,
}
_CVE_RE = re.compile(r"^CVE-\d{4}-\d{4,}$")
_TRUE = {"yes", "true", "y", "on", "1"}
_FALSE = {"no", "false", "n", "off", "0", ""}


# ---------------------------------------------------------------------------
# Policy
# ---------------------------------------------------------------------------

def _check_keys(value, allowed, where: str) -> dict:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ValueError(f"{where}: expected a mapping, got {value!r}")
    for key in value:
        if key not in allowed:
            raise ValueError(f"{where}.{key}: unknown key (known: {', '.join(allowed)})")
    return value


def _shown(value) -> str:
    """A bad value as an error message quotes it: its repr, cut short."""
    text = repr(value)
    return text if len(text) <= 24 else text[:23] + "\u2026"


def _days(value, where: str) -> int:
    if isinstance(value, str) and re.fullmatch(r"[0-9]{1,6}", value.strip()):
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_DAYS:
        raise ValueError(f"{where}: expected a whole number of days from 0 to {MAX_DAYS}, got {_shown(value)}")
    return value


def _weight(value, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
            or not 0 <= value <= MAX_WEIGHT:
        raise ValueError(f"{where}: expected a number from 0 to {MAX_WEIGHT}, got {_shown(value)}")
    return value


def validate_policy(policy) -> dict:
    """Check the prioritisation policy and fill in the defaults.

    Returns ``{"sla_days", "severity_by_classification", "emergency",
    "weights"}``, complete. Raises ValueError naming the key, as
    ``policy.sla_days.high``, for an unknown key or a bad value.
    """
    policy = _check_keys(policy, _POLICY_KEYS, "policy")

    sla = dict(DEFAULT_SLA_DAYS)
    for severity, days in _check_keys(policy.get("sla_days"), SEVERITIES, "policy.sla_days").items():
        sla[severity] = _days(days, f"policy.sla_days.{severity}")

    mapping = dict(DEFAULT_SEVERITY_BY_CLASSIFICATION)
    given = _check_keys(policy.get("severity_by_classification"), CLASSIFICATIONS,
                        "policy.severity_by_classification")
    for classification, severity in given.items():
        if severity not in SEVERITIES:
            raise ValueError(f"policy.severity_by_classification.{classification}: "
                             f"{severity!r} is not one of {', '.join(SEVERITIES)}")
        mapping[classification] = severity

    emergency = _check_keys(policy.get("emergency"), _EMERGENCY_KEYS, "policy.emergency")
    cves, packages = emergency.get("cves") or [], emergency.get("packages") or []
    if not isinstance(cves, (list, tuple)):
        raise ValueError(f"policy.emergency.cves: expected a list of CVE ids, got {cves!r}")
    cve_list = []
    for cve in cves:
        text = str(cve).strip().upper()
        if not _CVE_RE.match(text):
            raise ValueError(f"policy.emergency.cves: {cve!r} is not a CVE id")
        cve_list.append(text)
    if not isinstance(packages, (list, tuple)) or not all(isinstance(p, str) and p.strip() for p in packages):
        raise ValueError(f"policy.emergency.packages: expected a list of package name patterns, got {packages!r}")

    weights = copy.deepcopy(DEFAULT_WEIGHTS)
    for part, value in _check_keys(policy.get("weights"), tuple(DEFAULT_WEIGHTS), "policy.weights").items():
        if part == "internet_exposed":
            weights[part] = _weight(value, "policy.weights.internet_exposed")
            continue
        for level, number in _check_keys(value, _WEIGHT_LEVELS[part], f"policy.weights.{part}").items():
            weights[part][level] = _weight(number, f"policy.weights.{part}.{level}")

    return {
        "sla_days": sla,
        "severity_by_classification": mapping,
        "emergency": {"cves": sorted(set(cve_list)), "packages": [p.strip() for p in packages]},
        "weights": weights,
    }


# ---------------------------------------------------------------------------
# One record
# ---------------------------------------------------------------------------

def effective_severity(record: dict, mapping: dict | None = None) -> str:
    """The record's severity, or the classification's default when it has none."""
    severity = record.get("severity")
    if severity is not None and severity not in SEVERITIES:
        severity = normalise_severity(severity)
    if severity is not None:
        return severity
    classification = record.get("classification")
    if classification not in CLASSIFICATIONS:
        raise RecordError(f"classification: {classification!r} is not one of {', '.join(CLASSIFICATIONS)}")
    return (mapping or DEFAULT_SEVERITY_BY_CLASSIFICATION)[classification]


def _asset_level(asset: dict, key: str, levels, host: str) -> str:
    value = asset.get(key)
    if value is None or (isinstance(value, str) and not value.strip()):
        return DEFAULT_ASSET[key]
    word = str(value).strip().lower()
    if word not in levels:
        raise ValueError(f"asset {host}: {key}: {value!r} is not one of {', '.join(levels)}")
    return word


def _exposed(asset: dict, host: str) -> bool:
    value = asset.get("internet_exposed")
    if value is None:
        return DEFAULT_ASSET["internet_exposed"]
    if isinstance(value, bool):
        return value
    word = str(value).strip().lower()
    if word in _TRUE:
        return True
    if word in _FALSE:
        return False
    raise ValueError(f"asset {host}: internet_exposed: expected yes or no, got {value!r}")


def _asset(asset, host: str = "?") -> dict:
    """The three asset fields the score reads, checked, with defaults.

    ``asset`` is an asset record (cmdb.py) or a host's variables holding one
    as ``patchpilot_asset`` (what the assets inventory plugin sets).
    """
    if asset is None:
        asset = {}
    if not isinstance(asset, Mapping):
        raise ValueError(f"asset {host}: expected a mapping, got {asset!r}")
    if isinstance(asset.get("patchpilot_asset"), Mapping):
        asset = asset["patchpilot_asset"]
    return {
        "criticality": _asset_level(asset, "criticality", CRITICALITIES, host),
        "internet_exposed": _exposed(asset, host),
        "data_sensitivity": _asset_level(asset, "data_sensitivity", DATA_SENSITIVITIES, host),
    }


def score(record: dict, asset: dict | None, weights: dict | None = None, severity: str | None = None) -> float:
    """The record's score on this asset, 0..100 (see the module docstring).

    ``weights`` as validate_policy returns them (default DEFAULT_WEIGHTS);
    ``severity`` overrides the effective severity (an emergency is critical).
    """
    weights = weights or DEFAULT_WEIGHTS
    facts = _asset(asset)
    severity = severity or effective_severity(record)
    if severity not in SEVERITIES:
        raise ValueError(f"severity: {severity!r} is not one of {', '.join(SEVERITIES)}")
    classification = record.get("classification")
    if classification not in CLASSIFICATIONS:
        raise RecordError(f"classification: {classification!r} is not one of {', '.join(CLASSIFICATIONS)}")
    total = (weights["severity"][severity]
             + weights["classification"][classification]
             + weights["criticality"][facts["criticality"]]
             + (weights["internet_exposed"] if facts["internet_exposed"] else 0)
             + weights["data_sensitivity"][facts["data_sensitivity"]])
    return float(min(100, max(0, round(total, 1))))


def _as_date(value, where: str) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise ValueError(f"{where}: expected a date or an ISO date YYYY-MM-DD, got {value!r}")


def due_date(start, severity: str, sla_days: dict | None = None) -> date:
    """``start`` (a date or ISO string) plus the SLA days of ``severity``."""
    if severity not in SEVERITIES:
        raise ValueError(f"severity: {severity!r} is not one of {', '.join(SEVERITIES)}")
    days = (sla_days or DEFAULT_SLA_DAYS)[severity]
    return _as_date(start, "start") + timedelta(days=days)


def emergency_match(record: dict, emergency: dict | None) -> list:
    """Why the record is an emergency: one reason per listed CVE it fixes and
    per package pattern its name matches; empty when it is none."""
    if not emergency:
        return []
    listed = {str(c).strip().upper() for c in emergency.get("cves") or ()}
    reasons = [f"{cve} is on the emergency CVE list"
               for cve in sorted({str(c).strip().upper() for c in record.get("cves") or ()})
               if cve in listed]
    name = str(record.get("name", ""))
    reasons += [f"package {name} matches emergency pattern {pattern!r}"
                for pattern in emergency.get("packages") or () if fnmatchcase(name, pattern)]
    return reasons


# ---------------------------------------------------------------------------
# The fleet
# ---------------------------------------------------------------------------

def _sort_key(row: dict):
    effect = row.get("effect")
    return (not row["emergency"], -row["score"], row["due"], row["host"], row["name"],
            row.get("arch") or "", EFFECTS.index(effect) if effect in EFFECTS else len(EFFECTS),
            row.get("candidate_version") or "")


def prioritise(host_records: dict, assets: dict | None, policy: dict | None, today) -> list:
    """One row per host x update, most urgent first.

    Each row is the update record plus ``host``, ``effective_severity``,
    ``score``, ``due`` (ISO date), ``overdue`` (due before ``today``),
    ``emergency`` and ``emergency_reasons``. Removals and kept back packages
    get rows too; their ``effect`` says what they are. Sorted by emergency
    first, then score (high first), due date, host and package name.

    ``today`` is the scan date (a date or ISO string). ``assets`` maps host
    to asset record, or to the host's variables with the record in
    ``patchpilot_asset`` (so Ansible's ``hostvars`` will do); only
    ``criticality``, ``internet_exposed`` and ``data_sensitivity`` are read.
    A host or field missing counts as in DEFAULT_ASSET. Raises ValueError (policy key, asset
    field or record named) for bad input.
    """
    settings = validate_policy(policy)
    today = _as_date(today, "today")
    if not isinstance(host_records, Mapping):
        raise ValueError(f"host_records: expected a mapping of host to update records, got {type(host_records).__name__}")
    if assets is None:
        assets = {}
    if not isinstance(assets, Mapping):
        raise ValueError(f"assets: expected a mapping of host to asset, got {type(assets).__name__}")

    rows = []
    for host, records in host_records.items():
        host = str(host)
        if records is None:
            continue
        if not isinstance(records, (list, tuple)):
            raise ValueError(f"host {host}: expected a list of update records, got {records!r}")
        asset = _asset(assets.get(host), host)
        for index, record in enumerate(records):
            where = f"host {host}: update {index}"
            if not isinstance(record, Mapping) or not record.get("name"):
                raise ValueError(f"{where}: expected an update record with a name, got {record!r}")
            where = f"host {host}: update {record['name']}"
            try:
                reasons = emergency_match(record, settings["emergency"])
                severity = "critical" if reasons else effective_severity(record, settings["severity_by_classification"])
                points = score(record, asset, settings["weights"], severity)
                if reasons:
                    due = today
                else:
                    seen = _as_date(record["first_seen"], "first_seen") if record.get("first_seen") else today
                    due = due_date(min(seen, today), severity, settings["sla_days"])
            except ValueError as exc:
                raise ValueError(f"{where}: {exc}") from exc
            rows.append({
                "host": host, **record,
                "effective_severity": severity, "score": points, "due": due.isoformat(),
                "overdue": due < today, "emergency": bool(reasons), "emergency_reasons": reasons,
            })
    rows.sort(key=_sort_key)
    return rows
