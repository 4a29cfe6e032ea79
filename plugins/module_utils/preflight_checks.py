# Copyright: patchpilot developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The preflight role's verdicts on what it gathered: locks, package manager, free space, reboot, backup.

Pure functions, each over the registered results of the role's probes; each
returns the check's outcome as the role records it: ``{ok, ..., message}``
with the message starting with the check's name. (The transaction check is
:mod:`transaction_check`, the window check the rollout gate.)
"""

from __future__ import annotations

import json
import re

__all__ = ["backup_check", "free_space_check", "locks_check", "package_manager_check", "reboot_check"]


def _truncate(text: str, limit: int) -> str:
    text = " ".join(str(text or "").split())
    return text if len(text) <= limit else text[:limit].rsplit(" ", 1)[0] + " ..."


def _lines(text) -> list:
    return str(text or "").splitlines()


def locks_check(manager: str, lock: dict | None, timeout, unsupported: str = "") -> dict:
    """``lock``: files/wait_for_locks.py's answer {free, waited_seconds, held}."""
    if lock is None:
        return {"ok": False, "waited_seconds": 0, "held": [], "message": "locks: " + unsupported}
    free = bool(lock.get("free"))
    waited = lock.get("waited_seconds", 0)
    held = lock.get("held") or []
    return {"ok": free, "waited_seconds": waited, "held": held,
            "message": "locks: " + (f"free after {waited} s" if free else
                                    f"still held after {int(timeout)} s (preflight_lock_timeout): {json.dumps(held)}")}


def package_manager_check(manager: str, audit: dict | None = None, records=None, dnf_check: dict | None = None,
                          unsupported: str = "") -> dict:
    """apt: ``audit`` (dpkg --audit result) and the installed package ``records``; dnf: ``dnf_check`` (dnf check result)."""
    if manager == "apt":
        audit = audit or {}
        bad = [f"{r['abbrev']} {r['name']}" for r in records or ()
               if r["status"] not in ("installed", "not-installed", "config-files") or r["abbrev"][2:].strip()]
        out = str(audit.get("stdout") or "")
        ok = audit.get("rc") == 0 and not out.strip() and not bad
        message = "package_manager: " + ("healthy" if ok else
                                         f"dpkg --audit rc {audit.get('rc')} {(_lines(out) or [''])[0]}"
                                         f"; half-installed or unconfigured: {', '.join(bad)}")
        return {"ok": ok, "tool": "dpkg", "audit": _lines(out) + _lines(audit.get("stderr")),
                "not_installed": bad, "message": message}
    if manager == "dnf":
        dnf_check = dnf_check or {}
        problems = [line.strip() for line in _lines(dnf_check.get("stdout")) if line.strip()]
        # dnf warns on stderr when it cannot tell the release (RPM tools on another distribution): not a problem.
        errors = [line for line in _lines(dnf_check.get("stderr")) if "release version" not in line]
        ok = dnf_check.get("rc") == 0 and not problems
        message = "package_manager: " + ("healthy" if ok else
                                         f"dnf check rc {dnf_check.get('rc')}: {_truncate('; '.join(problems + errors), 400)}")
        return {"ok": ok, "tool": "dnf", "audit": problems + errors, "not_installed": [], "message": message}
    return {"ok": False, "tool": None, "audit": [], "not_installed": [], "message": "package_manager: " + unsupported}


def free_space_check(min_free_mb: dict, download_mb, df_stdout: str, paths: list) -> dict:
    """``paths``: the paths of ``min_free_mb`` that exist, in the order ``df -P -m`` was given them."""
    avail = [int(line.split()[3]) for line in _lines(df_stdout)[1:] if len(line.split()) >= 4]
    if len(avail) != len(paths):
        return {"ok": False, "mounts": {}, "message": f"free_space: df printed {len(avail)} line(s) for {len(paths)} path(s)"}
    mounts, short = {}, []
    for path, free in zip(paths, avail):
        need = int(min_free_mb[path]) + (int(download_mb or 0) if path in ("/", "/var") else 0)
        mounts[path] = {"free_mb": free, "required_mb": need, "ok": free >= need}
        if free < need:
            short.append(f"{path} {free} MiB free, {need} needed")
    return {"ok": not short, "mounts": mounts,
            "message": "free_space: " + ("enough" if not short else "too little on " + ", ".join(short))}


def reboot_check(manager: str, marker_exists: bool = False, marker_packages: str = "",
                 needs_restarting: dict | None = None, dnf_needs_restarting: dict | None = None,
                 expected_after_patch=None) -> dict:
    """apt: Debian's reboot-required marker (and its .pkgs); dnf: ``needs-restarting -r``, or the dnf plugin's."""
    if manager == "dnf":
        used_plugin = bool(dnf_needs_restarting) and not dnf_needs_restarting.get("skipped")
        cmd = (dnf_needs_restarting if used_plugin else needs_restarting) or {}
        how = ("dnf " if used_plugin else "") + "needs-restarting -r"
        rc = cmd.get("rc")
        known = rc in (0, 1) and (rc == 0 or re.search("[Rr]eboot", str(cmd.get("stdout") or "")) is not None)
        pending = known and rc == 1
        state = ("pending" if pending else "not pending" if known else
                 "unknown: neither needs-restarting -r nor dnf needs-restarting -r answered (install dnf-utils)")
        return {"ok": True, "pending": pending, "known": known, "method": how, "packages": [],
                "expected_after_patch": expected_after_patch, "message": f"reboot: {state} ({how})"}
    packages = list(dict.fromkeys(str(marker_packages or "").split()))
    return {"ok": True, "pending": bool(marker_exists), "known": True, "method": "/var/run/reboot-required",
            "packages": packages, "message": "reboot: " + ("pending" if marker_exists else "not pending")}


def backup_check(command: str = "", command_result: dict | None = None, marker: str = "", marker_stat: dict | None = None,
                 now=None, max_age_hours=24, required: bool = True) -> dict:
    """A command that verifies the backup, else a marker file no older than ``max_age_hours``, else whether one is required."""
    if command:
        result = command_result or {}
        rc = result.get("rc")
        return {"ok": rc == 0, "method": "command", "rc": rc,
                "message": "backup: " + ("verified by command" if rc == 0 else
                                         f"preflight_backup_command exited {rc}: "
                                         f"{_truncate(str(result.get('stderr') or '').strip(), 200)}")}
    if marker:
        stat = marker_stat or {}
        if not stat.get("exists"):
            return {"ok": False, "method": "marker", "message": f"backup: marker {marker} does not exist"}
        age = round((int(now or 0) - int(stat.get("mtime") or 0)) / 3600, 1)
        return {"ok": age < float(max_age_hours), "method": "marker", "age_hours": age,
                "message": f"backup: marker {marker} is {age} h old, limit {max_age_hours} h (preflight_backup_max_age_hours)"}
    if required:
        return {"ok": False, "method": "none",
                "message": "backup: no backup verification configured; set preflight_backup_command or "
                           "preflight_backup_marker, or set preflight_backup_required: false explicitly to patch without one"}
    return {"ok": True, "method": "none", "message": "backup: not required (preflight_backup_required: false)"}
