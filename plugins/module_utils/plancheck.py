# Copyright: patchpilot developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Whether a plan made earlier may still drive a run, and a rerun's replanned pending hosts.

Plain Python, no Ansible runtime; ``playbooks/patch.yml`` asks these through
the ``run_open`` and ``run_start`` actions.

Policy
    A run patches what its plan says, with the plan's slice of the policy
    (planner.py's settings). A plan made under another policy than the one
    the operator runs with now (a reviewed plan, ``patchpilot_plan_file``, or
    the plan of an interrupted run that a rerun continues) is refused, both
    digests named, unless the operator asks to replan
    (``patchpilot_replan=true``): then a reviewed plan is replaced by a fresh
    plan, and an interrupted run keeps its finished hosts and replans its
    pending ones (:func:`replan_pending`). A plan of an older format (no
    run-time settings) counts as made under another policy.

Age
    A reviewed plan is a snapshot of the repositories and of the policy: one
    older than the policy's ``plan.max_age_hours`` (default 72) is refused,
    unless the operator asks to replan. An interrupted run is not aged: its
    hosts were planned for it, and its waves' windows say when it may go on.
"""

from __future__ import annotations

from datetime import datetime, timezone

from ansible_collections.patchpilot.fleet.plugins.module_utils.formats import newer_format

__all__ = ["DEFAULT_MAX_AGE_HOURS", "PLAN_FORMAT", "age_verdict", "max_age_hours", "policy_verdict",
           "replan_pending"]

#: The plan format the run needs (planner.FORMAT).
PLAN_FORMAT = 2
DEFAULT_MAX_AGE_HOURS = 72
FINISHED_PHASES = ("done", "failed", "rolled_back", "abandoned")


def max_age_hours(policy: dict) -> float:
    """The policy's ``plan.max_age_hours``, 72 when it has none."""
    section = policy.get("plan") if isinstance(policy, dict) else None
    value = section.get("max_age_hours") if isinstance(section, dict) else None
    return DEFAULT_MAX_AGE_HOURS if value is None else value


def policy_verdict(plan: dict, digest: str, replan: bool = False, resumed: bool = False, where: str = "") -> dict:
    """May ``plan`` drive a run under the policy whose digest is ``digest``?

    ``{"ok": bool, "replan": bool, "plan_digest", "policy_digest", "message"}``:
    ``ok`` when the plan was made under that policy; ``replan`` when it was
    not and the operator asked to replan (``replan``). ``resumed`` says the
    plan is an interrupted run's (``where`` names it: a run id or a file).
    """
    plan = plan if isinstance(plan, dict) else {}
    newer = newer_format(plan, PLAN_FORMAT, "plan")
    if newer:  # never replanned: its finished hosts and settings may mean what this version cannot read
        what = f"run {where}" if resumed else f"the plan {where}".rstrip()
        return {"ok": False, "replan": False, "plan_digest": plan.get("policy_digest") or "(none)",
                "policy_digest": digest, "message": f"{what}: {newer}; refused"}
    made_with = plan.get("policy_digest") or "(none)"
    old_format = plan.get("format") != PLAN_FORMAT
    same = not old_format and made_with == digest
    what = f"run {where}" if resumed else f"the plan {where}".rstrip()
    if same:
        return {"ok": True, "replan": False, "plan_digest": made_with, "policy_digest": digest, "message": None}
    if old_format:
        why = f"{what} has plan format {plan.get('format')!r}, made before plans carried the policy's settings"
    else:
        why = f"{what} was planned with policy {made_with}, the policy now is {digest}"
    if replan:
        todo = "its pending hosts are planned again" if resumed else "a fresh plan replaces it"
        return {"ok": False, "replan": True, "plan_digest": made_with, "policy_digest": digest,
                "message": f"{why}: patchpilot_replan is true, {todo}"}
    todo = ("rerun with -e patchpilot_replan=true to plan its pending hosts again (finished hosts are left"
            " alone), or close the run (playbooks/close_run.yml)") if resumed else \
           ("review a new plan (playbooks/plan.yml), or rerun with -e patchpilot_replan=true to replace it"
            " by a fresh plan")
    return {"ok": False, "replan": False, "plan_digest": made_with, "policy_digest": digest,
            "message": f"the policy changed: {why}; refused: {todo}"}


def _parse(text) -> datetime | None:
    try:
        value = datetime.fromisoformat(str(text))
    except (TypeError, ValueError):
        return None
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def age_verdict(plan: dict, now: datetime, max_hours: float, replan: bool = False, where: str = "") -> dict:
    """May the reviewed ``plan`` still drive a run at ``now``?

    ``{"ok": bool, "replan": bool, "age_hours": float or None, "message"}``: a
    plan older than ``max_hours`` (or with no readable ``created`` time) is
    refused, or replaced by a fresh plan when the operator asked (``replan``).
    """
    plan = plan if isinstance(plan, dict) else {}
    created = _parse(plan.get("created"))
    what = f"the plan {where}".rstrip()
    if created is None:
        why = f"{what} has no readable creation time ({plan.get('created')!r})"
        age = None
    else:
        age = round((now - created).total_seconds() / 3600, 2)
        if age <= max_hours:
            return {"ok": True, "replan": False, "age_hours": age, "message": None}
        why = (f"{what} was made {age:g} hours ago ({plan.get('created')}), more than the policy's"
               f" plan.max_age_hours ({max_hours:g})")
    if replan:
        return {"ok": False, "replan": True, "age_hours": age,
                "message": f"{why}: patchpilot_replan is true, a fresh plan replaces it"}
    return {"ok": False, "replan": False, "age_hours": age,
            "message": f"{why}; refused: the repositories and the fleet may have moved on: review a new plan"
                       " (playbooks/plan.yml), or rerun with -e patchpilot_replan=true to replace it by a fresh plan"}


def replan_pending(old: dict, fresh: dict, phases: dict, at: str) -> dict:
    """The plan an interrupted run goes on with after ``patchpilot_replan=true``.

    ``old`` is the run's plan, ``fresh`` a plan made now under the current
    policy, ``phases`` the run's {host: phase}. Finished hosts (done, failed,
    rolled back) keep their entries and waves as they were run; every other
    host of the run takes its entry from ``fresh`` (a host ``fresh`` leaves out
    of its waves, nothing to do now, leaves the run's waves too). The fresh
    waves, with only those hosts, follow the old ones, numbered on from the
    last; the run's budget, settings and policy digest are the fresh plan's.
    ``replanned`` (a list) says when, from which digest and which hosts.
    """
    finished = {h for h, phase in phases.items() if phase in FINISHED_PHASES}
    pending = [h for h in phases if h not in finished]
    fresh_entries = {e["host"]: e for e in fresh.get("hosts") or ()}
    old_waves = [dict(w, hosts=[h for h in w.get("hosts") or () if h in finished]) for w in old.get("waves") or ()]
    old_waves = [w for w in old_waves if w["hosts"]]
    offset = max((int(w["wave"]) for w in old.get("waves") or ()), default=-1) + 1
    renumbered = {}
    new_waves = []
    for wave in fresh.get("waves") or ():
        hosts = [h for h in wave.get("hosts") or () if h in pending]
        if not hosts:
            continue
        number = offset + len(new_waves)
        renumbered[int(wave["wave"])] = number
        new_waves.append(dict(wave, wave=number, hosts=hosts,
                              schedule=[dict(s, hosts=[h for h in s.get("hosts") or () if h in pending])
                                        for s in wave.get("schedule") or ()]))
    entries = []
    for entry in old.get("hosts") or ():
        host = entry["host"]
        if host in finished or host not in phases:
            entries.append(entry)
            continue
        new = dict(fresh_entries.get(host) or dict(entry, status="nothing_to_do", reason="not in the fresh plan",
                                                   wave=None, packages=[], removals=[]))
        if new.get("wave") is not None and int(new["wave"]) in renumbered:
            new["wave"] = renumbered[int(new["wave"])]
        else:
            new["wave"] = None
        entries.append(new)
    approved = {h: v for h, v in (old.get("approved_set") or {}).items() if h in finished}
    approved.update({h: v for h, v in (fresh.get("approved_set") or {}).items() if h in pending})
    history = list(old.get("replanned") or ()) + [
        {"at": at, "from_digest": old.get("policy_digest"), "to_digest": fresh.get("policy_digest"),
         "fresh_plan": fresh.get("run_id"), "hosts": sorted(pending)}]
    return dict(old, format=fresh.get("format", PLAN_FORMAT), policy_digest=fresh.get("policy_digest"),
                settings=fresh.get("settings"), budget=fresh.get("budget", old.get("budget")),
                waves=old_waves + new_waves, hosts=entries, approved_set=approved, replanned=history)
