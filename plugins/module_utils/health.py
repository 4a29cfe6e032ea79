# Copyright: patchpilot developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The health verdict: a host's health after patching (or a rollback) against its baseline.

Two pure functions, reached from the verify role through the filters of
``plugins/filter/health.py``:

- :func:`health_settings` turns the policy's ``health_checks`` section (as ``validate_policy``
  returns it, ``None`` meaning "the default") and the verify role's own variables into one
  checked set of settings, with the services and ports that must run and listen afterwards;
- :func:`health_verdict` compares the reading after patching with the baseline (both
  ``health_snapshot`` results) and with the answers of the HTTP and command checks, and says
  which checks failed, each with a message.

The defaults of the health checks are written here, once (:data:`DEFAULTS`): the policy leaves
them ``None``, the role's variables leave them ``None``.
"""

from __future__ import annotations

import datetime
import fnmatch
import math
import re
from collections.abc import Mapping

#: The defaults of the policy's ``health_checks`` keys (docs/policy.md), written once.
DEFAULTS = {
    "services": [],
    "ports": [],
    "failed_units": True,
    "journal_errors_max": 20,
    "load_factor": 3.0,
    "memory_factor": 2.0,
    "http": [],
    "commands": [],
}
HEALTH_KEYS = tuple(DEFAULTS)
#: The verify role's own settings, not in the policy: their defaults are the role's.
ROLE_KEYS = ("services_ignore", "ports_ignore", "failed_units_ignore", "journal_priority")
JOURNAL_PRIORITIES = ("emerg", "alert", "crit", "err", "warning", "notice", "info", "debug")
#: The built-in checks, in the order they are reported (custom checks follow).
BUILTIN_CHECKS = ("services", "ports", "failed_units", "journal", "load", "memory", "reboot")
OUTPUT_CHARS = 2000
ERROR_CHARS = 300
#: The verify role's variables whose names are not verify_KEY.
_ROLE_VARIABLES = {"http": "verify_http_checks", "commands": "verify_command_checks"}
_PORT = re.compile(r"^(?:(tcp|udp)/)?([0-9]{1,5})$")


class HealthSettingsError(ValueError):
    """The health checks or the verify role's variables are not usable (names the variable)."""


class HealthReadingError(ValueError):
    """A baseline or a reading is not a health_snapshot result."""


def _kind(value) -> str:
    return "null" if value is None else type(value).__name__


def _is_list(value) -> bool:
    return isinstance(value, (list, tuple))


def _strings(value, where: str) -> list[str]:
    if not _is_list(value) or not all(isinstance(item, str) and item.strip() for item in value):
        raise HealthSettingsError(f"{where}: expected a list of non-empty strings, got {value!r}")
    return [item.strip() for item in value]


def _port(value, where: str) -> str:
    """A port as ``tcp/PORT`` or ``udp/PORT``; a bare number is TCP."""
    match = None if isinstance(value, bool) else _PORT.match(str(value).strip())
    if not match or not 1 <= int(match.group(2)) <= 65535:
        raise HealthSettingsError(f"{where}: {value} is not a port (tcp/PORT, udp/PORT or a number)")
    return f"{match.group(1) or 'tcp'}/{int(match.group(2))}"


def _ports(value, where: str) -> list[str]:
    if not _is_list(value):
        raise HealthSettingsError(f"{where}: expected a list of ports, got {_kind(value)}")
    return [_port(item, where) for item in value]


def _number(value, where: str, low: float, text: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < low:
        raise HealthSettingsError(f"{where}: expected {text}, got {value!r}")
    return value


def _whole(value, where: str, low: int, text: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise HealthSettingsError(f"{where}: expected {text}, got {value!r}")
    return value


def _pattern(patterns) -> re.Pattern | None:
    """Shell-style patterns as one anchored regular expression (None: nothing matches)."""
    if not patterns:
        return None
    return re.compile("|".join(f"(?:{fnmatch.translate(item)})" for item in patterns))


def _http_checks(value, where: str) -> list[dict]:
    if not _is_list(value):
        raise HealthSettingsError(f"{where}: expected a list of checks, got {_kind(value)}")
    out = []
    for item in value:
        url = item.get("url") if isinstance(item, Mapping) else None
        if not isinstance(url, str) or not re.match(r"^https?://", url):
            raise HealthSettingsError(f"{where}: each entry needs url: http(s)://..., got {item!r}")
        status = 200 if item.get("status") in (None, "") else item.get("status")
        timeout = 10 if item.get("timeout") in (None, "") else item.get("timeout")
        _whole(status, f"{where}: {url}: status", 100, "an HTTP status")
        _whole(timeout, f"{where}: {url}: timeout", 1, "seconds (1 or more)")
        validate = item.get("validate_certs", True)
        if not isinstance(validate, bool):
            raise HealthSettingsError(f"{where}: {url}: validate_certs: expected true or false, got {validate!r}")
        out.append({"name": "http:" + (item.get("name") or url), "url": url, "status": status,
                    "timeout": timeout, "validate_certs": validate})
    return out


def _command_checks(value, where: str) -> list[dict]:
    if not _is_list(value):
        raise HealthSettingsError(f"{where}: expected a list of checks, got {_kind(value)}")
    out = []
    for item in value:
        command = item.get("command") if isinstance(item, Mapping) else None
        if isinstance(command, str) and command.strip():
            argv, line = None, command
        elif _is_list(command) and command and all(isinstance(arg, (str, int, float)) for arg in command) \
                and not any(isinstance(arg, bool) for arg in command):
            argv, line = [str(arg) for arg in command], " ".join(str(arg) for arg in command)
        else:
            raise HealthSettingsError(f"{where}: each entry needs command: an argv list or a string, got {item!r}")
        rc = 0 if item.get("rc") in (None, "") else item.get("rc")
        _whole(rc, f"{where}: {line}: rc", 0, "an exit code")
        out.append({"name": "command:" + (item.get("name") or line), "argv": argv,
                    "cmd": None if argv else command, "rc": rc})
    return out


def _reading(value, what: str, keys) -> Mapping:
    if not isinstance(value, Mapping):
        raise HealthReadingError(f"the {what} is not a health_snapshot result (got {_kind(value)})")
    missing = [key for key in keys if key not in value]
    if missing:
        raise HealthReadingError(f"the {what} is not a health_snapshot result (no {', '.join(missing)})")
    return value


def health_settings(health_checks=None, overrides=None, baseline=None) -> dict:
    """The checked settings of one verification.

    ``health_checks`` is the policy's section (``None`` values take :data:`DEFAULTS`);
    ``overrides`` the verify role's variables by key without the ``verify_`` prefix: a key of
    :data:`HEALTH_KEYS` that is not ``None`` replaces the policy's value, and the role's own
    settings (:data:`ROLE_KEYS`) are read from it too. With ``baseline`` (a health_snapshot
    result), the answer also holds ``want_services`` and ``want_ports``: what must run and
    listen afterwards. Raises :class:`HealthSettingsError` naming the variable.
    """
    health_checks = {} if health_checks is None else health_checks
    overrides = {} if overrides is None else overrides
    if not isinstance(health_checks, Mapping):
        raise HealthSettingsError(f"verify_health_checks: expected a mapping (the policy's health_checks), "
                                  f"got {_kind(health_checks)}")
    unknown = sorted(set(health_checks) - set(HEALTH_KEYS))
    if unknown:
        raise HealthSettingsError(f"verify_health_checks: unknown key {', '.join(map(str, unknown))} "
                                  f"(known: {', '.join(HEALTH_KEYS)})")
    if not isinstance(overrides, Mapping):
        raise HealthSettingsError(f"the verify role's settings: expected a mapping, got {_kind(overrides)}")

    def pick(key):
        if overrides.get(key) is not None:
            return overrides[key], _ROLE_VARIABLES.get(key, f"verify_{key}")
        if health_checks.get(key) is not None:
            return health_checks[key], f"verify_health_checks.{key}"
        return DEFAULTS[key], f"verify_health_checks.{key}"

    value, where = pick("failed_units")
    if not isinstance(value, bool):
        raise HealthSettingsError(f"{where}: expected true or false, got {value!r}")
    out = {"failed_units": value}
    out["services"] = [name if name.endswith(".service") else name + ".service"
                       for name in _strings(*pick("services"))]
    out["ports"] = _ports(*pick("ports"))
    value, where = pick("journal_errors_max")
    out["journal_errors_max"] = _whole(value, where, -1, "a whole number, -1 (not checked) or more")
    value, where = pick("load_factor")
    out["load_factor"] = _number(value, where, 0, "a number, 0 (not checked) or more")
    value, where = pick("memory_factor")
    out["memory_factor"] = _number(value, where, 0, "a number, 0 (not checked) or more")
    out["http"] = _http_checks(*pick("http"))
    out["commands"] = _command_checks(*pick("commands"))
    names = [check["name"] for check in out["http"] + out["commands"]]
    twice = sorted({name for name in names if names.count(name) > 1})
    if twice:
        raise HealthSettingsError(f"verify_http_checks / verify_command_checks: two checks have the same name "
                                  f"({', '.join(twice)}); give them distinct name: values")
    ignore = overrides.get("services_ignore")
    out["services_ignore"] = _strings(ignore, "verify_services_ignore") if ignore is not None else []
    ignore = overrides.get("ports_ignore")
    out["ports_ignore"] = _ports(ignore, "verify_ports_ignore") if ignore is not None else []
    ignore = overrides.get("failed_units_ignore")
    out["failed_units_ignore"] = _strings(ignore, "verify_failed_units_ignore") if ignore is not None else []
    priority = overrides.get("journal_priority") or "err"
    if priority not in JOURNAL_PRIORITIES:
        raise HealthSettingsError(f"verify_journal_priority: {priority!r} is not one of {', '.join(JOURNAL_PRIORITIES)}")
    out["journal_priority"] = priority
    if baseline is not None:
        base = _reading(baseline, "baseline", ("services_running", "ports"))
        skip = _pattern(out["services_ignore"])
        kept = [name for name in base["services_running"] if not (skip and skip.match(name))]
        out["want_services"] = sorted(set(kept) | set(out["services"]))
        out["want_ports"] = sorted((set(base["ports"]) - set(out["ports_ignore"])) | set(out["ports"]))
    return out


def _mib(kib) -> int:
    return round(kib / 1024)


def _cut(text, limit: int) -> str:
    text = "" if text is None else str(text)
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _int(value, default: int = -1) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def _http_result(check: dict, result) -> dict:
    result = result if isinstance(result, Mapping) else {}
    status, want = _int(result.get("status")), check["status"]
    message = (f"{check['name']}: GET {check['url']} answered {status if status >= 0 else 'nothing'}, "
               f"expected {want}")
    if status != want and result.get("msg"):
        message += f" ({result['msg']})"
    return {"ok": status == want, "url": check["url"], "status": status, "expected": want, "message": message}


def _command_result(check: dict, result) -> dict:
    result = result if isinstance(result, Mapping) else {}
    rc, want = _int(result.get("rc")), check["rc"]
    message = f"{check['name']}: exited {rc}, expected {want}"
    if rc != want:
        why = (result.get("stderr") or result.get("msg") or "").strip()
        message += f": {_cut(why, ERROR_CHARS)}" if why else ""
    return {"ok": rc == want, "rc": rc, "expected": want, "stdout": _cut(result.get("stdout", ""), OUTPUT_CHARS),
            "stderr": _cut(result.get("stderr", ""), OUTPUT_CHARS), "message": message}


def _answers(results) -> dict:
    """Registered loop results by the name of the check they ran (``item.name``)."""
    out = {}
    for result in results or ():
        if isinstance(result, Mapping) and isinstance(result.get("item"), Mapping):
            out[result["item"].get("name")] = result
    return out


def _when(epoch) -> str:
    if epoch is None:
        return "unknown"
    return datetime.datetime.fromtimestamp(float(epoch), datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def health_verdict(after, baseline, settings, http_results=(), command_results=(), expect_reboot=False,
                   after_rollback=False, host="") -> dict:
    """The verdict on one host: every check with ``ok`` and ``message``, and which failed.

    ``after`` and ``baseline`` are health_snapshot results, ``settings`` the answer of
    :func:`health_settings` (with the baseline), ``http_results`` and ``command_results`` the
    registered loop results of the HTTP and command checks (matched by ``item.name``; a check
    without an answer did not run and fails). ``expect_reboot``: the host was rebooted on
    purpose. ``after_rollback``: the reading follows a rollback, so a reboot is expected and the
    journal (which holds the errors of the version rolled back) is not counted.
    """
    now = _reading(after, "reading after patching",
                   ("services_running", "ports", "failed_units", "loadavg", "nproc", "mem_available_kb", "pid1_start"))
    base = _reading(baseline, "baseline",
                    ("services_running", "ports", "failed_units", "loadavg", "mem_available_kb", "pid1_start"))
    if not isinstance(settings, Mapping) or "want_services" not in settings:
        raise HealthSettingsError("the settings are not an answer of health_settings with the baseline")
    expect_reboot = bool(expect_reboot) or bool(after_rollback)
    checks = {}

    want = settings["want_services"]
    missing = sorted(set(want) - set(now["services_running"]))
    checks["services"] = {
        "ok": not missing, "missing": missing, "expected": len(want),
        "message": (f"services: not running: {', '.join(missing)}" if missing
                    else f"services: all {len(want)} expected services run")}

    want_ports = settings["want_ports"]
    missing = sorted(set(want_ports) - set(now["ports"]))
    checks["ports"] = {
        "ok": not missing, "missing": missing, "expected": want_ports,
        "message": (f"ports: no longer listening: {', '.join(missing)}" if missing
                    else f"ports: all {len(want_ports)} expected ports listen")}

    ignore = _pattern(settings["failed_units_ignore"])
    new = sorted(unit for unit in set(now["failed_units"]) - set(base["failed_units"])
                 if not (ignore and ignore.match(unit)))
    on = settings["failed_units"]
    checks["failed_units"] = {
        "ok": not on or not new, "skipped": not on, "new": new, "failed": list(now["failed_units"]),
        "message": ("failed_units: not checked (verify_failed_units: false)" if not on
                    else f"failed_units: newly failed: {', '.join(new)}" if new
                    else "failed_units: no newly failed unit")}

    limit = -1 if after_rollback else settings["journal_errors_max"]
    errors = _int(now.get("journal_errors") or 0, 0)
    sample = list(now.get("journal_errors_sample") or [])
    why_off = " (not checked after a rollback)" if after_rollback else " (not checked)"
    checks["journal"] = {
        "ok": limit < 0 or errors <= limit, "skipped": limit < 0, "errors": errors, "max": limit,
        "priority": settings["journal_priority"], "since": now.get("journal_errors_since"), "sample": sample,
        "message": (f"journal: {errors} entries of priority {settings['journal_priority']} or above since the baseline"
                    + (f" (at most {limit})" if limit >= 0 else why_off)
                    + (f"; last: {sample[-1]}" if sample else ""))}

    factor = settings["load_factor"]
    load1, base1 = float(now["loadavg"][0]), float(base["loadavg"][0])
    load_limit = round(factor * max(base1, float(now["nproc"])), 2)
    checks["load"] = {
        "ok": factor == 0 or load1 <= load_limit, "skipped": factor == 0, "load1": load1, "baseline": base1,
        "limit": load_limit,
        "message": f"load: 1-minute load {load1} " + (
            "not checked" if factor == 0 else
            f"{'above' if load1 > load_limit else 'within'} the limit {load_limit} "
            f"({factor} x max(baseline {base1}, {now['nproc']} CPUs))")}

    factor = settings["memory_factor"]
    available, base_kb = now["mem_available_kb"], base["mem_available_kb"]
    minimum = round(base_kb / (factor or 1))
    checks["memory"] = {
        "ok": factor == 0 or available >= minimum, "skipped": factor == 0, "available_kb": available,
        "baseline_kb": base_kb, "minimum_kb": minimum,
        "message": f"memory: MemAvailable {_mib(available)} MiB " + (
            "not checked" if factor == 0 else
            f"{'below' if available < minimum else 'above'} the minimum {_mib(minimum)} MiB "
            f"(baseline {_mib(base_kb)} MiB / {factor})")}

    rebooted = now["pid1_start"] != base["pid1_start"] or now.get("boot_id") != base.get("boot_id")
    if rebooted and not expect_reboot:
        message = (f"reboot: the host rebooted unexpectedly since the baseline (PID 1 started "
                   f"{_when(now.get('pid1_started_at'))}, verify_expect_reboot is false)")
    elif rebooted:
        message = "reboot: rebooted, as expected"
    else:
        message = "reboot: no reboot since the baseline" + (" (a reboot was expected)" if expect_reboot else "")
    checks["reboot"] = {
        "ok": expect_reboot or not rebooted, "rebooted": rebooted, "expected": expect_reboot,
        "pid1_started_at": now.get("pid1_started_at"), "baseline_pid1_started_at": base.get("pid1_started_at"),
        "message": message}

    answers = _answers(http_results)
    for check in settings["http"]:
        checks[check["name"]] = _http_result(check, answers.get(check["name"]))
    answers = _answers(command_results)
    for check in settings["commands"]:
        checks[check["name"]] = _command_result(check, answers.get(check["name"]))

    failed = [name for name, check in checks.items() if not check["ok"]]
    return {
        "host": host,
        "passed": not failed,
        "failed_checks": failed,
        "rebooted": rebooted,
        "baseline_time": base.get("time"),
        "time": now.get("time"),
        "checks": checks,
        "message": (f"verify failed on {host}: " + " | ".join(checks[name]["message"] for name in failed)
                    if failed else f"verify passed every check on {host}"),
    }
