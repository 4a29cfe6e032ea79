# Copyright: patchpilot developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Closing a run that cannot go on (``playbooks/close_run.yml``), from the run record alone.

Plain Python, no Ansible runtime; the ``run_close`` action asks these and
writes what they decide through :meth:`runrecord.RunDir.close`.

A run that is still ``running`` can be closed: a wave whose window is over,
a plan nobody wants to carry on. Closing it ends it as ``aborted``; every host
not finished (not ``done``, ``failed``, ``rolled_back``) becomes
``abandoned``, the others keep their records. A host abandoned after its
snapshot was taken or its packages were installed (``snapshotted``,
``patched``, ``verified``) may be changed: it is named, so that somebody looks
at it. A run that ended (``completed``, ``failed``, ``aborted``) cannot be
closed again.

The run lock of the run's scope: no lock, nothing to do; a lock whose owner
is alive (or on another machine, or unreadable) means a run of the scope is
going on now, and closing is refused; a stale lock (its owner is gone) taken
by this very run is removed; a stale lock of another run is left in place (the
next run of the scope takes it over, as nothing of the scope is unfinished).
"""

from __future__ import annotations

from ansible_collections.patchpilot.fleet.plugins.module_utils.runrecord import FINISHED_PHASES

__all__ = ["CHANGED_PHASES", "close_verdict", "lock_verdict"]

#: The phases of a host that may have been changed (a snapshot taken, packages installed).
CHANGED_PHASES = ("snapshotted", "patched", "verified")


def close_verdict(run: dict, phases: dict) -> dict:
    """May ``run`` (run.json) be closed, and what becomes of each host ({host: phase}, wave order)?

    {closable, reason, abandoned: [hosts], kept: {host: phase}, to_check: [abandoned hosts that may be changed]}
    """
    run_id, state = run.get("run_id"), run.get("state")
    abandoned = [host for host, phase in phases.items() if phase not in FINISHED_PHASES]
    kept = {host: phase for host, phase in phases.items() if phase in FINISHED_PHASES}
    changed = [host for host in abandoned if phases[host] in CHANGED_PHASES]
    reason = None
    if state != "running":
        when = f" at {run['finished']}" if run.get("finished") else ""
        reason = f"run {run_id} is {state} already (it ended{when}): only a running run can be closed"
    return {"closable": reason is None, "reason": reason, "abandoned": abandoned, "kept": kept,
            "to_check": changed}


def lock_verdict(run_id: str, owner: dict | None, stale: bool) -> dict:
    """What closing run ``run_id`` does with its scope's run lock (``owner``: the lock file's record).

    {action: none | remove | keep | refuse, reason}
    """
    if owner is None:
        return {"action": "none", "reason": "the scope is not locked"}
    holder = (f"run {owner.get('run_id') or '(no run id)'} of pid {owner.get('pid')} on {owner.get('host')},"
              f" since {owner.get('started')}")
    if not stale:
        return {"action": "refuse",
                "reason": f"the scope's run lock is held by {holder}, which is going on (or cannot be checked"
                          " from here): let it end or stop it, then close the run"}
    if owner.get("run_id") == run_id:
        return {"action": "remove", "reason": f"the stale run lock of this run ({holder}, gone) is removed"}
    return {"action": "keep",
            "reason": f"the stale run lock of {holder} (gone) is left in place: the next run of the scope"
                      " takes it over"}
