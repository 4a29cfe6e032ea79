# Copyright: patchpilot developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Does the simulated transaction match the plan? One verdict for preflight and the patch role.

apt's simulation (``apt-get -s install ...``) is read by
:func:`apt_simulation.parse_apt_simulation`; dnf's check-mode resolution
(``ansible.builtin.dnf`` in check mode) by :func:`parse_dnf_results`. What the
package manager would install beyond the planned names, or remove beyond the
plan's removals, is unplanned and fails the check.
"""

from __future__ import annotations

import re

from ansible_collections.patchpilot.fleet.plugins.module_utils.apt_simulation import (
    AptSimulationError,
    parse_apt_simulation,
)

__all__ = ["parse_dnf_results", "transaction_check"]

# "Installed: name-[epoch:]version-release.arch", "Removed: ..."
_DNF_RESULT = re.compile(r"^(?P<what>Installed|Removed): (?P<name>.+)-[^-]+-[^-]+\.[^.]+$")
TOOLS = {"apt": "apt-get -s install", "dnf": "dnf install (resolved in check mode)"}


def parse_dnf_results(results) -> dict:
    """Names dnf would bring in and take out: {installs, removals}.

    "Removed" lists also the versions an upgrade replaces: a name that comes in
    again is not a removal.
    """
    installs, removals = [], []
    for line in results or ():
        match = _DNF_RESULT.match(line) if isinstance(line, str) else None
        if match:
            (installs if match["what"] == "Installed" else removals).append(match["name"])
    installs = list(dict.fromkeys(installs))
    return {"installs": installs, "removals": [n for n in dict.fromkeys(removals) if n not in installs]}


def _truncate(text: str, limit: int) -> str:
    text = " ".join(str(text or "").split())
    return text if len(text) <= limit else text[:limit].rsplit(" ", 1)[0] + " ..."


def transaction_check(manager: str, result: dict | None, planned_names, allowed_removals=(),
                      unsupported: str | None = None) -> dict:
    """The verdict on a simulated transaction.

    ``result``: the registered result of the apt simulation command (rc,
    stdout, stderr) or of the dnf module in check mode (failed, rc, msg,
    failures, results); ``planned_names``: what may come in; ``allowed_removals``:
    what may go. ``unsupported``: the reason the manager cannot be checked.

    {ok, skipped, tool, installs, removals, unplanned_installs, unplanned_removals, rc, message}
    (the message starts with ``transaction:``)
    """
    planned_names = list(planned_names or ())
    if not planned_names:
        return {"ok": True, "skipped": True,
                "message": "transaction: no planned packages (preflight_plan_host), not simulated"}
    if manager not in TOOLS:
        return {"ok": False, "skipped": False,
                "message": "transaction: " + (unsupported or f"package manager {manager} is not supported")}
    result = result or {}
    tool = TOOLS[manager]
    rc = result.get("rc")
    error = None
    if manager == "dnf":
        if result.get("failed") or (rc or 0) != 0:
            error = ": ".join(str(x) for x in [result.get("msg") or ""] + list(result.get("failures") or ()) if x)
        found = parse_dnf_results(result.get("results"))
    else:
        found = {"installs": [], "removals": []}
        if (rc or 0) != 0:
            error = _error_lines(result.get("stderr")) or result.get("stderr") or ""
        else:
            try:
                parsed = parse_apt_simulation(result.get("stdout") or "")
            except AptSimulationError as exc:
                error = str(exc)
            else:
                found = {"installs": [u["name"] for u in parsed["upgrades"] + parsed["new"]],
                         "removals": [r["name"] for r in parsed["removals"]]}
    if error is not None:
        rc = 1 if rc is None or rc == 0 else rc
        return {"ok": False, "skipped": False, "rc": rc, "tool": tool, "error": _truncate(error, 300),
                "message": f"transaction: {tool} of the plan failed (rc {rc}): {_truncate(error, 300)}"}
    unplanned_installs = [n for n in found["installs"] if n not in planned_names]
    unplanned_removals = [n for n in found["removals"] if n not in set(allowed_removals or ())]
    ok = not unplanned_installs and not unplanned_removals
    message = "transaction: " + ("matches the plan" if ok else
                                 "the simulation differs from the plan; would remove unplanned: ["
                                 + ", ".join(unplanned_removals) + "]; would install unplanned: ["
                                 + ", ".join(unplanned_installs) + "]")
    return {"ok": ok, "skipped": False, "tool": tool, "rc": rc if rc is not None else 0,
            "installs": found["installs"], "removals": found["removals"],
            "unplanned_installs": unplanned_installs, "unplanned_removals": unplanned_removals,
            "message": message}


def _error_lines(text) -> str:
    return " ".join(line for line in str(text or "").splitlines() if line.startswith("E: "))
