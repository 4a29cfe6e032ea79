# Copyright: patchpilot developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The plan: policy + scan results -> every host's wave, exact versions and window.

Pure Python on the controller, no Ansible runtime. :func:`build_plan` takes
a validated policy (policy.py fills in every default), the scan (per host the
asset record and the update records of records.py), the inventory's groups
and the time the plan is made, and returns one JSON-able dict, the same for
the same inputs (only ``run_id`` is random when none is given).

The plan (format 2)::

    {"format": 2, "run_id": "20261127T221500Z-1a2b3c", "created": ISO UTC,
     "change_ticket", "policy_digest": "sha256:...", "timezone": the policy's,
     "settings": {notifications, hooks: {pre_wave, post_wave},      # the run's slice of the policy
                  snapshot_keep: {runs, days}},
     "emergency": bool, "bypassed": ["windows", "freezes"] (what an emergency skipped),
     "approved_set": {host: {name (name:arch for two arches): version}},
     "version_drift": [{name, arch, release, versions: {version: [hosts]}}],
     "budget": {max_failed, of_hosts, policy, count_unreachable},
     "waves": [{wave, canary, added, hosts, minutes, start, end,
                schedule: [{window, start, end, hosts}],      # one part, or more when split
                deferred: [{window, start, end, reason, hosts}]}],
     "hosts": [{host, status (HOST_STATUSES), reason, wave, window: {name, start, end},
                emergency, emergency_reasons,
                emergency_cves: {CVE: {state, text, packages}},  # with emergency.cves (cve_status.py)
                packages: [{name, arch, version, from_version, effect, classification, severity,
                            effective_severity, advisories, cves, reboot, approved_by}],
                removals: [{name, arch, from_version}],       # allowed removals
                excluded: [{name, arch, version, effect, reason, until?}],
                refused: [{name, arch, version, effect, reason, until?}],
                transaction_refused, reboot_expected, reboot_reasons, snapshot,
                package_manager,              # the scan's backend, else the asset's (apt, dnf, zypper ...)
                settings: {health_checks, hooks: {pre_host, post_host}, reboot,
                           restart_services (restart, flag or none), soak_minutes,
                           automatic_updaters, snapshot_keep: {runs, days}}}],
     "summary": {hosts, rollout, nothing_to_do, refused, unscannable, waves, ...},
     "canary_cover": {dimensions, method, hosts, tested_on: {item: host},   # with rollout.canary.cover
                      untested: [{item, reason, hosts}]}}

Times in ``waves`` and ``hosts`` are ISO 8601 in the policy's time zone.

Run-time settings
    The plan carries what the run needs of the policy, so that a run (and
    a rerun) does what was planned and reviewed, not what the policy file
    says by then: per host (:func:`host_settings`) its health checks, its
    pre-host and post-host hooks, the reboot mode, what to do with the
    services still running replaced files (``restart_services``: the
    policy's ``true`` is ``restart``, ``flag`` is ``flag``, ``false`` is
    ``none``: neither restarted nor flagged), the soak (the canary's
    ``rollout.soak_minutes``, 0 for the other waves) and what to do with an
    automatic updater (``automatic_updaters``: report or pause) and the
    keep rule of its snapshots (``snapshot_keep``, retention.py); for the
    whole run (:func:`run_settings`) the notification targets, the
    pre-wave and post-wave hooks and the keep rule of the run directories. ``policy_digest`` says which policy the
    plan was made from (rollout.py's checks compare it with the policy of
    a rerun or of a run given a reviewed plan).

The rules, in the order the planner applies them:

Updates (per host, per update record)
    * ``kept_back`` records are excluded: the package manager will not
      install them now (held, or blocked by dependencies).
    * An update that matches the policy's emergency lists
      (:func:`priority.emergency_match`) is approved whatever the other
      rules say, and marks the host (and so the plan) as an emergency.
    * An update that matches an ``approvals.reject`` entry (package name
      pattern, CVE or advisory) is excluded until the entry expires; an
      entry is in force up to and including its ``expires`` day, in the
      policy's time zone.
    * An update that matches an ``approvals.approve`` entry is approved.
    * Otherwise it is approved when its classification is in
      ``approvals.auto.classifications``, its effective severity (the
      record's, or the classification's default: priority.py) is in
      ``approvals.auto.severities`` and, when ``after_days`` is set, it was
      released (else first seen) at least that many days ago. A record
      with no date is not old enough. An empty list approves nothing.
    * ``new_dependency`` records go through the same rules when
      ``approvals.new_dependencies`` is ``approved``; with ``any`` every
      new dependency is accepted unless a rejection names it. Removals are
      accepted only with ``approvals.allow_removals``.

    Package name patterns are shell patterns (fnmatch, case-sensitive), as
    in the emergency list; an exact name is a pattern too.

Refused transactions
    The scan records one transaction per host (what ``dist-upgrade`` would
    do): it does not say which upgrade removes a package or pulls in a new
    one, and the package manager cannot do the upgrades without their
    effects. So a refused removal or new dependency refuses the host's whole
    transaction: ``transaction_refused`` is true, the reasons are listed,
    every update of the host is excluded ("transaction refused") and the
    host is in no wave, emergency or not (an emergency approves updates,
    not removals: the policy must allow those).

Hosts
    A host whose scan has no update list (unreachable, failed) is
    ``unscannable``; one with no approved update ``nothing_to_do``; one with
    a refused transaction ``refused``; the rest are in the ``rollout``.
    Rollout hosts are ordered emergency first, then least critical first
    (the CMDB row's criticality, else the asset record's, medium when
    unknown), then by name: the canary (when given as a percent) and early
    waves get the least critical hosts.

Waves
    Wave 0 is the canary: the listed hosts, the group's hosts or a percent
    of the rollout (rounded up, at least one); with no canary in the policy
    there is no wave 0. The configured waves split the hosts after the
    canary: ``{"count": n}``, ``{"percent": p}`` of those hosts (rounded up)
    or ``{"rest": true}`` (policy.py's shapes; ``5``, ``"25%"`` and
    ``"rest"`` are read too). Anti-affinity: the hosts of one listed set
    never share a wave; of an inventory group (``{"group": name}``) at most
    ``max_per_wave_per_group`` share a wave. Each wave is filled in host
    order, skipping a host that would break a rule; a skipped host waits
    for the next wave, and when hosts are left after the last configured
    wave, extra waves (``"added": true``) take them. Empty waves are
    dropped; the waves are numbered without gaps.

Versions
    ``approved_set`` fixes the exact version of every package per host for
    the whole run: the canary and every wave install what the plan says,
    whatever the repository offers by then. Hosts of one OS release whose
    scans saw different candidates of a package are listed in
    ``version_drift`` (rescan them, or the canary proves another version).

Budget
    ``budget.max_failed`` as a number, or as a percent of the rollout's
    hosts rounded down (the hosts that can fail: counting hosts the run
    never touches would only loosen the budget).

Windows
    Waves run one after the other, starting at ``now``. A wave needs
    ceil(hosts / parallel) * minutes_per_host minutes, the canary its soak
    on top (the soak ends inside the window, so that a rollback can too).
    A wave starts in the first maintenance window (maintenance.py: frozen
    time is cut out of the windows, and with no windows any unfrozen time
    will do), from where the wave before it ended, that has room for all
    of it. A window it does not fit, or a freeze that takes one away, is
    listed in the wave's ``deferred`` with the reason and the hosts, and the
    whole wave moves on: a wave is never started in a window it cannot
    finish in. Only a wave longer than every window of the next 366 days is
    split: each window takes as many batches as it has room for, and
    ``deferred`` lists the hosts that move to the next window. An emergency
    plan (one with an emergency update) ignores the windows when
    ``emergency.bypass_windows`` is true (the waves run back to back from
    ``now``) and the freezes when ``emergency.bypass_freezes`` is; the plan's
    ``bypassed`` says which.

Bad input that only shows with hosts (a canary that matches no host, waves
that do not add up, an anti-affinity set that cannot be split over the
waves, a host with two snapshot providers, no window in a year) raises
:class:`PlanError` listing every problem with its policy key path.
"""

from __future__ import annotations

import hashlib
import json
import math
import secrets
from collections.abc import Mapping
from datetime import date, datetime, timedelta, timezone
from fnmatch import fnmatchcase

from ansible_collections.patchpilot.fleet.plugins.module_utils import canary_cover
from ansible_collections.patchpilot.fleet.plugins.module_utils.cve_status import cve_status
from ansible_collections.patchpilot.fleet.plugins.module_utils.priority import (
    CRITICALITIES,
    DEFAULT_ASSET,
    DEFAULT_SLA_DAYS,
    due_date,
    effective_severity,
    emergency_match,
)
from ansible_collections.patchpilot.fleet.plugins.module_utils.records import sort_key
from ansible_collections.patchpilot.fleet.plugins.module_utils.retention import DEFAULT_KEEP

__all__ = ["FORMAT", "HOST_STATUSES", "PlanError", "build_plan", "host_settings", "make_run_id", "policy_digest",
           "run_settings"]

#: The plan's shape; a reader refuses any other.
FORMAT = 2
#: What the policy's ``restart_services`` means for the run.
RESTART_MODES = {True: "restart", "flag": "flag", False: "none"}
#: Keys of a validated policy that say what validating it found, not what it asks for.
_NOT_POLICY = ("warnings", "notes")
HOST_STATUSES = ("rollout", "nothing_to_do", "refused", "unscannable")
#: How far ahead the planner looks for a window.
HORIZON = timedelta(days=366)
_RULE_KEYS = ("package", "cve", "advisory")


class PlanError(ValueError):
    """Bad input the planner found; ``problems`` lists each with its policy key path."""

    def __init__(self, problems):
        self.problems = list(problems)
        super().__init__("the plan cannot be made:\n" + "\n".join(f"- {p}" for p in self.problems))


# ---------------------------------------------------------------------------
# Small helpers
# ---------------------------------------------------------------------------

def policy_digest(policy: Mapping) -> str:
    """sha256 of the policy as canonical JSON (sorted keys, no spaces).

    What validation found (``warnings``, such as a rejection that expired
    today, and ``notes``) is left out: the same policy has the same digest
    on another day.
    """
    policy = {key: value for key, value in policy.items() if key not in _NOT_POLICY}
    text = json.dumps(policy, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()


def make_run_id(now: datetime) -> str:
    """``20261127T221500Z-1a2b3c``: the UTC time and 6 random hex digits."""
    return now.astimezone(timezone.utc).strftime("%Y%m%dT%H%M%SZ") + "-" + secrets.token_hex(3)


def _zone(name):
    """The policy's time zone (UTC when none is given)."""
    if not name:
        return timezone.utc
    from zoneinfo import ZoneInfo  # controller only; module_utils still compile on older targets

    return ZoneInfo(name)


def _iso(moment: datetime, zone) -> str:
    return moment.astimezone(zone).isoformat()


def _spec(value):
    """A size as ("count", n), ("percent", p) or ("rest", None).

    Takes policy.py's shapes (``{"count": n}``, ``{"percent": p}``,
    ``{"rest": True}``) and the ones a policy is written in (``5``,
    ``"25%"``, ``"rest"``). Raises ValueError or TypeError for anything else.
    """
    if isinstance(value, Mapping):
        if value.get("rest"):
            return "rest", None
        if "percent" in value:
            return "percent", float(value["percent"])
        return "count", int(value["count"])
    if isinstance(value, str):
        text = value.strip()
        if text == "rest":
            return "rest", None
        if text.endswith("%"):
            return "percent", float(text[:-1])
        return "count", int(text)
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"not a size: {value!r}")
    return "count", value


def _count(spec, total: int, rounding) -> int:
    """A count spec as a number of hosts; ``rounding`` (ceil or floor) settles a percent."""
    kind, number = spec
    if kind == "percent":
        return int(rounding(round(number * total / 100, 6)))
    return int(number)


def _described(asset) -> Mapping:
    """What describes a host: its asset record's ``patchpilot_asset`` (the CMDB row), else the record."""
    asset = asset if isinstance(asset, Mapping) else {}
    return asset["patchpilot_asset"] if isinstance(asset.get("patchpilot_asset"), Mapping) else asset


def _criticality(described: Mapping) -> str:
    """A host's criticality word (CRITICALITIES), the default for one missing or unknown."""
    word = str(described.get("criticality") or DEFAULT_ASSET["criticality"]).strip().lower()
    return word if word in CRITICALITIES else DEFAULT_ASSET["criticality"]


def _criticality_rank(result) -> int:
    """A host's place in the rollout, least critical first: its CMDB row's criticality (the
    inventory plugin's row, which the plan action passes), else its asset record's."""
    cmdb = _cmdb(result)
    asset = result.get("asset") if isinstance(result, Mapping) else None
    return -CRITICALITIES.index(_criticality(cmdb if cmdb.get("criticality") else _described(asset)))


def _as_date(value):
    if not value:
        return None
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        return None


# ---------------------------------------------------------------------------
# One update
# ---------------------------------------------------------------------------

def _rule_matches(rule: Mapping, record: Mapping) -> bool:
    if rule.get("package") is not None:
        return fnmatchcase(str(record.get("name", "")), str(rule["package"]))
    if rule.get("cve") is not None:
        return str(rule["cve"]).strip().upper() in {str(c).upper() for c in record.get("cves") or ()}
    if rule.get("advisory") is not None:
        return str(rule["advisory"]) in {str(a) for a in record.get("advisories") or ()}
    return False


def _rule_text(rule: Mapping) -> str:
    for key in _RULE_KEYS:
        if rule.get(key) is not None:
            return f"{key} {rule[key]}"
    return "empty rule"


class _Rules:
    """The policy's approval rules, ready to apply to update records."""

    def __init__(self, policy: Mapping, today: date):
        approvals = policy.get("approvals") or {}
        self.auto = approvals.get("auto") or {}
        self.approve = list(approvals.get("approve") or ())
        self.reject = []
        for rule in approvals.get("reject") or ():
            expires = _as_date(rule.get("expires"))
            if expires is None or expires >= today:
                self.reject.append((rule, expires))
        self.allow_removals = bool(approvals.get("allow_removals", False))
        self.any_new_dependency = approvals.get("new_dependencies") == "any"
        self.emergency = policy.get("emergency") or {}
        self.severity_map = (policy.get("priority") or {}).get("severity_by_classification")
        self.sla_days = {**DEFAULT_SLA_DAYS, **((policy.get("priority") or {}).get("sla_days") or {})}
        self.today = today

    def due(self, record: Mapping, severity: str, emergency: bool) -> str:
        """The update's due date (ISO), as the scan's prioritisation gives it: an emergency is due
        today; any other, its first sighting (today when unknown or later) plus the SLA days of its
        severity."""
        if emergency:
            return self.today.isoformat()
        seen = _as_date(record.get("first_seen"))
        return due_date(min(seen or self.today, self.today), severity, self.sla_days).isoformat()

    def decide(self, record: Mapping) -> dict:
        """The decision on one upgrade or new dependency, in the order of the module docstring.

        ``{"approved": bool, "reason": str, "until": a rejection's expiry or
        None, "emergency": [reasons]}``
        """
        emergency = emergency_match(record, self.emergency)
        if emergency:
            return _decision(True, "emergency: " + "; ".join(emergency), emergency=emergency)
        for rule, expires in self.reject:
            if _rule_matches(rule, record):
                until = expires.isoformat() if expires else None
                why = f"rejected ({_rule_text(rule)}): {rule.get('reason') or 'no reason given'}"
                return _decision(False, why + (f", until {until}" if until else ""), until=until)
        for rule in self.approve:
            if _rule_matches(rule, record):
                return _decision(True, f"approved ({_rule_text(rule)})")
        decision = self._auto(record)
        if not decision["approved"] and record.get("effect") == "new_dependency" and self.any_new_dependency:
            return _decision(True, "new dependency (approvals.new_dependencies is any)")
        return decision

    def _auto(self, record: Mapping) -> dict:
        classification = record.get("classification")
        severity = effective_severity(record, self.severity_map)
        after_days = self.auto.get("after_days")
        if classification not in (self.auto.get("classifications") or ()):
            return _decision(False, f"not auto-approved: classification {classification}"
                                    " is not in approvals.auto.classifications")
        if severity not in (self.auto.get("severities") or ()):
            return _decision(False, f"not auto-approved: severity {severity} is not in approvals.auto.severities")
        if after_days is None:
            return _decision(True, f"auto ({classification}, {severity})")
        day, counted = _as_date(record.get("released")), "released"
        if day is None:
            day, counted = _as_date(record.get("first_seen")), "first seen"
        if day is None:
            return _decision(False, "not auto-approved: no release date and no first-seen date, "
                                    f"approvals.auto.after_days is {after_days}")
        age = (self.today - day).days
        if age >= after_days:
            return _decision(True, f"auto ({classification}, {severity}, {counted} {_days(age)} ago)")
        ready = day + timedelta(days=after_days) if (date.max - day).days >= after_days else date.max
        return _decision(False, f"not auto-approved: {counted} {_days(age)} ago, approvals.auto.after_days is"
                                f" {after_days} (eligible on {ready.isoformat()})")


def _days(number: int) -> str:
    return f"{number} day" if number == 1 else f"{number} days"


def _decision(approved: bool, reason: str, until=None, emergency=()) -> dict:
    return {"approved": approved, "reason": reason, "until": until, "emergency": list(emergency)}


def _package(record: Mapping, decision: dict, severity: str, due: str | None = None) -> dict:
    return {
        "name": record["name"], "arch": record.get("arch"), "version": record.get("candidate_version"),
        "from_version": record.get("installed_version"), "effect": record.get("effect"),
        "classification": record.get("classification"), "severity": record.get("severity"),
        "effective_severity": severity, "advisories": list(record.get("advisories") or ()),
        "cves": list(record.get("cves") or ()), "reboot": record.get("reboot"), "approved_by": decision["reason"],
        "due": due,
    }


def _left_out(record: Mapping, reason: str, until=None) -> dict:
    row = {"name": record["name"], "arch": record.get("arch"),
           "version": record.get("candidate_version") or record.get("installed_version"),
           "effect": record.get("effect"), "reason": reason}
    if until:
        row["until"] = until
    return row


def _host_updates(records, rules: _Rules) -> dict:
    """The host's packages, removals, excluded and refused updates (see the module docstring)."""
    packages, removals, excluded, refused, emergency = [], [], [], [], []
    for record in sorted(records, key=sort_key):
        effect = record.get("effect")
        if effect == "kept_back":
            excluded.append(_left_out(record, "kept back by the package manager (held, or blocked by dependencies)"))
        elif effect == "removal":
            if rules.allow_removals:
                removals.append({"name": record["name"], "arch": record.get("arch"),
                                 "from_version": record.get("installed_version")})
            else:
                refused.append(_left_out(record, "removal not allowed (approvals.allow_removals is false)"))
        else:
            decision = rules.decide(record)
            if decision["approved"]:
                severity = effective_severity(record, rules.severity_map)
                packages.append(_package(record, decision, severity,
                                         rules.due(record, severity, bool(decision["emergency"]))))
                emergency += decision["emergency"]
            elif effect == "new_dependency":
                refused.append(_left_out(record, f"new dependency not approved: {decision['reason']}",
                                         decision["until"]))
            else:
                excluded.append(_left_out(record, decision["reason"], decision["until"]))

    refusal = None
    if emergency and (refused or removals):
        # An emergency installs its own update now: what the host's other updates would pull
        # in or remove neither holds it back nor comes with it. The preflight's simulation of
        # exactly the planned versions still refuses the host if the emergency update itself
        # needs a removal or an unplanned package.
        excluded += [dict(r, reason=f"{r['reason']} (left out of the emergency)") for r in refused]
        excluded += [{"name": r["name"], "arch": r.get("arch"), "version": None, "effect": "removal",
                      "reason": "removal left out of the emergency"} for r in removals]
        refused, removals = [], []
    if refused:
        refusal = "transaction refused: " + "; ".join(f"{r['name']}: {r['reason']}" for r in refused)
        excluded = sorted(excluded + [dict(_left_out_package(p), reason=refusal) for p in packages],
                          key=lambda r: (r["name"], r.get("arch") or ""))
        packages, removals = [], []
    return {"packages": packages, "removals": removals, "excluded": excluded, "refused": refused,
            "refusal": refusal, "emergency_reasons": sorted(set(emergency))}


def _left_out_package(package: dict) -> dict:
    return {"name": package["name"], "arch": package["arch"], "version": package["version"],
            "effect": package["effect"]}


def _version_map(packages) -> dict:
    """{name: version}; ``name:arch`` for a name the host has in two architectures."""
    names = [p["name"] for p in packages]
    return {(f"{p['name']}:{p['arch']}" if names.count(p["name"]) > 1 else p["name"]): p["version"]
            for p in packages}


def _version_drift(entries: list, scan: Mapping) -> list:
    """Packages the rollout's hosts of one OS release would get in different versions.

    The plan fixes each host's versions from its own scan; hosts scanned
    before and after the repository moved on would get (and the canary
    would have proved) different versions. Listed, for a rescan.
    """
    seen = {}
    for entry in entries:
        if entry["status"] != "rollout":
            continue
        asset = scan[entry["host"]].get("asset") or {}
        release = " ".join(str(asset.get(k)) for k in ("os_distribution", "os_version") if asset.get(k)) or None
        for package in entry["packages"]:
            versions = seen.setdefault((package["name"], package["arch"] or "", release or ""), {})
            versions.setdefault(package["version"], []).append(entry["host"])
    return [{"name": name, "arch": arch or None, "release": release or None,
             "versions": {version: sorted(hosts) for version, hosts in sorted(versions.items())}}
            for (name, arch, release), versions in sorted(seen.items()) if len(versions) > 1]


def _reboot(policy_reboot: str, packages, asset) -> tuple:
    if policy_reboot == "never":
        return False, ["policy reboot is never"]
    if policy_reboot == "always":
        return True, ["policy reboot is always"]
    reasons = [f"{p['name']} asks for a reboot" for p in packages if p.get("reboot")]
    if isinstance(asset, Mapping) and asset.get("reboot_pending") is True:
        reasons.append("a reboot is already pending on the host")
    return bool(reasons), reasons


# ---------------------------------------------------------------------------
# Policy checks that need the hosts
# ---------------------------------------------------------------------------

def _host_groups(groups: Mapping) -> dict:
    membership = {}
    for group in sorted(groups):
        for host in groups[group] or ():
            membership.setdefault(str(host), []).append(group)
    return membership


def _snapshots(policy: Mapping, hosts, membership: dict, problems: list) -> dict:
    snapshot = policy.get("snapshot") or {}
    default = snapshot.get("default", "none")
    by_group = snapshot.get("groups") or {}
    chosen = {}
    for host in hosts:
        providers = {group: by_group[group] for group in membership.get(host, ()) if group in by_group}
        distinct = sorted(set(providers.values()))
        if len(distinct) > 1:
            listed = ", ".join(f"{g} ({p})" for g, p in sorted(providers.items()))
            problems.append(f"snapshot.groups: host {host} is in groups with different providers: {listed}")
        chosen[host] = distinct[0] if distinct else default
    return chosen


def _canary(rollout: Mapping, ordered: list, scope: set, groups: Mapping, problems: list) -> list:
    """The canary hosts in rollout order; empty when the policy has no canary."""
    canary = rollout.get("canary")
    if not canary:
        return []
    if "hosts" in canary:
        key, wanted = "rollout.canary.hosts", {str(h) for h in canary["hosts"] or ()}
    elif "group" in canary:
        key = "rollout.canary.group"
        if canary["group"] not in groups:
            problems.append(f"{key}: no group {canary['group']!r} in the inventory")
            return []
        wanted = {str(h) for h in groups[canary["group"]] or ()}
    else:
        return ordered[:max(1, _count(("percent", float(canary["percent"])), len(ordered), math.ceil))]
    if not wanted & scope:
        problems.append(f"{key}: matches no host in scope ({', '.join(sorted(wanted)) or 'empty'})")
        return []
    chosen = [h for h in ordered if h in wanted]
    if ordered and not chosen:
        problems.append(f"{key}: matches {', '.join(sorted(wanted & scope))}, but none of them has an approved"
                        " update: the canary would prove nothing")
    return chosen


def _cmdb(result) -> dict:
    """A host's CMDB row: the scan result's ``cmdb``, else its asset's ``patchpilot_asset``."""
    result = result if isinstance(result, Mapping) else {}
    if isinstance(result.get("cmdb"), Mapping):
        return result["cmdb"]
    asset = result.get("asset") if isinstance(result.get("asset"), Mapping) else {}
    return asset["patchpilot_asset"] if isinstance(asset.get("patchpilot_asset"), Mapping) else {}


def _attribute(result, dimension: str) -> str:
    """A host's value of a cover dimension: ``release`` is its OS and version, any other its CMDB
    column (else its asset fact of that name), ``unknown`` when neither has it."""
    asset = result.get("asset") if isinstance(result, Mapping) and isinstance(result.get("asset"), Mapping) else {}
    cmdb = _cmdb(result)
    if dimension == "release":
        name = asset.get("os_distribution") or cmdb.get("os_distribution") or ""
        version = asset.get("os_version") or cmdb.get("os_version") or ""
        return f"{name} {version}".strip() or "unknown"
    value = cmdb.get(dimension, asset.get(dimension))
    return str(value).strip() if value not in (None, "") else "unknown"


def _cover_canary(rollout: Mapping, ordered: list, scan: Mapping, hosts: Mapping, constraints: list,
                  problems: list) -> tuple:
    """The canary chosen by rollout.canary.cover (canary_cover.choose) and what the plan says of it."""
    canary = rollout["canary"]
    dimensions = canary["cover"]
    keep_out = set(canary.get("exclude_criticality") or ())
    excluded = {}
    for host in ordered:
        word = _criticality(_cmdb(scan[host]))
        if word in keep_out:
            excluded[host] = f"criticality {word} (rollout.canary.exclude_criticality)"
    fleet = [{"host": h, "attributes": {d: _attribute(scan[h], d) for d in dimensions if d != "updates"},
              "updates": sorted({p["name"] for p in hosts[h]["packages"]})} for h in ordered]
    named = [h for h in canary.get("hosts") or () if h in ordered]
    try:
        found = canary_cover.choose(fleet, dimensions, required=named, excluded=excluded,
                                    groups=[(members, cap) for _key, members, cap in constraints], cap=canary.get("max"))
    except canary_cover.CoverError as exc:
        problems.append(str(exc))
        return [], None
    chosen = [h for h in ordered if h in set(found["hosts"])]
    return chosen, {"dimensions": list(dimensions), "method": found["method"], "hosts": chosen,
                    "tested_on": found["covered_by"], "untested": found["uncovered"]}


def _wave_sizes(rollout: Mapping, remaining: int, problems: list) -> list:
    """Capacity of each configured wave after the canary (None for rest); None when unreadable."""
    entries = list(rollout.get("waves") or ())
    specs = []
    for index, entry in enumerate(entries):
        try:
            specs.append(_spec(entry))
        except (TypeError, ValueError):
            problems.append(f"rollout.waves[{index}]: expected {{count: N}}, {{percent: N}} or {{rest: true}},"
                            f" got {entry!r}")
            return None
    sizes = [None if kind == "rest" else max(0, _count((kind, number), remaining, math.ceil))
             for kind, number in specs]
    if None not in sizes and sum(sizes) < remaining:
        problems.append(f"rollout.waves: the waves take {sum(sizes)} of the {remaining} hosts after the canary;"
                        " add rest as the last wave or make the waves larger")
    return sizes


def _constraints(rollout: Mapping, scope: set, groups: Mapping, problems: list) -> list:
    """Anti-affinity rules as (key path, member set, at most per wave)."""
    cap = int(rollout.get("max_per_wave_per_group") or 1)
    rules = []
    for index, entry in enumerate(rollout.get("anti_affinity") or ()):
        key = f"rollout.anti_affinity[{index}]"
        if isinstance(entry, Mapping):
            group = entry.get("group")
            if group not in groups:
                problems.append(f"{key}.group: no group {group!r} in the inventory")
                continue
            rules.append((f"{key}.group", {str(h) for h in groups[group] or ()} & scope, max(1, cap)))
        else:
            rules.append((key, {str(h) for h in entry or ()} & scope, 1))
    return rules


# ---------------------------------------------------------------------------
# Waves
# ---------------------------------------------------------------------------

def _fits(host: str, wave: list, rules: list) -> bool:
    for _key, members, cap in rules:
        if host in members and sum(1 for h in wave if h in members) >= cap:
            return False
    return True


def _fill(queue: list, capacity, rules: list) -> list:
    wave = []
    for host in queue:
        if capacity is not None and len(wave) >= capacity:
            break
        if _fits(host, wave, rules):
            wave.append(host)
    return wave


def _assign_waves(canary: list, ordered: list, sizes: list, rules: list) -> list:
    """The waves in order, numbered 0 for the canary and 1, 2, ... for the rest.

    Each is ``{"wave", "canary", "added", "hosts"}`` (hosts in rollout order).
    """
    made = []  # (hosts, added)
    first = _fill(canary, None, rules)
    if first:
        made.append((first, False))
    queue = [h for h in ordered if h not in set(first)]
    for capacity in sizes:
        if not queue:
            break
        made.append((_fill(queue, capacity, rules), False))
        queue = [h for h in queue if h not in set(made[-1][0])]
    while queue:
        made.append((_fill(queue, None, rules), True))
        queue = [h for h in queue if h not in set(made[-1][0])]
    offset = 0 if first else 1
    return [{"wave": index + offset, "canary": bool(first) and index == 0, "added": added, "hosts": hosts}
            for index, (hosts, added) in enumerate(made)]


# ---------------------------------------------------------------------------
# Windows
# ---------------------------------------------------------------------------

class _Clock:
    """The policy's windows and freezes (maintenance.py), as stretches of usable time in UTC."""

    def __init__(self, policy: Mapping, emergency: bool):
        # Imported here: maintenance.py needs zoneinfo (Python 3.9+), the rest of the planner does not.
        from ansible_collections.patchpilot.fleet.plugins.module_utils import maintenance

        self.maintenance = maintenance
        flags = policy.get("emergency") or {}
        self.bypassed = [what for what in ("windows", "freezes") if emergency and flags.get(f"bypass_{what}")]
        self.section = dict(policy.get("windows") or {})
        if "windows" in self.bypassed:
            self.section["maintenance"] = []  # maintenance.py: no windows, any time will do
        self.skip_frozen = "freezes" not in self.bypassed

    def stretches(self, after: datetime, deadline: datetime, skipped: list):
        """Usable time from ``after`` on, in order: (start, end or None, window name, window start).

        The time a freeze takes from a window (or, with no windows, from the
        day) is added to ``skipped`` as (start, end, name, reason) before
        the stretch that follows it.
        """
        last = None  # where the window of the last stretch opened
        while after <= deadline:
            found = self.maintenance.next_window(self.section, after, skip_frozen=self.skip_frozen)
            if found is None:
                return
            start, end, name = found
            if self.skip_frozen:
                self._frozen_between(after, start, last, skipped)
            yield max(start, after), end, name, start
            if end is None:
                return
            after, last = end, start

    def _frozen_between(self, after: datetime, until: datetime, last, skipped: list) -> None:
        """Add the windows between ``after`` and ``until`` that a freeze took away to ``skipped``."""
        probe = after
        while probe < until:
            raw_start, raw_end, name = self.maintenance.next_window(self.section, probe, skip_frozen=False)
            if raw_start >= until:
                return
            if last is None or raw_start > last:  # not the window whose usable part came last
                lost = max(raw_start, probe)
                skipped.append((lost, until if raw_end is None else min(raw_end, until), name,
                                f"frozen: {self.maintenance.frozen(self.section, lost)}"))
            if raw_end is None:
                return
            probe = raw_end


def _minutes(delta: timedelta) -> int:
    return int(delta.total_seconds() // 60)


def _slot(start, end, name, hosts, zone) -> dict:
    return {"window": name, "start": _iso(start, zone), "end": _iso(end, zone), "hosts": sorted(hosts)}


def _passed(start, end, name, reason, hosts, zone) -> dict:
    """A window a wave (or part of it) did not run in, and why."""
    return {"window": name, "start": _iso(start, zone), "end": _iso(end, zone) if end else None,
            "reason": reason, "hosts": sorted(hosts)}


def _schedule_whole(clock: _Clock, cursor, need, hosts, zone, deadline):
    """The first stretch with room for the whole wave: (slots, deferred, end); slots None when none has."""
    deferred, skipped = [], []
    for start, end, name, w_start in clock.stretches(cursor, deadline, skipped):
        deferred += [_passed(*item, hosts, zone) for item in skipped]
        skipped.clear()
        if end is None or start + need <= end:
            return [_slot(start, start + need, name, hosts, zone)], deferred, start + need
        deferred.append(_passed(w_start, end, name, f"needs {_minutes(need)} minutes,"
                                f" {_minutes(end - start)} left in the window", hosts, zone))
    return None, deferred, None


def _schedule_split(clock: _Clock, cursor, hosts, rollout, soak, zone, deadline):
    """A wave longer than every window: each window takes the batches it has room for.

    (slots, moved, end), as _schedule_whole.
    """
    parallel = max(1, int(rollout.get("parallel") or 1))
    per_batch = timedelta(minutes=int(rollout.get("minutes_per_host") or 0))
    todo, slots, moved = list(hosts), [], []
    for start, end, name, w_start in clock.stretches(cursor, deadline, []):
        room = int((end - start) // per_batch) if end is not None and per_batch else len(todo)
        batches = min(math.ceil(len(todo) / parallel), room)
        last = batches * parallel >= len(todo)
        if last and end is not None and start + batches * per_batch + soak > end:
            batches, last = batches - 1, False  # the canary's soak ends inside its window
        take = todo[:batches * parallel]
        if not take:
            continue
        finish = start + batches * per_batch + (soak if last else timedelta(0))
        slots.append(_slot(start, finish, name, take, zone))
        todo = todo[len(take):]
        if not todo:
            return slots, moved, finish
        moved.append(_passed(w_start, end, name, "the wave is longer than any window:"
                             " these hosts move to the next one", todo, zone))
    return None, moved, None


def _schedule(waves: list, policy: Mapping, now: datetime, clock: _Clock, zone, problems: list) -> list:
    rollout = policy.get("rollout") or {}
    parallel = max(1, int(rollout.get("parallel") or 1))
    per_host = timedelta(minutes=int(rollout.get("minutes_per_host") or 0))
    soak = timedelta(minutes=int(rollout.get("soak_minutes") or 0))
    cursor = now.astimezone(timezone.utc)
    deadline = cursor + HORIZON
    planned = []
    for wave in waves:
        hosts = wave["hosts"]
        extra = soak if wave["canary"] else timedelta(0)
        need = math.ceil(len(hosts) / parallel) * per_host + extra
        if cursor + need > deadline:  # also keeps the dates below from overflowing, whatever the fleet's size
            problems.append(f"windows: no room for wave {wave['wave']} ({_minutes(need)} minutes)"
                            f" in the next {HORIZON.days} days (rollout.minutes_per_host, rollout.parallel)")
            return []
        slots, deferred, end = _schedule_whole(clock, cursor, need, hosts, zone, deadline)
        if slots is None:
            slots, deferred, end = _schedule_split(clock, cursor, hosts, rollout, extra, zone, deadline)
        if slots is None:
            problems.append(f"windows: no room for wave {wave['wave']} ({_minutes(need)} minutes)"
                            f" in the next {HORIZON.days} days")
            return []
        planned.append({"minutes": _minutes(need), "schedule": slots, "deferred": deferred})
        cursor = end
    return planned


# ---------------------------------------------------------------------------
# The plan
# ---------------------------------------------------------------------------

def host_settings(policy: Mapping, canary: bool = False) -> dict:
    """The run-time slice of the policy for one host (see "Run-time settings" above)."""
    hooks = policy.get("hooks") or {}
    restart = policy.get("restart_services", "flag")
    return {
        "health_checks": dict(policy.get("health_checks") or {}),
        "hooks": {"pre_host": list(hooks.get("pre_host") or ()), "post_host": list(hooks.get("post_host") or ())},
        "reboot": policy.get("reboot", "if_required"),
        "restart_services": RESTART_MODES.get(restart if isinstance(restart, bool) else str(restart), "flag"),
        "soak_minutes": int((policy.get("rollout") or {}).get("soak_minutes") or 0) if canary else 0,
        "automatic_updaters": policy.get("automatic_updaters", "report"),
        "snapshot_keep": _snapshot_keep(policy),
    }


def run_settings(policy: Mapping) -> dict:
    """The run-time slice of the policy for the whole run: notifications, pre-wave and post-wave hooks,
    and the keep rule of the controller's run directories (retention.py)."""
    hooks = policy.get("hooks") or {}
    return {"notifications": list(policy.get("notifications") or ()),
            "hooks": {"pre_wave": list(hooks.get("pre_wave") or ()), "post_wave": list(hooks.get("post_wave") or ())},
            "snapshot_keep": _snapshot_keep(policy)}


def _snapshot_keep(policy: Mapping) -> dict:
    """The policy's snapshot.keep ({runs, days}); retention.DEFAULT_KEEP when it says nothing."""
    keep = (policy.get("snapshot") or {}).get("keep")
    return dict(keep) if isinstance(keep, Mapping) else dict(DEFAULT_KEEP)


def _package_manager(result: Mapping):
    """The host's package manager: the backend its scan used (its update records'), else the asset record's."""
    backends = {r.get("backend") for r in result.get("updates") or () if isinstance(r, Mapping) and r.get("backend")}
    if len(backends) == 1:
        return backends.pop()
    described = _described(result.get("asset"))
    return str(described["package_manager"]) if described.get("package_manager") else None


def _budget(policy: Mapping, rollout_hosts: int) -> dict:
    budget = policy.get("budget") or {}
    given = budget.get("max_failed", 0)
    spec = _spec(given)
    number = max(0, _count(spec, rollout_hosts, math.floor))
    return {"max_failed": number, "of_hosts": rollout_hosts, "policy": given,
            "count_unreachable": bool(budget.get("count_unreachable", True))}


def _check_inputs(policy, scan, groups, now) -> list:
    problems = []
    if not isinstance(policy, Mapping):
        problems.append(f"policy: expected a validated policy (a mapping), got {type(policy).__name__}")
    if not isinstance(scan, Mapping):
        problems.append(f"scan: expected a mapping of host to scan result, got {type(scan).__name__}")
    if not isinstance(groups, Mapping):
        problems.append(f"groups: expected a mapping of group to hosts, got {type(groups).__name__}")
    if not isinstance(now, datetime) or now.tzinfo is None or now.utcoffset() is None:
        problems.append(f"now: expected a timezone-aware datetime, got {now!r}")
    return problems


def build_plan(policy: Mapping, scan: Mapping, groups: Mapping, now: datetime, run_id: str | None = None) -> dict:
    """The plan for ``scan``'s hosts under ``policy`` (see the module docstring).

    ``policy`` is validated (defaults filled), ``scan`` maps host to
    ``{"asset": asset record, "updates": [update records] or None,
    "reason": why it has none}``, ``groups`` maps inventory group to hosts,
    ``now`` is an aware datetime. Raises PlanError listing every problem.
    """
    problems = _check_inputs(policy, scan, groups, now)
    if problems:
        raise PlanError(problems)
    zone = _zone((policy.get("windows") or {}).get("timezone"))
    today = now.astimezone(zone).date()
    rules = _Rules(policy, today)
    membership = _host_groups(groups)
    scope = sorted(str(h) for h in scan)
    snapshots = _snapshots(policy, scope, membership, problems)

    hosts = {}
    for host in scope:
        result = scan[host] if isinstance(scan[host], Mapping) else {}
        updates = result.get("updates")
        entry = {"host": host, "status": None, "reason": None, "wave": None, "window": None,
                 "emergency": False, "emergency_reasons": [], "packages": [], "removals": [],
                 "excluded": [], "refused": [], "transaction_refused": False,
                 "reboot_expected": False, "reboot_reasons": [], "snapshot": snapshots[host],
                 "package_manager": _package_manager(result), "settings": host_settings(policy)}
        if updates is None:
            entry.update(status="unscannable",
                         reason=result.get("reason") or result.get("error") or "no scan result (host unreachable)")
        else:
            found = _host_updates(updates, rules)
            entry.update(packages=found["packages"], removals=found["removals"], excluded=found["excluded"],
                         refused=found["refused"], transaction_refused=bool(found["refusal"]),
                         emergency=bool(found["emergency_reasons"]), emergency_reasons=found["emergency_reasons"])
            listed = (policy.get("emergency") or {}).get("cves")
            if listed:
                entry["emergency_cves"] = cve_status(listed, updates, found["packages"], result.get("tracker"))
            if found["refusal"]:
                entry.update(status="refused", reason=found["refusal"])
            elif not found["packages"]:
                entry.update(status="nothing_to_do", reason="no approved update")
            else:
                entry["status"] = "rollout"
                reboot, reasons = _reboot(policy.get("reboot", "if_required"), found["packages"],
                                          result.get("asset"))
                entry.update(reboot_expected=reboot, reboot_reasons=reasons)
        hosts[host] = entry

    rollout = policy.get("rollout") or {}
    ordered = sorted((h for h in scope if hosts[h]["status"] == "rollout"),
                     key=lambda h: (not hosts[h]["emergency"], _criticality_rank(scan[h]), h))
    constraint_problems = []  # listed after the canary's, in the policy's order
    constraints = _constraints(rollout, set(ordered), groups, constraint_problems)
    if (rollout.get("canary") or {}).get("cover"):
        canary, cover = _cover_canary(rollout, ordered, scan, hosts, constraints, problems)
    else:
        canary, cover = _canary(rollout, ordered, set(scope), groups, problems), None
    sizes = _wave_sizes(rollout, len(ordered) - len(canary), problems)
    problems += constraint_problems
    available = len(sizes or ()) + (1 if canary else 0)
    for key, members, cap in constraints if sizes is not None else ():
        needed = math.ceil(len(members) / cap)
        if needed > available:
            problems.append(f"{key}: {len(members)} hosts at most {cap} per wave need {needed} waves,"
                            f" but the rollout has {available}" + (" (canary included)" if canary else ""))
    if problems:
        raise PlanError(problems)

    assigned = _assign_waves(canary, ordered, sizes, constraints)
    emergency = any(hosts[h]["emergency"] for h in ordered)
    clock = _Clock(policy, emergency)
    schedule = _schedule(assigned, policy, now, clock, zone, problems)
    if problems:
        raise PlanError(problems)

    waves = []
    for wave, planned in zip(assigned, schedule):
        waves.append(dict(wave, hosts=sorted(wave["hosts"]), minutes=planned["minutes"],
                          start=planned["schedule"][0]["start"], end=planned["schedule"][-1]["end"],
                          schedule=planned["schedule"], deferred=planned["deferred"]))
        for slot in planned["schedule"]:
            for host in slot["hosts"]:
                hosts[host].update(settings=host_settings(policy, canary=wave["canary"]))
                hosts[host].update(wave=wave["wave"], window={"name": slot["window"], "start": slot["start"],
                                                              "end": slot["end"]})

    approved_set = {h: _version_map(hosts[h]["packages"]) for h in scope if hosts[h]["status"] == "rollout"}
    budget = _budget(policy, len(ordered))
    entries = [hosts[h] for h in scope]
    summary = {
        "hosts": len(scope),
        **{status: sum(1 for e in entries if e["status"] == status) for status in HOST_STATUSES},
        "waves": len(waves),
        "emergency_hosts": sum(1 for e in entries if e["emergency"]),
        "reboots_expected": sum(1 for e in entries if e["reboot_expected"]),
        "packages": sum(len(e["packages"]) for e in entries),
        "excluded_updates": sum(len(e["excluded"]) for e in entries),
        "refused_updates": sum(len(e["refused"]) for e in entries),
        "deferred_waves": sum(1 for w in waves if w["deferred"]),
        "max_failed": budget["max_failed"],
    }
    plan = {
        "format": FORMAT,
        "run_id": run_id or make_run_id(now),
        "created": now.astimezone(timezone.utc).isoformat(),
        "change_ticket": policy.get("change_ticket"),
        "policy_digest": policy_digest(policy),
        "settings": run_settings(policy),
        "timezone": str(getattr(zone, "key", "UTC")),
        "emergency": emergency,
        "bypassed": clock.bypassed,
        "approved_set": approved_set,
        "version_drift": _version_drift(entries, scan),
        "budget": budget,
        "waves": waves,
        "hosts": entries,
        "summary": summary,
    }
    if cover is not None:
        plan["canary_cover"] = cover
        summary["untested_in_canary"] = len(cover["untested"])
    return plan
