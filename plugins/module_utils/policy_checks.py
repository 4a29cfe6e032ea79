# Copyright: patchpilot developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The policy rules a JSON Schema cannot say: each a small named check.

Each check takes the policy (policy_schema.as_json's form) and ``clean``, a
function that says whether the schema found nothing wrong at or below a path
(a check looks only at what the schema accepted), and returns a list of
``(path tuple, message)``. :data:`CHECKS` lists them in the order they run.
A check that owns a key's messages (the version, the keys of version 1) names
the paths in :data:`OWNED`: the schema's own errors there are left out.
"""

from __future__ import annotations

import math
import re
import shlex
from collections.abc import Mapping
from urllib.parse import unquote_plus

from ansible_collections.patchpilot.fleet.plugins.module_utils.maintenance import parse_date, parse_time, zone_known
from ansible_collections.patchpilot.fleet.plugins.module_utils.policy_schema import finite, plain

CURRENT_VERSION = 2
SUPPORTED_VERSIONS = (1, 2)
#: Version 1 keys and where version 2 keeps them.
V1_KEYS = {"canary_percent": "rollout.canary.percent", "waves": "rollout.waves"}
#: Headers that carry credentials: never written in the policy (see docs/policy.md, notifications).
SECRET_HEADERS = ("authorization", "proxy-authorization")
#: A header or query parameter whose name holds one of these (any case) or has one of the parts
#: below (split at -, _, . and camelCase) looks like a credential: refused in the policy.
_SECRET_WORDS = ("token", "secret", "passw", "passwd", "signature", "apikey", "credential", "private")
_SECRET_PARTS = frozenset(("key", "sig", "pass", "pwd", "auth", "authorization", "code", "session", "cookie",
                           "jwt", "bearer", "hmac"))
_PERCENT_RE = re.compile(r"^(\d+(?:\.\d+)?)\s*%$")
_VAULT_HINT = ("credentials do not belong in the policy (it is plain text, reviewed and versioned); keep the "
               "{what} in a variable (Ansible Vault, an AWX credential or lookup('env', ...))")

#: Paths whose messages the named checks give (the schema's errors there are left out).
OWNED = (("version",), ("priority", "emergency"))


def number(text: str) -> int | float:
    value = float(text)
    return int(value) if value.is_integer() else value


def percent(text: str) -> int | float:
    """25 from "25%" (a text the schema has accepted)."""
    return number(_PERCENT_RE.match(text.strip()).group(1))


def _hosts(value) -> int | None:
    """A wave's or budget's size in hosts, from an int or a digit string."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


def check_version(data, clean) -> list:
    """version: required, 2 (version 1 was migrated before this runs), nothing newer."""
    if "version" not in data:
        return [(("version",), f"required (this format is version {CURRENT_VERSION})")]
    version = data["version"]
    known = " or ".join(str(v) for v in SUPPORTED_VERSIONS)
    if isinstance(version, int) and not isinstance(version, bool) and version > CURRENT_VERSION:
        return [(("version",), f"{version} is newer than this patchpilot knows ({known})")]
    if version != CURRENT_VERSION or isinstance(version, bool):
        return [(("version",), f"expected {known}, got {plain(version)}")]
    return []


def check_version_1_keys(data, clean, migrated: bool = False) -> list:
    """A version 1 key left at the top level: where version 2 keeps it (or, after migration, that both are set)."""
    found = []
    for key in data:
        if key in V1_KEYS and migrated:
            found.append(((key,), f"a version 1 key, but {V1_KEYS[key].rsplit('.percent', 1)[0]} is set too: keep one"))
        elif key in V1_KEYS:
            found.append(((key,), f"a version 1 key: version {CURRENT_VERSION} has {V1_KEYS[key]}"))
    return found


def check_finite(data, clean) -> list:
    """No NaN or infinity anywhere: they compare false with every bound (a check that could never fail)."""
    found = []

    def walk(value, path):
        if isinstance(value, Mapping):
            if path[-1:] == ("body",):
                if not finite(value) and clean(path):
                    found.append((path, "NaN and infinity are no JSON numbers: give a finite number"))
                return
            for key, item in value.items():
                walk(item, path + (key,))
        elif isinstance(value, list):
            for index, item in enumerate(value):
                walk(item, path + (index,))
        elif isinstance(value, float) and not math.isfinite(value) and clean(path):
            found.append((path, f"expected a finite number, got {plain(value)}"))

    walk(data, ())
    return found


def _matches_everything(pattern: str) -> bool:
    """True for a package pattern with no literal character (``*``, ``?*``, ``[a-z]*``): it matches (nearly) all."""
    return re.sub(r"\[[^\]]*\]|[*?]", "", pattern) == ""


def check_emergency_for_everything(data, clean) -> list:
    """An emergency package pattern that matches every package needs emergency.allow_all: true."""
    emergency = data.get("emergency")
    if not isinstance(emergency, Mapping) or emergency.get("allow_all") is True:
        return []
    found = []
    packages = emergency.get("packages")
    for index, pattern in enumerate(packages if isinstance(packages, list) else ()):
        if isinstance(pattern, str) and pattern.strip() and _matches_everything(pattern.strip()):
            # An emergency is approved over every rejection, kernels and held packages included.
            found.append((("emergency", "packages", index),
                          f"{plain(pattern.strip())} matches every package: that approves every update on every "
                          "host, rejections included; name the packages, or set emergency.allow_all: true "
                          "if that is really meant"))
    return found


def check_emergency_bypass_names_something(data, clean) -> list:
    """bypass_windows / bypass_freezes need a named emergency (a CVE or a package)."""
    emergency = data.get("emergency")
    if not isinstance(emergency, Mapping) or not clean(("emergency",)):
        return []
    if (emergency.get("bypass_windows") or emergency.get("bypass_freezes")) \
            and not emergency.get("cves") and not emergency.get("packages"):
        return [(("emergency",), "bypass_windows and bypass_freezes apply to an emergency update, but the emergency "
                                 "names no CVE and no package: list them in emergency.cves or emergency.packages "
                                 "(or run playbooks/emergency.yml, which names them for one run)")]
    return []


def check_snapshot_keep_says_something(data, clean) -> list:
    """snapshot.keep needs runs, days or both: an empty rule would keep nothing or everything, unsaid."""
    snapshot = data.get("snapshot")
    keep = snapshot.get("keep") if isinstance(snapshot, Mapping) else None
    if not isinstance(keep, Mapping) or not clean(("snapshot", "keep")):
        return []
    if keep.get("runs") is None and keep.get("days") is None:
        return [(("snapshot", "keep"), "set runs, days or both (a snapshot is kept while either holds), "
                                       "e.g. {runs: 3}; leave keep out for that default")]
    return []


def check_waves_cover_every_host(data, clean) -> list:
    """rollout.waves: "rest" last, no wave after 100%, percentages at most 100% in all, every host covered."""
    rollout = data.get("rollout")
    if not isinstance(rollout, Mapping) or not isinstance(rollout.get("waves"), list) or not rollout["waves"]:
        return []
    waves = rollout["waves"]
    path = ("rollout", "waves")
    found, total, counts = [], 0, 0
    for index, item in enumerate(waves):
        if total >= 100:
            found.append((path + (index,), f"the waves before it already take {number(str(round(total, 4)))}% of "
                                           "the hosts, so this wave would be empty"))
            continue
        if not clean(path + (index,)):
            continue
        if isinstance(item, str) and item.strip().lower() == "rest":
            if index != len(waves) - 1:
                found.append((path + (index,), "\"rest\" must be the last wave"))
        elif _hosts(item) is not None:
            counts += _hosts(item)
        elif isinstance(item, str):
            total += percent(item)
    if found or not clean(path):
        return found
    if total > 100:
        return [(path, f"the percentages add up to {number(str(round(total, 4)))}%, more than 100% "
                       "(each is one wave's own share, not a running total; end with \"rest\" for the remainder)")]
    last = waves[-1]
    if not (isinstance(last, str) and last.strip().lower() == "rest") and total < 100:
        parts = []
        if total:
            parts.append(f"{number(str(round(total, 4)))}%")
        if counts:
            parts.append(f"{counts} host{'s' if counts != 1 else ''}")
        return [(path, f"the waves take {' and '.join(parts)}, which does not cover every host: "
                       "end with \"rest\" or make the percentages add up to 100%")]
    return []


def check_anti_affinity_fits(data, clean) -> list:
    """An anti-affinity list names each host once, and needs ceil(members / max_per_wave_per_group) waves,
    canary included."""
    rollout = data.get("rollout")
    groups = rollout.get("anti_affinity") if isinstance(rollout, Mapping) else None
    if not isinstance(groups, list):
        return []
    found, twice = [], set()
    for index, group in enumerate(groups):
        path = ("rollout", "anti_affinity", index)
        if isinstance(group, list) and clean(path) and len({name.strip() for name in group}) != len(group):
            found.append((path, "a host is listed twice"))
            twice.add(index)
    if not clean(("rollout",)) or check_waves_cover_every_host(data, clean):
        return found
    per_wave = rollout.get("max_per_wave_per_group", 1)
    canary = rollout.get("canary") is not None
    available = len(rollout.get("waves") or ["rest"]) + (1 if canary else 0)
    for index, group in enumerate(groups):
        if isinstance(group, list) and index not in twice:
            needed = math.ceil(len(group) / per_wave)
            if needed > available:
                found.append((("rollout", "anti_affinity", index),
                              f"{len(group)} hosts at most {per_wave} per wave need {needed} waves, "
                              f"but the rollout has {available}" + (" (canary included)" if canary else "")))
    return found


def _split(value, path) -> list:
    if isinstance(value, str):
        try:
            shlex.split(value)
        except ValueError as exc:
            return [(path, f"cannot split the command line: {exc}")]
    return []


def check_command_lines_split(data, clean) -> list:
    """Every command line (hooks, their undos, command checks) splits into arguments as a shell would."""
    found = []
    hooks = data.get("hooks") if isinstance(data.get("hooks"), Mapping) else {}
    for phase, items in hooks.items():
        for index, hook in enumerate(items if isinstance(items, list) else ()):
            path = ("hooks", phase, index)
            for item, where in ((hook, path), (hook.get("undo") if isinstance(hook, Mapping) else None,
                                               path + ("undo",))):
                if isinstance(item, Mapping):
                    found += _split(item.get("command"), where + ("command",))
                else:
                    found += _split(item, where)
    checks = data.get("health_checks") if isinstance(data.get("health_checks"), Mapping) else {}
    for index, item in enumerate(checks.get("commands") if isinstance(checks.get("commands"), list) else ()):
        if isinstance(item, Mapping):
            found += _split(item.get("command"), ("health_checks", "commands", index, "command"))
    return found


def looks_secret(name: str) -> bool:
    """True when a header or query parameter name looks like it carries a credential."""
    low = name.lower()
    if low in SECRET_HEADERS or any(word in low for word in _SECRET_WORDS):
        return True
    parts = re.split(r"[^a-z0-9]+", re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name).lower())
    return any(part in _SECRET_PARTS for part in parts)


def _urls(data):
    """(path, url) of every URL in the policy: HTTP checks, url hooks and their undos, webhook targets."""
    checks = data.get("health_checks") if isinstance(data.get("health_checks"), Mapping) else {}
    for index, item in enumerate(checks.get("http") if isinstance(checks.get("http"), list) else ()):
        if isinstance(item, Mapping):
            yield ("health_checks", "http", index, "url"), item.get("url")
    for path, hook in _hook_mappings(data):
        yield path + ("url",), hook.get("url")
    for index, item in enumerate(data.get("notifications") if isinstance(data.get("notifications"), list) else ()):
        if isinstance(item, Mapping) and item.get("type") == "webhook":
            yield ("notifications", index, "target"), item.get("target")


def _hook_mappings(data):
    hooks = data.get("hooks") if isinstance(data.get("hooks"), Mapping) else {}
    for phase, items in hooks.items():
        for index, hook in enumerate(items if isinstance(items, list) else ()):
            if isinstance(hook, Mapping):
                yield ("hooks", phase, index), hook
                if isinstance(hook.get("undo"), Mapping):
                    yield ("hooks", phase, index, "undo"), hook["undo"]


def check_no_credentials_in_urls(data, clean) -> list:
    """A URL's query parameter that looks like a credential: keep the whole URL in a variable (url_var)."""
    found = []
    for path, url in _urls(data):
        if not isinstance(url, str) or not clean(path):
            continue
        query = url.strip().split("#", 1)[0]
        query = query.split("?", 1)[1] if "?" in query else ""
        for pair in re.split(r"[&;]", query):
            name = unquote_plus(pair.split("=", 1)[0])
            if name and looks_secret(name):
                found.append((path, f"the query parameter {plain(name)} looks like a credential: "
                                    + _VAULT_HINT.format(what="whole URL") + " and name it with url_var: VARIABLE"))
                break
    return found


def check_no_credentials_in_headers(data, clean) -> list:
    """A header that looks like a credential (Authorization, X-Api-Key, ...): name its variable instead."""
    found = []
    places = list(_hook_mappings(data))
    places += [(("notifications", index), item)
               for index, item in enumerate(data.get("notifications") if isinstance(data.get("notifications"), list)
                                            else ()) if isinstance(item, Mapping)]
    for path, item in places:
        headers = item.get("headers")
        if not isinstance(headers, Mapping):
            continue
        for name in headers:
            if isinstance(name, str) and looks_secret(name):
                found.append((path + ("headers", name), "looks like a credential: "
                              + _VAULT_HINT.format(what="value")
                              + f" and name it: token_var: VARIABLE, token_header: {name}"))
    return found


def check_smtp_password(data, clean) -> list:
    """The SMTP password is never in the policy: the variable patchpilot_smtp_password holds it."""
    found = []
    for index, item in enumerate(data.get("notifications") if isinstance(data.get("notifications"), list) else ()):
        if isinstance(item, Mapping) and item.get("type") == "email" and "password" in item:
            found.append((("notifications", index, "password"),
                          "the SMTP password is never written in the policy: set the variable "
                          "patchpilot_smtp_password (Ansible Vault or an AWX credential)"))
    return found


def check_webhook_auth_or_token(data, clean) -> list:
    """auth: bearer (the variable patchpilot_webhook_token) and token_var are two ways to say one thing."""
    found = []
    for index, item in enumerate(data.get("notifications") if isinstance(data.get("notifications"), list) else ()):
        if isinstance(item, Mapping) and item.get("type") == "webhook" and item.get("auth") == "bearer" \
                and "token_var" in item:
            found.append((("notifications", index, "auth"),
                          "bearer is the variable patchpilot_webhook_token: give auth or token_var, not both"))
    return found


def check_priority_emergency(data, clean) -> list:
    """Emergencies are set once, in the top-level emergency key, not again under priority."""
    priority = data.get("priority")
    if isinstance(priority, Mapping) and "emergency" in priority:
        return [(("priority", "emergency"), "emergency rules are set once, in the top-level emergency key")]
    return []


#: The named checks, in the order they run.

def _windows(data, key) -> list:
    """(index, item) of windows.<key>, the items the schema accepted."""
    windows = data.get("windows")
    items = windows.get(key) if isinstance(windows, Mapping) else None
    return list(enumerate(items)) if isinstance(items, list) else []


def check_timezone_known(data, clean) -> list:
    """windows.timezone: an IANA time zone this machine knows (the schema cannot list them)."""
    windows = data.get("windows")
    if not isinstance(windows, Mapping) or "timezone" not in windows:
        return []
    name = windows["timezone"]
    if isinstance(name, str) and zone_known(name):
        return []
    return [(("windows", "timezone"), f"{plain(name)} is not a known time zone (an IANA name such as Europe/Berlin)")]


def check_window_has_length(data, clean) -> list:
    """A maintenance window whose start equals its end has no length (an end before the start crosses midnight)."""
    found = []
    for index, item in _windows(data, "maintenance"):
        path = ("windows", "maintenance", index)
        if not clean(path):
            continue
        start, end = parse_time(item["start"]), parse_time(item["end"], allow_24=True)
        if start == end:
            found.append((path, f"start and end are both {start:%H:%M}; a window needs a length"))
    return found


def check_window_names_unique(data, clean) -> list:
    """Every maintenance window has its own name (plans and reports name the window a host was patched in)."""
    found, seen = [], {}
    for index, item in _windows(data, "maintenance"):
        path = ("windows", "maintenance", index, "name")
        if not isinstance(item, Mapping) or not clean(path) or not isinstance(item.get("name"), str):
            continue
        label = item["name"].strip()
        if label in seen:
            found.append((path, f"{label!r} is already the name of windows.maintenance[{seen[label]}]"))
        else:
            seen[label] = index
    return found


def check_freeze_in_order(data, clean) -> list:
    """A freeze ends on or after the day it starts."""
    found = []
    for index, item in _windows(data, "freezes"):
        path = ("windows", "freezes", index)
        if not clean(path):
            continue
        start, end = parse_date(item["start"]), parse_date(item["end"])
        if end < start:
            found.append((path, f"end {end} is before start {start}"))
    return found


CHECKS = (
    check_version,
    check_finite,
    check_timezone_known,
    check_window_has_length,
    check_window_names_unique,
    check_freeze_in_order,
    check_emergency_for_everything,
    check_emergency_bypass_names_something,
    check_snapshot_keep_says_something,
    check_waves_cover_every_host,
    check_anti_affinity_fits,
    check_command_lines_split,
    check_no_credentials_in_urls,
    check_no_credentials_in_headers,
    check_smtp_password,
    check_webhook_auth_or_token,
    check_priority_emergency,
)
