# Copyright: patchpilot developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The policy: reading it, migrating older versions, and checking it before any host is contacted.

A policy is a YAML mapping with a ``version`` key (docs/policy.md explains
every key; docs/policy.schema.json is its JSON Schema). Version 2 is the
current format; version 1 is read and migrated (:func:`migrate`).

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
        "snapshot": {"default": "package", "groups": {}},   # SNAPSHOT_PROVIDERS
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

Plain Python, no Ansible runtime (PyYAML only to read the text).
"""

from __future__ import annotations

import copy
import math
import os
import re
import shlex
from collections.abc import Mapping
from datetime import date, datetime
from pathlib import PurePath
from urllib.parse import unquote_plus

from ansible_collections.patchpilot.fleet.plugins.module_utils import priority as _priority
from ansible_collections.patchpilot.fleet.plugins.module_utils.maintenance import (
    parse_date,
    show_value,
    unknown_keys,
    validate_windows,
)
from ansible_collections.patchpilot.fleet.plugins.module_utils.records import CLASSIFICATIONS, SEVERITIES
from ansible_collections.patchpilot.fleet.plugins.module_utils.records import STALE_INDEX_CHOICES
from ansible_collections.patchpilot.fleet.plugins.module_utils import yamlinput as _yamlinput

try:
    import yaml
except ImportError:  # only the controller reads policies, and it always has PyYAML
    yaml = None

__all__ = [
    "AUTOMATIC_UPDATERS", "CURRENT_VERSION", "DEFAULTS", "EVENTS", "HOOKS", "HOOK_METHODS", "HOOK_PLACES", "NOTIFICATION_TYPES", "REBOOT_CHOICES", "RESTART_CHOICES",
    "LIMITS", "SECRET_HEADERS", "SMTP_SECURE", "SNAPSHOT_PROVIDERS", "SUPPORTED_VERSIONS", "WEBHOOK_AUTH",
    "WEBHOOK_METHODS", "PolicyError",
    "load_policy", "migrate", "read_policy", "validate_policy",
]

CURRENT_VERSION = 2
SUPPORTED_VERSIONS = (1, 2)
REBOOT_CHOICES = ("never", "if_required", "always")
RESTART_CHOICES = (True, False, "flag")
SNAPSHOT_PROVIDERS = ("package", "btrfs", "lvm", "aws_ebs", "none")
NOTIFICATION_TYPES = ("email", "webhook", "wall", "log")
EVENTS = ("start", "wave", "reboot", "failure", "done")
HOOKS = ("pre_host", "post_host", "pre_wave", "post_wave")
HOOK_PLACES = ("host", "controller")
HOOK_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
WEBHOOK_METHODS = ("POST", "PUT", "PATCH")
SMTP_SECURE = ("never", "try", "starttls", "always")
WEBHOOK_AUTH = ("none", "bearer")
#: Headers that carry credentials: never written in the policy (see docs/policy.md, notifications).
SECRET_HEADERS = ("authorization", "proxy-authorization")
NEW_DEPENDENCIES = ("approved", "any")
#: The largest number each kind of policy value may be (docs/policy.md, "Limits"): anything larger is a
#: typo, and would overflow the planner's date arithmetic. Percentages are 0 to 100.
LIMITS = {
    "minutes": 7 * 24 * 60,                  # rollout.soak_minutes, rollout.minutes_per_host: a week
    "days": _priority.MAX_DAYS,              # approvals.auto.after_days, priority.sla_days: ten years
    "count": 100000,                         # hosts (waves, parallel, per group, budget), journal errors
    "seconds": 24 * 60 * 60,                 # timeouts of hooks and HTTP checks: a day
    "factor": 1000,                          # health_checks.load_factor, memory_factor
    "weight": _priority.MAX_WEIGHT,          # priority.weights
    "hours": 365 * 24,                       # plan.max_age_hours: a year
}
ITEM_KINDS = ("package", "cve", "advisory")

#: Every key of a version 2 policy with its default; "reboot" has none (it must be chosen).
DEFAULTS = {
    "version": CURRENT_VERSION,
    "change_ticket": None,
    "approvers": [],
    "approvals": {
        "auto": {"classifications": [], "severities": [], "after_days": None},
        "approve": [],
        "reject": [],
        "allow_removals": False,
        "new_dependencies": "approved",
    },
    "windows": {"timezone": "UTC", "maintenance": [], "freezes": []},
    "emergency": {"cves": [], "packages": [], "bypass_windows": False, "bypass_freezes": False, "allow_all": False},
    "rollout": {
        "canary": None,
        "soak_minutes": 30,
        "waves": ["rest"],
        "max_per_wave_per_group": 1,
        "anti_affinity": [],
        "minutes_per_host": 10,
        "parallel": 5,
    },
    "budget": {"max_failed": 0, "count_unreachable": True},
    "scan": {"stale_index": "report"},
    "plan": {"max_age_hours": 72},
    "automatic_updaters": "report",
    "restart_services": "flag",
    "snapshot": {"default": "package", "groups": {}},
    "health_checks": {"services": [], "ports": [], "failed_units": True, "journal_errors_max": None,
                      "load_factor": None, "memory_factor": None, "http": [], "commands": []},
    "hooks": {"pre_host": [], "post_host": [], "pre_wave": [], "post_wave": []},
    "notifications": [],
    "priority": None,  # filled from priority.validate_policy
}

_TOP_KEYS = ("version", "change_ticket", "approvers", "approvals", "windows", "emergency", "rollout", "budget",
             "reboot", "restart_services", "snapshot", "health_checks", "hooks", "notifications", "priority",
             "scan", "plan", "automatic_updaters")
_APPROVALS_KEYS = ("auto", "approve", "reject", "allow_removals", "new_dependencies")
_AUTO_KEYS = ("classifications", "severities", "after_days")
_EMERGENCY_KEYS = ("cves", "packages", "bypass_windows", "bypass_freezes", "allow_all")
_ROLLOUT_KEYS = ("canary", "soak_minutes", "waves", "max_per_wave_per_group", "anti_affinity",
                 "minutes_per_host", "parallel")
_CANARY_KEYS = ("hosts", "group", "percent")
_BUDGET_KEYS = ("max_failed", "count_unreachable")
_SCAN_KEYS = ("stale_index",)
_PLAN_KEYS = ("max_age_hours",)
#: What preflight does about an automatic updater (unattended-upgrades, dnf-automatic, a packagekit
#: timer) that could run during the window: report = flag the host, pause = stop it for the run.
AUTOMATIC_UPDATERS = ("report", "pause")
_SNAPSHOT_KEYS = ("default", "groups")
_HEALTH_KEYS = ("services", "ports", "failed_units", "journal_errors_max", "load_factor", "memory_factor",
                "http", "commands")
_HTTP_CHECK_KEYS = ("name", "url", "status", "timeout")
_COMMAND_CHECK_KEYS = ("name", "command", "rc")
_HOOK_KEYS = ("name", "command", "url", "url_var", "on", "method", "headers", "body", "status", "timeout",
              "token_var", "token_header", "undo")
_NOTIFICATION_KEYS = ("type", "target", "events")
_EMAIL_KEYS = ("smtp_host", "smtp_port", "from", "secure", "username", "password_var")
_WEBHOOK_KEYS = ("method", "headers", "auth", "url_var", "token_var", "token_header")
_VAR_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
#: A header or query parameter whose name holds one of these (any case) or has one of the parts
#: below (split at -, _, . and camelCase) looks like a credential: refused in the policy.
_SECRET_WORDS = ("token", "secret", "passw", "passwd", "signature", "apikey", "credential", "private")
_SECRET_PARTS = frozenset(("key", "sig", "pass", "pwd", "auth", "authorization", "code", "session", "cookie",
                           "jwt", "bearer", "hmac"))
_HEADER_RE = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
_PRIORITY_KEYS = ("sla_days", "severity_by_classification", "weights")
#: Version 1 keys and where version 2 keeps them.
_V1_KEYS = {"canary_percent": "rollout.canary.percent", "waves": "rollout.waves"}

_CVE_RE = re.compile(r"^CVE-\d{4}-\d{4,}$")
_PERCENT_RE = re.compile(r"^(\d+(?:\.\d+)?)\s*%$")
_DIGITS_RE = re.compile(r"^[0-9]+$")
_EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_URL_RE = re.compile(r"^https?://[^\s/]+\S*$")
_REBOOT_HINT = "choose never, if_required or always"


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
        raise PolicyError([f"{source}: expected a mapping of policy keys, got {_kind(data)}"])
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
    if rollout is None and any(key in data for key in _V1_KEYS):
        rollout = data["rollout"] = {}
    if isinstance(rollout, Mapping):
        rollout = data["rollout"] = dict(rollout)
        if "canary_percent" in data and "canary" not in rollout:
            value = data.pop("canary_percent")
            rollout["canary"] = {"percent": value}
            notes.append(f"canary_percent: {_plain(value)} moved to rollout.canary.percent")
        if "waves" in data and "waves" not in rollout:
            rollout["waves"] = data.pop("waves")
            notes.append("waves moved to rollout.waves")
    if isinstance(data.get("reboot"), bool):
        new = "if_required" if data["reboot"] else "never"
        notes.append(f"reboot: {_plain(data['reboot'])} became reboot: {new}")
        data["reboot"] = new
    return data, notes


# ---------------------------------------------------------------------------
# Checking
# ---------------------------------------------------------------------------

def _kind(value) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, (list, tuple)):
        return "a list"
    if isinstance(value, date):
        return "a date"
    return type(value).__name__


#: How many characters of a bad value an error message quotes (a long value may be a pasted secret).
_SHOWN = 24


def _plain(value) -> str:
    """A value as an error message shows it (maintenance.show_value), cut to a short prefix."""
    text = show_value(value)
    return text if len(text) <= _SHOWN else text[:_SHOWN - 1] + "\u2026"


def _finite(value) -> bool:
    """True unless the value is, or holds, a float NaN or infinity."""
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, Mapping):
        return all(_finite(item) for item in value.values())
    if isinstance(value, (list, tuple)):
        return all(_finite(item) for item in value)
    return True


def _number(text: str) -> int | float:
    number = float(text)
    return int(number) if number.is_integer() else number


class _Checker:
    """Collects every problem instead of stopping at the first."""

    def __init__(self):
        self.errors: list = []
        self.warnings: list = []

    def error(self, path: str, message: str) -> None:
        self.errors.append(f"{path}: {message}")

    def mapping(self, value, path: str, known, what: str | None = None) -> dict | None:
        """The mapping (unknown keys reported), {} for null, None when it is no mapping."""
        if value is None:
            return {}
        if not isinstance(value, Mapping):
            self.error(path, f"expected {what or 'a mapping'}, got {_kind(value)}")
            return None
        self.errors.extend(unknown_keys(value, known, path))
        return value

    def boolean(self, section: Mapping, key: str, path: str, default: bool) -> bool:
        value = section.get(key)
        if value is None:
            return default
        if not isinstance(value, bool):
            self.error(f"{path}.{key}", f"expected true or false, got {_plain(value)}")
            return default
        return value

    def whole(self, section: Mapping, key: str, path: str, default, minimum: int = 0, unit: str = "",
              nullable: bool = False, maximum: int = LIMITS["count"]):
        """An int from ``minimum`` to ``maximum`` (a LIMITS entry), or ``default`` (reported when bad)."""
        if key not in section or (section[key] is None and not nullable):
            return default
        value = section[key]
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or not minimum <= value <= maximum:
            what = f"a whole number{' of ' + unit if unit else ''} from {minimum} to {maximum}"
            self.error(f"{path}.{key}", f"expected {'null or ' if nullable else ''}{what}, got {_plain(value)}")
            return default
        return value

    def strings(self, value, path: str, what: str = "strings") -> list:
        """A list of non-empty strings, without repeats, in order."""
        if value is None:
            return []
        if not isinstance(value, (list, tuple)):
            self.error(path, f"expected a list of {what}, got {_kind(value)}")
            return []
        found = []
        for index, item in enumerate(value):
            if not isinstance(item, str) or not item.strip():
                self.error(f"{path}[{index}]", f"expected a non-empty string, got {_plain(item)}")
            elif item.strip() not in found:
                found.append(item.strip())
        return found

    def subset(self, value, path: str, allowed) -> list:
        """Words from ``allowed`` (any case), in ``allowed``'s order; each other item reported."""
        if value is None:
            return []
        if not isinstance(value, (list, tuple)):
            self.error(path, f"expected a list of {', '.join(allowed)}, got {_kind(value)}")
            return []
        found = set()
        for index, item in enumerate(value):
            word = item.strip().lower() if isinstance(item, str) else None
            if word not in allowed:
                self.error(f"{path}[{index}]", f"{_plain(item)} is not one of {', '.join(allowed)}")
            else:
                found.add(word)
        return [word for word in allowed if word in found]

    def percent(self, text: str, path: str, allow_zero: bool):
        """A number from "25%"; None (reported) when it is out of range."""
        value = _number(_PERCENT_RE.match(text.strip()).group(1))
        shown = text.strip() if len(text.strip()) <= _SHOWN else _plain(text.strip())
        if not value <= 100:
            self.error(path, f"{shown} is more than 100%")
            return None
        if value == 0 and not allow_zero:
            self.error(path, f"{shown} is not a size: give 1% or more, or a number of hosts")
            return None
        return value


def _check_version(check: _Checker, data: Mapping) -> None:
    if "version" not in data or data["version"] is None:
        check.error("version", f"required (this format is version {CURRENT_VERSION})")
        return
    version = data["version"]
    if isinstance(version, int) and not isinstance(version, bool) and version > CURRENT_VERSION:
        check.error("version", f"{version} is newer than this patchpilot knows "
                               f"({' or '.join(str(v) for v in SUPPORTED_VERSIONS)})")
    elif version != CURRENT_VERSION or isinstance(version, bool):
        check.error("version", f"expected {' or '.join(str(v) for v in SUPPORTED_VERSIONS)}, got {_plain(version)}")


def _check_top_keys(check: _Checker, data: Mapping, migrated: bool) -> None:
    for key in data:
        if key in _TOP_KEYS:
            continue
        if key in _V1_KEYS and migrated:
            check.error(str(key), f"a version 1 key, but {_V1_KEYS[key].rsplit('.percent', 1)[0]} is set too: keep one")
        elif key in _V1_KEYS:
            check.error(str(key), f"a version 1 key: version {CURRENT_VERSION} has {_V1_KEYS[key]}")
        else:
            check.errors.extend(unknown_keys({key: None}, _TOP_KEYS, ""))


def _item(check: _Checker, item: Mapping, path: str) -> dict | None:
    """The subject of an approve/reject entry: exactly one of package, cve or advisory."""
    kinds = [kind for kind in ITEM_KINDS if kind in item]
    if len(kinds) != 1:
        check.error(path, "give exactly one of package, cve or advisory"
                    + (f" (got {', '.join(kinds)})" if kinds else ""))
        return None
    kind = kinds[0]
    value = item[kind]
    if not isinstance(value, str) or not value.strip():
        check.error(f"{path}.{kind}", f"expected a non-empty string, got {_plain(value)}")
        return None
    value = value.strip()
    if kind == "cve":
        value = value.upper()
        if not _CVE_RE.match(value):
            check.error(f"{path}.cve", f"{_plain(item[kind])} is not a CVE id (CVE-YYYY-NNNN)")
            return None
    return {kind: value}


def _approve(check: _Checker, raw, path: str) -> dict | None:
    item = check.mapping(raw, path, ITEM_KINDS + ("note",), "a mapping with one of package, cve or advisory")
    if item is None:
        return None
    entry = _item(check, item, path)
    note = item.get("note")
    if note is not None and not isinstance(note, str):
        check.error(f"{path}.note", f"expected a string, got {_plain(note)}")
        return None
    if entry is not None:
        entry["note"] = note
    return entry


def _reject(check: _Checker, raw, path: str, today: date) -> dict | None:
    item = check.mapping(raw, path, ITEM_KINDS + ("reason", "expires"),
                         "a mapping with one of package, cve or advisory, a reason and an expiry date")
    if item is None:
        return None
    entry = _item(check, item, path)
    reason = item.get("reason")
    if reason is None:
        check.error(f"{path}.reason", "required (say why it is rejected)")
        entry = None
    elif not isinstance(reason, str) or not reason.strip():
        check.error(f"{path}.reason", f"expected a non-empty string, got {_plain(reason)}")
        entry = None
    expires = item.get("expires")
    when = parse_date(expires)
    if expires is None:
        check.error(f"{path}.expires", "required (the date YYYY-MM-DD after which the rejection lapses)")
        entry = None
    elif when is None:
        check.error(f"{path}.expires", f"expected a date YYYY-MM-DD, got {_plain(expires)}")
        entry = None
    if entry is None:
        return None
    expired = when < today
    if expired:
        check.warnings.append(f"{path}: expired on {when.isoformat()}; it no longer applies")
    entry.update(reason=reason.strip(), expires=when.isoformat(), expired=expired)
    return entry


def _check_approvals(check: _Checker, section, today: date) -> dict:
    out = copy.deepcopy(DEFAULTS["approvals"])
    section = check.mapping(section, "approvals", _APPROVALS_KEYS)
    if not section:
        return out
    auto = check.mapping(section.get("auto"), "approvals.auto", _AUTO_KEYS)
    if auto:
        out["auto"]["classifications"] = check.subset(auto.get("classifications"), "approvals.auto.classifications",
                                                      CLASSIFICATIONS)
        out["auto"]["severities"] = check.subset(auto.get("severities"), "approvals.auto.severities", SEVERITIES)
        out["auto"]["after_days"] = check.whole(auto, "after_days", "approvals.auto", None, unit="days",
                                                nullable=True, maximum=LIMITS["days"])
    for key in ("approve", "reject"):
        items = section.get(key)
        if items is None:
            continue
        if not isinstance(items, (list, tuple)):
            check.error(f"approvals.{key}", f"expected a list, got {_kind(items)}")
            continue
        for index, raw in enumerate(items):
            path = f"approvals.{key}[{index}]"
            entry = _approve(check, raw, path) if key == "approve" else _reject(check, raw, path, today)
            if entry is not None:
                out[key].append(entry)
    out["allow_removals"] = check.boolean(section, "allow_removals", "approvals", False)
    value = section.get("new_dependencies")
    if value is not None:
        if value not in NEW_DEPENDENCIES:
            check.error("approvals.new_dependencies", f"{_plain(value)} is not one of {', '.join(NEW_DEPENDENCIES)}")
        else:
            out["new_dependencies"] = value
    return out


def _check_emergency(check: _Checker, section) -> dict:
    out = copy.deepcopy(DEFAULTS["emergency"])
    section = check.mapping(section, "emergency", _EMERGENCY_KEYS)
    if not section:
        return out
    cves = section.get("cves")
    if cves is not None and not isinstance(cves, (list, tuple)):
        check.error("emergency.cves", f"expected a list of CVE ids, got {_kind(cves)}")
    else:
        for index, cve in enumerate(cves or ()):
            text = str(cve).strip().upper() if isinstance(cve, str) else ""
            if not _CVE_RE.match(text):
                check.error(f"emergency.cves[{index}]", f"{_plain(cve)} is not a CVE id (CVE-YYYY-NNNN)")
            elif text not in out["cves"]:
                out["cves"].append(text)
    out["packages"] = check.strings(section.get("packages"), "emergency.packages", "package name patterns")
    out["bypass_windows"] = check.boolean(section, "bypass_windows", "emergency", False)
    out["bypass_freezes"] = check.boolean(section, "bypass_freezes", "emergency", False)
    out["allow_all"] = check.boolean(section, "allow_all", "emergency", False)
    if not out["allow_all"]:
        raw = section.get("packages") if isinstance(section.get("packages"), (list, tuple)) else ()
        for index, pattern in enumerate(raw):
            if isinstance(pattern, str) and pattern.strip() and _matches_everything(pattern.strip()):
                # An emergency is approved over every rejection, kernels and held packages included.
                check.error(f"emergency.packages[{index}]",
                            f"{_plain(pattern.strip())} matches every package: that approves every update on every "
                            "host, rejections included; name the packages, or set emergency.allow_all: true "
                            "if that is really meant")
    if (out["bypass_windows"] or out["bypass_freezes"]) and not out["cves"] and not out["packages"] \
            and not any(error.startswith("emergency.") for error in check.errors):
        check.error("emergency", "bypass_windows and bypass_freezes apply to an emergency update, but the emergency "
                                 "names no CVE and no package: list them in emergency.cves or emergency.packages "
                                 "(or run playbooks/emergency.yml, which names them for one run)")
    return out


def _matches_everything(pattern: str) -> bool:
    """True for a package pattern with no literal character (``*``, ``?*``, ``[a-z]*``): it matches (nearly) all."""
    return re.sub(r"\[[^\]]*\]|[*?]", "", pattern) == ""


def _canary(check: _Checker, value) -> dict | None:
    section = check.mapping(value, "rollout.canary", _CANARY_KEYS, "a mapping with one of hosts, group or percent")
    if section is None or value is None:
        return None
    given = [key for key in _CANARY_KEYS if key in section]
    if len(given) != 1:
        check.error("rollout.canary", "give exactly one of hosts, group or percent"
                    + (f" (got {', '.join(given)})" if given else ""))
        return None
    key = given[0]
    item = section[key]
    path = f"rollout.canary.{key}"
    if key == "hosts":
        hosts = check.strings(item, path, "host names")
        if not hosts:
            if isinstance(item, (list, tuple)) and not item:
                check.error(path, "expected at least one host name")
            return None
        return {"hosts": hosts}
    if key == "group":
        if not isinstance(item, str) or not item.strip():
            check.error(path, f"expected a group name, got {_plain(item)}")
            return None
        return {"group": item.strip()}
    number = None
    if isinstance(item, str) and _PERCENT_RE.match(item.strip()):
        number = _number(_PERCENT_RE.match(item.strip()).group(1))
    elif isinstance(item, (int, float)) and not isinstance(item, bool):
        number = item
    if number is None or not 0 < number <= 100:
        check.error(path, f"expected a percentage above 0 and at most 100, got {_plain(item)}")
        return None
    return {"percent": int(number) if float(number).is_integer() else number}


def _waves(check: _Checker, value) -> list | None:
    path = "rollout.waves"
    if value is None:
        return copy.deepcopy(DEFAULTS["rollout"]["waves"])
    if not isinstance(value, (list, tuple)) or not value:
        check.error(path, f"expected a list of wave sizes (a number of hosts, a percentage such as \"25%\", "
                          f"or \"rest\"), got {'an empty list' if isinstance(value, (list, tuple)) else _kind(value)}")
        return None
    waves, ok = [], True
    percent_total, counts = 0, 0
    for index, item in enumerate(value):
        where = f"{path}[{index}]"
        if percent_total >= 100:
            check.error(where, f"the waves before it already take {_number(str(round(percent_total, 4)))}% of the hosts, "
                               "so this wave would be empty")
            ok = False
            continue
        if isinstance(item, bool) or not isinstance(item, (int, str)):
            check.error(where, f"expected a number of hosts, a percentage such as \"25%\", or \"rest\", "
                               f"got {_plain(item)}")
            ok = False
        elif isinstance(item, int) or _DIGITS_RE.match(item.strip()):
            if not isinstance(item, int) and len(item.strip()) > 9:
                check.error(where, f"a wave has at most {LIMITS['count']} hosts, got {_plain(item)}")
                ok = False
                continue
            item = int(item)
            if item < 1:
                check.error(where, f"a wave needs at least 1 host, got {item}")
                ok = False
            elif item > LIMITS["count"]:
                check.error(where, f"a wave has at most {LIMITS['count']} hosts, got {item}")
                ok = False
            else:
                counts += item
                waves.append(item)
        elif item.strip().lower() == "rest":
            if index != len(value) - 1:
                check.error(where, "\"rest\" must be the last wave")
                ok = False
            else:
                waves.append("rest")
        elif _PERCENT_RE.match(item.strip()):
            number = check.percent(item, where, allow_zero=False)
            if number is None:
                ok = False
            else:
                percent_total += number
                waves.append({"percent": number})
        else:
            check.error(where, f"expected a number of hosts, a percentage such as \"25%\", or \"rest\", "
                               f"got {_plain(item)}")
            ok = False
    if not ok:
        return None
    if percent_total > 100:
        check.error(path, f"the percentages add up to {_number(str(round(percent_total, 4)))}%, more than 100% "
                          "(each is one wave's own share, not a running total; end with \"rest\" for the remainder)")
        return None
    if waves[-1] != "rest" and percent_total < 100:
        parts = []
        if percent_total:
            parts.append(f"{_number(str(round(percent_total, 4)))}%")
        if counts:
            parts.append(f"{counts} host{'s' if counts != 1 else ''}")
        check.error(path, f"the waves take {' and '.join(parts)}, which does not cover every host: "
                          "end with \"rest\" or make the percentages add up to 100%")
        return None
    return waves


def _anti_affinity(check: _Checker, value) -> list | None:
    path = "rollout.anti_affinity"
    if value is None:
        return []
    if not isinstance(value, (list, tuple)):
        check.error(path, f"expected a list of host lists or {{group: NAME}} mappings, got {_kind(value)}")
        return None
    groups = []
    for index, item in enumerate(value):
        where = f"{path}[{index}]"
        if isinstance(item, Mapping):
            section = check.mapping(item, where, ("group",))
            group = section.get("group")
            if group is None:
                check.error(f"{where}.group", "required (an inventory group name)")
                continue
            if not isinstance(group, str) or not group.strip():
                check.error(f"{where}.group", f"expected a group name, got {_plain(group)}")
                continue
            groups.append({"group": group.strip()})
        elif isinstance(item, (list, tuple)):
            before = len(check.errors)
            hosts = check.strings(item, where, "host names")
            if len(check.errors) > before:
                continue
            if len(hosts) != len(item):
                check.error(where, "a host is listed twice")
            elif len(hosts) < 2:
                check.error(where, f"expected at least two hosts, got {len(hosts)}")
            else:
                groups.append(hosts)
        else:
            check.error(where, f"expected a list of host names or {{group: NAME}}, got {_kind(item)}")
    return groups


def _check_rollout(check: _Checker, section) -> dict:
    out = copy.deepcopy(DEFAULTS["rollout"])
    section = check.mapping(section, "rollout", _ROLLOUT_KEYS)
    if not section:
        return out
    out["canary"] = _canary(check, section.get("canary"))
    out["soak_minutes"] = check.whole(section, "soak_minutes", "rollout", out["soak_minutes"], unit="minutes",
                                      maximum=LIMITS["minutes"])
    waves = _waves(check, section.get("waves"))
    out["waves"] = waves if waves is not None else out["waves"]
    for key in ("max_per_wave_per_group", "parallel"):
        out[key] = check.whole(section, key, "rollout", out[key], minimum=1)
    out["minutes_per_host"] = check.whole(section, "minutes_per_host", "rollout", out["minutes_per_host"], minimum=1,
                                          unit="minutes", maximum=LIMITS["minutes"])
    groups = _anti_affinity(check, section.get("anti_affinity"))
    out["anti_affinity"] = groups or []
    if waves is not None and groups:
        per_wave = out["max_per_wave_per_group"]
        available = len(waves) + (1 if out["canary"] else 0)
        for index, group in enumerate(groups):
            if isinstance(group, list):
                needed = math.ceil(len(group) / per_wave)
                if needed > available:
                    check.error(f"rollout.anti_affinity[{index}]",
                                f"{len(group)} hosts at most {per_wave} per wave need {needed} waves, "
                                f"but the rollout has {available}"
                                + (" (canary included)" if out["canary"] else ""))
    return out


def _check_budget(check: _Checker, section) -> dict:
    out = copy.deepcopy(DEFAULTS["budget"])
    section = check.mapping(section, "budget", _BUDGET_KEYS)
    if not section:
        return out
    value = section.get("max_failed")
    path = "budget.max_failed"
    if value is None:
        pass
    elif isinstance(value, str) and _PERCENT_RE.match(value.strip()):
        number = check.percent(value, path, allow_zero=True)
        if number is not None:
            out["max_failed"] = {"percent": number}
    elif not isinstance(value, bool) and (isinstance(value, int) or isinstance(value, str)
                                          and _DIGITS_RE.match(value.strip()) and len(value.strip()) <= 9) \
            and 0 <= int(value) <= LIMITS["count"]:
        out["max_failed"] = int(value)
    else:
        check.error(path, f"expected a number of hosts from 0 to {LIMITS['count']}, or a percentage such as "
                          f"\"10%\", got {_plain(value)}")
    out["count_unreachable"] = check.boolean(section, "count_unreachable", "budget", True)
    return out


def _check_scan(check: _Checker, section) -> dict:
    """scan.stale_index: what becomes of a host whose package index could not be refreshed."""
    out = copy.deepcopy(DEFAULTS["scan"])
    section = check.mapping(section, "scan", _SCAN_KEYS)
    if not section or section.get("stale_index") is None:
        return out
    value = section["stale_index"]
    if value not in STALE_INDEX_CHOICES or isinstance(value, bool):
        check.error("scan.stale_index", f"{_plain(value)} is not one of {', '.join(STALE_INDEX_CHOICES)}")
    else:
        out["stale_index"] = value
    return out


def _check_plan(check: _Checker, section) -> dict:
    """plan.max_age_hours: a reviewed plan older than this is refused."""
    out = copy.deepcopy(DEFAULTS["plan"])
    section = check.mapping(section, "plan", _PLAN_KEYS)
    if not section:
        return out
    out["max_age_hours"] = check.whole(section, "max_age_hours", "plan", out["max_age_hours"], minimum=1,
                                       unit="hours", maximum=LIMITS["hours"])
    return out


def _check_automatic_updaters(check: _Checker, value) -> str:
    """automatic_updaters: report (flag the host in preflight) or pause (stop them for the run)."""
    if value is None:
        return DEFAULTS["automatic_updaters"]
    if isinstance(value, bool) or value not in AUTOMATIC_UPDATERS:
        check.error("automatic_updaters", f"{_plain(value)} is not one of {', '.join(AUTOMATIC_UPDATERS)}")
        return DEFAULTS["automatic_updaters"]
    return value


def _check_reboot(check: _Checker, data: Mapping):
    value = data.get("reboot")
    if value is None:
        check.error("reboot", _REBOOT_HINT)
        return None
    if value not in REBOOT_CHOICES or isinstance(value, bool):
        hint = " (true/false was version 1)" if isinstance(value, bool) else ""
        check.error("reboot", f"{_plain(value)} is not a choice: {_REBOOT_HINT}{hint}")
        return None
    return value


def _check_snapshot(check: _Checker, section) -> dict:
    out = copy.deepcopy(DEFAULTS["snapshot"])
    section = check.mapping(section, "snapshot", _SNAPSHOT_KEYS)
    if not section:
        return out
    providers = ", ".join(SNAPSHOT_PROVIDERS)
    default = section.get("default")
    if default is not None:
        if default not in SNAPSHOT_PROVIDERS:
            check.error("snapshot.default", f"{_plain(default)} is not a snapshot provider ({providers})")
        else:
            out["default"] = default
    groups = section.get("groups")
    if groups is not None and not isinstance(groups, Mapping):
        check.error("snapshot.groups", f"expected a mapping of group name to provider, got {_kind(groups)}")
    else:
        for group, provider in (groups or {}).items():
            if provider not in SNAPSHOT_PROVIDERS or isinstance(provider, bool):
                check.error(f"snapshot.groups.{group}", f"{_plain(provider)} is not a snapshot provider ({providers})")
            else:
                out["groups"][str(group)] = provider
    return out


def _looks_secret(name: str) -> bool:
    """True when a header or query parameter name looks like it carries a credential."""
    low = name.lower()
    if low in SECRET_HEADERS or any(word in low for word in _SECRET_WORDS):
        return True
    parts = re.split(r"[^a-z0-9]+", re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name).lower())
    return any(part in _SECRET_PARTS for part in parts)


def _url(check: _Checker, value, path: str) -> str | None:
    """An http(s) URL without credentials in it, or None (reported); a bad value is quoted only briefly."""
    if not isinstance(value, str) or not value.strip():
        check.error(path, f"expected an http:// or https:// URL, got {_plain(value)}")
        return None
    value = value.strip()
    if not _URL_RE.match(value):
        check.error(path, f"{_plain(value)} is not an http:// or https:// URL")
        return None
    if "@" in value.split("/", 3)[2]:
        check.error(path, "a URL with a user or password in it: credentials do not belong in the policy "
                          "(keep the whole URL in a variable and name it with url_var: VARIABLE)")
        return None
    query = value.split("#", 1)[0].split("?", 1)[1] if "?" in value.split("#", 1)[0] else ""
    for pair in re.split(r"[&;]", query):
        name = unquote_plus(pair.split("=", 1)[0])
        if name and _looks_secret(name):
            check.error(path, f"the query parameter {_plain(name)} looks like a credential: credentials do not belong "
                              "in the policy (it is plain text, reviewed and versioned); keep the whole URL in a "
                              "variable (Ansible Vault, an AWX credential or lookup('env', ...)) and name it with "
                              "url_var: VARIABLE")
            return None
    return value


def _var_name(check: _Checker, section: Mapping, key: str, path: str) -> str | None:
    """The name of the variable that holds a secret (token_var, url_var, password_var), or None."""
    value = section.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not _VAR_RE.match(value.strip()):
        check.error(f"{path}.{key}", f"{_plain(value)} is not a variable name")
        return None
    return value.strip()


def _headers(check: _Checker, headers, path: str) -> dict:
    """Plain HTTP headers, name to string; one that looks like a credential is refused with the way to pass it."""
    out = {}
    if headers is not None and not isinstance(headers, Mapping):
        check.error(f"{path}.headers", f"expected a mapping of header name to value, got {_kind(headers)}")
        return out
    for name, value in (headers or {}).items():
        where = f"{path}.headers.{name}"
        if not isinstance(name, str) or not _HEADER_RE.match(name):
            check.error(f"{path}.headers", f"{_plain(name)} is not an HTTP header name")
        elif _looks_secret(name):
            check.error(where, "looks like a credential: credentials do not belong in the policy (it is plain text, "
                               "reviewed and versioned); keep the value in a variable (Ansible Vault, an AWX "
                               f"credential or lookup('env', ...)) and name it: token_var: VARIABLE, "
                               f"token_header: {name}")
        elif isinstance(value, bool) or not isinstance(value, (str, int, float)) or not _finite(value):
            check.error(where, f"expected a string, got {_plain(value)}")
        else:
            out[name] = str(value)
    return out


def _token(check: _Checker, item: Mapping, path: str) -> tuple:
    """(token_var, token_header): the variable with the secret sent in a header, and the header."""
    token_var = _var_name(check, item, "token_var", path)
    header = item.get("token_header")
    if header is None:
        return token_var, "Authorization" if token_var else None
    if item.get("token_var") is None:
        check.error(f"{path}.token_header", "only with token_var")
    elif not isinstance(header, str) or not _HEADER_RE.match(header.strip()):
        check.error(f"{path}.token_header", f"{_plain(header)} is not an HTTP header name")
    else:
        return token_var, header.strip()
    return token_var, None


def auth_header(token, header=None) -> dict:
    """The header that carries a target's or a hook's token (token_var's value): ``{}`` without a
    token; ``Authorization: Bearer <token>`` for the Authorization header (the default), the token
    as it is in any other header (``X-Api-Key``)."""
    if not token:
        return {}
    name = header or "Authorization"
    return {name: ("Bearer " + token) if name.lower() == "authorization" else token}


def _command(check: _Checker, value, path: str) -> list | None:
    """A command as an argument list: a command line split as a shell would (no shell runs it), or a list."""
    if isinstance(value, str) and value.strip():
        try:
            argv = shlex.split(value)
        except ValueError as exc:
            check.error(path, f"cannot split the command line: {exc}")
            return None
        if argv:
            return argv
    if isinstance(value, (list, tuple)) and value \
            and all(isinstance(arg, str) for arg in value) and value[0].strip():
        return list(value)
    if isinstance(value, (list, tuple)) and value:
        check.error(path, "expected a list of arguments: strings, the first (the program) not empty")
        return None
    check.error(path, f"expected a command line or a list of arguments, got {_plain(value)}")
    return None


def _status(check: _Checker, section: Mapping, path: str, default: int = 200) -> int:
    value = section.get("status")
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int) or not 100 <= value <= 599:
        check.error(f"{path}.status", f"expected an HTTP status code from 100 to 599, got {_plain(value)}")
        return default
    return value


def _name(check: _Checker, section: Mapping, path: str, default: str) -> str:
    value = section.get("name")
    if value is None:
        return default
    if not isinstance(value, str) or not value.strip():
        check.error(f"{path}.name", f"expected a non-empty string, got {_plain(value)}")
        return default
    return value.strip()


def _http_checks(check: _Checker, items, path: str) -> list:
    if items is None:
        return []
    if not isinstance(items, (list, tuple)):
        check.error(path, f"expected a list of {{url, status, timeout, name}} mappings, got {_kind(items)}")
        return []
    out = []
    for index, raw in enumerate(items):
        where = f"{path}[{index}]"
        item = check.mapping(raw, where, _HTTP_CHECK_KEYS, "a mapping with url (and status, timeout, name)")
        if item is None:
            continue
        before = len(check.errors)
        if item.get("url") is None:
            check.error(f"{where}.url", "required (an http:// or https:// URL)")
            url = None
        else:
            url = _url(check, item["url"], f"{where}.url")
        entry = {"name": _name(check, item, where, url or ""), "url": url, "status": _status(check, item, where),
                 "timeout": check.whole(item, "timeout", where, 10, minimum=1, unit="seconds",
                                        maximum=LIMITS["seconds"])}
        if len(check.errors) == before:
            out.append(entry)
    return out


def _command_checks(check: _Checker, items, path: str) -> list:
    if items is None:
        return []
    if not isinstance(items, (list, tuple)):
        check.error(path, f"expected a list of {{command, rc, name}} mappings, got {_kind(items)}")
        return []
    out = []
    for index, raw in enumerate(items):
        where = f"{path}[{index}]"
        item = check.mapping(raw, where, _COMMAND_CHECK_KEYS, "a mapping with command (and rc, name)")
        if item is None:
            continue
        before = len(check.errors)
        if item.get("command") is None:
            check.error(f"{where}.command", "required (a command line or a list of arguments)")
            argv = None
        else:
            argv = _command(check, item["command"], f"{where}.command")
        entry = {"name": _name(check, item, where, shlex.join(argv) if argv else ""), "command": argv,
                 "rc": check.whole(item, "rc", where, 0, maximum=255)}
        if len(check.errors) == before:
            out.append(entry)
    return out


def _check_health(check: _Checker, section) -> dict:
    out = copy.deepcopy(DEFAULTS["health_checks"])
    section = check.mapping(section, "health_checks", _HEALTH_KEYS)
    if not section:
        return out
    out["services"] = check.strings(section.get("services"), "health_checks.services", "service names")
    ports = section.get("ports")
    if ports is not None and not isinstance(ports, (list, tuple)):
        check.error("health_checks.ports", f"expected a list of port numbers, got {_kind(ports)}")
    else:
        for index, port in enumerate(ports or ()):
            if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
                check.error(f"health_checks.ports[{index}]", f"expected a port number from 1 to 65535, got {_plain(port)}")
            elif port not in out["ports"]:
                out["ports"].append(port)
    out["failed_units"] = check.boolean(section, "failed_units", "health_checks", True)
    out["journal_errors_max"] = check.whole(section, "journal_errors_max", "health_checks", None, nullable=True)
    for key, low in (("load_factor", 0), ("memory_factor", 1)):
        factor = section.get(key)
        if factor is None:
            continue
        # NaN compares false with everything: a NaN factor would make the check unable to fail.
        if isinstance(factor, bool) or not isinstance(factor, (int, float)) or not math.isfinite(factor) \
                or not low < factor <= LIMITS["factor"]:
            check.error(f"health_checks.{key}", f"expected a number above {low} and at most {LIMITS['factor']}, "
                                                f"or null, got {_plain(factor)}")
        else:
            out[key] = factor
    out["http"] = _http_checks(check, section.get("http"), "health_checks.http")
    out["commands"] = _command_checks(check, section.get("commands"), "health_checks.commands")
    return out


def _hook(check: _Checker, raw, path: str, phase: str, is_undo: bool = False) -> dict | None:
    """One hook in its normalised form (docs/policy.md, hooks), or None (reported)."""
    default_on = "host" if phase.endswith("_host") else "controller"
    if not isinstance(raw, Mapping):
        argv = _command(check, raw, path)
        if argv is None:
            return None
        return {"name": raw.strip() if isinstance(raw, str) else shlex.join(argv), "command": argv, "url": None,
                "url_var": None, "on": default_on, "method": None, "headers": None, "body": None, "status": None,
                "timeout": 30, "token_var": None, "token_header": None, "undo": None}
    before = len(check.errors)
    if True in raw and "on" not in raw:  # `on:` read by a YAML 1.1 reader (PyYAML, Ansible) is the key True
        raw = {("on" if key is True else key): value for key, value in raw.items()}
    item = check.mapping(raw, path, _HOOK_KEYS)
    if is_undo and item.get("undo") is not None:
        check.error(f"{path}.undo", "an undo has no undo of its own")
    given = [key for key in ("command", "url", "url_var") if item.get(key) is not None]
    if len(given) != 1:
        check.error(path, "give exactly one of command, url or url_var"
                    + (f" (got {', '.join(given)})" if len(given) > 1 else ""))
        return None
    hook = {"name": None, "command": None, "url": None, "url_var": None, "on": default_on, "method": None,
            "headers": None, "body": None, "status": None,
            "timeout": check.whole(item, "timeout", path, 30, minimum=1, unit="seconds", maximum=LIMITS["seconds"]),
            "token_var": None, "token_header": None, "undo": None}
    place = item.get("on")
    if given == ["command"]:
        hook["command"] = _command(check, item["command"], f"{path}.command")
        for key in ("method", "headers", "body", "status", "token_var", "token_header"):
            if item.get(key) is not None:
                check.error(f"{path}.{key}", "only for a url hook")
        if place is not None:
            if place not in HOOK_PLACES:
                check.error(f"{path}.on", f"{_plain(place)} is not one of {', '.join(HOOK_PLACES)}")
            else:
                hook["on"] = place
        default_name = shlex.join(hook["command"]) if hook["command"] else ""
    else:
        if given == ["url"]:
            hook["url"] = _url(check, item["url"], f"{path}.url")
        else:  # the URL is the secret (a chat webhook): only the variable's name is in the policy
            hook["url_var"] = _var_name(check, item, "url_var", path)
        hook["headers"] = _headers(check, item.get("headers"), path)
        hook["token_var"], hook["token_header"] = _token(check, item, path)
        hook["on"] = "controller"
        if place is not None and place != "controller":
            check.error(f"{path}.on", f"a url hook always runs from the controller, got {_plain(place)}")
        method = item.get("method")
        hook["method"] = "POST"
        if method is not None:
            if not isinstance(method, str) or method.strip().upper() not in HOOK_METHODS:
                check.error(f"{path}.method", f"{_plain(method)} is not one of {', '.join(HOOK_METHODS)}")
            else:
                hook["method"] = method.strip().upper()
        body = item.get("body")
        if body is not None:
            if not isinstance(body, Mapping):
                check.error(f"{path}.body", f"expected a mapping (sent as JSON), got {_kind(body)}")
            elif not _finite(body):
                check.error(f"{path}.body", "NaN and infinity are no JSON numbers: give a finite number")
            else:
                hook["body"] = _as_json_data(body)
        hook["status"] = _status(check, item, path)
        default_name = f"{hook['method']} {hook['url'] or '<' + (hook['url_var'] or '') + '>'}"
    hook["name"] = _name(check, item, path, default_name)
    if item.get("undo") is not None and not is_undo:
        hook["undo"] = _hook(check, item["undo"], f"{path}.undo", phase, is_undo=True)
    if len(check.errors) > before:
        return None
    return hook


def _as_json_data(value):
    """Plain JSON data: dates (YAML reads 2026-01-01 as one) become ISO strings, keys strings."""
    if isinstance(value, Mapping):
        return {str(key): _as_json_data(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_as_json_data(item) for item in value]
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    return value


def _check_hooks(check: _Checker, section) -> dict:
    out = copy.deepcopy(DEFAULTS["hooks"])
    section = check.mapping(section, "hooks", HOOKS)
    if not section:
        return out
    for key in HOOKS:
        hooks = section.get(key)
        if hooks is None:
            continue
        if not isinstance(hooks, (list, tuple)):
            check.error(f"hooks.{key}", f"expected a list of hooks (commands or mappings), got {_kind(hooks)}")
            continue
        for index, raw in enumerate(hooks):
            hook = _hook(check, raw, f"hooks.{key}[{index}]", key)
            if hook is not None:
                out[key].append(hook)
    return out


def _email_options(check: _Checker, item: Mapping, path: str) -> dict:
    out = {"smtp_host": "localhost", "smtp_port": 25, "from": None, "secure": "try", "username": None,
           "password_var": None}
    host = item.get("smtp_host")
    if host is not None:
        if not isinstance(host, str) or not host.strip() or any(c.isspace() for c in host.strip()):
            check.error(f"{path}.smtp_host", f"expected a host name or address, got {_plain(host)}")
        else:
            out["smtp_host"] = host.strip()
    port = item.get("smtp_port")
    if port is not None:
        if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
            check.error(f"{path}.smtp_port", f"expected a port number from 1 to 65535, got {_plain(port)}")
        else:
            out["smtp_port"] = port
    sender = item.get("from")
    if sender is not None:
        if not isinstance(sender, str) or not _EMAIL_RE.match(sender.strip()):
            check.error(f"{path}.from", f"{_plain(sender)} is not an email address")
        else:
            out["from"] = sender.strip()
    secure = item.get("secure")
    if secure is not None:
        if secure not in SMTP_SECURE:
            check.error(f"{path}.secure", f"{_plain(secure)} is not one of {', '.join(SMTP_SECURE)}")
        else:
            out["secure"] = secure
    user = item.get("username")
    if user is not None:
        if not isinstance(user, str) or not user.strip():
            check.error(f"{path}.username", f"expected a non-empty string, got {_plain(user)}")
        else:
            out["username"] = user.strip()
    if item.get("password_var") is not None:
        if user is None:
            check.error(f"{path}.password_var", "only with username")
        else:
            out["password_var"] = _var_name(check, item, "password_var", path)
    return out


def _webhook_options(check: _Checker, item: Mapping, path: str) -> dict:
    out = {"method": "POST", "headers": {}, "auth": "none", "url_var": None, "token_var": None,
           "token_header": None}
    method = item.get("method")
    if method is not None:
        if not isinstance(method, str) or method.strip().upper() not in WEBHOOK_METHODS:
            check.error(f"{path}.method", f"{_plain(method)} is not one of {', '.join(WEBHOOK_METHODS)}")
        else:
            out["method"] = method.strip().upper()
    out["headers"] = _headers(check, item.get("headers"), path)
    auth = item.get("auth")
    if auth is not None:
        if auth not in WEBHOOK_AUTH:
            check.error(f"{path}.auth", f"{_plain(auth)} is not one of {', '.join(WEBHOOK_AUTH)}")
        elif auth == "bearer" and item.get("token_var") is not None:
            check.error(f"{path}.auth", "bearer is the variable patchpilot_webhook_token: give auth or token_var, "
                                        "not both")
        else:
            out["auth"] = auth
    out["url_var"] = _var_name(check, item, "url_var", path)
    out["token_var"], out["token_header"] = _token(check, item, path)
    target = item.get("target")
    # What the play's output and notify_result show for the target: never a URL held in a variable.
    out["label"] = target.strip() if isinstance(target, str) else f"<{out['url_var']}>"
    return out


def _check_notifications(check: _Checker, items) -> list:
    if items is None:
        return []
    if not isinstance(items, (list, tuple)):
        check.error("notifications", f"expected a list, got {_kind(items)}")
        return []
    out = []
    for index, raw in enumerate(items):
        path = f"notifications[{index}]"
        kind = raw.get("type") if isinstance(raw, Mapping) else None
        extra = _EMAIL_KEYS if kind == "email" else _WEBHOOK_KEYS if kind == "webhook" else ()
        before = len(check.errors)
        if kind == "email" and "password" in raw:
            check.error(f"{path}.password", "the SMTP password is never written in the policy: set the variable "
                                            "patchpilot_smtp_password (Ansible Vault or an AWX credential)")
            raw = {key: value for key, value in raw.items() if key != "password"}
        item = check.mapping(raw, path, _NOTIFICATION_KEYS + extra, "a mapping with type, target and events")
        if item is None:
            continue
        if kind is None:
            check.error(f"{path}.type", f"required ({', '.join(NOTIFICATION_TYPES)})")
        elif kind not in NOTIFICATION_TYPES:
            check.error(f"{path}.type", f"{_plain(kind)} is not one of {', '.join(NOTIFICATION_TYPES)}")
        target = item.get("target")
        if kind == "webhook" and target is not None and item.get("url_var") is not None:
            check.error(path, "give exactly one of target or url_var (got both)")
        elif kind == "webhook" and target is None and item.get("url_var") is not None:
            pass  # the URL is the secret (a chat webhook): only the variable's name is in the policy
        elif target is None:
            if kind == "email":
                check.error(f"{path}.target", f"required for a {kind} notification")
            elif kind == "webhook":
                check.error(f"{path}.target", "required for a webhook notification "
                                              "(or url_var: the variable holding the URL)")
        elif kind == "wall":
            check.error(f"{path}.target", "a wall message goes to the terminals of the hosts being patched: "
                                          "it has no target")
        elif not isinstance(target, str) or not target.strip():
            check.error(f"{path}.target", f"expected a non-empty string, got {_plain(target)}")
        elif kind == "email" and not _EMAIL_RE.match(target.strip()):
            check.error(f"{path}.target", f"{_plain(target)} is not an email address")
        elif kind == "webhook":
            _url(check, target, f"{path}.target")
        events = list(EVENTS)
        if item.get("events") is not None:
            errors = len(check.errors)
            events = check.subset(item["events"], f"{path}.events", EVENTS)
            if len(check.errors) == errors and not events:
                check.error(f"{path}.events", f"expected at least one of {', '.join(EVENTS)}")
        entry = {"type": kind, "target": target.strip() if isinstance(target, str) else None, "events": events}
        if kind == "email":
            entry.update(_email_options(check, item, path))
        elif kind == "webhook":
            entry.update(_webhook_options(check, item, path))
        if len(check.errors) == before:
            out.append(entry)
    return out


def _check_priority(check: _Checker, section) -> dict:
    """The prioritisation keys, each checked by priority.validate_policy (which stops at its first problem)."""
    if section is None:
        return {}
    if not isinstance(section, Mapping):
        check.error("priority", f"expected a mapping, got {_kind(section)}")
        return {}
    valid = {}
    for key, value in section.items():
        if key == "emergency":
            check.error("priority.emergency", "emergency rules are set once, in the top-level emergency key")
        elif key not in _PRIORITY_KEYS:
            check.errors.extend(unknown_keys({key: value}, _PRIORITY_KEYS, "priority"))
        else:
            try:
                _priority.validate_policy({key: value})
            except ValueError as exc:
                message = str(exc)
                check.errors.append("priority" + message[len("policy"):] if message.startswith("policy") else message)
            else:
                valid[key] = value
    return valid


def _as_today(today) -> date:
    if today is None:
        return date.today()
    if isinstance(today, datetime):
        return today.date()
    parsed = parse_date(today)
    if parsed is None:
        raise ValueError(f"today: expected a date or an ISO date YYYY-MM-DD, got {today!r}")
    return parsed


def validate_policy(data, today=None) -> dict:
    """Check a policy (version 1 or 2, as load_policy returns it) and fill in the defaults.

    Returns the normalised policy (module docstring). Raises PolicyError
    listing every problem, each as "path: message". ``today`` (a date or
    ISO string, default the local date) decides which rejections have
    expired: those are warnings. The input is not changed.
    """
    today = _as_today(today)
    if not isinstance(data, Mapping):
        raise PolicyError([f"policy: expected a mapping of policy keys, got {_kind(data)}"])
    data, notes = migrate(data)
    check = _Checker()
    _check_version(check, data)
    _check_top_keys(check, data, migrated=bool(notes))

    change_ticket = data.get("change_ticket")
    if isinstance(change_ticket, int) and not isinstance(change_ticket, bool):
        change_ticket = str(change_ticket)
    if change_ticket is not None and (not isinstance(change_ticket, str) or not change_ticket.strip()):
        check.error("change_ticket", f"expected a ticket id (a string), got {_plain(change_ticket)}")
        change_ticket = None

    policy = {
        "version": CURRENT_VERSION,
        "change_ticket": change_ticket.strip() if change_ticket else None,
        "approvers": check.strings(data.get("approvers"), "approvers", "user or group names"),
        "approvals": _check_approvals(check, data.get("approvals"), today),
    }
    windows, problems = validate_windows(data.get("windows"))
    check.errors.extend(problems)
    policy["windows"] = windows
    policy["emergency"] = _check_emergency(check, data.get("emergency"))
    policy["rollout"] = _check_rollout(check, data.get("rollout"))
    policy["budget"] = _check_budget(check, data.get("budget"))
    policy["scan"] = _check_scan(check, data.get("scan"))
    policy["plan"] = _check_plan(check, data.get("plan"))
    policy["automatic_updaters"] = _check_automatic_updaters(check, data.get("automatic_updaters"))
    policy["reboot"] = _check_reboot(check, data)

    restart = data.get("restart_services")
    if restart is None:
        restart = "flag"
    if not isinstance(restart, bool) and restart != "flag":
        check.error("restart_services", f"expected true, false or flag, got {_plain(restart)}")
        restart = "flag"
    policy["restart_services"] = restart
    policy["snapshot"] = _check_snapshot(check, data.get("snapshot"))
    policy["health_checks"] = _check_health(check, data.get("health_checks"))
    policy["hooks"] = _check_hooks(check, data.get("hooks"))
    policy["notifications"] = _check_notifications(check, data.get("notifications"))
    prioritisation = _check_priority(check, data.get("priority"))

    if check.errors:
        raise PolicyError(check.errors, check.warnings, notes)
    prioritisation["emergency"] = {"cves": policy["emergency"]["cves"], "packages": policy["emergency"]["packages"]}
    policy["priority"] = _priority.validate_policy(prioritisation)
    policy["notes"] = notes
    policy["warnings"] = check.warnings
    return policy
