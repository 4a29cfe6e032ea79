# Copyright: patchpilot developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What an emergency CVE means for one host: fixed by a planned update, or why nothing is planned.

An emergency by CVE (``emergency.cves``, ``-e patchpilot_emergency_cve=``)
patches exactly the updates that fix it. For every host the plan says, per
listed CVE, one of:

- ``fixed``: the planned updates that fix it (by their changelog or the
  Debian Security Tracker);
- ``not_planned``: a pending update fixes it, but it is not in the plan
  (kept back, refused: the reason is given);
- ``not_affected``: no pending update fixes it and the tracker says the
  host's release is fixed already or never was affected;
- ``not_fixed``: no pending update fixes it ("not fixed by any available
  update"): the tracker names it open, or nothing says otherwise.

Plain Python, no Ansible runtime.
"""

from __future__ import annotations

__all__ = ["STATES", "cve_status"]

STATES = ("fixed", "not_planned", "not_affected", "not_fixed")


def _fixes(row: dict, cve: str) -> bool:
    return cve in {str(c).strip().upper() for c in row.get("cves") or ()}


def cve_status(cves, records: list, packages: list, tracker_states: dict | None = None) -> dict:
    """``{CVE: {"state", "text", "packages"}}`` for one host.

    ``records`` are the host's update records, ``packages`` its planned packages (each with
    ``name``, ``version`` and ``cves``), ``tracker_states`` ``{CVE: "resolved" | "not-affected" |
    "open" | ...}`` for the host's release when a tracker export was read.
    """
    tracker_states = tracker_states or {}
    found = {}
    for cve in sorted({str(c).strip().upper() for c in cves or ()}):
        planned = [f"{p['name']} {p['version']}" for p in packages or () if _fixes(p, cve)]
        if planned:
            found[cve] = {"state": "fixed", "packages": planned, "text": "fixed by " + ", ".join(planned)}
            continue
        pending = [r for r in records or () if _fixes(r, cve)]
        if pending:
            names = [f"{r['name']} {r.get('candidate_version') or r.get('installed_version')}" for r in pending]
            found[cve] = {"state": "not_planned", "packages": names,
                          "text": f"fixed by {', '.join(names)}, which is not in the plan"}
            continue
        tracker = str(tracker_states.get(cve) or "").lower()
        if tracker in ("resolved", "not-affected"):
            found[cve] = {"state": "not_affected", "packages": [],
                          "text": "not affected: no pending update fixes it and the security tracker lists the "
                                  "host's release as fixed" + (" (never affected)" if tracker == "not-affected" else "")}
        else:
            found[cve] = {"state": "not_fixed", "packages": [],
                          "text": "not fixed by any available update"
                                  + (f" (the security tracker says {tracker})" if tracker else "")}
    return found
