# Copyright: patchpilot developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The policy: reading it, migrating older versions, and checking it before any host is contacted.

A policy is a YAML mapping with a ``version`` key (docs/policy.md explains
every key). Its one description is the JSON Schema docs/policy.schema.json:
keys, types, choices, ranges, required keys, defaults and the message for each
mistake. Version 2 is the current format; version 1 is read and migrated
(:func:`migrate`).

The parts: policy_schema (the schema, validated with jsonschema, its errors as
messages), policy_checks (what a schema cannot say: one named check per rule),
policy_normal (the accepted policy in its normal form), and this module (the
API every caller uses: read, migrate, validate).

:func:`load_policy` parses the text (errors with line and column),
:func:`validate_policy` checks every key and returns the normalised policy,
or raises :class:`PolicyError` listing every problem at once, each as
``"path: message"`` with the path of the bad key, e.g.
``rollout.waves[1]: 150% is more than 100%``. Unknown keys are errors. An
expired rejection is a warning, not an error. :func:`read_policy` does both.

The normalised policy (``validate_policy``'s result; every key present, the
defaults shown)::

    {
        "version": 2,
        "change_ticket": None,                 # str: carried into every record
        "approvers": [],                       # who may approve
        "approvals": {
            "auto": {"classifications": [],    # records.CLASSIFICATIONS
                     "severities": [],         # records.SEVERITIES
                     "after_days": None},      # int: released (or first seen) N+ days ago
            "approve": [],   # [{"package": "openssl", "note": None}] one of package/cve/advisory
            "reject": [],    # [{"cve": "CVE-2026-1234", "reason": "...", "expires": "2027-01-31",
                             #   "expired": False}]  one of package/cve/advisory
            "allow_removals": False,
            "new_dependencies": "approved",    # or "any"
        },
        "windows": {"timezone": "UTC", "maintenance": [], "freezes": []},   # maintenance.py
        "emergency": {"cves": [], "packages": [],                # CVE ids; fnmatch patterns
                      "bypass_windows": False, "bypass_freezes": False,
                      "allow_all": False},   # True: a pattern may match every package ("*")
        "rollout": {
            "canary": None,          # or {"hosts": [..]} | {"group": "web"} | {"percent": 10}
            "soak_minutes": 30,
            "waves": ["rest"],       # each 5 (hosts) | {"percent": 25} | "rest" (last only)
            "max_per_wave_per_group": 1,
            "anti_affinity": [],     # [["db1", "db2"], {"group": "ha_pair"}]
            "minutes_per_host": 10,
            "parallel": 5,
        },
        "budget": {"max_failed": 0,              # hosts, or {"percent": 10}
                   "count_unreachable": True},
        "scan": {"stale_index": "report"},        # or "fail"
        "plan": {"max_age_hours": 72},            # a reviewed plan older than this is refused (1..8760)
        "automatic_updaters": "report",           # or "pause": what preflight does about them
        "reboot": "if_required",                  # REQUIRED: never | if_required | always
        "restart_services": "flag",               # True | False | "flag"
        "snapshot": {"default": "package", "groups": {},   # SNAPSHOT_PROVIDERS
                     "keep": {"runs": 3, "days": None}},   # retention: kept while either holds
        "health_checks": {"services": [], "ports": [], "failed_units": True,
                          "journal_errors_max": None, "load_factor": None,
                          "memory_factor": None,      # number above 1
                          "http": [],       # [{"name": URL, "url": URL, "status": 200, "timeout": 10}]
                          "commands": []},  # [{"name": LINE, "command": [argv], "rc": 0}]
        "hooks": {"pre_host": [], "post_host": [], "pre_wave": [], "post_wave": []},
            # each hook: {"name": str, "command": [argv] | None, "url": str | None,
            #             "on": "host" | "controller",   # url hooks: always controller
            #             "method": "POST" | None, "body": {} | None, "status": 200 | None,
            #             "timeout": 30, "undo": a hook of the same form (its undo None) | None}
            # a plain command line or argv list becomes {"command": argv, "name": the line,
            # "on": "host" for *_host, "controller" for *_wave}
        "notifications": [],   # [{"type": "email", "target": "ops@example.com",
                               #   "events": ["start", "wave", "reboot", "failure", "done"],
                               #   "smtp_host": "localhost", "smtp_port": 25, "from": None,
                               #   "secure": "try", "username": None}]
                               # webhook: + "method": "POST", "headers": {}, "auth": "none"
                               # wall, log: type, target (None for wall), events
        "priority": {...},     # priority.validate_policy's result; its "emergency" is the
                               # top-level emergency's cves and packages
        "notes": [],           # what migration changed
        "warnings": [],        # "path: message", e.g. an expired rejection
    }

Sizes: a number of hosts stays an int (a digit string such as "5" becomes
5), a percentage such as "25%" becomes ``{"percent": 25}`` (a number: int
when whole, else float), and the last wave may be ``"rest"``. The
percentages of the waves add up to at most 100, and the waves cover every
host: the last is "rest" or the percentages add up to 100 (the planner
takes a wave's percentage of the hosts after the canary, rounded up, and
the budget's of the rollout's hosts, rounded down). Weekdays, times and
dates are strings (``"mon"``, ``"22:00"``, ``"2026-12-20"``); the result is
plain JSON data.

The result is the planner's input, not a policy file: validate the policy as
written, once.

Checks that need the inventory (a canary matching no host, an anti-affinity
group larger than the waves can spread) belong to the planner.

Plain Python, no Ansible runtime (PyYAML to read the text, jsonschema to check it:
both on the controller).
"""

from __future__ import annotations

import copy
import os
import re
from collections.abc import Mapping
from datetime import date, datetime
from pathlib import PurePath

from ansible_collections.patchpilot.fleet.plugins.module_utils import policy_checks as _checks
from ansible_collections.patchpilot.fleet.plugins.module_utils import policy_normal as _normal
from ansible_collections.patchpilot.fleet.plugins.module_utils import policy_schema as _schema
from ansible_collections.patchpilot.fleet.plugins.module_utils import priority as _priority
from ansible_collections.patchpilot.fleet.plugins.module_utils import yamlinput as _yamlinput
from ansible_collections.patchpilot.fleet.plugins.module_utils.maintenance import normal_windows, parse_date
from ansible_collections.patchpilot.fleet.plugins.module_utils.policy_checks import (  # noqa: F401 (public names)
    CURRENT_VERSION,
    SECRET_HEADERS,
    SUPPORTED_VERSIONS,
)

try:
    import yaml
except ImportError:  # only the controller reads policies, and it always has PyYAML
    yaml = None

__all__ = [
    "AUTOMATIC_UPDATERS", "CURRENT_VERSION", "DEFAULTS", "EVENTS", "HOOKS", "HOOK_METHODS", "HOOK_PLACES",
    "NOTIFICATION_TYPES", "REBOOT_CHOICES", "RESTART_CHOICES", "LIMITS", "SECRET_HEADERS", "SMTP_SECURE",
    "SNAPSHOT_PROVIDERS", "SUPPORTED_VERSIONS", "WEBHOOK_AUTH", "WEBHOOK_METHODS", "PolicyError",
    "auth_header", "load_policy", "migrate", "read_policy", "validate_policy", "windows_section",
]


def _words(pattern: str) -> tuple:
    r"""("GET", "POST") from a case-insensitive choice pattern such as ``^\s*(?i:get|post)\s*$``."""
    return tuple(word.upper() for word in re.search(r"\(\?i:([^)]*)\)", pattern).group(1).split("|"))


# Every name below comes from the schema: its keys, choices and bounds are written there once.
_DEFS = ("$defs",)
REBOOT_CHOICES = _schema.choices("reboot")
RESTART_CHOICES = _schema.choices("restart_services")
SNAPSHOT_PROVIDERS = _schema.choices("snapshot", "default")
NOTIFICATION_TYPES = tuple(_schema.node(*_DEFS, "notification")["properties"]["type"]["enum"])
EVENTS = tuple(_schema.node(*_DEFS, "notification")["properties"]["events"]["items"]["enum"])
HOOKS = _schema.keys("hooks")
HOOK_PLACES = tuple(_schema.node(*_DEFS, "hook_mapping")["properties"]["on"]["enum"])
HOOK_METHODS = _words(_schema.node(*_DEFS, "hook_mapping")["properties"]["method"]["pattern"])
WEBHOOK_METHODS = _words(_schema.node(*_DEFS, "notification")["properties"]["method"]["pattern"])
SMTP_SECURE = tuple(_schema.node(*_DEFS, "notification")["properties"]["secure"]["enum"])
WEBHOOK_AUTH = tuple(_schema.node(*_DEFS, "notification")["properties"]["auth"]["enum"])
NEW_DEPENDENCIES = _schema.choices("approvals", "new_dependencies")
AUTOMATIC_UPDATERS = _schema.choices("automatic_updaters")
ITEM_KINDS = ("package", "cve", "advisory")
#: The largest number each kind of policy value may be (docs/policy.md, "Limits"): anything larger is a
#: typo, and would overflow the planner's date arithmetic. Percentages are 0 to 100.
LIMITS = {
    "minutes": _schema.node("rollout", "soak_minutes")["maximum"],          # soak_minutes, minutes_per_host
    "days": _schema.node("approvals", "auto", "after_days")["maximum"],     # after_days, priority.sla_days
    "count": _schema.node("rollout", "parallel")["maximum"],                # hosts, journal errors
    "seconds": _schema.node(*_DEFS, "seconds")["maximum"],                  # timeouts of hooks and HTTP checks
    "factor": _schema.node("health_checks", "load_factor")["maximum"],      # load_factor, memory_factor
    "weight": _schema.node(*_DEFS, "weight")["maximum"],                    # priority.weights
    "hours": _schema.node("plan", "max_age_hours")["maximum"],              # plan.max_age_hours
}

_TOP_KEYS = _schema.keys()
_APPROVALS_KEYS = _schema.keys("approvals")
_AUTO_KEYS = _schema.keys("approvals", "auto")
_EMERGENCY_KEYS = _schema.keys("emergency")
_ROLLOUT_KEYS = _schema.keys("rollout")
_CANARY_KEYS = _schema.keys("rollout", "canary")
_BUDGET_KEYS = _schema.keys("budget")
_SCAN_KEYS = _schema.keys("scan")
_PLAN_KEYS = _schema.keys("plan")
_SNAPSHOT_KEYS = _schema.keys("snapshot")
_HEALTH_KEYS = _schema.keys("health_checks")
_HTTP_CHECK_KEYS = _schema.keys(*_DEFS, "http_check")
_COMMAND_CHECK_KEYS = _schema.keys(*_DEFS, "command_check")
_HOOK_KEYS = _schema.keys(*_DEFS, "hook_mapping")
_NOTIFICATION_KEYS = tuple(_schema.node(*_DEFS, "notification")["allOf"][2]["then"]["propertyNames"]["enum"])
_EMAIL_KEYS = tuple(key for key in _schema.node(*_DEFS, "notification")["allOf"][0]["then"]["propertyNames"]["enum"]
                    if key not in _NOTIFICATION_KEYS)
_WEBHOOK_KEYS = tuple(key for key in _schema.node(*_DEFS, "notification")["allOf"][1]["then"]["propertyNames"]["enum"]
                      if key not in _NOTIFICATION_KEYS)
_PRIORITY_KEYS = _schema.keys("priority")

#: Every key of a version 2 policy with its default (the schema's); "reboot" has none (it must be chosen).
DEFAULTS = {key: _schema.defaults(key) for key in _TOP_KEYS if key not in ("reboot", "priority")}
DEFAULTS["priority"] = None  # filled from priority.validate_policy


class PolicyError(ValueError):
    """A policy that cannot be used: ``errors`` lists every problem as "path: message".

    ``warnings`` and ``notes`` are what validation found besides (an expired
    rejection, what migration changed).
    """

    def __init__(self, errors, warnings=(), notes=()):
        self.errors = list(errors)
        self.warnings = list(warnings)
        self.notes = list(notes)
        super().__init__(self.errors)

    def __str__(self) -> str:
        count = len(self.errors)
        lines = [f"the policy has {count} error{'s' if count != 1 else ''}:"]
        lines += [f"- {error}" for error in self.errors]
        return "\n".join(lines)


# ---------------------------------------------------------------------------
# Reading
# ---------------------------------------------------------------------------

def _is_path(text_or_path) -> bool:
    if isinstance(text_or_path, (PurePath, os.PathLike)):
        return True
    if not isinstance(text_or_path, str) or "\n" in text_or_path:
        return False
    return text_or_path.strip().endswith((".yml", ".yaml", ".json")) or os.path.isfile(text_or_path)


def load_policy(text_or_path) -> dict:
    """The policy mapping from YAML text or a file path, as written (not yet checked).

    A ``pathlib`` path, or a one-line string naming an existing file or
    ending in .yml/.yaml/.json, is read as a file; any other string is the
    YAML text. Raises PolicyError for an unreadable file, YAML that does not
    parse (``FILE: line L, column C: problem``), duplicate keys, or a
    document that is not a mapping.
    """
    if _is_path(text_or_path):
        source = os.fspath(text_or_path)
        try:
            with open(source, encoding="utf-8") as handle:
                text = handle.read()
        except (OSError, UnicodeDecodeError) as exc:
            raise PolicyError([f"{source}: cannot read the policy: {getattr(exc, 'strerror', None) or exc}"]) from None
    elif isinstance(text_or_path, str):
        source, text = "policy", text_or_path
    else:
        raise PolicyError([f"policy: expected YAML text or a file path, got {type(text_or_path).__name__}"])
    if yaml is None:
        raise PolicyError([f"{source}: reading the policy needs the PyYAML library"])

    try:
        data, _node = _yamlinput.load(text)
    except _yamlinput.YamlInputError as exc:
        raise PolicyError([f"{source}: line {item.line}, column {item.column}: {item.message}" if item.line
                           else f"{source}: {item.message}" for item in exc.problems]) from None
    if data is None:
        raise PolicyError([f"{source}: the policy is empty"])
    if not isinstance(data, dict):
        raise PolicyError([f"{source}: expected a mapping of policy keys, got {_schema.kind(data)}"])
    return data


def read_policy(text_or_path, today=None) -> dict:
    """load_policy then validate_policy."""
    return validate_policy(load_policy(text_or_path), today=today)


# ---------------------------------------------------------------------------
# Migration
# ---------------------------------------------------------------------------

def migrate(data) -> tuple:
    """A version 1 policy as version 2: ``(data, notes)``; the input is not changed.

    Version 1 kept ``canary_percent: N`` and ``waves: [...]`` at the top
    level and had ``reboot: true/false``; version 2 has
    ``rollout.canary.percent``, ``rollout.waves`` and
    ``reboot: if_required/never`` (true allowed a reboot when an update asks
    for one). A version 1 key whose new place is taken already is left where
    it is (validate_policy reports it). Anything that is not a version 1
    mapping comes back as it is, with no notes.
    """
    if not isinstance(data, Mapping) or data.get("version") != 1 or isinstance(data.get("version"), bool):
        return (copy.deepcopy(data), [])
    data = copy.deepcopy(dict(data))
    notes = [f"version 1 policy migrated to version {CURRENT_VERSION}"]
    data["version"] = CURRENT_VERSION
    rollout = data.get("rollout")
    if rollout is None and any(key in data for key in _checks.V1_KEYS):
        rollout = data["rollout"] = {}
    if isinstance(rollout, Mapping):
        rollout = data["rollout"] = dict(rollout)
        if "canary_percent" in data and "canary" not in rollout:
            value = data.pop("canary_percent")
            rollout["canary"] = {"percent": value}
            notes.append(f"canary_percent: {_schema.plain(value)} moved to rollout.canary.percent")
        if "waves" in data and "waves" not in rollout:
            rollout["waves"] = data.pop("waves")
            notes.append("waves moved to rollout.waves")
    if isinstance(data.get("reboot"), bool):
        new = "if_required" if data["reboot"] else "never"
        notes.append(f"reboot: {_schema.plain(data['reboot'])} became reboot: {new}")
        data["reboot"] = new
    return data, notes


# ---------------------------------------------------------------------------
# Checking
# ---------------------------------------------------------------------------

def auth_header(token, header=None) -> dict:
    """The header that carries a target's or a hook's token (token_var's value): ``{}`` without a
    token; ``Authorization: Bearer <token>`` for the Authorization header (the default), the token
    as it is in any other header (``X-Api-Key``)."""
    if not token:
        return {}
    name = header or "Authorization"
    return {name: ("Bearer " + token) if name.lower() == "authorization" else token}


def _as_today(today) -> date:
    if today is None:
        return date.today()
    if isinstance(today, datetime):
        return today.date()
    parsed = parse_date(today)
    if parsed is None:
        raise ValueError(f"today: expected a date or an ISO date YYYY-MM-DD, got {today!r}")
    return parsed


def _under(path, owner) -> bool:
    return tuple(path[:len(owner)]) == tuple(owner)


def problems(data: Mapping, migrated: bool = False, more=()) -> list:
    """Every problem of a version 2 policy (as_json's form) as "path: message", in the policy's key order:
    the schema's, the named checks' (policy_checks), and ``more`` ((path, "path: message") pairs)."""
    owning = _checks.check_version_1_keys(data, None, migrated) + _checks.check_smtp_password(data, None) \
        + _checks.check_priority_emergency(data, None)
    owned = list(_checks.OWNED) + [path for path, _message in owning]
    found = [(path, message) for path, message in _schema.problems(data)
             if not any(_under(path, owner) for owner in owned)]
    bad = [path for path, _message in found]

    def clean(path) -> bool:
        """No schema problem at, below or above ``path``."""
        return not any(_under(where, path) or _under(path, where) for where in bad)

    found += owning
    for check in _checks.CHECKS:
        if check in (_checks.check_smtp_password, _checks.check_priority_emergency):
            continue
        try:
            found += check(data, clean)
        except (TypeError, AttributeError, KeyError, ValueError):
            if not bad:  # a check trips only over a shape the schema refused: never over a valid policy
                raise
    # One message per key: the first found (the schema's before the named checks').
    texts, seen = [], set()
    for path, message in found:
        if path not in seen:
            seen.add(path)
            texts.append((path, f"{_schema.path_text(path) or 'policy'}: {message}"))
    texts += list(more)
    texts.sort(key=lambda item: _schema.order(item[0]))
    return [text for _path, text in texts]


def windows_section(section) -> dict:
    """A ``windows`` section as written, checked as the policy checks it and in its normal form.

    Raises ValueError listing its problems ("windows.…: message"; maintenance's functions take raw sections).
    """
    doc = {"version": CURRENT_VERSION, "reboot": "never"}
    if section is not None:
        doc["windows"] = _schema.as_json(section)
    found = [text for text in problems(doc) if text.startswith("windows")]
    if found:
        raise ValueError("; ".join(found))
    return normal_windows(doc.get("windows"))


def validate_policy(data, today=None) -> dict:
    """Check a policy (version 1 or 2, as load_policy returns it) and fill in the defaults.

    Returns the normalised policy (module docstring). Raises PolicyError
    listing every problem, each as "path: message". ``today`` (a date or
    ISO string, default the local date) decides which rejections have
    expired: those are warnings. The input is not changed.
    """
    today = _as_today(today)
    if not isinstance(data, Mapping):
        raise PolicyError([f"policy: expected a mapping of policy keys, got {_schema.kind(data)}"])
    data, notes = migrate(data)
    doc = _schema.as_json(data)
    errors = problems(doc, migrated=bool(notes))
    warnings = _normal.expired_rejections(doc, today)
    if errors:
        raise PolicyError(errors, warnings, notes)

    change_ticket = doc.get("change_ticket")
    approvals, _warnings = _normal.approvals(doc, today)
    policy = {
        "version": CURRENT_VERSION,
        "change_ticket": str(change_ticket).strip() if change_ticket is not None else None,
        "approvers": _normal.unique(doc.get("approvers")),
        "approvals": approvals,
        "windows": normal_windows(doc.get("windows")),
        "emergency": _normal.emergency(doc),
        "rollout": _normal.rollout(doc),
        "budget": _normal.budget(doc),
        "scan": _normal.scan(doc),
        "plan": _normal.section(doc, "plan"),
        "automatic_updaters": doc.get("automatic_updaters", DEFAULTS["automatic_updaters"]),
        "reboot": doc["reboot"],
        "restart_services": doc.get("restart_services", DEFAULTS["restart_services"]),
        "snapshot": _normal.snapshot(doc),
        "health_checks": _normal.health_checks(doc),
        "hooks": _normal.hooks(doc),
        "notifications": _normal.notifications(doc),
    }
    prioritisation = copy.deepcopy(dict(doc.get("priority") or {}))
    prioritisation["emergency"] = {"cves": policy["emergency"]["cves"], "packages": policy["emergency"]["packages"]}
    policy["priority"] = _priority.validate_policy(prioritisation)
    policy["notes"] = notes
    policy["warnings"] = warnings
    return policy
