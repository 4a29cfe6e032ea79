# Copyright: patchpilot developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Do the installed versions match the plan? The one verdict, for the patch role and the run record.

Pure functions over a plan entry (``{packages: [{name, version, from_version}],
removals: [...]}``) and installed package records (``installed_packages.py``).
A planned version matches a package that is cleanly installed at that version
(rpm's epoch 0 being no epoch); anything else is a mismatch.
"""

from __future__ import annotations

from ansible_collections.patchpilot.fleet.plugins.module_utils.installed_packages import (
    by_name,
    plain_version,
    same_version,
)

__all__ = [
    "allowed_removals",
    "installed_versions",
    "mismatches",
    "observe",
    "patch_verdict",
    "pending",
    "planned",
    "unplanned_changes",
]


def planned(entry: dict) -> list:
    """The plan entry's packages as [{name, version (str)}]."""
    out = []
    for package in (entry or {}).get("packages") or ():
        if not isinstance(package, dict) or "name" not in package or "version" not in package:
            raise ValueError(f"a planned package must be a mapping with name and version, got {package!r}")
        out.append(dict(package, version=str(package["version"])))
    return out


def allowed_removals(entry: dict) -> list:
    """Names of the plan entry's removals (a removal is a name or a mapping with one)."""
    return [r if isinstance(r, str) else r.get("name") for r in (entry or {}).get("removals") or ()
            if isinstance(r, str) or isinstance(r, dict) and r.get("name")]


def _present(records: list, name: str) -> list:
    return [r for r in records if r["name"] == name and r["present"]]


def pending(entry: dict, records: list) -> list:
    """Names of planned packages not installed at their planned version."""
    return [p["name"] for p in planned(entry)
            if not any(same_version(r["version"], p["version"]) for r in _present(records, p["name"]))]


def installed_versions(entry: dict, records: list) -> dict:
    """{planned name: its installed version(s), space separated, without rpm's epoch 0, or None}."""
    return {p["name"]: " ".join(plain_version(r["version"]) for r in _present(records, p["name"])) or None
            for p in planned(entry)}


def mismatches(entry: dict, records: list) -> list:
    """Planned packages not cleanly installed at their planned version: [{name, planned, installed, status}]."""
    out = []
    for p in planned(entry):
        have = _present(records, p["name"])
        if not any(r["clean"] and same_version(r["version"], p["version"]) for r in have):
            out.append({"name": p["name"], "planned": p["version"],
                        "installed": " ".join(r["version"] for r in have) or None,
                        "status": " ".join(r["abbrev"] for r in have)})
    return out


def _keyed(records: list) -> dict:
    """{key: record} of present records; the key is the name, with ``:arch`` for a name of several architectures."""
    present = [r for r in records if r["present"]]
    archs = {}
    for r in present:
        archs.setdefault(r["name"], set()).add(r["arch"])
    return {(f"{r['name']}:{r['arch']}" if len(archs[r["name"]]) > 1 else r["name"]): r for r in present}


def unplanned_changes(entry: dict, before: list, after: list) -> dict:
    """What changed outside the plan between two readings: {installed: ["key=version"], removed: ["key"]}."""
    names = {p["name"] for p in planned(entry)}
    removable = set(allowed_removals(entry))
    old, new = _keyed(before), _keyed(after)
    installed = [f"{key}={r['version']}" for key, r in new.items()
                 if r["name"] not in names and (key not in old or old[key]["version"] != r["version"])]
    removed = [key for key, r in old.items() if r["name"] not in removable and key not in new]
    return {"installed": installed, "removed": removed}


def _truncate(text: str, limit: int) -> str:
    text = " ".join(str(text or "").split())
    return text if len(text) <= limit else text[:limit].rsplit(" ", 1)[0] + " ..."


def _error_lines(text: str, prefixes: tuple) -> str:
    return " ".join(line for line in str(text or "").splitlines() if line.startswith(prefixes))


def patch_verdict(entry: dict, before: list, after: list, simulation: dict | None = None,
                  run: dict | None = None, timeout=None) -> dict:
    """The patch role's verdict on one host.

    ``before``/``after``: installed records before and after; ``simulation``:
    the :func:`transaction_check.transaction_check` outcome of the simulated
    install (None when the package manager has none); ``run``: the install's
    registered result (``{rc, stderr}``), None or skipped when it did not run.

    {pending, ran, rc, timed_out, simulation, installed, removed, mismatches, unplanned, matches_plan, ok, message}
    """
    todo = pending(entry, before)
    ran = bool(run) and not run.get("skipped") and run.get("rc") is not None
    simulation = simulation or {"ok": True, "rc": 0, "unplanned_installs": [], "unplanned_removals": []}
    sim_failed = not simulation.get("ok") and "unplanned_installs" not in simulation
    sim_unplanned = {"installed": list(simulation.get("unplanned_installs") or ()),
                     "removed": list(simulation.get("unplanned_removals") or ())}
    wrong = mismatches(entry, after)
    unplanned = unplanned_changes(entry, before, after) if ran or not todo else sim_unplanned
    matches = not wrong and not unplanned["installed"] and not unplanned["removed"]
    rc = run["rc"] if ran else (simulation.get("rc") if todo else None)
    timed_out = ran and run["rc"] in (124, 137)
    ok = matches and (not todo or (ran and run["rc"] == 0))
    gone = _keyed(before).keys() - _keyed(after).keys()
    if not todo:
        message = "every planned version was already installed, nothing run"
    elif not ran and sim_failed:
        message = f"the simulation of the install failed (rc {simulation.get('rc')}): {simulation.get('error') or ''}"
    elif not ran:
        message = ("refused before installing, the transaction differs from the plan: would install unplanned"
                   f" [{', '.join(sim_unplanned['installed'])}], would remove unplanned"
                   f" [{', '.join(sim_unplanned['removed'])}]")
    else:
        parts = [f"timed out after {timeout} s, killed (rc {run['rc']})" if timed_out
                 else f"rc {run['rc']}" + (", installed exactly the plan" if matches else "")]
        if run["rc"] != 0:
            parts.append(_truncate(_error_lines(run.get("stderr"), ("E: ", "dpkg: ")), 400))
        parts += [f"mismatch {m['name']}: planned {m['planned']}, installed {m['installed'] or 'none'}"
                  + (f" ({m['status']})" if m["status"] else "") for m in wrong]
        if unplanned["installed"]:
            parts.append("unplanned installs: " + ", ".join(unplanned["installed"]))
        if unplanned["removed"]:
            parts.append("unplanned removals: " + ", ".join(unplanned["removed"]))
        message = "; ".join(parts)
    return {
        "pending": todo, "ran": ran, "rc": rc, "timed_out": timed_out,
        "simulation": {"rc": simulation.get("rc"), "unplanned": sim_unplanned} if todo else None,
        "installed": installed_versions(entry, after), "removed": sorted(gone),
        "mismatches": wrong, "unplanned": unplanned, "matches_plan": matches, "ok": ok, "message": message,
    }


def observe(entry: dict, records: list) -> dict:
    """A host's installed versions against its plan entry: as planned, as before, or neither.

    {installed: {name: version}, as_planned, as_before, off_plan: [text], changed_from_before: [text]}
    """
    if not all(isinstance(r, dict) and isinstance(r.get("name"), str) and "version" in r for r in records or ()):
        raise ValueError("installed package records must be mappings with name and version")
    named = {n: r for n, r in by_name(records or []).items() if r.get("present", True) and r.get("clean", True)}
    installed = {n: plain_version(r["version"]) for n, r in named.items()}
    removals = [r for r in (entry.get("removals") or ()) if isinstance(r, dict) and r.get("name")]
    packages = planned(entry)

    def have(name):
        return installed.get(name, "(not installed)")

    off_plan = [f"{p['name']} {have(p['name'])} (planned {p['version']})"
                for p in packages if not same_version(installed.get(p["name"]), p["version"])]
    off_plan += [f"{r['name']} {installed[r['name']]} (planned removed)" for r in removals if r["name"] in installed]
    before = [f"{p['name']} {have(p['name'])} (was {p.get('from_version') or 'absent'})"
              for p in packages if not same_version(installed.get(p["name"]), p.get("from_version"))]
    before += [f"{r['name']} (was {r.get('from_version')})" for r in removals
               if not same_version(installed.get(r["name"]), r.get("from_version"))]
    return {"installed": installed, "as_planned": not off_plan, "as_before": not before, "off_plan": off_plan,
            "changed_from_before": before}
