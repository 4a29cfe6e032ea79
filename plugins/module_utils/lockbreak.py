# Copyright: patchpilot developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Breaking a run lock by hand (``playbooks/break_lock.yml``): who owns a lock, which lock is
meant, may it be broken, and the record of breaking it.

Plain Python, no Ansible runtime; the ``run_lock_break`` action asks these and
does what they decide with :mod:`runrecord` (``RunLock.remove_if_owner``,
``append_private_jsonl``, ``RunDir.add_event``).

A lock names its owner: the process (pid, start time), the machine, the start
time, the run, and (from this version on) the user who started the run: the AWX
user and job when the run is an AWX job (the ``awx_*``/``tower_*`` variables AWX
passes), else the login user. A lock held by a live process on this machine is
never broken; any other lock (its process gone from this machine, or on another
machine, which a killed AWX job's container is, or unreadable) is broken when a
person asks for it by name and says why.
"""

from __future__ import annotations

import getpass

__all__ = ["LockBreakError", "break_record", "break_verdict", "describe_owner", "login_user", "owner_user", "select_lock"]

#: Where the AWX user and job id come from, first found wins (AWX sets both spellings).
USER_VARS = ("awx_user_name", "tower_user_name")
JOB_VARS = ("awx_job_id", "tower_job_id")


class LockBreakError(ValueError):
    """A lock break that cannot be done as asked; the message says why."""


def login_user() -> str:
    """The controller's login user, "unknown" when it has no name."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def owner_user(variables: dict, login: str | None) -> dict:
    """{user, job_id} of the run taking a lock: the AWX user and job id from ``variables``
    when AWX passed them, else the ``login`` user (job_id None)."""
    variables = variables or {}

    def first(names):
        for name in names:
            value = variables.get(name)
            if value not in (None, ""):
                return str(value)
        return None

    user = first(USER_VARS)
    job = first(JOB_VARS)
    return {"user": user or (login or "unknown"), "job_id": job}


def describe_owner(owner: dict) -> str:
    """One line naming a lock's owner (older locks have no user)."""
    owner = owner or {}
    if owner.get("error"):
        return f"unreadable lock: {owner['error']}"
    user = owner.get("user") or "(user not recorded)"
    job = f", AWX job {owner['job_id']}" if owner.get("job_id") else ""
    return (f"run {owner.get('run_id') or '(no run id)'} by {user}{job}: pid {owner.get('pid')}"
            f" on {owner.get('host')}, since {owner.get('started')}; scope {owner.get('scope') or '(unknown)'}")


def select_lock(locks: list, wanted: str) -> dict:
    """The lock of ``locks`` (runrecord.list_locks) that ``wanted`` names: its file name (with or
    without ``.lock``), its scope key, its run id or its scope text. LockBreakError when none
    or more than one does."""
    wanted = (wanted or "").strip()
    if not wanted:
        raise LockBreakError("name the lock to break (patchpilot_lock: a run id, a scope key or a lock file name)")
    if not locks:
        raise LockBreakError(f"no lock named {wanted}: there are no locks")
    found = [lock for lock in locks
             if wanted in (lock["name"], lock["key"])
             or (lock["owner"].get("run_id") and wanted == lock["owner"].get("run_id"))
             or (lock["owner"].get("scope") and wanted == lock["owner"].get("scope"))]
    if not found:
        known = "; ".join(f"{lock['name']} ({describe_owner(lock['owner'])})" for lock in locks)
        raise LockBreakError(f"no lock named {wanted}; the locks are: {known}")
    if len(found) > 1:
        raise LockBreakError(f"{wanted} names {len(found)} locks ({', '.join(lock['name'] for lock in found)}):"
                             " name one by its lock file name")
    return found[0]


def break_verdict(owner: dict, here: str, alive: bool, reason: str | None) -> dict:
    """May the lock of ``owner`` be broken from machine ``here``? ``alive``: is its pid a live
    process of this machine (only asked when the lock is this machine's); ``reason``: why
    the person breaks it (required).

    {action: break | refuse, reason, where: this machine | another machine | unknown}
    """
    owner = owner or {}
    if owner.get("error") or not owner.get("host"):
        where = "unknown"
    else:
        where = "this machine" if owner.get("host") == here else "another machine"
    if not (reason or "").strip():
        return {"action": "refuse", "where": where,
                "reason": "say why the lock is broken (patchpilot_lock_reason): it is kept in the record"}
    said = describe_owner(owner)
    if where == "this machine" and alive:
        return {"action": "refuse", "where": where,
                "reason": f"the lock's owner is a live process of this machine ({said}): let it end or stop it"
                          " first; a running run's lock is never broken"}
    why = {"this machine": "its process is gone from this machine",
           "another machine": f"its process runs on another machine ({owner.get('host')}), which this machine"
                              " cannot check: broken on your word",
           "unknown": "the lock file cannot be read"}[where]
    return {"action": "break", "where": where, "reason": f"{said}: {why}"}


def break_record(lock: dict, by: dict, here: str, at: str, reason: str, verdict: dict) -> dict:
    """The line of ``locks/broken.jsonl`` (and the run's event detail) for breaking ``lock``
    (runrecord.list_locks' entry) by ``by`` ({user, job_id}) on machine ``here`` at ``at``."""
    return {"format": 1, "lock": lock["name"], "scope_key": lock["key"], "broken_at": at,
            "broken_by": {"user": by.get("user"), "job_id": by.get("job_id"), "host": here},
            "reason": reason.strip(), "owner_where": verdict["where"], "owner": dict(lock["owner"])}
